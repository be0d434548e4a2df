//! Certificates and their serial numbers (`app_cert_sn`, `alipay_cert_sn`,
//! `alipay_root_cert_sn`).
//!
//! - [`Certificate`]: one X.509 certificate with its raw DER, the facts a person needs and its SN.
//! - [`CertificateChain`]: a file of certificates identified by its first one — the app
//!   certificate (`appCertPublicKey_<app id>.crt`) or the Alipay certificate
//!   (`alipayCertPublicKey_RSA2.crt`, usually leaf + intermediate).
//! - [`RootBundle`]: Alipay's root bundle (`alipayRootCert.crt`) and its root SN.
//!
//! ```
//! use alipay_core::cert::{CertificateChain, RootBundle};
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki/ca");
//! let app = CertificateChain::from_path(dir.join("app_cert.pem"))?;
//! let roots = RootBundle::from_path(dir.join("root_bundle.pem"))?;
//! assert_eq!(app.sn().len(), 32);
//! assert!(roots.sn().contains('_')); // two RSA roots; the EC root does not count
//! # Ok::<(), alipay_core::cert::CertError>(())
//! ```

mod dn;
mod error;
mod info;
mod keys;
mod parse;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use openssl::pkey::{PKey, Public};

pub use error::{CertError, CertErrorKind, DerError};
pub use info::{CertRole, CertificateInfo, KeyUsage};

use crate::der;
use crate::key::KeyAlgorithm;

/// The signature-algorithm OID prefix of the RSA family (PKCS#1): only these roots count in
/// `alipay_root_cert_sn`.
const RSA_FAMILY_PREFIX: &str = crate::key::KeyAlgorithm::Rsa.root_signature_oid_prefix();

/// One X.509 certificate.
///
/// Cheap to clone (the parsed content is shared).
#[derive(Clone)]
pub struct Certificate {
    inner: Arc<parse::Parsed>,
}

impl Certificate {
    /// Parses one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        parse::Parsed::from_der(der.to_vec())
            .map(|parsed| Certificate { inner: Arc::new(parsed) })
            .map_err(|e| CertErrorKind::Malformed { origin: "DER input".into(), index: 1, source: e }.into())
    }

    /// The raw DER of the certificate, exactly as it was read.
    pub fn der(&self) -> &[u8] {
        &self.inner.der
    }

    /// The issuer as the JDK renders it (RFC 2253): the string hashed into the SN.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer_rfc2253
    }

    /// The subject, rendered like the issuer but with every string decoded as Unicode text
    /// (for people to read; BMPStrings differ from the JDK rendering, see [`Self::issuer`]).
    pub fn subject(&self) -> &str {
        &self.inner.subject_display
    }

    /// The subject as the JDK renders it (RFC 2253).
    pub fn subject_rfc2253(&self) -> &str {
        &self.inner.subject_rfc2253
    }

    /// The serial number in base 10 (signed, any size).
    pub fn serial_decimal(&self) -> &str {
        &self.inner.serial_decimal
    }

    /// The serial number in hexadecimal, as consoles and `openssl x509 -serial` show it.
    pub fn serial_hex(&self) -> String {
        der::integer_to_hex(&self.inner.serial)
    }

    /// The certificate SN: `md5(issuer_rfc2253 + serial_decimal)` in 32 lowercase hex digits.
    pub fn sn(&self) -> &str {
        &self.inner.sn
    }

    /// The outer signature-algorithm OID (dotted).
    pub fn signature_algorithm_oid(&self) -> &str {
        &self.inner.signature_algorithm_oid
    }

    /// Whether the certificate is signed with an RSA-family algorithm (and so counts in the
    /// root SN when it is in the root bundle).
    pub fn is_rsa_signed(&self) -> bool {
        self.inner.signature_algorithm_oid.starts_with(RSA_FAMILY_PREFIX)
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.inner.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.inner.not_after
    }

    /// Whether `at` lies inside the validity period.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.inner.not_before <= at && at <= self.inner.not_after
    }

    /// Whole days from `now` until the certificate expires (negative once expired).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.inner.not_after - now).num_days()
    }

    /// The public key, when it is an RSA or EC key OpenSSL can load.
    pub fn public_key(&self) -> Option<&PKey<Public>> {
        self.inner.public_key.as_ref()
    }

    /// The raw SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.inner.der[self.inner.spki.clone()]
    }

    /// The subject's common name (its first CN attribute), decoded as Unicode text.
    ///
    /// Alipay's certificates for a merchant carry `支付宝(中国)网络技术有限公司-<partner id>`;
    /// a rotated certificate carries the same CN as the one it replaces.
    pub fn subject_cn(&self) -> Option<String> {
        dn::attribute(&self.inner.der[self.inner.subject.clone()], "2.5.4.3")
    }

    /// What the certificate is for in the Alipay world (app, Alipay, authority).
    pub fn role(&self) -> CertRole {
        self.inner.role.clone()
    }

    /// Whether the certificate's issuer name equals its subject name.
    pub fn is_self_issued(&self) -> bool {
        self.inner.der[self.inner.issuer.clone()] == self.inner.der[self.inner.subject.clone()]
    }

    /// Whether basicConstraints says this is a CA.
    pub fn is_ca(&self) -> bool {
        self.inner.is_ca
    }

    /// The keyUsage extension, when present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.inner.key_usage
    }

    /// Whether `issuer`'s key verifies this certificate's signature and `issuer`'s subject is
    /// this certificate's issuer name.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        let names_match = self.inner.der[self.inner.issuer.clone()] == issuer.inner.der[issuer.inner.subject.clone()];
        names_match && self.inner.signature_verifies_with(issuer.public_key())
    }

    /// The facts a person needs, with days left counted from `now`.
    pub fn info(&self, now: DateTime<Utc>) -> CertificateInfo {
        CertificateInfo::of(self, now)
    }

    pub(crate) fn parsed(&self) -> &parse::Parsed {
        &self.inner
    }
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial_decimal())
            .field("sn", &self.sn())
            .finish()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}

