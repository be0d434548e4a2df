//! Keys and signatures: the app private key, the Alipay public key (public-key mode);
//! RSA2/RSA with RSA keys, SM2 (SM3withSM2, [`crate::sm2`]'s user id) with SM2 keys.
//!
//! Private keys come as PKCS#1 PEM (RSA), PKCS#8 PEM (RSA or SM2), or the bare base64 body
//! Alipay's key tool writes to a `.txt` file (of either DER form). Keys are parsed once; signing and verifying
//! reuse the parsed key. Key material never appears in `Debug`, `Display` or errors.
//!
//! ```
//! use alipay_core::key::{PrivateKey, SignType};
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
//! let key = PrivateKey::from_path(dir.join("keys/app_pkcs8_base64.txt"))?;
//! let signature = key.sign(b"app_id=2021000000000001&method=alipay.trade.query", SignType::Rsa2)?;
//! assert!(key.public_key().verify(b"app_id=2021000000000001&method=alipay.trade.query", &signature, SignType::Rsa2));
//! # Ok::<(), alipay_core::key::KeyError>(())
//! ```

mod pkcs1;
mod remote;
pub(crate) use remote::{RemoteKey, check_remote};
pub use remote::{RemoteSigner, SignJob};

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer as OpensslSigner, Verifier};

use crate::kind::{self, FileKind};
use crate::pem::{self, PemBodyError};

/// The key algorithm family: what a key is, which [`SignType`]s it can make, and which roots
/// of the bundle count in `alipay_root_cert_sn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA: `RSA2` (SHA256withRSA) and `RSA` (SHA1withRSA).
    Rsa,
    /// SM2 (国密): `SM2` (SM3withSM2 with the user id `1234567812345678`).
    Sm2,
}

/// What loading found a key to be: its algorithm and, for SM2, its `Z` digest (computed once:
/// it depends only on the key and the user id).
#[derive(Clone, Copy)]
struct KeyShape {
    algorithm: KeyAlgorithm,
    sm2_z: Option<[u8; 32]>,
}

impl KeyShape {
    /// The shape of an OpenSSL key, or a person's description of why this crate cannot sign
    /// with it.
    fn of<T: openssl::pkey::HasPublic>(key: &PKey<T>) -> Result<KeyShape, String> {
        if key.id() == Id::RSA {
            return Ok(KeyShape { algorithm: KeyAlgorithm::Rsa, sm2_z: None });
        }
        let spki = key.public_key_to_der().map_err(|_| key_type_name(key))?;
        match crate::sm2::spki_kind(&spki) {
            crate::sm2::SpkiKind::Sm2(point) if crate::sm2::openssl_treats_as_sm2(key) => Ok(KeyShape {
                algorithm: KeyAlgorithm::Sm2,
                sm2_z: Some(crate::sm2::z_digest(&point, crate::sm2::USER_ID)),
            }),
            crate::sm2::SpkiKind::Sm2(_) => {
                Err("an SM2 key that this OpenSSL build holds as an ECDSA key (SM2 signatures need OpenSSL 3)".into())
            }
            crate::sm2::SpkiKind::Other => Err(key_type_name(key)),
        }
    }
}

