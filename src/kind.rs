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
