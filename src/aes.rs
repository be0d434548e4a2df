//! AES content encryption (`encrypt_type=AES`): AES-CBC with a zero IV, PKCS#7 padding,
//! standard base64 — what the open-platform console's "接口内容加密" key is for.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::symm::{Cipher, Crypter, Mode};

/// Why AES encryption or decryption failed. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AesError {
    /// The key is not base64 of 16, 24 or 32 bytes.
    #[error("the AES key must be the base64 of 16, 24 or 32 bytes (the console shows a 24-character key); {detail}")]
    InvalidKey {
        /// What was wrong.
        detail: String,
    },
    /// The ciphertext is not base64.
    #[error("the encrypted content is not base64: {source}")]
    Base64 {
        /// The decoder's error.
        source: base64::DecodeError,
    },
    /// Decryption failed (wrong key or damaged content).
    #[error("AES decryption failed: wrong key or damaged content")]
    Decrypt,
}

/// An AES content-encryption key.
#[derive(Clone)]
pub struct AesKey {
    key: Vec<u8>,
}

impl AesKey {
    /// Loads the key as the console shows it (base64).
    pub fn from_base64(text: &str) -> Result<AesKey, AesError> {
        let key =
            STANDARD.decode(text.trim()).map_err(|e| AesError::InvalidKey { detail: format!("not base64 ({e})") })?;
        AesKey::from_bytes(key)
    }

    /// Uses raw key bytes (16, 24 or 32).
    pub fn from_bytes(key: Vec<u8>) -> Result<AesKey, AesError> {
        if !matches!(key.len(), 16 | 24 | 32) {
            return Err(AesError::InvalidKey { detail: format!("it decodes to {} bytes", key.len()) });
        }
        Ok(AesKey { key })
    }

    fn cipher(&self) -> Cipher {
        match self.key.len() {
            16 => Cipher::aes_128_cbc(),
            24 => Cipher::aes_192_cbc(),
            _ => Cipher::aes_256_cbc(),
        }
    }

    fn run(&self, mode: Mode, input: &[u8]) -> Result<Vec<u8>, AesError> {
        let cipher = self.cipher();
        let iv = [0u8; 16];
        let mut crypter = Crypter::new(cipher, mode, &self.key, Some(&iv)).map_err(|_| AesError::Decrypt)?;
        let mut out = vec![0; input.len() + cipher.block_size()];
        let mut count = crypter.update(input, &mut out).map_err(|_| AesError::Decrypt)?;
        count += crypter.finalize(&mut out[count..]).map_err(|_| AesError::Decrypt)?;
        out.truncate(count);
        Ok(out)
    }

    /// Encrypts and returns base64.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        STANDARD.encode(self.run(Mode::Encrypt, plaintext).expect("AES-CBC encryption of any input succeeds"))
    }

    /// Decrypts base64 ciphertext.
    pub fn decrypt(&self, base64_text: &str) -> Result<Vec<u8>, AesError> {
        let compact: String = base64_text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let data = STANDARD.decode(compact).map_err(|source| AesError::Base64 { source })?;
        self.run(Mode::Decrypt, &data)
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesKey(AES-{}, redacted)", self.key.len() * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_answer() {
        // Known answer computed with: printf '{"a":"b"}' | openssl enc -aes-128-cbc -K 000102030405060708090a0b0c0d0e0f -iv 0 | base64
        let key = AesKey::from_bytes((0u8..16).collect()).unwrap();
        let encrypted = key.encrypt(br#"{"a":"b"}"#);
        let expected = std::process::Command::new("sh")
            .args(["-c", r#"printf '{"a":"b"}' | openssl enc -aes-128-cbc -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 | base64"#])
            .output()
            .unwrap();
        assert_eq!(encrypted, String::from_utf8(expected.stdout).unwrap().trim());
        assert_eq!(key.decrypt(&encrypted).unwrap(), br#"{"a":"b"}"#);
        assert!(key.decrypt("AAAA").is_err());
        assert!(AesKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{key:?}").contains("0, 1"));
    }
}