impl KeyAlgorithm {
    /// Roots whose signature algorithm OID starts with this count in `alipay_root_cert_sn`
    /// (the RSA family: `1.2.840.113549.1.1.`, the arc of sha1WithRSA `.5`, sha256WithRSA
    /// `.11`, RSASSA-PSS `.10`, …; SM2: SM3withSM2 `1.2.156.10197.1.501`).
    pub const fn root_signature_oid_prefix(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa => "1.2.840.113549.1.1.",
            KeyAlgorithm::Sm2 => crate::sm2::SM3_WITH_SM2_OID,
        }
    }

    /// Whether a certificate signed with `oid` belongs to this algorithm's family.
    pub fn signs_with_oid(self, oid: &str) -> bool {
        match self {
            KeyAlgorithm::Rsa => oid.starts_with(self.root_signature_oid_prefix()),
            // The exact OID or an arc below it; not 1.2.156.10197.1.5010.
            KeyAlgorithm::Sm2 => oid
                .strip_prefix(self.root_signature_oid_prefix())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.')),
        }
    }

    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa => "RSA",
            KeyAlgorithm::Sm2 => "SM2",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A person's name for a key's type (never OpenSSL's `Id(-1)`).
pub(crate) fn key_type_name<T: openssl::pkey::HasPublic>(key: &PKey<T>) -> String {
    let curve = || {
        key.ec_key()
            .ok()
            .and_then(|ec| ec.group().curve_name())
            .and_then(|nid| nid.short_name().ok().map(str::to_string))
            .unwrap_or_else(|| "an unnamed curve".into())
    };
    match key.id() {
        Id::RSA => "RSA".into(),
        Id::EC => match curve().as_str() {
            "SM2" => "an SM2 key".into(),
            name => format!("an EC key on {name}"),
        },
        Id::DSA => "a DSA key".into(),
        Id::ED25519 => "an Ed25519 key".into(),
        Id::ED448 => "an Ed448 key".into(),
        Id::DH => "a DH key".into(),
        Id::SM2 => "an SM2 key".into(),
        _ => "a key type this crate does not use".into(),
    }
}

/// What signs the app's requests and answers: the in-process [`PrivateKey`], or a KMS or HSM
/// that keeps the key and only returns signatures (`examples/remote_signer.rs`).
///
/// Give one to [`crate::ConfigBuilder::app_signer`]. A signer is asked to sign the exact sign
/// content bytes (already in the request charset) and returns the standard base64 signature.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;

    /// Signs `content` with `sign_type` and returns the standard base64 signature.
    fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError>;

    /// Whether this signer's key is the private half of `certified` (a certificate's key, see
    /// [`crate::cert::CertificateChain::check_signer`]). The default signs a probe and
    /// verifies it with `certified`, so a remote signer is checked without its key leaving
    /// the device.
    fn is_key_of(&self, certified: &PublicKey) -> Result<bool, KeyError> {
        let sign_type = SignType::default_for(self.algorithm());
        let probe = b"alipay-sdk: does this key belong to the app certificate?";
        let signature = self.sign(probe, sign_type)?;
        Ok(certified.verify(probe, &signature, sign_type))
    }

    /// How this signer is named in a mismatch error: where its key came from.
    fn describe(&self) -> String {
        format!("{self:?}")
    }

    /// The remote signer behind this one, when signatures come from a network service that
    /// the driver must await ([`RemoteSigner`]); `None` for signers that sign inline.
    fn remote(&self) -> Option<Arc<dyn RemoteSigner>> {
        None
    }
}

impl Signer for PrivateKey {
    fn algorithm(&self) -> KeyAlgorithm {
        PrivateKey::algorithm(self)
    }

    fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError> {
        PrivateKey::sign(self, content, sign_type)
    }

    fn is_key_of(&self, certified: &PublicKey) -> Result<bool, KeyError> {
        Ok(self.pkey.public_eq(&certified.pkey))
    }

    fn describe(&self) -> String {
        self.origin.clone()
    }
}

/// The signature algorithm, always chosen by configuration, never by a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignType {
    /// SHA256withRSA — the only one certificate mode uses.
    #[default]
    Rsa2,
    /// SHA1withRSA — old public-key-mode apps only.
    Rsa,
    /// SM3withSM2 with the user id `1234567812345678` (国密), with an SM2 key.
    Sm2,
}

