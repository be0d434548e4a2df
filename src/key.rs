//! Keys and signatures: the app private key, the Alipay public key (public-key mode), RSA2/RSA.
//!
//! Private keys come as PKCS#1 PEM, PKCS#8 PEM, or the bare base64 body Alipay's key tool
//! writes to a `.txt` file (of either DER form). Keys are parsed once; signing and verifying
//! reuse the parsed key. Key material never appears in `Debug`, `Display` or errors.
//!
//! ```
//! use alipay_sdk::key::{PrivateKey, SignType};
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki");
//! let key = PrivateKey::from_path(dir.join("keys/app_pkcs8_base64.txt"))?;
//! let signature = key.sign(b"app_id=2021000000000001&method=alipay.trade.query", SignType::Rsa2)?;
//! assert!(key.public_key().verify(b"app_id=2021000000000001&method=alipay.trade.query", &signature, SignType::Rsa2));
//! # Ok::<(), alipay_sdk::key::KeyError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};

use crate::cert::{Certificate, CertificateChain};
use crate::kind::{self, FileKind};
use crate::pem::{self, PemBodyError};

/// The signature algorithm, always chosen by configuration, never by a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    /// SHA256withRSA — the only one certificate mode uses.
    #[default]
    Rsa2,
    /// SHA1withRSA — old public-key-mode apps only.
    Rsa,
}

impl SignType {
    /// The value of the `sign_type` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            SignType::Rsa2 => MessageDigest::sha256(),
            SignType::Rsa => MessageDigest::sha1(),
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignType {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RSA2" => Ok(SignType::Rsa2),
            "RSA" => Ok(SignType::Rsa),
            other => Err(KeyError::UnknownSignType { value: other.to_string() }),
        }
    }
}

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
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
        "the value given as the path of a key file looks like key or certificate content, not a path \
         ({length} characters, not shown); write it to a file and give that file's path"
    )]
    ContentGivenAsPath {
        /// The length of the value, in characters.
        length: usize,
    },
    /// The file holds nothing.
    #[error("{origin}: the file is empty; expected {expected}")]
    Empty {
        /// The file or label.
        origin: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The file holds something else than the key expected.
    #[error("{origin}: this is {found}, but {expected} was expected{}", wrong_kind_hint(*found, expected))]
    WrongKind {
        /// The file or label.
        origin: String,
        /// What the file holds.
        found: FileKind,
        /// What was expected.
        expected: &'static str,
    },
    /// The key is password-protected.
    #[error("{origin}: the private key is encrypted; export it without a password (openssl pkey -in KEY -out PLAIN)")]
    Encrypted {
        /// The file or label.
        origin: String,
    },
    /// The key's structure is damaged.
    #[error("{origin}: {expected} could not be read: {detail}")]
    Invalid {
        /// The file or label.
        origin: String,
        /// What was expected.
        expected: &'static str,
        /// What went wrong (no key material).
        detail: String,
    },
    /// The key is not RSA.
    #[error("{origin}: the key is {algorithm}, but Alipay RSA2/RSA signatures need an RSA key")]
    NotRsa {
        /// The file or label.
        origin: String,
        /// The key's algorithm.
        algorithm: String,
    },
    /// The private key does not belong to the certificate.
    #[error(
        "the private key {key_origin} does not match the certificate {cert_origin} (SN {cert_sn}): \
         the certificate was issued for a different key"
    )]
    Mismatch {
        /// The key file or label.
        key_origin: String,
        /// The certificate file or label.
        cert_origin: String,
        /// The certificate's SN.
        cert_sn: String,
    },
    /// A `sign_type` other than `RSA2` or `RSA`.
    #[error("unknown sign type {value:?}: expected RSA2 (or RSA for old public-key-mode apps)")]
    UnknownSignType {
        /// The value given.
        value: String,
    },
    /// OpenSSL failed to sign.
    #[error("signing failed: {detail}")]
    Sign {
        /// OpenSSL's message.
        detail: String,
    },
}

fn wrong_kind_hint(found: FileKind, expected: &str) -> &'static str {
    let wants_private = expected.contains("private");
    match found {
        FileKind::Certificates { .. } if wants_private => {
            ": a certificate holds only the public key; use the app private key file (应用私钥) generated with the key"
        }
        FileKind::Certificates { .. } => {
            ": in certificate mode configure this file as the Alipay certificate (alipayCertPublicKey_RSA2.crt) instead"
        }
        FileKind::PublicKey | FileKind::Pkcs1PublicKey if wants_private => {
            ": this is the app public key (应用公钥); the private key is the other file the key tool wrote"
        }
        FileKind::Pkcs1PrivateKey | FileKind::Pkcs8PrivateKey if !wants_private => {
            ": never give out a private key; the Alipay public key (支付宝公钥) comes from the open-platform console"
        }
        _ => "",
    }
}

const PRIVATE_EXPECTED: &str = "an RSA private key (PKCS#1 or PKCS#8 PEM, or the bare base64 of Alipay's key tool)";
const PUBLIC_EXPECTED: &str = "an RSA public key (PEM 'BEGIN PUBLIC KEY' or bare base64)";

