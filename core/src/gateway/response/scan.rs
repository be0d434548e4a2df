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
/// returns its top-level members in order. The top level is held to the full JSON grammar;
/// nested objects and arrays are skipped by their strings and brackets alone (for valid JSON
/// the same ranges a full parser finds; their grammar is checked by whoever reads them).
pub fn top_level_members(text: &str) -> Result<Vec<Member<'_>>, ScanError> {
    let mut members = Vec::new();
    visit_top_level_members(text, |member| members.push(member))?;
    Ok(members)
}

/// As [`top_level_members`], handing each member to `visit` as it is found instead of
/// collecting them (no allocation on the path of every answer). When the text turns out not
/// to be one JSON object, the members already visited were seen and the error follows.
pub(crate) fn visit_top_level_members<'a>(text: &'a str, visit: impl FnMut(Member<'a>)) -> Result<(), ScanError> {
    let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0 };
    scanner.skip_ws();
    scanner.object_members(text, visit)?;
    scanner.skip_ws();
    if scanner.pos != scanner.bytes.len() {
        return Err(scanner.fail("unexpected data after the JSON object"));
    }
    Ok(())
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

/// How many bytes at the start of `bytes` need no look: up to the first quote, backslash or
/// control byte (or the end).
///
/// Most strings are short (keys, codes, amounts): eight bytes at a time are tested for all
/// three at once (the classic "has a zero byte" bit trick; its lowest flagged byte is always
/// a true match). A string still going after 64 bytes is long: memchr finds the next quote or
/// backslash with SIMD, and one branch-free pass over the skipped bytes checks for control
/// bytes.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let flagged = |word: u64| {
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        (zero_byte(quote) | zero_byte(backslash) | below_space) & HIGHS
    };
    let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
    let mut at = 0;
    while at + 8 <= bytes.len().min(64) {
        let word = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
        let flags = flagged(word);
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    if bytes.len() <= 64 {
        return at + bytes[at..].iter().position(|&b| special(b)).unwrap_or(bytes.len() - at);
    }
    let rest = &bytes[at..];
    let stop = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let skipped = &rest[..stop];
    if skipped.iter().fold(0u8, |seen, &b| seen | u8::from(b < 0x20)) != 0 {
        return at + skipped.iter().position(|&b| b < 0x20).unwrap_or(stop);
    }
    at + stop
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

    fn object_members(&mut self, text: &'a str, mut visit: impl FnMut(Member<'a>)) -> Result<(), ScanError> {
        self.expect(b'{', "expected a JSON object")?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
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
            visit(Member { key, value: start..self.pos });
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

    /// Scans a string token and returns its range including the quotes.
    fn string(&mut self) -> Result<Range<usize>, ScanError> {
        let start = self.pos;
        self.expect(b'"', "expected a string")?;
        loop {
            self.pos += plain_run(&self.bytes[self.pos..]);
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
            Some(b'{' | b'[') => self.container(depth),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fail("expected a JSON value")),
        }
    }

    /// Skips an object or array to its end (strings and brackets exactly, the rest unread:
    /// see [`super::nested`] for why that is enough).
    fn container(&mut self, depth: usize) -> Result<(), ScanError> {
        match super::nested::skip(self.bytes, self.pos, depth, MAX_DEPTH) {
            Ok(end) => {
                self.pos = end;
                Ok(())
            }
            Err(super::nested::SkipError { offset, what }) => Err(ScanError { offset, what }),
        }
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<(), ScanError> {
        let start = self.pos;
        let invalid = ScanError { offset: start, what: "invalid number" };
        let digits = |scanner: &mut Self| {
            let from = scanner.pos;
            while matches!(scanner.peek(), Some(b'0'..=b'9')) {
                scanner.pos += 1;
            }
            scanner.pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(invalid),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(invalid);
            }
        }
        // A number runs into the next token: a digit or letter right after it is not JSON.
        if matches!(self.peek(), Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'.' | b'+' | b'-')) {
            return Err(invalid);
        }
        Ok(())
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
    #[test]
    fn the_plain_run_stops_at_the_first_quote_backslash_or_control_byte() {
        // Every position, every kind of stop, against the obvious byte loop.
        for len in 0..150 {
            for stop in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
                for at in (0..len).step_by(7) {
                    let mut bytes: Vec<u8> = (0..len).map(|i| b"ab \xe4\xb8\xad~!"[i % 8]).collect();
                    bytes[at] = stop;
                    let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap();
                    assert_eq!(plain_run(&bytes), expected, "len {len}, stop {stop:#x} at {at}");
                }
            }
            let plain: Vec<u8> = (0..len).map(|i| b" ~\x7f\xff\x20\x21az"[i % 8]).collect();
            assert_eq!(plain_run(&plain), len, "no stop in {len} bytes");
        }
    }

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

    use proptest::prelude::*;

    /// JSON values with the texts that trip scanners: brackets, quotes and backslashes inside
    /// strings, escaped slashes and `\u` escapes, Chinese, numbers in all their forms, depth.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let text = "[a-z{}\\[\\]\"\\\\/:, 满减券\u{1}\n]{0,12}";
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            text.prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(text, inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Every member's range is the one serde_json's `RawValue` finds, compact or pretty,
        /// with or without escaped slashes (Alipay's Java side writes `\/`).
        #[test]
        fn member_ranges_agree_with_serde_json(
            members in proptest::collection::btree_map("[a-z_]{1,8}", json_value(), 1..6),
            pretty in any::<bool>(),
            escape_slashes in any::<bool>(),
        ) {
            let object = serde_json::Value::Object(members.into_iter().collect());
            let mut text = if pretty { serde_json::to_string_pretty(&object) } else { serde_json::to_string(&object) }.unwrap();
            if escape_slashes {
                text = text.replace('/', "\\/");
            }
            let expected: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
                serde_json::from_str(&text).unwrap();
            let found = top_level_members(&text).unwrap();
            prop_assert_eq!(found.len(), expected.len());
            for member in &found {
                prop_assert_eq!(&text[member.value.clone()], expected[member.key.as_ref()].get());
            }
        }

        /// Whatever the bytes, the scan ends with an answer or an error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "[{}\\[\\]\"\\\\a:,0-9 ]{0,40}") {
            let _ = top_level_members(&text);
        }
    }
}
