//! Reading certificate files (PEM, DER, bare base64) and the fields of one certificate.

use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;

use super::dn;
use super::error::{CertError, CertErrorKind};
use super::info::{CertRole, KeyUsage};
use crate::der::{self, DerError, Reader, Tlv, tag};
use crate::kind::{self, FileKind};
use crate::pem::{self, PemBodyError};

/// The DER of every certificate in `bytes`, numbered from 1 in file order.
pub(crate) fn certificate_ders(bytes: &[u8], origin: &str) -> Result<Vec<(usize, Vec<u8>)>, CertError> {
    let origin_owned = || origin.to_string();
    if pem::trim_ascii(bytes).is_empty() {
        return Err(CertErrorKind::Empty { origin: origin_owned() }.into());
    }
    let blocks = pem::blocks(bytes);
    if !blocks.is_empty() {
        let mut ders = Vec::new();
        let mut index = 0;
        for block in blocks {
            if !matches!(block.label.as_str(), "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE") {
                continue;
            }
            index += 1;
            match block.body {
                Ok(der) => ders.push((index, der)),
                Err(PemBodyError::Unterminated) => {
                    return Err(CertErrorKind::Truncated { origin: origin_owned(), index, label: block.label }.into());
                }
                Err(PemBodyError::Base64(detail)) => {
                    return Err(CertErrorKind::Base64 { origin: origin_owned(), index, detail }.into());
                }
                Err(PemBodyError::Encrypted) => {
                    return Err(CertErrorKind::Base64 {
                        origin: origin_owned(),
                        index,
                        detail: "unexpected PEM headers".into(),
                    }
                    .into());
                }
            }
        }
        if ders.is_empty() {
            return Err(wrong_kind(origin, kind::sniff(bytes)));
        }
        return Ok(ders);
    }
    let der = if pem::looks_like_text(bytes) {
        // No PEM markers: maybe the bare base64 of a DER certificate.
        match pem::decode_base64_text(bytes) {
            Ok(der) => der,
            Err(_) => {
                return Err(CertErrorKind::NoCertificate { origin: origin_owned(), found: FileKind::Unknown }.into());
            }
        }
    } else {
        bytes.to_vec()
    };
    match kind::sniff_der(&der) {
        FileKind::Certificates { .. } => {}
        FileKind::Unknown => {
            // Let the certificate parser say what is wrong with it.
            let source = Parsed::from_der(der.clone())
                .err()
                .unwrap_or_else(|| DerError { what: "not a certificate".into(), offset: 0 });
            return Err(CertErrorKind::Malformed { origin: origin_owned(), index: 1, source }.into());
        }
        other => return Err(wrong_kind(origin, other)),
    }
    let mut reader = Reader::new(&der);
    let mut ders = Vec::new();
    while !reader.is_empty() {
        let tlv = reader.read().map_err(|source| CertErrorKind::Malformed {
            origin: origin_owned(),
            index: ders.len() + 1,
            source,
        })?;
        ders.push((ders.len() + 1, tlv.raw.to_vec()));
    }
    Ok(ders)
}

fn wrong_kind(origin: &str, found: FileKind) -> CertError {
    match found {
        FileKind::Empty | FileKind::Unknown => {
            CertErrorKind::NoCertificate { origin: origin.to_string(), found }.into()
        }
        _ => CertErrorKind::NotACertificate { origin: origin.to_string(), found }.into(),
    }
}

/// The outer signature-algorithm OID, read without parsing the rest of the certificate.
pub(crate) fn outer_signature_oid(der: &[u8]) -> Result<String, DerError> {
    let certificate = der::single(der, "certificate")?;
    let mut fields = certificate.reader();
    fields.expect(tag::SEQUENCE, "tbsCertificate")?;
    algorithm_oid(fields.expect(tag::SEQUENCE, "signatureAlgorithm")?)
}

fn algorithm_oid(algorithm: Tlv<'_>) -> Result<String, DerError> {
    let oid = algorithm.reader().expect(tag::OID, "algorithm identifier")?;
    der::oid_to_string(oid.content).map_err(|e| oid.error(e.what))
}

/// The fields of one certificate, with byte ranges into its DER.
pub(crate) struct Parsed {
    pub der: Vec<u8>,
    pub tbs: Range<usize>,
    pub issuer: Range<usize>,
    pub subject: Range<usize>,
    pub spki: Range<usize>,
    pub serial: Vec<u8>,
    pub serial_decimal: String,
    pub issuer_rfc2253: String,
    pub subject_rfc2253: String,
    pub subject_display: String,
    pub sn: String,
    pub signature_algorithm_oid: String,
    pub signature: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key_algorithm_oid: String,
    pub key_parameter_oid: Option<String>,
    pub public_key: Option<PKey<Public>>,
    pub is_ca: bool,
    pub key_usage: Option<KeyUsage>,
    pub role: CertRole,
}