/// The app private key. Parsed once; signing reuses it.
#[derive(Clone)]
pub struct PrivateKey {
    pkey: PKey<Private>,
    origin: String,
}

impl PrivateKey {
    /// Loads a private key from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<PrivateKey, KeyError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::from_bytes_named(&bytes, path.display().to_string())
    }

    /// Loads a private key from bytes (PEM, bare base64 or DER).
    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKey, KeyError> {
        Self::from_bytes_named(bytes, "private key data")
    }

    /// Loads a private key from bytes; `origin` names it in errors.
    pub fn from_bytes_named(bytes: &[u8], origin: impl Into<String>) -> Result<PrivateKey, KeyError> {
        let origin = origin.into();
        let (found, der) = key_der(bytes, &origin, PRIVATE_EXPECTED)?;
        let invalid = |e: openssl::error::ErrorStack| KeyError::Invalid {
            origin: origin.clone(),
            expected: PRIVATE_EXPECTED,
            detail: short_openssl(&e),
        };
        let pkey = match found {
            FileKind::Pkcs8PrivateKey => PKey::private_key_from_pkcs8(&der).map_err(invalid)?,
            FileKind::Pkcs1PrivateKey => {
                PKey::from_rsa(Rsa::private_key_from_der(&der).map_err(invalid)?).map_err(invalid)?
            }
            FileKind::EncryptedPrivateKey => return Err(KeyError::Encrypted { origin }),
            other => return Err(KeyError::WrongKind { origin, found: other, expected: PRIVATE_EXPECTED }),
        };
        if pkey.id() != Id::RSA {
            return Err(KeyError::NotRsa { origin, algorithm: format!("{:?}", pkey.id()) });
        }
        Ok(PrivateKey { pkey, origin })
    }

    /// Generates a new RSA key (for tests, the sandbox and `alipay key gen`).
    pub fn generate(bits: u32) -> Result<PrivateKey, KeyError> {
        let sign_error = |e: openssl::error::ErrorStack| KeyError::Sign { detail: short_openssl(&e) };
        let rsa = Rsa::generate(bits).map_err(sign_error)?;
        Ok(PrivateKey { pkey: PKey::from_rsa(rsa).map_err(sign_error)?, origin: "generated key".into() })
    }

    /// Signs `content` and returns the standard base64 signature.
    pub fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError> {
        Ok(STANDARD.encode(self.sign_raw(content, sign_type)?))
    }

    /// Signs `content` and returns the raw signature bytes.
    pub fn sign_raw(&self, content: &[u8], sign_type: SignType) -> Result<Vec<u8>, KeyError> {
        let sign_error = |e: openssl::error::ErrorStack| KeyError::Sign { detail: short_openssl(&e) };
        let mut signer = Signer::new(sign_type.digest(), &self.pkey).map_err(sign_error)?;
        signer.sign_oneshot_to_vec(content).map_err(sign_error)
    }

    /// Key size in bits.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// Where the key came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let der = self.pkey.public_key_to_der().expect("an RSA key always has a public part");
        let pkey = PKey::public_key_from_der(&der).expect("just encoded");
        PublicKey { pkey, origin: format!("public part of {}", self.origin) }
    }

    /// Whether this key is the private half of `certificate`'s public key.
    pub fn matches(&self, certificate: &Certificate) -> bool {
        certificate.public_key().is_some_and(|public| self.pkey.public_eq(public))
    }

    /// Checks that this key belongs to the first certificate of `chain`.
    pub fn check_matches(&self, chain: &CertificateChain) -> Result<(), KeyError> {
        if self.matches(chain.leaf()) {
            Ok(())
        } else {
            Err(KeyError::Mismatch {
                key_origin: self.origin.clone(),
                cert_origin: chain.origin().to_string(),
                cert_sn: chain.sn().to_string(),
            })
        }
    }

    /// PKCS#8 PEM text (for `alipay key gen`).
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der = self.pkey.private_key_to_pkcs8().map_err(|e| KeyError::Sign { detail: short_openssl(&e) })?;
        Ok(pem_text("PRIVATE KEY", &der))
    }

    /// PKCS#1 PEM text.
    pub fn to_pkcs1_pem(&self) -> Result<String, KeyError> {
        let rsa = self.pkey.rsa().map_err(|e| KeyError::Sign { detail: short_openssl(&e) })?;
        let der = rsa.private_key_to_der().map_err(|e| KeyError::Sign { detail: short_openssl(&e) })?;
        Ok(pem_text("RSA PRIVATE KEY", &der))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("origin", &self.origin).field("bits", &self.bits()).finish_non_exhaustive()
    }
}

/// An RSA public key: the Alipay public key in public-key mode, or the public half of a key.
#[derive(Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
    origin: String,
}

