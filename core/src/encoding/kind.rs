//! Recognising what a key or certificate file really is.
//!
//! Users confuse the app private key, the app public key, the app certificate, the Alipay
//! public key and the Alipay certificate all the time; an error that says "this is a PKCS#8
//! private key, a certificate was expected" saves an afternoon.

use std::fmt;

use crate::der::{Reader, tag};
use crate::pem;

/// What a file holds, as far as its structure tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// Nothing but white space.
    Empty,
    /// One or more X.509 certificates.
    Certificates {
        /// How many.
        count: usize,
    },
    /// A PKCS#1 RSA private key (`BEGIN RSA PRIVATE KEY`).
    Pkcs1PrivateKey,
    /// A PKCS#8 private key (`BEGIN PRIVATE KEY`).
    Pkcs8PrivateKey,
    /// A password-protected private key.
    EncryptedPrivateKey,
    /// A public key (`BEGIN PUBLIC KEY`, SubjectPublicKeyInfo), such as the Alipay public key.
    PublicKey,
    /// A PKCS#1 RSA public key (`BEGIN RSA PUBLIC KEY`).
    Pkcs1PublicKey,
    /// A certificate signing request.
    CertificateRequest,
    /// Something else.
    Unknown,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileKind::Empty => f.write_str("an empty file"),
            FileKind::Certificates { count: 1 } => f.write_str("a certificate"),
            FileKind::Certificates { count } => write!(f, "{count} certificates"),
            FileKind::Pkcs1PrivateKey => f.write_str("a PKCS#1 RSA private key"),
            FileKind::Pkcs8PrivateKey => f.write_str("a PKCS#8 private key"),
            FileKind::EncryptedPrivateKey => f.write_str("an encrypted (password-protected) private key"),
            FileKind::PublicKey => f.write_str("a public key"),
            FileKind::Pkcs1PublicKey => f.write_str("a PKCS#1 RSA public key"),
            FileKind::CertificateRequest => f.write_str("a certificate signing request (CSR)"),
            FileKind::Unknown => f.write_str("data that is neither a key nor a certificate"),
        }
    }
}

impl FileKind {
    /// Whether this is some kind of private key.
    pub fn is_private_key(self) -> bool {
        matches!(self, FileKind::Pkcs1PrivateKey | FileKind::Pkcs8PrivateKey | FileKind::EncryptedPrivateKey)
    }
}

/// Identifies the content of a file: PEM (by label, then by structure), bare base64, or DER.
pub fn sniff(bytes: &[u8]) -> FileKind {
    if pem::trim_ascii(bytes).is_empty() {
        return FileKind::Empty;
    }
    let blocks = pem::blocks(bytes);
    if !blocks.is_empty() {
        let certificates = blocks.iter().filter(|b| b.label.ends_with("CERTIFICATE")).count();
        if certificates > 0 {
            return FileKind::Certificates { count: certificates };
        }
        return match blocks[0].label.as_str() {
            "RSA PRIVATE KEY" if matches!(blocks[0].body, Err(pem::PemBodyError::Encrypted)) => {
                FileKind::EncryptedPrivateKey
            }
            "RSA PRIVATE KEY" => FileKind::Pkcs1PrivateKey,
            "PRIVATE KEY" => FileKind::Pkcs8PrivateKey,
            "ENCRYPTED PRIVATE KEY" => FileKind::EncryptedPrivateKey,
            "PUBLIC KEY" => FileKind::PublicKey,
            "RSA PUBLIC KEY" => FileKind::Pkcs1PublicKey,
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => FileKind::CertificateRequest,
            _ => blocks[0].body.as_deref().map_or(FileKind::Unknown, sniff_der),
        };
    }
    if pem::looks_like_text(bytes) {
        return match pem::decode_base64_text(bytes) {
            Ok(der) => sniff_der(&der),
            Err(_) => FileKind::Unknown,
        };
    }
    sniff_der(bytes)
}

