//! SM2 signatures as Alipay makes them: SM3withSM2 with the user id `1234567812345678`
//! (GB/T 32918.2, GM/T 0009), the signature the DER `SEQUENCE{r, s}`.
//!
//! Why the digest is computed here: SM2 signs `e = SM3(Z || M)`, where `Z` hashes the user
//! id, the curve and the signer's public key. OpenSSL puts an *empty* id into `Z` unless
//! `EVP_PKEY_CTX_set1_id` is called, and the `openssl` crate has no binding for it. So `Z` is
//! computed once per key (it depends only on the key and the id), `e` per message, and
//! OpenSSL's SM2 provider signs / verifies `e` itself (`EVP_PKEY_sign` on a digest does no
//! hashing of its own) — the id can never silently fall back to OpenSSL's default.
//!
//! A key is taken as SM2 when its SubjectPublicKeyInfo says id-ecPublicKey on the curve
//! `1.2.156.10197.1.301` *and* OpenSSL holds it as an SM2 key, not as an ECDSA key: with an
//! ECDSA key `EVP_PKEY_sign` would make an ECDSA signature.

use openssl::hash::{Hasher, MessageDigest, hash};
use openssl::pkey::{HasPrivate, HasPublic, Id, PKey, PKeyRef};
use openssl::pkey_ctx::PkeyCtx;

use crate::der::{self, Reader, tag};

/// The user id Alipay (and BouncyCastle's default) puts into `Z`.
pub const USER_ID: &[u8] = b"1234567812345678";

/// The signature-algorithm OID SM3withSM2 (`1.2.156.10197.1.501`).
pub const SM3_WITH_SM2_OID: &str = "1.2.156.10197.1.501";

const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";
const SM2_CURVE_OID: &str = "1.2.156.10197.1.301";

/// The SM2 curve's `a`, `b`, `xG`, `yG` (GB/T 32918.5), 32 bytes each, in that order — what
/// `Z` hashes before the public key. Checked against OpenSSL's curve in the tests.
const CURVE: [u8; 128] = hex32x4(
    b"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC\
      28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93\
      32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7\
      BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
);

const fn hex32x4(text: &[u8]) -> [u8; 128] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not an upper-case hex digit"),
        }
    }
    let mut out = [0u8; 128];
    let (mut i, mut n) = (0, 0);
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c == b' ' || c == b'\\' || c == b'\n' {
            continue;
        }
        let low = text[i];
        i += 1;
        out[n] = nibble(c) << 4 | nibble(low);
        n += 1;
    }
    assert!(n == 128, "four 32-byte numbers");
    out
}

/// What a SubjectPublicKeyInfo says about SM2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpkiKind {
    /// An EC key on the SM2 curve; the uncompressed point's `x || y`.
    Sm2([u8; 64]),
    /// Anything else.
    Other,
}

/// Reads the algorithm and, for SM2, the public point of a SubjectPublicKeyInfo.
pub(crate) fn spki_kind(spki: &[u8]) -> SpkiKind {
    read_sm2_point(spki).map_or(SpkiKind::Other, SpkiKind::Sm2)
}

fn read_sm2_point(spki: &[u8]) -> Option<[u8; 64]> {
    let outer = der::single(spki, "SubjectPublicKeyInfo").ok()?;
    let mut fields = outer.reader();
    let algorithm = fields.expect(tag::SEQUENCE, "algorithm").ok()?;
    let mut algorithm = algorithm.reader();
    let oid = algorithm.expect(tag::OID, "algorithm").ok()?;
    if der::oid_to_string(oid.content).ok()? != EC_PUBLIC_KEY_OID {
        return None;
    }
    let curve = algorithm.expect(tag::OID, "curve").ok()?;
    if der::oid_to_string(curve.content).ok()? != SM2_CURVE_OID {
        return None;
    }
    let bits = fields.expect(tag::BIT_STRING, "public key").ok()?;
    // 0 unused bits, then the uncompressed point 04 || x || y.
    match bits.content {
        [0, 4, point @ ..] if point.len() == 64 => point.try_into().ok(),
        _ => None,
    }
}

