//! RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) on the RSA key itself.
//!
//! Why not OpenSSL's `EVP_DigestVerify`: on OpenSSL 3 every call builds a provider context
//! for the key (`EVP_PKEY_CTX_new_from_pkey`, about a tenth of a 2048-bit verify), and this is
//! on the path of every response and notification. Here the public operation runs on the
//! `RSA` structure extracted once when the key was loaded, and the result is compared as a
//! whole with the one encoding a genuine signature has — `00 01 FF…FF 00 DigestInfo(hash)` —
//! never parsed, so no malleable padding or DigestInfo variant is accepted. The tests check
//! it against `EVP_DigestVerify` on genuine and crafted encodings.

use openssl::pkey::Public;
use openssl::rsa::{Padding, Rsa};

use super::SignType;

/// `DigestInfo` before the hash, with the `NULL` parameters (RFC 8017 §9.2 note 1).
const SHA256_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
const SHA1_PREFIX: [u8; 15] =
    [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14];

/// Whether `signature` is `key`'s RSASSA-PKCS1-v1_5 signature of `content` with the digest of
/// `sign_type`.
pub(crate) fn verify(key: &Rsa<Public>, content: &[u8], signature: &[u8], sign_type: SignType) -> bool {
    let size = key.size() as usize;
    // As OpenSSL: the signature is exactly the modulus length.
    if signature.len() != size {
        return false;
    }
    // On the stack for every key up to 4096 bits: no allocation on the path of each answer.
    let mut stack = [0u8; 512];
    let mut heap;
    let encoded: &mut [u8] = if size <= stack.len() {
        &mut stack[..size]
    } else {
        heap = vec![0u8; size];
        &mut heap
    };
    match key.public_decrypt(signature, encoded, Padding::NONE) {
        Ok(n) if n == size => {}
        _ => return false,
    }
    let sha256;
    let sha1;
    let (prefix, hash): (&[u8], &[u8]) = match sign_type {
        SignType::Rsa2 => {
            sha256 = openssl::sha::sha256(content);
            (&SHA256_PREFIX, &sha256)
        }
        SignType::Rsa => {
            sha1 = openssl::sha::sha1(content);
            (&SHA1_PREFIX, &sha1)
        }
        // Not an RSA signature (callers check the key's algorithm first).
        SignType::Sm2 => return false,
    };
    let digest_info = prefix.len() + hash.len();
    // At least eight bytes of FF padding.
    let Some(padding) = size.checked_sub(3 + digest_info).filter(|p| *p >= 8) else { return false };
    let (head, rest) = encoded.split_at(2);
    let (ps, rest) = rest.split_at(padding);
    let (zero, rest) = rest.split_at(1);
    let (info, digest) = rest.split_at(prefix.len());
    head == [0x00, 0x01] && ps.iter().all(|b| *b == 0xff) && zero == [0x00] && info == prefix && digest == hash
}

#[cfg(test)]
mod tests {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::{Signer, Verifier};

    use super::*;

    /// OpenSSL's own verdict, the oracle.
    fn evp(key: &PKey<Public>, content: &[u8], signature: &[u8], sign_type: SignType) -> bool {
        let digest = sign_type.digest();
        Verifier::new(digest, key).and_then(|mut v| v.verify_oneshot(signature, content)).unwrap_or(false)
    }

    #[test]
    fn agrees_with_evp_digest_verify_on_genuine_and_crafted_encodings() {
        let private = Rsa::generate(2048).unwrap();
        let public =
            Rsa::from_public_components(private.n().to_owned().unwrap(), private.e().to_owned().unwrap()).unwrap();
        let pkey = PKey::from_rsa(public.clone()).unwrap();
        let content = b"app_id=2021000000000001&method=alipay.trade.query";
        let size = private.size() as usize;
        // Signs a hand-made encoding with the raw private operation.
        let raw = |encoded: &[u8]| {
            let mut out = vec![0u8; size];
            private.private_encrypt(encoded, &mut out, Padding::NONE).unwrap();
            out
        };
        let encoding = |prefix: &[u8], hash: &[u8], padding_byte: u8, head: [u8; 2]| {
            let mut encoded = vec![0u8; size];
            encoded[..2].copy_from_slice(&head);
            let start = size - prefix.len() - hash.len();
            encoded[2..start - 1].fill(padding_byte);
            encoded[start - 1] = 0;
            encoded[start..start + prefix.len()].copy_from_slice(prefix);
            encoded[start + prefix.len()..].copy_from_slice(hash);
            encoded
        };
        let sha256 = openssl::sha::sha256(content);
        let sha1 = openssl::sha::sha1(content);
        let no_null: Vec<u8> = [&[0x30, 0x2f, 0x30, 0x0b][..], &SHA256_PREFIX[4..15], &[0x04, 0x20]].concat();
        let mut genuine = Signer::new(MessageDigest::sha256(), &PKey::from_rsa(private.clone()).unwrap()).unwrap();
        let genuine = genuine.sign_oneshot_to_vec(content).unwrap();
        let mut flipped = genuine.clone();
        flipped[100] ^= 1;
        let cases: Vec<(&str, Vec<u8>, SignType)> = vec![
            ("genuine", genuine.clone(), SignType::Rsa2),
            ("genuine, checked as SHA-1", genuine.clone(), SignType::Rsa),
            ("flipped", flipped, SignType::Rsa2),
            ("short", genuine[1..].to_vec(), SignType::Rsa2),
            ("leading zero", [&[0u8][..], &genuine].concat(), SignType::Rsa2),
            ("hand-made SHA-256", raw(&encoding(&SHA256_PREFIX, &sha256, 0xff, [0, 1])), SignType::Rsa2),
            ("hand-made SHA-1", raw(&encoding(&SHA1_PREFIX, &sha1, 0xff, [0, 1])), SignType::Rsa),
            ("DigestInfo without NULL", raw(&encoding(&no_null, &sha256, 0xff, [0, 1])), SignType::Rsa2),
            ("padding not FF", raw(&encoding(&SHA256_PREFIX, &sha256, 0xfe, [0, 1])), SignType::Rsa2),
            ("block type 2", raw(&encoding(&SHA256_PREFIX, &sha256, 0xff, [0, 2])), SignType::Rsa2),
            ("SHA-1 info under RSA2", raw(&encoding(&SHA1_PREFIX, &sha1, 0xff, [0, 1])), SignType::Rsa2),
            ("all FF", vec![0xff; size], SignType::Rsa2),
            ("zero", vec![0; size], SignType::Rsa2),
        ];
        for (name, signature, sign_type) in cases {
            let ours = verify(&public, content, &signature, sign_type);
            assert_eq!(ours, evp(&pkey, content, &signature, sign_type), "{name}");
            assert_eq!(
                ours,
                name.starts_with("genuine") && sign_type == SignType::Rsa2 || name.starts_with("hand-made"),
                "{name}"
            );
        }
    }
}