/// Identifies DER by its shape.
pub(crate) fn sniff_der(der: &[u8]) -> FileKind {
    let Ok(outer) = crate::der::single(der, "outer") else {
        // A DER file can hold several certificates back to back.
        return count_der_certificates(der).map_or(FileKind::Unknown, |count| FileKind::Certificates { count });
    };
    if outer.tag != tag::SEQUENCE {
        return FileKind::Unknown;
    }
    let mut fields = Vec::new();
    let mut reader = outer.reader();
    while !reader.is_empty() {
        match reader.read() {
            Ok(tlv) => fields.push(tlv),
            Err(_) => return FileKind::Unknown,
        }
    }
    let tags: Vec<u8> = fields.iter().map(|f| f.tag).collect();
    match tags.as_slice() {
        [tag::SEQUENCE, tag::SEQUENCE, tag::BIT_STRING] => {
            // Certificate or CSR: a CSR's info has exactly four fields, starting with version 0.
            let inner = count_children(fields[0].content);
            if inner == Some(4) && fields[0].content.first() == Some(&tag::INTEGER) {
                FileKind::CertificateRequest
            } else {
                FileKind::Certificates { count: 1 }
            }
        }
        [tag::INTEGER, tag::SEQUENCE, tag::OCTET_STRING, ..] => FileKind::Pkcs8PrivateKey,
        [tag::INTEGER, tag::INTEGER, tag::INTEGER, ..] if tags.len() >= 9 => FileKind::Pkcs1PrivateKey,
        [tag::SEQUENCE, tag::BIT_STRING] => FileKind::PublicKey,
        [tag::SEQUENCE, tag::OCTET_STRING] => FileKind::EncryptedPrivateKey,
        [tag::INTEGER, tag::INTEGER] => FileKind::Pkcs1PublicKey,
        _ => FileKind::Unknown,
    }
}

fn count_children(content: &[u8]) -> Option<usize> {
    let mut reader = Reader::new(content);
    let mut count = 0;
    while !reader.is_empty() {
        reader.read().ok()?;
        count += 1;
    }
    Some(count)
}

fn count_der_certificates(der: &[u8]) -> Option<usize> {
    let mut reader = Reader::new(der);
    let mut count = 0;
    while !reader.is_empty() {
        let tlv = reader.read().ok()?;
        if tlv.tag != tag::SEQUENCE || sniff_der(tlv.raw) != (FileKind::Certificates { count: 1 }) {
            return None;
        }
        count += 1;
    }
    (count > 1).then_some(count)
}

/// Whether a value given where a file path is expected looks like key or certificate content
/// instead (a PEM block, several lines, or a long run of base64). Such a value is secret
/// material more often than not, so errors say what it looks like and never show it.
pub fn looks_like_content_not_path(value: &str) -> bool {
    if value.contains("-----BEGIN") || value.contains('\n') || value.contains('\r') {
        return true;
    }
    let base64ish = |text: &str| {
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b'/'))
    };
    // Base64 holds `/`: a whole value of hundreds of base64 characters is content (keys are
    // 400 to 1,700 characters); no real path is that long without a dot, dash or underscore.
    if value.len() >= 200 && base64ish(value) {
        return true;
    }
    // The last path component (a relative setting is joined to a directory before use): file
    // names have dots; an AES key is 24 base64 characters ending in `==`.
    let name = value.rsplit(['/', '\\']).next().unwrap_or(value);
    base64ish(name) && (name.len() >= 64 || (name.len() >= 16 && name.ends_with('=')))
}

/// What an error may say about a path: the path itself, or — when it
/// [looks like content](looks_like_content_not_path) — only that, with its length.
pub fn describe_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    if looks_like_content_not_path(&text) {
        format!("<a value that looks like key content, not a path ({} characters, not shown)>", text.chars().count())
    } else {
        path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_content_not_path;

    #[test]
    fn content_is_told_from_paths() {
        for content in [
            "-----BEGIN PRIVATE KEY-----",
            "line one\nline two",
            &"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC/abc+".repeat(8),
            "dGhpcyBpcyBhIDE2IGJ5dGU=",
            "/etc/alipay/MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuWJKrQ6SWvS6niIpLrQ8",
        ] {
            assert!(looks_like_content_not_path(content), "{content}");
        }
        for path in [
            "app_private_key.pem",
            "/etc/alipay/keys/appCertPublicKey_2021000000000001.crt",
            "alipay-sandbox/sandbox-private/alipay_1.key",
            "/var/lib/secrets/alipay/production/app/privatekey/current/key",
            "C:\\keys\\app.pem",
        ] {
            assert!(!looks_like_content_not_path(path), "{path}");
        }
    }
}
