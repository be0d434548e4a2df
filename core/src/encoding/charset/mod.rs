//! The request charset: UTF-8 (default), GBK (older merchants; `gb2312` is read as GBK, its
//! superset) or GB18030 (GBK's superset, which Java accepts wherever GBK is).
//!
//! The charset decides the bytes that are signed, the percent-encoding on the wire and how
//! responses and notifications are decoded. Text that cannot be represented is an error, never
//! a silent `?`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

mod java_tables;

/// A charset Alipay accepts in the `charset` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Charset {
    /// UTF-8, the default.
    #[default]
    Utf8,
    /// GBK (also for `gb2312`).
    Gbk,
    /// GB18030: GBK plus the rest of Unicode in four-byte sequences.
    Gb18030,
}

/// Text that a charset cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CharsetError {
    /// A character the charset cannot encode.
    #[error("{charset} cannot encode {character:?} (in {context})")]
    Unencodable {
        /// The charset.
        charset: Charset,
        /// The first character that failed.
        character: char,
        /// Where it was (a parameter name, "response", …).
        context: String,
    },
    /// Bytes that are not valid in the charset.
    #[error("{context} is not valid {charset} (at byte {offset})")]
    Malformed {
        /// The charset.
        charset: Charset,
        /// Offset of the first bad byte.
        offset: usize,
        /// What was being decoded.
        context: String,
    },
    /// A charset name we do not support.
    #[error("unsupported charset {name:?}: expected UTF-8, GBK (gb2312) or GB18030")]
    Unsupported {
        /// The name given.
        name: String,
    },
}