/// Whether OpenSSL holds `key` as an SM2 key (and so signs SM2, not ECDSA, with it).
pub(crate) fn openssl_treats_as_sm2<T: HasPublic>(key: &PKeyRef<T>) -> bool {
    // OpenSSL 3 keeps SM2 keys as provider keys with no legacy id (-1) or as EVP_PKEY_SM2;
    // EVP_PKEY_EC would be ECDSA.
    key.id() == Id::SM2 || (key.id() != Id::EC && key.ec_key().is_err())
}

/// `Z = SM3(ENTL || id || a || b || xG || yG || xA || yA)` for the public point `x || y`.
pub(crate) fn z_digest(point: &[u8; 64], user_id: &[u8]) -> [u8; 32] {
    let bits = u16::try_from(user_id.len() * 8).unwrap_or(u16::MAX);
    let mut input = Vec::with_capacity(2 + user_id.len() + CURVE.len() + point.len());
    input.extend_from_slice(&bits.to_be_bytes());
    input.extend_from_slice(user_id);
    input.extend_from_slice(&CURVE);
    input.extend_from_slice(point);
    let digest = hash(MessageDigest::sm3(), &input).expect("SM3 is available wherever SM2 keys load");
    digest.as_ref().try_into().expect("SM3 gives 32 bytes")
}

/// `e = SM3(Z || M)`.
fn message_digest(z: &[u8; 32], content: &[u8]) -> Result<[u8; 32], openssl::error::ErrorStack> {
    let mut hasher = Hasher::new(MessageDigest::sm3())?;
    hasher.update(z)?;
    hasher.update(content)?;
    let digest = hasher.finish()?;
    Ok(digest.as_ref().try_into().expect("SM3 gives 32 bytes"))
}

/// Signs `content` (SM3withSM2, `Z` already computed for the key and the id): the DER
/// `SEQUENCE{r, s}`.
pub(crate) fn sign<T: HasPrivate>(
    key: &PKey<T>,
    z: &[u8; 32],
    content: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let e = message_digest(z, content)?;
    let mut context = PkeyCtx::new(key)?;
    context.sign_init()?;
    let mut signature = Vec::new();
    context.sign_to_vec(&e, &mut signature)?;
    Ok(signature)
}

/// Verifies a DER SM3withSM2 signature over `content`. OpenSSL refuses a non-canonical
/// encoding of `r, s` (it re-encodes and compares).
pub(crate) fn verify<T: HasPublic>(key: &PKey<T>, z: &[u8; 32], content: &[u8], signature: &[u8]) -> bool {
    let Ok(e) = message_digest(z, content) else { return false };
    let Ok(mut context) = PkeyCtx::new(key) else { return false };
    if context.verify_init().is_err() {
        return false;
    }
    let verified = context.verify(&e, signature).unwrap_or(false);
    // A failed verification leaves errors on OpenSSL's thread-local queue; drop them.
    let _ = openssl::error::ErrorStack::get();
    verified
}

/// Generates an SM2 key as OpenSSL's SM2 type (PKCS#8 DER re-read, so OpenSSL 3 gives it its
/// SM2 key management rather than ECDSA's).
pub(crate) fn generate() -> Result<PKey<openssl::pkey::Private>, openssl::error::ErrorStack> {
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SM2)?;
    let ec = openssl::ec::EcKey::generate(&group)?;
    let der = PKey::from_ec_key(ec)?.private_key_to_pkcs8()?;
    PKey::private_key_from_pkcs8(&der)
}

