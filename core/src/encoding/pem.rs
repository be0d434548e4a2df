//! PEM and "bare base64" text as Alipay's tools and users actually write it.
//!
//! The OpenSSL PEM reader refuses base64 in one long line and some editors add CRLF or text
//! around the blocks, so we locate `-----BEGIN …-----` / `-----END …-----` markers ourselves
//! and decode whatever lies between them, ignoring every kind of white space.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard base64, accepting input with or without padding.
pub(crate) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `-----BEGIN LABEL-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub label: String,
    /// Decoded body, or the reason it could not be decoded.
    pub body: Result<Vec<u8>, PemBodyError>,
}

/// Why a PEM block's body could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PemBodyError {
    /// No `-----END LABEL-----` after the BEGIN line.
    Unterminated,
    /// The body is not base64.
    Base64(String),
    /// The block has RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): an encrypted legacy key.
    Encrypted,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";

/// Every PEM block in `text`, in order. Text outside blocks is ignored.
pub(crate) fn blocks(text: &[u8]) -> Vec<PemBlock> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = find(&text[pos..], BEGIN) {
        let label_start = pos + found + BEGIN.len();
        let Some(label_len) = find(&text[label_start..], DASHES) else { break };
        let label = String::from_utf8_lossy(&text[label_start..label_start + label_len]).trim().to_string();
        let body_start = label_start + label_len + DASHES.len();
        let end_marker = format!("-----END {label}-----");
        match find(&text[body_start..], end_marker.as_bytes()) {
            Some(body_len) => {
                let body = &text[body_start..body_start + body_len];
                out.push(PemBlock { label, body: decode_body(body) });
                pos = body_start + body_len + end_marker.len();
            }
            None => {
                out.push(PemBlock { label, body: Err(PemBodyError::Unterminated) });
                break;
            }
        }
    }
    out
}

fn decode_body(body: &[u8]) -> Result<Vec<u8>, PemBodyError> {
    if body.contains(&b':') {
        return Err(PemBodyError::Encrypted);
    }
    decode_base64_text(body).map_err(PemBodyError::Base64)
}

/// Decodes base64 text ignoring all ASCII white space (line breaks, CR, spaces, tabs).
pub(crate) fn decode_base64_text(text: &[u8]) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("no base64 data".to_string());
    }
    LENIENT_BASE64.decode(&compact).map_err(|e| e.to_string())
}

/// Whether `bytes` look like text (PEM or base64) rather than binary DER.
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let trimmed = trim_ascii(bytes);
    !trimmed.is_empty() && trimmed.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80)
}

pub(crate) fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_with_crlf_text_around_and_no_blank_lines() {
        let text = b"junk before\r\n-----BEGIN CERTIFICATE-----\r\nAQID\r\n-----END CERTIFICATE-----middle\n-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\ntrailing";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].body, Ok(vec![1, 2, 3]));
        assert_eq!(found[1].body, Ok(vec![4, 5, 6]));
    }

    #[test]
    fn reports_unterminated_and_bad_base64() {
        let found = blocks(b"-----BEGIN CERTIFICATE-----\nAQID\n");
        assert_eq!(found[0].body, Err(PemBodyError::Unterminated));
        let found = blocks(b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----");
        assert!(matches!(found[0].body, Err(PemBodyError::Base64(_))));
    }
}
