//! What a person needs to know about a certificate.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::Certificate;

/// The role of a certificate in the Alipay world, told from its subject and extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertRole {
    /// An app certificate: subject CN `<partner id>-<app id>`.
    App {
        /// The merchant's partner id (2088…).
        partner_id: String,
        /// The app id.
        app_id: String,
    },
    /// An Alipay certificate: subject CN `支付宝(中国)网络技术有限公司-<partner id>`.
    Alipay {
        /// The merchant's partner id it was issued for.
        partner_id: String,
    },
    /// A certification authority (root or intermediate).
    Authority,
    /// Anything else.
    Other,
}

impl CertRole {
    pub(crate) fn detect(subject_der: &[u8], is_ca: bool, self_issued: bool) -> CertRole {
        if is_ca || self_issued {
            return CertRole::Authority;
        }
        let Some(cn) = super::dn::attribute(subject_der, "2.5.4.3") else { return CertRole::Other };
        if let Some((name, partner)) = cn.rsplit_once('-') {
            if name.contains("支付宝") || name.eq_ignore_ascii_case("alipay") {
                return CertRole::Alipay { partner_id: partner.to_string() };
            }
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if digits(name) && digits(partner) {
                return CertRole::App { partner_id: name.to_string(), app_id: partner.to_string() };
            }
        }
        CertRole::Other
    }

    /// A phrase for messages: "an app certificate (app id 2021…)".
    pub fn describe(&self) -> String {
        match self {
            CertRole::App { app_id, .. } => format!("an app certificate (app id {app_id})"),
            CertRole::Alipay { partner_id } => format!("an Alipay certificate (issued for partner {partner_id})"),
            CertRole::Authority => "a CA certificate (root or intermediate)".to_string(),
            CertRole::Other => "a certificate of unknown role".to_string(),
        }
    }
}

/// The keyUsage extension bits (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage(u16);

impl KeyUsage {
    pub(crate) fn from_bits(bits: u16) -> KeyUsage {
        KeyUsage(bits)
    }

    fn bit(self, n: u16) -> bool {
        self.0 & (0x8000 >> n) != 0
    }

    /// digitalSignature.
    pub fn digital_signature(self) -> bool {
        self.bit(0)
    }

    /// keyCertSign (needed by a CA under strict RFC 5280 rules).
    pub fn key_cert_sign(self) -> bool {
        self.bit(5)
    }

    /// The names of the bits set.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [&str; 9] = [
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "dataEncipherment",
            "keyAgreement",
            "keyCertSign",
            "cRLSign",
            "encipherOnly",
            "decipherOnly",
        ];
        (0..9).filter(|&n| self.bit(n)).map(|n| NAMES[n as usize]).collect()
    }
}

/// The facts about one certificate, as `alipay cert inspect` shows them.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Subject (Unicode text).
    pub subject: String,
    /// Issuer exactly as hashed into the SN (the JDK's RFC 2253 rendering).
    pub issuer: String,
    /// Serial number in base 10.
    pub serial_decimal: String,
    /// Serial number in hexadecimal.
    pub serial_hex: String,
    /// The certificate SN.
    pub sn: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Whole days left until `not_after` (negative once expired).
    pub days_left: i64,
    /// Signature algorithm name.
    pub signature_algorithm: String,
    /// Signature algorithm OID.
    pub signature_algorithm_oid: String,
    /// Whether the certificate counts in a root SN (RSA-family signature).
    pub rsa_signed: bool,
    /// Key type: RSA, EC P-256, SM2, …
    pub key_type: String,
    /// Key size in bits, when known.
    pub key_bits: Option<u32>,
    /// The role in the Alipay world.
    pub role: CertRole,
    /// keyUsage bits, when present.
    pub key_usage: Option<Vec<&'static str>>,
    /// Whether basicConstraints marks it as a CA.
    pub is_ca: bool,
}

impl CertificateInfo {
    pub(crate) fn of(certificate: &Certificate, now: DateTime<Utc>) -> CertificateInfo {
        let parsed = certificate.parsed();
        let (key_type, key_bits) = key_description(
            &parsed.key_algorithm_oid,
            parsed.key_parameter_oid.as_deref(),
            certificate.public_key().map(|k| k.bits()),
        );
        CertificateInfo {
            subject: certificate.subject().to_string(),
            issuer: certificate.issuer().to_string(),
            serial_decimal: certificate.serial_decimal().to_string(),
            serial_hex: certificate.serial_hex(),
            sn: certificate.sn().to_string(),
            not_before: certificate.not_before().to_rfc3339_opts(SecondsFormat::Secs, true),
            not_after: certificate.not_after().to_rfc3339_opts(SecondsFormat::Secs, true),
            days_left: certificate.days_left(now),
            signature_algorithm: signature_algorithm_name(certificate.signature_algorithm_oid()).to_string(),
            signature_algorithm_oid: certificate.signature_algorithm_oid().to_string(),
            rsa_signed: certificate.is_rsa_signed(),
            key_type,
            key_bits,
            role: certificate.role(),
            key_usage: certificate.key_usage().map(KeyUsage::names),
            is_ca: certificate.is_ca(),
        }
    }
}

/// A readable name for a signature algorithm OID.
pub(super) fn signature_algorithm_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.156.10197.1.501" => "SM2-with-SM3",
        _ => "unknown",
    }
}

fn key_description(algorithm: &str, parameter: Option<&str>, bits: Option<u32>) -> (String, Option<u32>) {
    match (algorithm, parameter) {
        ("1.2.840.113549.1.1.1", _) => ("RSA".into(), bits),
        ("1.2.840.10045.2.1", Some("1.2.156.10197.1.301")) => ("SM2".into(), Some(256)),
        ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => ("EC P-256".into(), Some(256)),
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => ("EC P-384".into(), Some(384)),
        ("1.2.840.10045.2.1", Some("1.3.132.0.35")) => ("EC P-521".into(), Some(521)),
        ("1.2.840.10045.2.1", _) => ("EC".into(), bits),
        (other, _) => (format!("unknown ({other})"), bits),
    }
}