impl SignType {
    /// The value of the `sign_type` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
            SignType::Sm2 => "SM2",
        }
    }

    /// The key algorithm that makes this signature.
    pub fn algorithm(self) -> KeyAlgorithm {
        match self {
            SignType::Rsa2 | SignType::Rsa => KeyAlgorithm::Rsa,
            SignType::Sm2 => KeyAlgorithm::Sm2,
        }
    }

    /// The signature type an algorithm's apps use by default (`RSA2` for RSA).
    pub fn default_for(algorithm: KeyAlgorithm) -> SignType {
        match algorithm {
            KeyAlgorithm::Rsa => SignType::Rsa2,
            KeyAlgorithm::Sm2 => SignType::Sm2,
        }
    }

    /// The RSA digest (SM2 hashes with SM3 over `Z || M`, see [`crate::sm2`]).
    pub(crate) fn digest(self) -> MessageDigest {
        match self {
            SignType::Rsa2 => MessageDigest::sha256(),
            SignType::Rsa => MessageDigest::sha1(),
            SignType::Sm2 => MessageDigest::sm3(),
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
            "SM2" => Ok(SignType::Sm2),
            other => Err(KeyErrorKind::UnknownSignType { value: other.to_string() }.into()),
        }
    }
}

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyErrorKind {
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
        /// What is wrong with its text (no key material).
        detail: String,
    },
    /// OpenSSL could not read the key's structure.
    #[error("{origin}: {expected} could not be read: {}", short_openssl(.source))]
    Unreadable {
        /// The file or label.
        origin: String,
        /// What was expected.
        expected: &'static str,
        /// OpenSSL's error (no key material).
        source: openssl::error::ErrorStack,
    },
    /// The signature type needs another key algorithm than the key's.
    #[error("sign_type {sign_type} needs an {} key, but the key is {key}", sign_type.algorithm())]
    AlgorithmMismatch {
        /// The configured signature type.
        sign_type: SignType,
        /// The key's algorithm.
        key: KeyAlgorithm,
    },
    /// The key is not of an algorithm the crate signs with (RSA, SM2).
    #[error("{origin}: the key is {algorithm}, but Alipay signatures need an RSA key (RSA2, RSA) or an SM2 key (SM2)")]
    UnsupportedKey {
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
    /// A `sign_type` other than `RSA2`, `RSA` or `SM2`.
    #[error("unknown sign type {value:?}: expected RSA2, SM2 (国密), or RSA for old public-key-mode apps")]
    UnknownSignType {
        /// The value given.
        value: String,
    },
    /// A remote signer cannot sign inline: the entry point is synchronous (page and app
    /// payment strings, signed answers to Alipay's calls) and needs an in-process signer.
    #[error(
        "a remote signer signs in the call flow (Step::Sign), not inline: page/app payment strings and signed \
         answers to Alipay need an in-process key or a synchronous Signer"
    )]
    RemoteSignerNotInline,
    /// A remote signer answered with a signature its own public key does not verify (the
    /// service signed with another key, or garbled the answer).
    #[error(
        "the remote signer {signer} returned a signature that its public key does not verify: the service \
         signs with another key than the one configured"
    )]
    RemoteSignatureInvalid {
        /// The signer (its `Debug`, which must not hold secrets).
        signer: String,
    },
    /// A signer could not sign (a remote signer's service failed, say).
    #[error("signing failed: {detail}")]
    Sign {
        /// What failed.
        detail: String,
    },
    /// An OpenSSL operation on a key failed.
    #[error("{operation} failed: {}", short_openssl(.source))]
    Crypto {
        /// What was being done.
        operation: &'static str,
        /// OpenSSL's error.
        source: openssl::error::ErrorStack,
    },
    /// The content to sign cannot be carried in the charset.
    #[error(transparent)]
    Charset(#[from] crate::charset::CharsetError),
}

crate::layer_error!(
    /// Why a key could not be loaded or used; see [`KeyErrorKind`].
    ///
    /// One pointer wide; [`KeyError::kind`] says what went wrong.
    KeyError => KeyErrorKind
);

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
            ": a public key — the app public key (应用公钥) or the Alipay public key (支付宝公钥); signing needs the app private key (应用私钥), the other file the key tool wrote"
        }
        FileKind::Pkcs1PrivateKey | FileKind::Pkcs8PrivateKey if !wants_private => {
            ": never give out a private key; the Alipay public key (支付宝公钥) comes from the open-platform console"
        }
        _ => "",
    }
}

