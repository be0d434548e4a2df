//! Distinguished names rendered exactly as the JDK's `X500Principal.getName()` (RFC 2253).
//!
//! Alipay's servers compute certificate SNs in Java, so the issuer string must match the JDK
//! byte for byte, including its quirks:
//! - RDNs in reverse DER order joined by `,`; a multi-valued RDN's attributes in DER order
//!   joined by `+`;
//! - keywords only for CN, C, L, ST, O, OU, STREET, DC and UID; any other attribute type, and a
//!   keyword attribute whose value is not a directory string, as `OID=#hex-of-the-DER-value`;
//! - the value's *content octets decoded as UTF-8* whatever the string type: a BMPString comes
//!   out as the UTF-8 decoding of its UCS-2 bytes (NULs and replacement characters), which is
//!   what the JDK hashes, not the Unicode text;
//! - `, = + < > # ; " \` escaped with a backslash anywhere in the value, NUL as `\00`, and
//!   leading or trailing spaces (and carriage returns) escaped with a backslash.

use crate::der::{self, DerError, Reader, tag};

/// How attribute values are turned into text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decoding {
    /// The JDK's way: the content octets as UTF-8, whatever the string type (for SNs).
    Jdk,
    /// Each string type by its own encoding (BMPString as UTF-16), for people to read.
    Unicode,
}

/// Renders a DER-encoded X.501 `Name` the way `X500Principal.getName()` does.
pub(crate) fn rfc2253(name_der: &[u8]) -> Result<String, DerError> {
    render(name_der, Decoding::Jdk)
}

/// Renders a name like [`rfc2253`], but decoding BMPStrings as UTF-16 text.
pub(crate) fn display(name_der: &[u8]) -> Result<String, DerError> {
    render(name_der, Decoding::Unicode)
}

/// The value of the first attribute of type `oid` (e.g. the CN), decoded as Unicode text.
pub(crate) fn attribute(name_der: &[u8], wanted: &str) -> Option<String> {
    let name = der::single(name_der, "name").ok()?;
    let mut reader = name.reader();
    while !reader.is_empty() {
        let set = reader.read().ok()?;
        let mut set_reader = set.reader();
        while !set_reader.is_empty() {
            let mut atv = set_reader.read().ok()?.reader();
            let oid = atv.expect(tag::OID, "type").ok()?;
            let value = atv.read().ok()?;
            if der::oid_to_string(oid.content).ok()? == wanted {
                return Some(decode(value.tag, value.content, Decoding::Unicode));
            }
        }
    }
    None
}

fn decode(string_tag: u8, content: &[u8], decoding: Decoding) -> String {
    if decoding == Decoding::Unicode && string_tag == tag::BMP_STRING {
        let units: Vec<u16> = content.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(content).into_owned()
}

fn render(name_der: &[u8], decoding: Decoding) -> Result<String, DerError> {
    let name = der::single(name_der, "name")?;
    if name.tag != tag::SEQUENCE {
        return Err(name.error("name: expected a SEQUENCE of RDNs"));
    }
    let mut rdns = Vec::new();
    let mut reader = name.reader();
    while !reader.is_empty() {
        let set = reader.expect(tag::SET, "relative distinguished name")?;
        let mut attributes = Vec::new();
        let mut set_reader = set.reader();
        while !set_reader.is_empty() {
            let atv = set_reader.expect(tag::SEQUENCE, "attribute type and value")?;
            attributes.push(render_attribute(atv.reader(), decoding)?);
        }
        if attributes.is_empty() {
            return Err(set.error("empty relative distinguished name"));
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

fn render_attribute(mut reader: Reader<'_>, decoding: Decoding) -> Result<String, DerError> {
    let oid_tlv = reader.expect(tag::OID, "attribute type")?;
    let oid = der::oid_to_string(oid_tlv.content).map_err(|e| oid_tlv.error(e.what))?;
    let value = reader.read()?;
    let keyword = keyword(&oid);
    let is_directory_string = matches!(
        value.tag,
        tag::PRINTABLE_STRING
            | tag::T61_STRING
            | tag::IA5_STRING
            | tag::GENERAL_STRING
            | tag::BMP_STRING
            | tag::UTF8_STRING
    );
    match keyword {
        Some(keyword) if is_directory_string => {
            let text = decode(value.tag, value.content, decoding);
            Ok(format!("{keyword}={}", escape_value(&text)))
        }
        _ => {
            let name = keyword.map_or_else(|| oid.clone(), str::to_string);
            Ok(format!("{name}=#{}", der::hex_lower(value.raw)))
        }
    }
}

/// The attribute keywords the JDK uses in RFC 2253 output; everything else is a dotted OID.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn escape_value(text: &str) -> String {
    const ESCAPED: &str = ",=+<>#;\"\\";
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ESCAPED.contains(c) {
            chars.push('\\');
            chars.push(c);
        } else if c == '\0' {
            chars.extend(['\\', '0', '0']);
        } else {
            chars.push(c);
        }
    }
    let is_blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = chars.iter().position(|c| !is_blank(c)).unwrap_or(chars.len());
    let trail = chars.iter().rposition(|c| !is_blank(c));
    let mut out = String::with_capacity(chars.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        let outside = i < lead || trail.is_none_or(|t| i > t);
        if outside {
            out.push('\\');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_value;

    #[test]
    fn escapes_like_the_jdk() {
        assert_eq!(escape_value("a,b"), "a\\,b");
        assert_eq!(escape_value("#x#y"), "\\#x\\#y");
        assert_eq!(escape_value(" lead"), "\\ lead");
        assert_eq!(escape_value("trail "), "trail\\ ");
        assert_eq!(escape_value("  "), "\\ \\ ");
        assert_eq!(escape_value("nul\0"), "nul\\00");
        assert_eq!(escape_value("支付宝"), "支付宝");
    }
}