impl Eq for Certificate {}

/// `md5(issuer_rfc2253 + serial_decimal)` as 32 lowercase hex digits.
pub fn cert_sn(issuer_rfc2253: &str, serial_decimal: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(issuer_rfc2253.as_bytes());
    md5.update(serial_decimal.as_bytes());
    der::hex_lower(&md5.finalize())
}

/// A file of one or more certificates, identified (SN, public key) by its first certificate.
#[derive(Clone, Debug)]
pub struct CertificateChain {
    origin: String,
    certificates: Vec<Certificate>,
}

impl CertificateChain {
    /// Loads certificates from a file (PEM, possibly several blocks, or DER).
    pub fn from_path(path: impl AsRef<Path>) -> Result<CertificateChain, CertError> {
        let path = path.as_ref();
        let bytes = error::read_file(path)?;
        Self::from_bytes_named(&bytes, path.display().to_string())
    }

    /// Loads certificates from bytes (PEM or DER).
    pub fn from_bytes(bytes: &[u8]) -> Result<CertificateChain, CertError> {
        Self::from_bytes_named(bytes, "certificate data")
    }

    /// Loads certificates from bytes; `origin` names them in errors (a file name, a setting).
    pub fn from_bytes_named(bytes: &[u8], origin: impl Into<String>) -> Result<CertificateChain, CertError> {
        let origin = origin.into();
        let mut certificates = Vec::new();
        for (index, der) in parse::certificate_ders(bytes, &origin)? {
            let parsed = parse::Parsed::from_der(der).map_err(|source| CertErrorKind::Malformed {
                origin: origin.clone(),
                index,
                source,
            })?;
            certificates.push(Certificate { inner: Arc::new(parsed) });
        }
        Ok(CertificateChain { origin, certificates })
    }

    /// Builds a chain from already parsed certificates (the first one identifies it).
    pub fn from_certificates(certificates: Vec<Certificate>, origin: impl Into<String>) -> Result<Self, CertError> {
        let origin = origin.into();
        if certificates.is_empty() {
            return Err(CertErrorKind::NoCertificate { origin, found: crate::kind::FileKind::Empty }.into());
        }
        Ok(CertificateChain { origin, certificates })
    }

    /// The first certificate: the one whose SN and key identify the file.
    pub fn leaf(&self) -> &Certificate {
        &self.certificates[0]
    }

    /// The SN of the first certificate.
    pub fn sn(&self) -> &str {
        self.leaf().sn()
    }

    /// Every certificate, in file order.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Where the certificates came from (a path or a label).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks that this file is an app certificate, not the Alipay certificate or a CA.
    pub fn require_app_certificate(self) -> Result<Self, CertError> {
        match self.leaf().role() {
            CertRole::Alipay { .. } | CertRole::Authority => Err(CertErrorKind::WrongRole {
                origin: self.origin.clone(),
                expected: "the app certificate (appCertPublicKey_<app id>.crt)",
                found: self.leaf().role().describe(),
                subject: self.leaf().subject().to_string(),
            }
            .into()),
            _ => Ok(self),
        }
    }