const PRIVATE_EXPECTED: &str =
    "an RSA or SM2 private key (PKCS#8 PEM, PKCS#1 PEM for RSA, or the bare base64 of Alipay's key tool)";
const PUBLIC_EXPECTED: &str = "an RSA or SM2 public key (PEM 'BEGIN PUBLIC KEY' or bare base64)";

/// The app private key. Parsed once; signing reuses it.
#[derive(Clone)]
pub struct PrivateKey {
    pkey: PKey<Private>,
    algorithm: KeyAlgorithm,
    /// SM2 only: `Z` for this key and the user id.
    sm2_z: Option<[u8; 32]>,
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
        let invalid = |e: openssl::error::ErrorStack| KeyErrorKind::Unreadable {
            origin: origin.clone(),
            expected: PRIVATE_EXPECTED,
            source: e,
        };
        let pkey = match found {
            FileKind::Pkcs8PrivateKey => PKey::private_key_from_pkcs8(&der).map_err(invalid)?,
            FileKind::Pkcs1PrivateKey => {
                PKey::from_rsa(Rsa::private_key_from_der(&der).map_err(invalid)?).map_err(invalid)?
            }
            FileKind::EncryptedPrivateKey => return Err(KeyErrorKind::Encrypted { origin }.into()),
            other => return Err(KeyErrorKind::WrongKind { origin, found: other, expected: PRIVATE_EXPECTED }.into()),
        };
        let shape = KeyShape::of(&pkey)
            .map_err(|algorithm| KeyErrorKind::UnsupportedKey { origin: origin.clone(), algorithm })?;
        let key = PrivateKey { pkey, algorithm: shape.algorithm, sm2_z: shape.sm2_z, origin };
        key.check_consistent()?;
        Ok(key)
    }

    /// Signs a probe and verifies it with the key's own public part. A damaged key file can
    /// hold parts that do not agree (an RSA key whose `n` is not `p·q` loads and signs, but
    /// nothing it signs verifies — and an RSA-CRT signature from such a key can reveal the
    /// key's factors), so it is refused when loaded, not at the first call.
    fn check_consistent(&self) -> Result<(), KeyError> {
        let sign_type = SignType::default_for(self.algorithm);
        let probe = b"alipay-sdk: do this key's parts agree?";
        let agrees = self
            .sign_raw(probe, sign_type)
            .is_ok_and(|signature| self.public_key().verify_raw(probe, &signature, sign_type));
        if agrees {
            Ok(())
        } else {
            Err(KeyErrorKind::Invalid {
                origin: self.origin.clone(),
                expected: PRIVATE_EXPECTED,
                detail:
                    "its private and public parts do not agree (what it signs would not verify): the file is damaged"
                        .into(),
            }
            .into())
        }
    }

    /// Generates a new RSA key (for tests, the sandbox and `alipay key gen`).
    pub fn generate(bits: u32) -> Result<PrivateKey, KeyError> {
        let sign_error =
            |source: openssl::error::ErrorStack| KeyErrorKind::Crypto { operation: "generating a key", source };
        let rsa = Rsa::generate(bits).map_err(sign_error)?;
        Ok(PrivateKey {
            pkey: PKey::from_rsa(rsa).map_err(sign_error)?,
            algorithm: KeyAlgorithm::Rsa,
            sm2_z: None,
            origin: "generated key".into(),
        })
    }

    /// Generates a new SM2 key (for tests, the sandbox and `alipay key gen --algorithm sm2`).
    pub fn generate_sm2() -> Result<PrivateKey, KeyError> {
        let pkey = crate::sm2::generate()
            .map_err(|source| KeyErrorKind::Crypto { operation: "generating an SM2 key", source })?;
        let shape = KeyShape::of(&pkey)
            .map_err(|algorithm| KeyErrorKind::UnsupportedKey { origin: "generated SM2 key".into(), algorithm })?;
        Ok(PrivateKey { pkey, algorithm: shape.algorithm, sm2_z: shape.sm2_z, origin: "generated key".into() })
    }

    /// Generates a key of `algorithm` (RSA keys of `rsa_bits`).
    pub fn generate_for(algorithm: KeyAlgorithm, rsa_bits: u32) -> Result<PrivateKey, KeyError> {
        match algorithm {
            KeyAlgorithm::Rsa => PrivateKey::generate(rsa_bits),
            KeyAlgorithm::Sm2 => PrivateKey::generate_sm2(),
        }
    }

    /// Replaces the outer signature of a DER certificate or certificate request signed with
    /// this SM2 key by OpenSSL (which puts an empty user id into the signature) with one made
    /// with Alipay's user id `1234567812345678`. For the tools that issue SM2 certificates
    /// and CSRs (`alipay csr`, the sandbox).
    pub fn resign_sm2_x509(&self, der: &[u8]) -> Result<Vec<u8>, KeyError> {
        let Some(z) = &self.sm2_z else {
            return Err(KeyErrorKind::AlgorithmMismatch { sign_type: SignType::Sm2, key: self.algorithm }.into());
        };
        crate::sm2::resign(der, &self.pkey, z).map_err(|detail| KeyErrorKind::Sign { detail }.into())
    }

    /// The OpenSSL key (for building certificates and requests around it).
    pub fn openssl_key(&self) -> &PKey<Private> {
        &self.pkey
    }

    /// Signs `content` and returns the standard base64 signature.
    pub fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError> {
        Ok(STANDARD.encode(self.sign_raw(content, sign_type)?))
    }

    /// Signs `content` and returns the raw signature bytes.
    pub fn sign_raw(&self, content: &[u8], sign_type: SignType) -> Result<Vec<u8>, KeyError> {
        let sign_error =
            |source: openssl::error::ErrorStack| KeyErrorKind::Crypto { operation: "signing", source }.into();
        if sign_type.algorithm() != self.algorithm() {
            return Err(KeyErrorKind::AlgorithmMismatch { sign_type, key: self.algorithm() }.into());
        }
        if let Some(z) = &self.sm2_z {
            return crate::sm2::sign(&self.pkey, z, content).map_err(sign_error);
        }
        let mut signer = OpensslSigner::new(sign_type.digest(), &self.pkey).map_err(sign_error)?;
        signer.sign_oneshot_to_vec(content).map_err(sign_error)
    }

    /// Key size in bits.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Where the key came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let der = self.pkey.public_key_to_der().expect("a private key always has a public part");
        let pkey = PKey::public_key_from_der(&der).expect("just encoded");
        PublicKey::new(
            pkey,
            KeyShape { algorithm: self.algorithm, sm2_z: self.sm2_z },
            format!("public part of {}", self.origin),
        )
    }

    /// PKCS#8 PEM text (for `alipay key gen`).
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der = self
            .pkey
            .private_key_to_pkcs8()
            .map_err(|source| KeyErrorKind::Crypto { operation: "encoding the key", source })?;
        Ok(pem_text("PRIVATE KEY", &der))
    }

    /// PKCS#1 PEM text.
    pub fn to_pkcs1_pem(&self) -> Result<String, KeyError> {
        let rsa = self.pkey.rsa().map_err(|source| KeyErrorKind::Crypto { operation: "encoding the key", source })?;
        let der = rsa
            .private_key_to_der()
            .map_err(|source| KeyErrorKind::Crypto { operation: "encoding the key", source })?;
        Ok(pem_text("RSA PRIVATE KEY", &der))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("origin", &self.origin)
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// The smallest RSA modulus, in bits, trusted to verify Alipay's signatures (configured keys
/// and certificates, and downloaded ones alike).
pub const MIN_ALIPAY_RSA_BITS: u32 = 2048;

/// A public key (RSA or SM2): the Alipay public key in public-key mode, a certificate's key,
/// or the public half of a key.
#[derive(Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
    /// The RSA key itself, extracted once: verification runs on it (`pkcs1`).
    rsa: Option<Rsa<Public>>,
    algorithm: KeyAlgorithm,
    /// SM2 only: `Z` for this key and the user id.
    sm2_z: Option<[u8; 32]>,
    origin: String,
}

