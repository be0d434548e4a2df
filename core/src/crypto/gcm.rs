//! GCM (NIST SP 800-38D) over a 128-bit block cipher given as "encrypt these blocks in
//! place" — for SM4-GCM, which Alipay's `SM4` content encryption uses and OpenSSL 3.0 does
//! not offer (`SM4-GCM` arrived in later OpenSSL releases).
//!
//! Written for any IV length: Alipay uses 16-byte IVs, so `J0` is the GHASH of the IV, and
//! the counter wraps in its low 32 bits only (`inc32`) — which is why OpenSSL's CTR mode,
//! counting over all 128 bits, cannot stand in for it. The field multiplication uses masks,
//! not branches on secret bits. Checked against OpenSSL's AES-GCM in the tests (the same
//! construction with AES as the block cipher) and against BouncyCastle's SM4-GCM in the
//! integration tests.

/// Encrypts whole 16-byte blocks in place (ECB): the block cipher under its key.
pub(crate) trait BlockEncrypt {
    /// Encrypts `blocks` (a multiple of 16 bytes) in place.
    fn encrypt_blocks(&self, blocks: &mut [u8]);
}

const BLOCK: usize = 16;

/// The authentication tag length Alipay uses (BouncyCastle's default, 128 bits).
pub(crate) const TAG_LEN: usize = 16;

/// Multiplication in GF(2^128) with GCM's bit order (the first bit is the most significant).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xE1 << 120;
    let mut z = 0u128;
    let mut v = y;
    for i in 0..128 {
        let bit = (x >> (127 - i)) & 1;
        z ^= v & 0u128.wrapping_sub(bit);
        let carry = v & 1;
        v = (v >> 1) ^ (R & 0u128.wrapping_sub(carry));
    }
    z
}

struct Ghash {
    h: u128,
    y: u128,
}

impl Ghash {
    fn new(h: u128) -> Ghash {
        Ghash { h, y: 0 }
    }

    /// Absorbs `data`, zero-padded to a whole block.
    fn update_padded(&mut self, data: &[u8]) {
        for chunk in data.chunks(BLOCK) {
            let mut block = [0u8; BLOCK];
            block[..chunk.len()].copy_from_slice(chunk);
            self.y = gf_mul(self.y ^ u128::from_be_bytes(block), self.h);
        }
    }

    fn lengths(mut self, aad_bytes: usize, text_bytes: usize) -> u128 {
        let block = (((aad_bytes as u128) * 8) << 64) | ((text_bytes as u128) * 8);
        self.y = gf_mul(self.y ^ block, self.h);
        self.y
    }
}

fn inc32(block: u128) -> u128 {
    let low = (block as u32).wrapping_add(1);
    (block & !0xFFFF_FFFFu128) | u128::from(low)
}

/// The hash key `H = E(0)` and the pre-counter block `J0`.
fn setup(cipher: &impl BlockEncrypt, iv: &[u8]) -> (u128, u128) {
    let mut h = [0u8; BLOCK];
    cipher.encrypt_blocks(&mut h);
    let h = u128::from_be_bytes(h);
    let j0 = if iv.len() == 12 {
        let mut block = [0u8; BLOCK];
        block[..12].copy_from_slice(iv);
        block[15] = 1;
        u128::from_be_bytes(block)
    } else {
        let mut ghash = Ghash::new(h);
        ghash.update_padded(iv);
        ghash.lengths(0, iv.len())
    };
    (h, j0)
}

/// XORs `data` with the keystream starting at `inc32(j0)`.
fn ctr(cipher: &impl BlockEncrypt, j0: u128, data: &mut [u8]) {
    let blocks = data.len().div_ceil(BLOCK);
    let mut stream = Vec::with_capacity(blocks * BLOCK);
    let mut counter = j0;
    for _ in 0..blocks {
        counter = inc32(counter);
        stream.extend_from_slice(&counter.to_be_bytes());
    }
    cipher.encrypt_blocks(&mut stream);
    for (byte, key) in data.iter_mut().zip(&stream) {
        *byte ^= key;
    }
}