impl Parsed {
    pub(crate) fn from_der(der: Vec<u8>) -> Result<Parsed, DerError> {
        let range = |tlv: &Tlv<'_>| tlv.offset..tlv.offset + tlv.raw.len();
        let certificate = der::single(&der, "certificate")?;
        if certificate.tag != tag::SEQUENCE {
            return Err(certificate.error("certificate: expected a SEQUENCE"));
        }
        let mut fields = certificate.reader();
        let tbs = fields.expect(tag::SEQUENCE, "tbsCertificate")?;
        let signature_algorithm_oid = algorithm_oid(fields.expect(tag::SEQUENCE, "signatureAlgorithm")?)?;
        let signature_bits = fields.expect(tag::BIT_STRING, "signatureValue")?;
        let signature = signature_bits.content.get(1..).unwrap_or_default().to_vec();

        let mut tbs_fields = tbs.reader();
        tbs_fields.optional(tag::CONTEXT_0)?;
        let serial = tbs_fields.expect(tag::INTEGER, "serialNumber")?;
        check_serial(&serial)?;
        tbs_fields.expect(tag::SEQUENCE, "signature")?;
        let issuer = tbs_fields.expect(tag::SEQUENCE, "issuer")?;
        let validity = tbs_fields.expect(tag::SEQUENCE, "validity")?;
        let subject = tbs_fields.expect(tag::SEQUENCE, "subject")?;
        let spki = tbs_fields.expect(tag::SEQUENCE, "subjectPublicKeyInfo")?;
        let mut is_ca = false;
        let mut key_usage = None;
        while !tbs_fields.is_empty() {
            let field = tbs_fields.read()?;
            if field.tag == 0xa3 {
                (is_ca, key_usage) = read_extensions(field)?;
            }
        }

        let mut validity_fields = validity.reader();
        let not_before = read_time(validity_fields.read()?)?;
        let not_after = read_time(validity_fields.read()?)?;

        let mut spki_fields = spki.reader();
        let mut algorithm = spki_fields.expect(tag::SEQUENCE, "subjectPublicKeyInfo algorithm")?.reader();
        let key_oid = algorithm.expect(tag::OID, "public key algorithm")?;
        let key_algorithm_oid = der::oid_to_string(key_oid.content).map_err(|e| key_oid.error(e.what))?;
        let key_parameter_oid = match algorithm.optional(tag::OID)? {
            Some(param) => Some(der::oid_to_string(param.content).map_err(|e| param.error(e.what))?),
            None => None,
        };
        // Only keys we can use; an SM2 key in a root we skip is fine to leave unloaded.
        let public_key = PKey::public_key_from_der(spki.raw).ok();

        let issuer_rfc2253 = dn::rfc2253(issuer.raw)?;
        let subject_rfc2253 = dn::rfc2253(subject.raw)?;
        let subject_display = dn::display(subject.raw)?;
        let serial_decimal = der::integer_to_decimal(serial.content);
        let sn = super::cert_sn(&issuer_rfc2253, &serial_decimal);
        let role = CertRole::detect(subject.raw, is_ca, issuer.raw == subject.raw);
        Ok(Parsed {
            tbs: range(&tbs),
            issuer: range(&issuer),
            subject: range(&subject),
            spki: range(&spki),
            serial: serial.content.to_vec(),
            serial_decimal,
            issuer_rfc2253,
            subject_rfc2253,
            subject_display,
            sn,
            signature_algorithm_oid,
            signature,
            not_before,
            not_after,
            key_algorithm_oid,
            key_parameter_oid,
            public_key,
            is_ca,
            key_usage,
            role,
            der,
        })
    }

    /// Verifies this certificate's signature over its TBS bytes with `key`.
    pub(crate) fn signature_verifies_with(&self, key: Option<&PKey<Public>>) -> bool {
        let Some(key) = key else { return false };
        if self.signature_algorithm_oid == crate::sm2::SM3_WITH_SM2_OID {
            // SM2 chains are signed with the same user id as messages (PROTOCOL §11).
            let Ok(issuer) = crate::key::PublicKey::from_der_key(key.clone()) else { return false };
            return issuer.verify_raw(&self.der[self.tbs.clone()], &self.signature, crate::key::SignType::Sm2);
        }
        let digest = match self.signature_algorithm_oid.as_str() {
            "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" => MessageDigest::sha1(),
            "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => MessageDigest::sha256(),
            "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => MessageDigest::sha384(),
            "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => MessageDigest::sha512(),
            _ => return false,
        };
        let Ok(mut verifier) = Verifier::new(digest, key) else { return false };
        verifier.verify_oneshot(&self.signature, &self.der[self.tbs.clone()]).unwrap_or(false)
    }
}