impl PublicKey {
    fn new(pkey: PKey<Public>, shape: KeyShape, origin: String) -> PublicKey {
        let rsa = if shape.algorithm == KeyAlgorithm::Rsa { pkey.rsa().ok() } else { None };
        PublicKey { pkey, rsa, algorithm: shape.algorithm, sm2_z: shape.sm2_z, origin }
    }

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
        let invalid = |e: openssl::error::ErrorStack| KeyErrorKind::Unreadable {
            origin: origin.clone(),
            expected: PUBLIC_EXPECTED,
            source: e,
        };
        let pkey = match found {
            FileKind::PublicKey => PKey::public_key_from_der(&der).map_err(invalid)?,
            FileKind::Pkcs1PublicKey => {
                PKey::from_rsa(Rsa::public_key_from_der_pkcs1(&der).map_err(invalid)?).map_err(invalid)?
            }
            other => return Err(KeyErrorKind::WrongKind { origin, found: other, expected: PUBLIC_EXPECTED }.into()),
        };
        let shape = KeyShape::of(&pkey)
            .map_err(|algorithm| KeyErrorKind::UnsupportedKey { origin: origin.clone(), algorithm })?;
        Ok(PublicKey::new(pkey, shape, origin))
    }

    /// Wraps an OpenSSL public key (a certificate's issuer key, say).
    pub(crate) fn from_der_key(pkey: PKey<Public>) -> Result<PublicKey, KeyError> {
        let shape = KeyShape::of(&pkey)
            .map_err(|algorithm| KeyErrorKind::UnsupportedKey { origin: "public key".into(), algorithm })?;
        Ok(PublicKey::new(pkey, shape, "public key".into()))
    }

    /// Wraps a certificate's OpenSSL key, named by `origin` (its SN).
    pub(crate) fn from_certified(pkey: &PKey<Public>, origin: String) -> Result<PublicKey, KeyError> {
        match KeyShape::of(pkey) {
            Ok(shape) => Ok(PublicKey::new(pkey.clone(), shape, origin)),
            Err(algorithm) => Err(KeyErrorKind::UnsupportedKey { origin, algorithm }.into()),
        }
    }

    /// Whether `other` is the same key (compared by its public encoding).
    pub fn same_key(&self, other: &PublicKey) -> bool {
        match (self.pkey.public_key_to_der(), other.pkey.public_key_to_der()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// Verifies a base64 signature over `content`. Any malformed signature is `false`.
    pub fn verify(&self, content: &[u8], signature_base64: &str, sign_type: SignType) -> bool {
        // A signature of any key up to 4096 bits decodes on the stack (larger ones on the heap).
        let mut stack = [0u8; 512];
        match STANDARD.decode_slice(signature_base64, &mut stack) {
            Ok(n) => self.verify_raw(content, &stack[..n], sign_type),
            // Too long for the stack, or line breaks or spaces inside the base64 (as some
            // proxies and tools wrap it): looked for only when the plain decode fails, so a
            // clean signature is read once.
            Err(_) => {
                let compact: String = signature_base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                STANDARD.decode(compact).is_ok_and(|signature| self.verify_raw(content, &signature, sign_type))
            }
        }
    }

    /// Verifies raw signature bytes over `content`. A `sign_type` of another algorithm than
    /// the key's is `false`.
    pub fn verify_raw(&self, content: &[u8], signature: &[u8], sign_type: SignType) -> bool {
        if sign_type.algorithm() != self.algorithm {
            return false;
        }
        if let Some(rsa) = &self.rsa {
            return pkcs1::verify(rsa, content, signature, sign_type);
        }
        if let Some(z) = &self.sm2_z {
            return crate::sm2::verify(&self.pkey, z, content, signature);
        }
        let Ok(mut verifier) = Verifier::new(sign_type.digest(), &self.pkey) else { return false };
        verifier.verify_oneshot(signature, content).unwrap_or(false)
    }

    /// Key size in bits.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Why this RSA key must not be trusted to verify Alipay's signatures, if it must not: a
    /// modulus under [`MIN_ALIPAY_RSA_BITS`] bits, or a public exponent that is even or under
    /// 65537 (with e = 1 every encoding is its own signature). Alipay's keys are RSA-2048 with
    /// e = 65537. `None` for a sound RSA key and for SM2 keys (one size).
    pub fn weakness(&self) -> Option<String> {
        self.weakness_below(MIN_ALIPAY_RSA_BITS)
    }

    /// [`Self::weakness`] with another minimum modulus size.
    pub(crate) fn weakness_below(&self, min_bits: u32) -> Option<String> {
        let rsa = self.rsa.as_ref()?;
        let bits = rsa.n().num_bits();
        if bits < i32::try_from(min_bits).unwrap_or(i32::MAX) {
            return Some(format!("an RSA-{bits} key (at least {min_bits} bits are required)"));
        }
        let e = rsa.e();
        let small = openssl::bn::BigNum::from_u32(65_537).is_ok_and(|floor| e.ucmp(&floor).is_lt());
        if !e.is_bit_set(0) || small {
            let exponent = match e.num_bits() {
                0..=64 => e.to_dec_str().map(|d| d.to_string()).unwrap_or_default(),
                n => format!("of {n} bits"),
            };
            return Some(format!(
                "an RSA key with public exponent {exponent} (an odd exponent of at least 65537 is required)"
            ));
        }
        None
    }

    /// Where the key came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> Vec<u8> {
        self.pkey.public_key_to_der().expect("a loaded public key encodes")
    }

    /// PEM text (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem_text("PUBLIC KEY", &self.to_der())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("origin", &self.origin)
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits())
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    let text = path.to_string_lossy();
    if kind::looks_like_content_not_path(&text) {
        return Err(KeyErrorKind::ContentGivenAsPath { length: text.chars().count() }.into());
    }
    std::fs::read(path).map_err(|source| KeyErrorKind::Read { path: path.to_path_buf(), source }.into())
}

