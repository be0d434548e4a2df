//! A string- and escape-aware scan of a JSON object's top-level members.
//!
//! The signature covers the exact bytes of the response node, so we locate it ourselves
//! instead of re-serializing a parsed value. Keys are unescaped before they are compared, so
//! `"\u0073ign"` counts as a second `sign` (duplicate-key injection is a known bypass).

use std::borrow::Cow;
use std::ops::Range;

/// One top-level member: its unescaped key and the byte range of its raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// The key, unescaped.
    pub key: Cow<'a, str>,
    /// Where the raw value is in the scanned text.
    pub value: Range<usize>,
}

/// Where and why the text is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Where scanning stopped, in bytes.
    pub offset: usize,
    /// What was expected there.
    pub what: &'static str,
}

impl std::error::Error for ScanError {}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

const MAX_DEPTH: usize = 128;

/// Scans `text`, which must be exactly one JSON object (white space around allowed), and
/// returns its top-level members in order. Nested values are validated and skipped.
pub fn top_level_members(text: &str) -> Result<Vec<Member<'_>>, ScanError> {
    let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0 };
    scanner.skip_ws();
    let members = scanner.object_members(text)?;
    scanner.skip_ws();
    if scanner.pos != scanner.bytes.len() {
        return Err(scanner.fail("unexpected data after the JSON object"));
    }
    Ok(members)
}

/// The raw value of the first top-level member named `key`, scanning only as far as needed.
/// For text already validated by [`top_level_members`] (the rest is not re-checked).
pub fn find_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0 };
    scanner.skip_ws();
    scanner.expect(b'{', "object").ok()?;
    loop {
        scanner.skip_ws();
        if scanner.peek() != Some(b'"') {
            return None;
        }
        let key_range = scanner.string().ok()?;
        let found = decode_string(&text[key_range]).is_some_and(|k| k == key);
        scanner.skip_ws();
        scanner.expect(b':', "colon").ok()?;
        scanner.skip_ws();
        let start = scanner.pos;
        scanner.value(1).ok()?;
        if found {
            return Some(&text[start..scanner.pos]);
        }
        scanner.skip_ws();
        if scanner.peek() != Some(b',') {
            return None;
        }
        scanner.pos += 1;
    }
}

/// Decodes a raw JSON string token (with its quotes).
pub fn decode_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn fail(&self, what: &'static str) -> ScanError {
        ScanError { offset: self.pos, what }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.fail(what))
        }
    }

    fn object_members(&mut self, text: &'a str) -> Result<Vec<Member<'a>>, ScanError> {
        self.expect(b'{', "expected a JSON object")?;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(members);
        }
        loop {
            self.skip_ws();
            let key_range = self.string()?;
            let key = decode_string(&text[key_range]).ok_or_else(|| self.fail("invalid key string"))?;
            self.skip_ws();
            self.expect(b':', "expected ':' after a key")?;
            self.skip_ws();
            let start = self.pos;
            self.value(1)?;
            members.push(Member { key, value: start..self.pos });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(members);
                }
                _ => return Err(self.fail("expected ',' or '}'")),
            }
        }
    }

    /// Scans a string token and returns its range including the quotes.
    fn string(&mut self) -> Result<Range<usize>, ScanError> {
        let start = self.pos;
        self.expect(b'"', "expected a string")?;
        loop {
            // Skip plain bytes in one pass; only quotes, escapes and control bytes need a look.
            let rest = &self.bytes[self.pos..];
            let plain = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len());
            self.pos += plain;
            match self.peek() {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(start..self.pos);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                        Some(b'u') => {
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.fail("invalid \\u escape"));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.fail("invalid escape")),
                    }
                }
                Some(byte) if byte < 0x20 => return Err(self.fail("control character in a string")),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nesting too deep"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.string()?;
                    self.skip_ws();
                    self.expect(b':', "expected ':' after a key")?;
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.fail("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.fail("expected ',' or ']'")),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.pos += 1;
                }
                let number = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("x");
                if number.parse::<f64>().is_err() {
                    return Err(ScanError { offset: start, what: "invalid number" });
                }
                Ok(())
            }
            _ => Err(self.fail("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.fail("invalid literal"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_with_exact_ranges() {
        let text = r#" {"a_response" : {"x":"}\"{","y":[1,{"z":null}]}, "sign":"abc"} "#;
        let members = top_level_members(text).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(&text[members[0].value.clone()], r#"{"x":"}\"{","y":[1,{"z":null}]}"#);
        assert_eq!(members[1].key, "sign");
        assert_eq!(&text[members[1].value.clone()], r#""abc""#);
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let members = top_level_members(r#"{"\u0073ign":"a"}"#).unwrap();
        assert_eq!(members[0].key, "sign");
    }

    #[test]
    fn rejects_broken_json() {
        for text in [r#"{"a":1"#, r#"{"a":1}x"#, r#"{"a":tru}"#, r#"{"a":"x}"#, "[1]", r#"{"a" 1}"#, r#"{"a":"\q"}"#] {
            assert!(top_level_members(text).is_err(), "{text}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(500), "]".repeat(500));
        assert!(top_level_members(&deep).is_err());
    }
}