    /// Checks that this file is an Alipay certificate, not the app certificate or a CA.
    pub fn require_alipay_certificate(self) -> Result<Self, CertError> {
        match self.leaf().role() {
            CertRole::App { .. } | CertRole::Authority => Err(CertErrorKind::WrongRole {
                origin: self.origin.clone(),
                expected: "the Alipay certificate (alipayCertPublicKey_RSA2.crt)",
                found: self.leaf().role().describe(),
                subject: self.leaf().subject().to_string(),
            }
            .into()),
            _ => Ok(self),
        }
    }
}

/// A certificate of a root bundle that does not count in the root SN.
#[derive(Clone, Debug)]
pub struct SkippedRoot {
    /// Position in the file (1-based).
    pub index: usize,
    /// The outer signature-algorithm OID.
    pub signature_algorithm_oid: String,
    /// The parsed certificate, when it could be read in full.
    pub certificate: Option<Certificate>,
}

/// Alipay's root bundle (`alipayRootCert.crt`) and its `alipay_root_cert_sn`.
///
/// The bundle serves both key algorithms: RSA apps send the SNs of the RSA-signed roots,
/// SM2 apps those of the SM2-signed roots ([`RootBundle::sn_for`]).
#[derive(Clone, Debug)]
pub struct RootBundle {
    origin: String,
    rsa_roots: Vec<Certificate>,
    sm2_roots: Vec<Certificate>,
    /// Whether an SM2-signed certificate of the file could not be read (then the SM2 SN
    /// would be incomplete, and SM2 mode refuses the bundle).
    sm2_unreadable: bool,
    skipped: Vec<SkippedRoot>,
    sn: String,
    sm2_sn: Option<String>,
}