/// Finds the key DER in PEM, bare base64 or DER input and says what kind it is.
fn key_der(bytes: &[u8], origin: &str, expected: &'static str) -> Result<(FileKind, Vec<u8>), KeyError> {
    let found = kind::sniff(bytes);
    let origin_owned = || origin.to_string();
    match found {
        FileKind::Empty => return Err(KeyErrorKind::Empty { origin: origin_owned(), expected }.into()),
        FileKind::EncryptedPrivateKey => return Err(KeyErrorKind::Encrypted { origin: origin_owned() }.into()),
        _ => {}
    }
    let blocks = pem::blocks(bytes);
    let der = if let Some(block) = blocks.into_iter().next() {
        match block.body {
            Ok(der) => der,
            Err(PemBodyError::Encrypted) => return Err(KeyErrorKind::Encrypted { origin: origin_owned() }.into()),
            Err(PemBodyError::Unterminated) => {
                return Err(KeyErrorKind::Invalid {
                    origin: origin_owned(),
                    expected,
                    detail: format!("'-----BEGIN {}-----' has no END line (truncated file?)", block.label),
                }
                .into());
            }
            Err(PemBodyError::Base64(detail)) => {
                return Err(KeyErrorKind::Invalid {
                    origin: origin_owned(),
                    expected,
                    detail: format!("bad base64: {detail}"),
                }
                .into());
            }
        }
    } else if pem::looks_like_text(bytes) {
        pem::decode_base64_text(bytes).map_err(|detail| KeyErrorKind::Invalid {
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