impl Charset {
    /// The value of the `charset` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Gbk => "GBK",
            Charset::Gb18030 => "GB18030",
        }
    }

    /// The legacy encoding, or `None` for UTF-8 (which needs no conversion).
    fn legacy(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            Charset::Utf8 => None,
            Charset::Gbk => Some(encoding_rs::GBK),
            Charset::Gb18030 => Some(encoding_rs::GB18030),
        }
    }

    /// Where Java's charset differs from `encoding_rs`'s (see [`java_tables`]).
    fn java(self) -> (java_tables::EncodeTable, java_tables::DecodeTable) {
        match self {
            Charset::Utf8 => (&[], &[]),
            Charset::Gbk => (java_tables::GBK_ENCODE, java_tables::GBK_DECODE),
            Charset::Gb18030 => (java_tables::GB18030_ENCODE, java_tables::GB18030_DECODE),
        }
    }

    /// The first bytes of the sequences Java decodes otherwise, as a lookup table.
    fn java_leads(self) -> &'static [bool; 256] {
        static GBK: std::sync::OnceLock<[bool; 256]> = std::sync::OnceLock::new();
        static GB18030: std::sync::OnceLock<[bool; 256]> = std::sync::OnceLock::new();
        let cell = if self == Charset::Gbk { &GBK } else { &GB18030 };
        cell.get_or_init(|| {
            let mut leads = [false; 256];
            for (unit, _) in self.java().1 {
                leads[usize::from(unit[0])] = true;
            }
            leads
        })
    }

    /// Encodes text in this charset, byte for byte as Java's charset of the same name does
    /// (the gateway is Java: `€` is `A2 E3` in GBK); a character Java cannot encode is an
    /// error naming it.
    pub fn encode<'a>(self, text: &'a str, context: &str) -> Result<Cow<'a, [u8]>, CharsetError> {
        let Some(encoding) = self.legacy() else { return Ok(Cow::Borrowed(text.as_bytes())) };
        let (table, _) = self.java();
        let java = |c: char| table.binary_search_by_key(&c, |(k, _)| *k).ok().map(|i| table[i].1);
        let unencodable =
            |character| CharsetError::Unencodable { charset: self, character, context: context.to_string() };
        if !text.chars().any(|c| !c.is_ascii() && java(c).is_some()) {
            let (bytes, _, had_errors) = encoding.encode(text);
            if had_errors {
                let character =
                    text.chars().find(|c| encoding.encode(c.encode_utf8(&mut [0; 4])).2).unwrap_or('\u{fffd}');
                return Err(unencodable(character));
            }
            return Ok(bytes);
        }
        // Some character Java maps otherwise: one character at a time.
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            match java(c) {
                Some(Some(bytes)) => out.extend_from_slice(bytes),
                Some(None) => return Err(unencodable(c)),
                None => {
                    let mut buffer = [0; 4];
                    let (bytes, _, had_errors) = encoding.encode(c.encode_utf8(&mut buffer));
                    if had_errors {
                        return Err(unencodable(c));
                    }
                    out.extend_from_slice(&bytes);
                }
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Whether this is UTF-8 (text is the bytes themselves).
    pub(crate) fn is_utf8(self) -> bool {
        self.legacy().is_none()
    }

    /// Decodes bytes in this charset as Java's charset of the same name does; malformed input,
    /// and what Java cannot map (byte `0x80` in GBK, GB18030's four-byte sequences in GBK), is
    /// an error.
    pub fn decode<'a>(self, bytes: &'a [u8], context: &str) -> Result<Cow<'a, str>, CharsetError> {
        let Some(encoding) = self.legacy() else {
            return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| CharsetError::Malformed {
                charset: self,
                offset: e.valid_up_to(),
                context: context.to_string(),
            });
        };
        let malformed = |offset| CharsetError::Malformed { charset: self, offset, context: context.to_string() };
        let special = self.java_scan(bytes).map_err(malformed)?;
        if !special {
            let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
            if had_errors {
                let offset = text.find('\u{fffd}').unwrap_or(0);
                return Err(malformed(offset));
            }
            return Ok(text);
        }
        // Some sequence Java maps otherwise: one unit at a time.
        let (_, table) = self.java();
        let java = |unit: &[u8]| table.binary_search_by(|(k, _)| (*k).cmp(unit)).ok().map(|i| table[i].1);
        let mut out = String::with_capacity(bytes.len());
        let mut at = 0;
        while at < bytes.len() {
            let len = unit_len(bytes, at).min(bytes.len() - at);
            let unit = &bytes[at..at + len];
            match java(unit) {
                Some(Some(c)) => out.push(c),
                Some(None) => return Err(malformed(at)),
                None => {
                    let (text, had_errors) = encoding.decode_without_bom_handling(unit);
                    if had_errors {
                        return Err(malformed(at));
                    }
                    out.push_str(&text);
                }
            }
            at += len;
        }
        Ok(Cow::Owned(out))
    }

    /// Whether `bytes` hold a sequence Java decodes otherwise than `encoding_rs` (`Err`: the
    /// offset of one Java refuses outright, a four-byte sequence in GBK).
    fn java_scan(self, bytes: &[u8]) -> Result<bool, usize> {
        let (_, table) = self.java();
        let leads = self.java_leads();
        let mut special = false;
        let mut at = 0;
        while at < bytes.len() {
            // ASCII runs (most of a bill: ids, times, amounts) eight bytes at a time.
            if let Some(word) = bytes.get(at..at + 8) {
                let word = u64::from_le_bytes(word.try_into().unwrap_or([0x80; 8]));
                if word & 0x8080_8080_8080_8080 == 0 {
                    at += 8;
                    continue;
                }
            }
            let len = unit_len(bytes, at).min(bytes.len() - at);
            if bytes[at] >= 0x80 {
                if self == Charset::Gbk && len == 4 {
                    return Err(at);
                }
                // Most lead bytes start no sequence Java reads otherwise.
                special |= leads[usize::from(bytes[at])]
                    && table.binary_search_by(|(k, _)| (*k).cmp(&bytes[at..at + len])).is_ok();
            }
            at += len;
        }
        Ok(special)
    }

    /// Appends the decoded `bytes` to `out`, exactly as [`Self::decode`] decodes them, without
    /// an intermediate string (the bill reader decodes line after line into one buffer).
    #[cfg_attr(not(feature = "bill"), allow(dead_code))]
    pub(crate) fn decode_append(self, bytes: &[u8], out: &mut String) -> Result<(), CharsetError> {
        let Some(encoding) = self.legacy() else {
            out.push_str(&self.decode(bytes, "")?);
            return Ok(());
        };
        let malformed = |offset| CharsetError::Malformed { charset: self, offset, context: String::new() };
        if self.java_scan(bytes).map_err(malformed)? {
            out.push_str(&self.decode(bytes, "")?);
            return Ok(());
        }
        let mut decoder = encoding.new_decoder_without_bom_handling();
        out.reserve(decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3));
        let (result, read) = decoder.decode_to_string_without_replacement(bytes, out, true);
        match result {
            encoding_rs::DecoderResult::InputEmpty => Ok(()),
            _ => Err(malformed(read)),
        }
    }

    /// `application/x-www-form-urlencoded` encoding of a value in this charset.
    pub fn form_encode(self, text: &str, context: &str) -> Result<String, CharsetError> {
        let bytes = self.encode(text, context)?;
        Ok(url::form_urlencoded::byte_serialize(&bytes).collect())
    }
}

/// The length of the GBK / GB18030 unit at `at`: one byte under 0x80 (and the bytes no
/// sequence starts with), four for a GB18030 sequence (a digit after the lead byte), two
/// otherwise.
fn unit_len(bytes: &[u8], at: usize) -> usize {
    match bytes[at] {
        0x00..=0x7f | 0x80 | 0xff => 1,
        _ if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) => 4,
        _ => 2,
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Charset {
    type Err = CharsetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "gbk" | "gb2312" => Ok(Charset::Gbk),
            "gb18030" => Ok(Charset::Gb18030),
            _ => Err(CharsetError::Unsupported { name: crate::excerpt::capped(s, 64) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_round_trip_and_errors() {
        let bytes = Charset::Gbk.encode("支付宝", "subject").unwrap();
        assert_eq!(&bytes[..], &[0xd6, 0xa7, 0xb8, 0xb6, 0xb1, 0xa6]);
        assert_eq!(Charset::Gbk.decode(&bytes, "x").unwrap(), "支付宝");
        assert!(matches!(Charset::Gbk.encode("😀", "subject"), Err(CharsetError::Unencodable { character: '😀', .. })));
        assert!(Charset::Utf8.decode(&[0xff], "x").is_err());
        assert_eq!(Charset::Gbk.form_encode("支 付", "x").unwrap(), "%D6%A7+%B8%B6");
        assert_eq!("gbk".parse::<Charset>().unwrap(), Charset::Gbk);
    }
}
