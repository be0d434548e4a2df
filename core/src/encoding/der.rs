//! A minimal DER reader: just enough of X.690 to walk certificates, names and keys.
//!
//! We read certificates ourselves rather than through a full X.509 parser because real Alipay
//! root bundles hold certificates that strict parsers reject (an SM2 root, an ECDSA root with a
//! NULL parameter), and the serial-number rules need the raw bytes of the issuer name anyway.

use std::fmt;

/// Universal tags used by the readers of this crate.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const T61_STRING: u8 = 0x14;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const GENERAL_STRING: u8 = 0x1b;
    pub(crate) const BMP_STRING: u8 = 0x1e;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[0]` constructed, context-specific (the certificate version, CSR attributes).
    pub(crate) const CONTEXT_0: u8 = 0xa0;
}

/// What was wrong with DER input, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError {
    pub(crate) what: String,
    pub(crate) offset: usize,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.what, self.offset)
    }
}

impl std::error::Error for DerError {}

impl DerError {
    /// What was expected or wrong.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The byte offset where reading stopped.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// The whole element: tag, length and content.
    pub raw: &'a [u8],
    /// Offset of `raw` in the outermost input (for error messages).
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content (for constructed types).
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader { data: self.content, pos: 0, base: self.offset + (self.raw.len() - self.content.len()) }
    }

    pub(crate) fn error(&self, what: impl Into<String>) -> DerError {
        DerError { what: what.into(), offset: self.offset }
    }
}

/// Sequential reader over concatenated DER elements.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0, base: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn fail(&self, what: impl Into<String>) -> DerError {
        DerError { what: what.into(), offset: self.base + self.pos }
    }

    /// Reads the next element of any tag.
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let start = self.pos;
        let rest = &self.data[start..];
        let (&tag, after_tag) = rest.split_first().ok_or_else(|| self.fail("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(self.fail("multi-byte tags are not supported"));
        }
        let (&first_len, after_len) =
            after_tag.split_first().ok_or_else(|| self.fail("unexpected end of data in a length"))?;
        let (len, len_octets) = if first_len < 0x80 {
            (first_len as usize, 0)
        } else {
            let count = (first_len & 0x7f) as usize;
            if count == 0 {
                return Err(self.fail("indefinite length is not allowed in DER"));
            }
            if count > 4 || after_len.len() < count {
                return Err(self.fail("length field too long or truncated"));
            }
            let len = after_len[..count].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (len, count)
        };
        let header = 2 + len_octets;
        if rest.len() - header < len {
            return Err(self.fail(format!("element of {len} bytes runs past the end of the data")));
        }
        self.pos = start + header + len;
        Ok(Tlv { tag, content: &rest[header..header + len], raw: &rest[..header + len], offset: self.base + start })
    }

    /// Reads the next element and checks its tag.
    pub(crate) fn expect(&mut self, expected: u8, what: &str) -> Result<Tlv<'a>, DerError> {
        let offset = self.base + self.pos;
        let tlv = self.read().map_err(|e| DerError { what: format!("{what}: {}", e.what), ..e })?;
        if tlv.tag != expected {
            return Err(DerError {
                what: format!("{what}: expected tag 0x{expected:02x}, found 0x{:02x}", tlv.tag),
                offset,
            });
        }
        Ok(tlv)
    }

    /// Reads an optional element if the next tag matches.
    pub(crate) fn optional(&mut self, wanted: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(wanted) { self.read().map(Some) } else { Ok(None) }
    }
}

/// Parses exactly one element spanning all of `data`.
pub(crate) fn single<'a>(data: &'a [u8], what: &str) -> Result<Tlv<'a>, DerError> {
    let mut reader = Reader::new(data);
    let tlv = reader.read().map_err(|e| DerError { what: format!("{what}: {}", e.what), ..e })?;
    if !reader.is_empty() {
        return Err(DerError { what: format!("{what}: trailing bytes after the element"), offset: tlv.raw.len() });
    }
    Ok(tlv)
}

/// Renders an OBJECT IDENTIFIER's content octets in dotted form (`1.2.840.113549.1.1.11`).
pub(crate) fn oid_to_string(content: &[u8]) -> Result<String, DerError> {
    let bad = |what: &str| DerError { what: what.to_string(), offset: 0 };
    if content.is_empty() {
        return Err(bad("empty object identifier"));
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut value: u128 = 0;
    for (i, &byte) in content.iter().enumerate() {
        if value > (u128::MAX >> 7) {
            return Err(bad("object identifier arc too large"));
        }
        value = (value << 7) | u128::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        } else if i == content.len() - 1 {
            return Err(bad("truncated object identifier"));
        }
    }
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    Ok(out)
}

/// Renders the content of a DER INTEGER (two's complement, big-endian) in base 10, any size.
pub(crate) fn integer_to_decimal(content: &[u8]) -> String {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude = if negative { twos_complement(content) } else { content.to_vec() };
    // Schoolbook division by 10, quadratic in the length: callers bound the length first
    // (certificate serials, see `cert::parse::MAX_SERIAL_OCTETS`).
    let mut digits = Vec::new();
    let mut number = magnitude;
    let mut start = number.iter().position(|&b| b != 0).unwrap_or(number.len());
    while start < number.len() {
        let mut remainder: u32 = 0;
        for byte in number[start..].iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 10) as u8;
            remainder = acc % 10;
        }
        digits.push(b'0' + remainder as u8);
        while number.get(start) == Some(&0) {
            start += 1;
        }
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// Renders the content of a DER INTEGER in hexadecimal (uppercase, `-` for negatives), the way
/// `openssl x509 -serial` and most consoles show serials.
pub(crate) fn integer_to_hex(content: &[u8]) -> String {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude = if negative { twos_complement(content) } else { content.to_vec() };
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|&b| b == 0).collect();
    let hex = if trimmed.is_empty() { "00".to_string() } else { hex_upper(&trimmed) };
    if negative { format!("-{hex}") } else { hex }
}

fn twos_complement(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    out
}

/// Lowercase hexadecimal of bytes.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn hex_upper(bytes: &[u8]) -> String {
    hex_lower(bytes).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_of_integers_of_any_size_and_sign() {
        assert_eq!(integer_to_decimal(&[0x01]), "1");
        assert_eq!(integer_to_decimal(&[0x00]), "0");
        assert_eq!(integer_to_decimal(&[0xff]), "-1");
        assert_eq!(integer_to_decimal(&[0xfb, 0x2e]), "-1234");
        assert_eq!(integer_to_decimal(&[0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]), "9223372036854775808");
        assert_eq!(integer_to_hex(&[0xfb, 0x2e]), "-04D2");
        assert_eq!(integer_to_hex(&[0x00, 0x80, 0x01]), "8001");
    }

    #[test]
    fn oids_render_dotted() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]).unwrap(),
            "1.2.840.113549.1.1.11"
        );
        assert_eq!(oid_to_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert!(oid_to_string(&[0x2a, 0x86]).is_err());
    }

    #[test]
    fn reader_rejects_truncation_and_indefinite_length() {
        assert!(Reader::new(&[0x30, 0x05, 0x02, 0x01]).read().is_err());
        assert!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).read().is_err());
        assert!(Reader::new(&[]).read().is_err());
        let tlv = Reader::new(&[0x02, 0x01, 0x05]).read().unwrap();
        assert_eq!((tlv.tag, tlv.content), (tag::INTEGER, &[5u8][..]));
    }
}