fn tag(cipher: &impl BlockEncrypt, h: u128, j0: u128, ciphertext: &[u8]) -> [u8; TAG_LEN] {
    let mut ghash = Ghash::new(h);
    ghash.update_padded(ciphertext);
    let s = ghash.lengths(0, ciphertext.len());
    let mut mask = j0.to_be_bytes();
    cipher.encrypt_blocks(&mut mask);
    (u128::from_be_bytes(mask) ^ s).to_be_bytes()
}

/// Encrypts `plaintext` (no associated data): `ciphertext || tag`.
pub(crate) fn seal(cipher: &impl BlockEncrypt, iv: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let (h, j0) = setup(cipher, iv);
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    ctr(cipher, j0, &mut out);
    let tag = tag(cipher, h, j0, &out);
    out.extend_from_slice(&tag);
    out
}

/// Decrypts `ciphertext || tag`; `None` when the tag does not match (nothing of the
/// plaintext is returned then).
pub(crate) fn open(cipher: &impl BlockEncrypt, iv: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let body_len = sealed.len().checked_sub(TAG_LEN)?;
    let (body, received) = sealed.split_at(body_len);
    let (h, j0) = setup(cipher, iv);
    let expected = tag(cipher, h, j0, body);
    if !openssl::memcmp::eq(&expected, received) {
        return None;
    }
    let mut plain = body.to_vec();
    ctr(cipher, j0, &mut plain);
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::symm::{Cipher, Crypter, Mode, decrypt_aead, encrypt_aead};

    /// AES-128 as a block function: the GCM code checked against OpenSSL's own AES-GCM.
    struct Aes128([u8; 16]);

    impl BlockEncrypt for Aes128 {
        fn encrypt_blocks(&self, blocks: &mut [u8]) {
            let mut crypter = Crypter::new(Cipher::aes_128_ecb(), Mode::Encrypt, &self.0, None).unwrap();
            crypter.pad(false);
            let mut out = vec![0; blocks.len() + 16];
            let n = crypter.update(blocks, &mut out).unwrap();
            blocks.copy_from_slice(&out[..n]);
        }
    }

    #[test]
    fn matches_openssl_aes_gcm_for_every_length_and_iv_size() {
        let key = [7u8; 16];
        let cipher = Aes128(key);
        for iv_len in [12usize, 16, 1, 33] {
            let iv: Vec<u8> = (0..iv_len as u8).map(|b| b.wrapping_mul(37)).collect();
            for len in [0usize, 1, 15, 16, 17, 31, 64, 100] {
                let plain: Vec<u8> = (0..len as u8).collect();
                let mut expected_tag = [0u8; 16];
                let expected =
                    encrypt_aead(Cipher::aes_128_gcm(), &key, Some(&iv), &[], &plain, &mut expected_tag).unwrap();
                let sealed = seal(&cipher, &iv, &plain);
                assert_eq!(&sealed[..len], expected.as_slice(), "iv {iv_len} len {len}");
                assert_eq!(&sealed[len..], expected_tag.as_slice(), "iv {iv_len} len {len}");
                assert_eq!(open(&cipher, &iv, &sealed).unwrap(), plain);
                let back = decrypt_aead(Cipher::aes_128_gcm(), &key, Some(&iv), &[], &expected, &expected_tag).unwrap();
                assert_eq!(back, plain);
                let mut tampered = sealed.clone();
                tampered[0] ^= 1;
                assert!(open(&cipher, &iv, &tampered).is_none());
            }
        }
    }

    #[test]
    fn the_counter_wraps_in_its_low_32_bits() {
        assert_eq!(inc32(0x0000_0001_FFFF_FFFF), 0x0000_0001_0000_0000);
        assert_eq!(inc32(u128::MAX), u128::MAX << 32);
        assert_eq!(inc32(5), 6);
    }
}