impl RootBundle {
    /// Loads a root bundle from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<RootBundle, CertError> {
        let path = path.as_ref();
        let bytes = error::read_file(path)?;
        Self::from_bytes_named(&bytes, path.display().to_string())
    }

    /// Loads a root bundle from bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<RootBundle, CertError> {
        Self::from_bytes_named(bytes, "root bundle data")
    }

    /// Loads a root bundle from bytes; `origin` names them in errors.
    ///
    /// Certificates outside the RSA and SM2 families are skipped, even when they cannot be
    /// parsed in full; an RSA certificate that cannot be parsed is an error; a bundle without
    /// any RSA or SM2 root is an error ([`CertErrorKind::NoRsaRoot`]).
    pub fn from_bytes_named(bytes: &[u8], origin: impl Into<String>) -> Result<RootBundle, CertError> {
        let origin = origin.into();
        let mut rsa_roots = Vec::new();
        let mut sm2_roots = Vec::new();
        let mut sm2_unreadable = false;
        // Each counted root's position in the file (1-based), for messages.
        let mut positions = Vec::new();
        let mut skipped = Vec::new();
        for (index, der) in parse::certificate_ders(bytes, &origin)? {
            let outer_oid = parse::outer_signature_oid(&der).map_err(|source| CertErrorKind::Malformed {
                origin: origin.clone(),
                index,
                source,
            })?;
            let parsed = parse::Parsed::from_der(der).map(|p| Certificate { inner: Arc::new(p) });
            if outer_oid.starts_with(RSA_FAMILY_PREFIX) {
                let certificate =
                    parsed.map_err(|source| CertErrorKind::Malformed { origin: origin.clone(), index, source })?;
                positions.push((index, certificate.clone()));
                rsa_roots.push(certificate);
            } else if KeyAlgorithm::Sm2.signs_with_oid(&outer_oid) && parsed.is_ok() {
                let certificate = parsed.expect("checked");
                positions.push((index, certificate.clone()));
                sm2_roots.push(certificate);
            } else {
                sm2_unreadable |= KeyAlgorithm::Sm2.signs_with_oid(&outer_oid);
                skipped.push(SkippedRoot { index, signature_algorithm_oid: outer_oid, certificate: parsed.ok() });
            }
        }
        // A root bundle holds CA certificates. An end-entity certificate (an app or Alipay
        // certificate, no CA flag, not self-issued) means the wrong file was given. A CA that is
        // not self-signed (an intermediate, or a root cross-signed for a migration) counts like
        // any other, as in Alipay's Java, Node and Python SDKs; a file without any self-signed
        // root is not a root bundle either.
        let end_entity = |c: &Certificate| !c.is_ca() && !c.is_self_issued();
        if let Some((position, stranger)) = positions.iter().find(|(_, c)| end_entity(c)) {
            let what = match stranger.role() {
                CertRole::App { .. } => "the app certificate (appCertPublicKey_<app id>.crt)",
                _ if positions.iter().any(|(_, c)| c.is_ca() && !c.is_self_issued()) => {
                    "an Alipay certificate file (leaf + intermediate: alipayCertPublicKey_RSA2.crt)"
                }
                _ => "an Alipay or app certificate, not a root bundle",
            };
            return Err(CertErrorKind::NotARootBundle {
                origin,
                index: *position,
                found: stranger.role().describe(),
                subject: stranger.subject().to_string(),
                what,
            }
            .into());
        }
        if !positions.is_empty() && !positions.iter().any(|(_, c)| c.is_self_issued()) {
            let (position, first) = &positions[0];
            return Err(CertErrorKind::NotARootBundle {
                origin,
                index: *position,
                found: "a CA certificate that is not self-signed".into(),
                subject: first.subject().to_string(),
                what: "intermediate CA certificates only, without a self-signed root",
            }
            .into());
        }
        for (position, ca) in positions.iter().filter(|(_, c)| !c.is_self_issued()) {
            tracing::warn!(
                origin,
                position,
                subject = ca.subject(),
                issuer = ca.issuer(),
                "the root bundle holds a CA certificate that is not self-signed (an intermediate or a cross-signed \
                 root); it counts in alipay_root_cert_sn as in Alipay's own SDKs"
            );
        }
        if rsa_roots.is_empty() && sm2_roots.is_empty() {
            let found = skipped.iter().map(|s| s.signature_algorithm_oid.as_str()).collect::<Vec<_>>().join(", ");
            return Err(CertErrorKind::NoRsaRoot { origin, found }.into());
        }
        let joined = |roots: &[Certificate]| roots.iter().map(Certificate::sn).collect::<Vec<_>>().join("_");
        let sm2_sn = (!sm2_roots.is_empty()).then(|| joined(&sm2_roots));
        let sn = if rsa_roots.is_empty() { sm2_sn.clone().unwrap_or_default() } else { joined(&rsa_roots) };
        Ok(RootBundle { origin, rsa_roots, sm2_roots, sm2_unreadable, skipped, sn, sm2_sn })
    }

    /// `alipay_root_cert_sn` of RSA apps: the SNs of the RSA-family roots in file order,
    /// joined by `_` (for a bundle of SM2 roots only, theirs). [`RootBundle::sn_for`] says it
    /// per algorithm.
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// `alipay_root_cert_sn` for apps signing with `algorithm`: the roots signed in that
    /// algorithm's family count ([`crate::key::KeyAlgorithm::root_signature_oid_prefix`]).
    /// `None` when the bundle holds none (or, for SM2, one of them could not be read).
    pub fn sn_for(&self, algorithm: KeyAlgorithm) -> Option<&str> {
        match algorithm {
            KeyAlgorithm::Rsa => (!self.rsa_roots.is_empty()).then_some(self.sn.as_str()),
            KeyAlgorithm::Sm2 if self.sm2_unreadable => None,
            KeyAlgorithm::Sm2 => self.sm2_sn.as_deref(),
        }
    }

    /// The roots that anchor chains for `algorithm`.
    pub fn roots_for(&self, algorithm: KeyAlgorithm) -> &[Certificate] {
        match algorithm {
            KeyAlgorithm::Rsa => &self.rsa_roots,
            KeyAlgorithm::Sm2 => &self.sm2_roots,
        }
    }

    /// The SM2-signed roots (SM3withSM2): the ones in SM2 apps' root SN.
    pub fn sm2_roots(&self) -> &[Certificate] {
        &self.sm2_roots
    }

    /// The RSA-family roots (the ones in the SN and used to validate chains).
    pub fn rsa_roots(&self) -> &[Certificate] {
        &self.rsa_roots
    }

    /// The counted CA certificates that are not self-signed (intermediates, cross-signed roots,
    /// as root migrations ship them): they count in the SN like Java counts them, and deserve a
    /// look (`alipay doctor` warns about them).
    pub fn not_self_signed(&self) -> Vec<&Certificate> {
        self.rsa_roots.iter().chain(&self.sm2_roots).filter(|c| !c.is_self_issued()).collect()
    }

    /// The certificates that count for no algorithm (ECDSA, …).
    pub fn skipped(&self) -> &[SkippedRoot] {
        &self.skipped
    }

    /// Where the bundle came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}
