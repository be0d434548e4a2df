use std::path::{Path, PathBuf};

pub use crate::der::DerError;
use crate::kind::FileKind;

/// Why a certificate, a certificate file or a root bundle could not be used.
///
/// Every variant names the file (or the label given for in-memory data) and, where it
/// applies, which certificate of the file (1-based).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertErrorKind {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Key or certificate content was given where a file path is expected. The value is not
    /// kept: it is likely secret.
    #[error(
        "the value given as the path of a certificate file looks like key or certificate content, not a path \
         ({length} characters, not shown); write it to a file and give that file's path"
    )]
    ContentGivenAsPath {
        /// The length of the value, in characters.
        length: usize,
    },
    /// The file holds nothing.
    #[error("{origin}: the file is empty; expected a certificate in PEM or DER form")]
    Empty {
        /// The file or label.
        origin: String,
    },
    /// The file holds a key, a CSR or similar instead of a certificate.
    #[error("{origin}: this is {found}, not a certificate{}", hint_for(*found))]
    NotACertificate {
        /// The file or label.
        origin: String,
        /// What the file holds.
        found: FileKind,
    },
    /// No certificate could be found at all.
    #[error("{origin}: no certificate found: expected '-----BEGIN CERTIFICATE-----' blocks or DER, found {found}")]
    NoCertificate {
        /// The file or label.
        origin: String,
        /// What the data looked like.
        found: FileKind,
    },
    /// A PEM block has no END line.
    #[error(
        "{origin}: certificate #{index}: '-----BEGIN {label}-----' has no matching '-----END {label}-----' (truncated file?)"
    )]
    Truncated {
        /// The file or label.
        origin: String,
        /// Which PEM block.
        index: usize,
        /// The block label.
        label: String,
    },
    /// A PEM block's body is not base64.
    #[error("{origin}: certificate #{index}: the PEM body is not valid base64: {detail}")]
    Base64 {
        /// The file or label.
        origin: String,
        /// Which certificate.
        index: usize,
        /// The decoder's message.
        detail: String,
    },
    /// The DER of a certificate is malformed.
    #[error("{origin}: certificate #{index} is malformed: {source}")]
    Malformed {
        /// The file or label.
        origin: String,
        /// Which certificate.
        index: usize,
        /// What the parser stopped at, and where.
        source: DerError,
    },
    /// The root bundle has no RSA-family certificate, so `alipay_root_cert_sn` would be empty.
    #[error(
        "{origin}: no RSA- or SM2-signed certificate in the root bundle (signature algorithms found: {found}); \
         alipay_root_cert_sn would be empty. Use Alipay's alipayRootCert.crt from the open-platform console"
    )]
    NoRsaRoot {
        /// The file or label.
        origin: String,
        /// The signature algorithm OIDs that were found.
        found: String,
    },
    /// The root bundle has no root signed in the configured key algorithm's family (an SM2
    /// app needs the SM2 root of Alipay's bundle).
    #[error(
        "{origin}: no {algorithm}-signed root in the root bundle (other signature algorithms found: {found}); \
         alipay_root_cert_sn for sign_type {algorithm} would be empty. Use Alipay's current alipayRootCert.crt from the open-platform console"
    )]
    NoRootForAlgorithm {
        /// The file or label.
        origin: String,
        /// The configured key algorithm.
        algorithm: crate::key::KeyAlgorithm,
        /// The signature algorithm OIDs of the roots that count for no algorithm.
        found: String,
    },
    /// A file given as the root bundle holds an end-entity certificate (usually the Alipay
    /// certificate file, leaf + intermediate), or CA certificates without a self-signed root.
    #[error(
        "{origin}: certificate #{index} is {found} (subject {subject}), not a root; this file looks like {what}, \
         but the root bundle is alipayRootCert.crt from the open-platform console"
    )]
    NotARootBundle {
        /// The file or label.
        origin: String,
        /// Which certificate (1-based).
        index: usize,
        /// What that certificate is.
        found: String,
        /// Its subject.
        subject: String,
        /// What the whole file looks like.
        what: &'static str,
    },
    /// A certificate file of the wrong role: the app certificate where the Alipay certificate
    /// belongs, or the reverse, or a CA certificate.
    #[error("{origin}: expected {expected}, but this is {found} (subject {subject})")]
    WrongRole {
        /// The file or label.
        origin: String,
        /// What was expected.
        expected: &'static str,
        /// What it is.
        found: String,
        /// The certificate's subject.
        subject: String,
    },
}

crate::layer_error!(
    /// Why a certificate, a certificate file or a root bundle could not be used; see [`CertErrorKind`].
    ///
    /// One pointer wide; [`CertError::kind`] says what went wrong.
    CertError => CertErrorKind
);

fn hint_for(found: FileKind) -> &'static str {
    match found {
        FileKind::Pkcs1PrivateKey | FileKind::Pkcs8PrivateKey | FileKind::EncryptedPrivateKey => {
            " (a private key was given where a certificate belongs: use the .crt file downloaded from the console)"
        }
        FileKind::PublicKey | FileKind::Pkcs1PublicKey => {
            " (a public key is for public-key mode; certificate mode needs the .crt file downloaded from the console)"
        }
        FileKind::CertificateRequest => " (upload the CSR to the console and download the issued .crt)",
        _ => "",
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CertError> {
    let text = path.to_string_lossy();
    if crate::kind::looks_like_content_not_path(&text) {
        return Err(CertErrorKind::ContentGivenAsPath { length: text.chars().count() }.into());
    }
    std::fs::read(path).map_err(|source| CertErrorKind::Read { path: path.to_path_buf(), source }.into())
}