/// Replaces the outer signature of a DER certificate or certificate request
/// (`SEQUENCE { to-be-signed, algorithm, BIT STRING }`) with an SM3withSM2 signature made
/// here with the standard user id: OpenSSL signs X.509 structures with an empty id, which
/// Alipay and BouncyCastle do not verify.
pub(crate) fn resign<T: HasPrivate>(der: &[u8], key: &PKey<T>, z: &[u8; 32]) -> Result<Vec<u8>, String> {
    let outer = der::single(der, "certificate").map_err(|e| e.to_string())?;
    let mut fields: Reader<'_> = outer.reader();
    let tbs = fields.expect(tag::SEQUENCE, "to-be-signed part").map_err(|e| e.to_string())?;
    let algorithm = fields.expect(tag::SEQUENCE, "signature algorithm").map_err(|e| e.to_string())?;
    let algorithm_oid = algorithm.reader().expect(tag::OID, "signature algorithm").map_err(|e| e.to_string())?;
    let oid = der::oid_to_string(algorithm_oid.content).map_err(|e| e.to_string())?;
    if oid != SM3_WITH_SM2_OID {
        return Err(format!("the structure is signed with {oid}, not SM3withSM2 ({SM3_WITH_SM2_OID})"));
    }
    let signature = sign(key, z, tbs.raw).map_err(|e| e.to_string())?;
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&signature);
    let mut body = Vec::with_capacity(tbs.raw.len() + algorithm.raw.len() + bits.len() + 8);
    body.extend_from_slice(tbs.raw);
    body.extend_from_slice(algorithm.raw);
    push_tlv(&mut body, tag::BIT_STRING, &bits);
    let mut out = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut out, tag::SEQUENCE, &body);
    Ok(out)
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::EcGroup;
    use openssl::nid::Nid;

    #[test]
    fn curve_constants_are_opensslss_sm2_curve() {
        let group = EcGroup::from_curve_name(Nid::SM2).unwrap();
        let mut context = BigNumContext::new().unwrap();
        let (mut p, mut a, mut b) = (BigNum::new().unwrap(), BigNum::new().unwrap(), BigNum::new().unwrap());
        group.components_gfp(&mut p, &mut a, &mut b, &mut context).unwrap();
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        group.generator_opt().unwrap().affine_coordinates(&group, &mut x, &mut y, &mut context).unwrap();
        let mut expected = Vec::new();
        for n in [&a, &b, &x, &y] {
            expected.extend(n.to_vec_padded(32).unwrap());
        }
        assert_eq!(CURVE.as_slice(), expected.as_slice());
    }

    #[test]
    fn generated_keys_are_openssl_sm2_keys() {
        let key = generate().unwrap();
        assert!(openssl_treats_as_sm2(&key));
        let spki = key.public_key_to_der().unwrap();
        let SpkiKind::Sm2(point) = spki_kind(&spki) else { panic!("an SM2 SPKI") };
        let z = z_digest(&point, USER_ID);
        let signature = sign(&key, &z, b"content").unwrap();
        assert!(verify(&key, &z, b"content", &signature));
        assert!(!verify(&key, &z, b"Content", &signature));
        // The empty id (OpenSSL's default) gives another Z: the signature does not verify.
        assert!(!verify(&key, &z_digest(&point, b""), b"content", &signature));
        // A key wrapped from a bare EC key on the SM2 curve: OpenSSL 3 makes it an SM2 key,
        // and what it signs is SM2 (verified with the provider-typed key of the same point).
        let group = EcGroup::from_curve_name(Nid::SM2).unwrap();
        let wrapped = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
        assert!(openssl_treats_as_sm2(&wrapped));
        let SpkiKind::Sm2(point) = spki_kind(&wrapped.public_key_to_der().unwrap()) else { panic!("SM2 SPKI") };
        let z = z_digest(&point, USER_ID);
        let signature = sign(&wrapped, &z, b"content").unwrap();
        let provider = PKey::public_key_from_der(&wrapped.public_key_to_der().unwrap()).unwrap();
        assert!(verify(&provider, &z, b"content", &signature));
        // A P-256 key is no SM2 key.
        let p256 = openssl::ec::EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
        assert_eq!(spki_kind(&PKey::from_ec_key(p256).unwrap().public_key_to_der().unwrap()), SpkiKind::Other);
    }
}