impl PublicKey {
    /// Loads a public key from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<PublicKey, KeyError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::from_bytes_named(&bytes, path.display().to_string())
    }

    /// Loads a public key from bytes (PEM, bare base64 as the console shows it, or DER).
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        Self::from_bytes_named(bytes, "public key data")
    }

    /// Loads a public key from bytes; `origin` names it in errors.
    pub fn from_bytes_named(bytes: &[u8], origin: impl Into<String>) -> Result<PublicKey, KeyError> {
        let origin = origin.into();
        let (found, der) = key_der(bytes, &origin, PUBLIC_EXPECTED)?;
        let invalid = |e: openssl::error::ErrorStack| KeyError::Invalid {
            origin: origin.clone(),
            expected: PUBLIC_EXPECTED,
            detail: short_openssl(&e),
        };
        let pkey = match found {
            FileKind::PublicKey => PKey::public_key_from_der(&der).map_err(invalid)?,
            FileKind::Pkcs1PublicKey => {
                PKey::from_rsa(Rsa::public_key_from_der_pkcs1(&der).map_err(invalid)?).map_err(invalid)?
            }
            other => return Err(KeyError::WrongKind { origin, found: other, expected: PUBLIC_EXPECTED }),
        };
        if pkey.id() != Id::RSA {
            return Err(KeyError::NotRsa { origin, algorithm: format!("{:?}", pkey.id()) });
        }
        Ok(PublicKey { pkey, origin })
    }

    /// The public key of a certificate (RSA only).
    pub fn from_certificate(certificate: &Certificate) -> Result<PublicKey, KeyError> {
        let origin = format!("certificate {}", certificate.sn());
        match certificate.public_key() {
            Some(pkey) if pkey.id() == Id::RSA => Ok(PublicKey { pkey: pkey.clone(), origin }),
            Some(pkey) => Err(KeyError::NotRsa { origin, algorithm: format!("{:?}", pkey.id()) }),
            None => Err(KeyError::NotRsa { origin, algorithm: "an unsupported algorithm".into() }),
        }
    }

    /// Verifies a base64 signature over `content`. Any malformed signature is `false`.
    pub fn verify(&self, content: &[u8], signature_base64: &str, sign_type: SignType) -> bool {
        let decoded = if signature_base64.bytes().any(|b| b.is_ascii_whitespace()) {
            let compact: String = signature_base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            STANDARD.decode(compact)
        } else {
            STANDARD.decode(signature_base64)
        };
        match decoded {
            Ok(signature) => self.verify_raw(content, &signature, sign_type),
            Err(_) => false,
        }
    }

    /// Verifies raw signature bytes over `content`.
    pub fn verify_raw(&self, content: &[u8], signature: &[u8], sign_type: SignType) -> bool {
        let Ok(mut verifier) = Verifier::new(sign_type.digest(), &self.pkey) else { return false };
        verifier.verify_oneshot(signature, content).unwrap_or(false)
    }

    /// Key size in bits.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// Where the key came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> Vec<u8> {
        self.pkey.public_key_to_der().expect("an RSA public key encodes")
    }

    /// PEM text (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem_text("PUBLIC KEY", &self.to_der())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("origin", &self.origin).field("bits", &self.bits()).finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    let text = path.to_string_lossy();
    if kind::looks_like_content_not_path(&text) {
        return Err(KeyError::ContentGivenAsPath { length: text.chars().count() });
    }
    std::fs::read(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })
}

/// Finds the key DER in PEM, bare base64 or DER input and says what kind it is.
fn key_der(bytes: &[u8], origin: &str, expected: &'static str) -> Result<(FileKind, Vec<u8>), KeyError> {
    let found = kind::sniff(bytes);
    let origin_owned = || origin.to_string();
    match found {
        FileKind::Empty => return Err(KeyError::Empty { origin: origin_owned(), expected }),
        FileKind::EncryptedPrivateKey => return Err(KeyError::Encrypted { origin: origin_owned() }),
        _ => {}
    }
    let blocks = pem::blocks(bytes);
    let der = if let Some(block) = blocks.into_iter().next() {
        match block.body {
            Ok(der) => der,
            Err(PemBodyError::Encrypted) => return Err(KeyError::Encrypted { origin: origin_owned() }),
            Err(PemBodyError::Unterminated) => {
                return Err(KeyError::Invalid {
                    origin: origin_owned(),
                    expected,
                    detail: format!("'-----BEGIN {}-----' has no END line (truncated file?)", block.label),
                });
            }
            Err(PemBodyError::Base64(detail)) => {
                return Err(KeyError::Invalid {
                    origin: origin_owned(),
                    expected,
                    detail: format!("bad base64: {detail}"),
                });
            }
        }
    } else if pem::looks_like_text(bytes) {
        pem::decode_base64_text(bytes).map_err(|detail| KeyError::Invalid {
            origin: origin_owned(),
            expected,
            detail: format!("not PEM and not base64 ({detail})"),
        })?
    } else {
        bytes.to_vec()
    };
    Ok((found, der))
}

fn pem_text(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// OpenSSL's first reason, without file/line noise.
pub(crate) fn short_openssl(error: &openssl::error::ErrorStack) -> String {
    error
        .errors()
        .first()
        .and_then(|e| e.reason().map(str::to_string))
        .unwrap_or_else(|| "OpenSSL rejected the data".to_string())
}