fn read_extensions(explicit: Tlv<'_>) -> Result<(bool, Option<KeyUsage>), DerError> {
    let mut is_ca = false;
    let mut key_usage = None;
    let extensions = explicit.reader().expect(tag::SEQUENCE, "extensions")?;
    let mut reader = extensions.reader();
    while !reader.is_empty() {
        let extension = reader.expect(tag::SEQUENCE, "extension")?;
        let mut fields = extension.reader();
        let oid_tlv = fields.expect(tag::OID, "extension id")?;
        let oid = der::oid_to_string(oid_tlv.content).map_err(|e| oid_tlv.error(e.what))?;
        fields.optional(0x01)?; // critical
        let value = fields.expect(tag::OCTET_STRING, "extension value")?;
        match oid.as_str() {
            "2.5.29.19" => {
                let constraints = der::single(value.content, "basicConstraints")?;
                let mut inner = constraints.reader();
                if let Some(flag) = inner.optional(0x01)? {
                    is_ca = flag.content.first().is_some_and(|&b| b != 0);
                }
            }
            "2.5.29.15" => {
                let bits = der::single(value.content, "keyUsage")?;
                let byte = |i: usize| bits.content.get(i).copied().unwrap_or(0);
                key_usage = Some(KeyUsage::from_bits(u16::from(byte(1)) << 8 | u16::from(byte(2))));
            }
            _ => {}
        }
    }
    Ok((is_ca, key_usage))
}

/// The longest serial accepted, in content octets. RFC 5280 allows 20; 21-octet serials occur in
/// real certificates (a 20-octet positive value with its high bit set gains a leading zero), so
/// the bound is generous. It keeps the base-10 conversion, which is quadratic in the length,
/// cheap on hostile input (certificates are also downloaded from the network).
pub(crate) const MAX_SERIAL_OCTETS: usize = 40;

fn check_serial(serial: &Tlv<'_>) -> Result<(), DerError> {
    let content = serial.content;
    if content.is_empty() {
        return Err(serial.error("serialNumber: empty INTEGER"));
    }
    if content.len() > MAX_SERIAL_OCTETS {
        return Err(serial.error(format!(
            "serialNumber: {} octets long; at most {MAX_SERIAL_OCTETS} are accepted (RFC 5280 allows 20)",
            content.len()
        )));
    }
    // DER requires the minimal two's-complement encoding; the JDK and OpenSSL refuse others.
    if let [first, second, ..] = content
        && ((*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0))
    {
        return Err(serial.error("serialNumber: INTEGER is not minimally encoded (DER requires it)"));
    }
    Ok(())
}

fn read_time(tlv: Tlv<'_>) -> Result<DateTime<Utc>, DerError> {
    // Times are ASCII digits and `Z`; anything else (a multi-byte character included) is refused
    // before any slicing, so slicing below is always on character boundaries.
    if !tlv.content.is_ascii() {
        return Err(tlv.error("time: not ASCII"));
    }
    let text = std::str::from_utf8(tlv.content).map_err(|_| tlv.error("time: not ASCII"))?;
    let year_digits = match tlv.tag {
        tag::UTC_TIME => 2,
        tag::GENERALIZED_TIME => 4,
        _ => return Err(tlv.error("validity: expected UTCTime or GeneralizedTime")),
    };
    // YY(YY)MMDDhhmmss, all digits (`str::parse` would take a sign, so check first).
    let digits = text.as_bytes().get(..year_digits + 10).ok_or_else(|| tlv.error("time: too short"))?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(tlv.error("time: expected digits"));
    }
    let (year_text, rest) = text.split_at(year_digits);
    let year: i32 = year_text.parse().map_err(|_| tlv.error("time: bad year"))?;
    let year = match year_digits {
        2 if year >= 50 => 1900 + year,
        2 => 2000 + year,
        _ => year,
    };
    let number = |range: Range<usize>| -> Result<u32, DerError> {
        rest.get(range).and_then(|s| s.parse().ok()).ok_or_else(|| tlv.error("time: bad digits"))
    };
    let (month, day, hour, minute, second) =
        (number(0..2)?, number(2..4)?, number(4..6)?, number(6..8)?, number(8..10)?);
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|date| date.and_hms_opt(hour, minute, second))
        .map(|naive| naive.and_utc())
        .ok_or_else(|| tlv.error("time: not a valid date"))
}
