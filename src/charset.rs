//! The request charset: UTF-8 (default), GBK (older merchants; `gb2312` is read as GBK, its
//! superset) or GB18030 (GBK's superset, which Java accepts wherever GBK is).
//!
//! The charset decides the bytes that are signed, the percent-encoding on the wire and how
//! responses and notifications are decoded. Text that cannot be represented is an error, never
//! a silent `?`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

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

    /// Encodes text in this charset.
    pub fn encode<'a>(self, text: &'a str, context: &str) -> Result<Cow<'a, [u8]>, CharsetError> {
        let Some(encoding) = self.legacy() else { return Ok(Cow::Borrowed(text.as_bytes())) };
        let (bytes, _, had_errors) = encoding.encode(text);
        if had_errors {
            let character = text.chars().find(|c| encoding.encode(c.encode_utf8(&mut [0; 4])).2).unwrap_or('\u{fffd}');
            return Err(CharsetError::Unencodable { charset: self, character, context: context.to_string() });
        }
        Ok(bytes)
    }

    /// Decodes bytes in this charset; malformed input is an error.
    pub fn decode<'a>(self, bytes: &'a [u8], context: &str) -> Result<Cow<'a, str>, CharsetError> {
        let Some(encoding) = self.legacy() else {
            return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| CharsetError::Malformed {
                charset: self,
                offset: e.valid_up_to(),
                context: context.to_string(),
            });
        };
        let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
        if had_errors {
            let offset = text.find('\u{fffd}').unwrap_or(0);
            return Err(CharsetError::Malformed { charset: self, offset, context: context.to_string() });
        }
        Ok(text)
    }

    /// `application/x-www-form-urlencoded` encoding of a value in this charset.
    pub fn form_encode(self, text: &str, context: &str) -> Result<String, CharsetError> {
        let bytes = self.encode(text, context)?;
        Ok(url::form_urlencoded::byte_serialize(&bytes).collect())
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
