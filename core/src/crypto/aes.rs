//! Content encryption (`encrypt_type`): the "接口内容加密" key of the open-platform console.
//!
//! - `AES` (the default): AES-CBC with a zero IV, PKCS#7 padding, standard base64.
//! - `AES_V2` (Alipay's Java `AesEncryptV2`): AES-CBC, PKCS#7 padding, a random 16-byte IV
//!   put in front of the ciphertext, base64 of `IV || ciphertext`.
//! - `SM4` (Java `SM4Encrypt`, for SM2 apps): SM4-GCM without padding, a random 16-byte IV
//!   in front, the 128-bit tag after the ciphertext: base64 of `IV || ciphertext || tag`.
//!
//! The scheme belongs to the key ([`AesKey::encrypt_type`]), never to a message: an answer
//! is decrypted with the configured scheme whatever it claims.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::Aead as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::symm::{Cipher, Crypter, Mode};

/// Why encryption or decryption failed. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AesError {
    /// The key is not base64 of 16, 24 or 32 bytes (16 for SM4).
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
    #[error("{encrypt_type} decryption failed: wrong key, another encrypt_type, or damaged content")]
    Decrypt {
        /// The configured scheme.
        encrypt_type: EncryptType,
    },
    /// Encryption failed in OpenSSL's cipher.
    #[error("{encrypt_type} encryption failed in OpenSSL")]
    Encrypt {
        /// The configured scheme.
        encrypt_type: EncryptType,
    },
    /// The random source failed: no IV can be drawn.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
    /// An `encrypt_type` other than `AES`, `AES_V2` or `SM4`.
    #[error("unknown encrypt_type {value:?}: expected AES, AES_V2 or SM4")]
    UnknownEncryptType {
        /// The value given.
        value: String,
    },
}

/// The content-encryption scheme: the `encrypt_type` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EncryptType {
    /// AES-CBC, zero IV (what the console's AES key is for, and the only one the Node SDK knows).
    #[default]
    Aes,
    /// AES-CBC with a random IV in front (Java `AesEncryptV2`).
    AesV2,
    /// SM4-GCM with a random IV in front and the tag behind (Java `SM4Encrypt`), for SM2 apps.
    Sm4,
}

impl EncryptType {
    /// The value of the `encrypt_type` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptType::Aes => "AES",
            EncryptType::AesV2 => "AES_V2",
            EncryptType::Sm4 => "SM4",
        }
    }
}

impl fmt::Display for EncryptType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EncryptType {
    type Err = AesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "AES" => Ok(EncryptType::Aes),
            "AES_V2" => Ok(EncryptType::AesV2),
            "SM4" => Ok(EncryptType::Sm4),
            other => Err(AesError::UnknownEncryptType { value: other.to_string() }),
        }
    }
}

/// The IV length of `AES_V2` and `SM4`.
const IV_LEN: usize = 16;

/// A content-encryption key and its scheme (`AES` unless chosen).
#[derive(Clone)]
pub struct AesKey {
    key: Vec<u8>,
    encrypt_type: EncryptType,
}

impl AesKey {
    /// Loads the key as the console shows it (base64), for `encrypt_type=AES`.
    pub fn from_base64(text: &str) -> Result<AesKey, AesError> {
        let key =
            STANDARD.decode(text.trim()).map_err(|e| AesError::InvalidKey { detail: format!("not base64 ({e})") })?;
        AesKey::from_bytes(key)
    }

    /// Uses raw key bytes (16, 24 or 32), for `encrypt_type=AES`.
    pub fn from_bytes(key: Vec<u8>) -> Result<AesKey, AesError> {
        if !matches!(key.len(), 16 | 24 | 32) {
            return Err(AesError::InvalidKey { detail: format!("it decodes to {} bytes", key.len()) });
        }
        Ok(AesKey { key, encrypt_type: EncryptType::Aes })
    }

    /// The same key used with another scheme. SM4 keys are 16 bytes.
    pub fn with_encrypt_type(mut self, encrypt_type: EncryptType) -> Result<AesKey, AesError> {
        if encrypt_type == EncryptType::Sm4 && self.key.len() != 16 {
            return Err(AesError::InvalidKey {
                detail: format!("an SM4 key is 16 bytes, this one decodes to {} bytes", self.key.len()),
            });
        }
        self.encrypt_type = encrypt_type;
        Ok(self)
    }

    /// The scheme: the `encrypt_type` value sent with encrypted requests.
    pub fn encrypt_type(&self) -> EncryptType {
        self.encrypt_type
    }

    fn cbc_cipher(&self) -> Cipher {
        match self.key.len() {
            16 => Cipher::aes_128_cbc(),
            24 => Cipher::aes_192_cbc(),
            _ => Cipher::aes_256_cbc(),
        }
    }

    fn cbc(&self, mode: Mode, iv: &[u8], input: &[u8]) -> Result<Vec<u8>, AesError> {
        let failed = || AesError::Decrypt { encrypt_type: self.encrypt_type };
        let cipher = self.cbc_cipher();
        let mut crypter = Crypter::new(cipher, mode, &self.key, Some(iv)).map_err(|_| failed())?;
        let mut out = vec![0; input.len() + cipher.block_size()];
        let mut count = crypter.update(input, &mut out).map_err(|_| failed())?;
        count += crypter.finalize(&mut out[count..]).map_err(|_| failed())?;
        out.truncate(count);
        Ok(out)
    }

    fn random_iv() -> Result<[u8; IV_LEN], AesError> {
        Ok(crate::random::bytes::<IV_LEN>("an encryption IV")?)
    }

    /// Encrypts and returns base64. Fails only when OpenSSL's cipher or random source fails
    /// (AES_V2 and SM4 draw a fresh IV each time).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, AesError> {
        let failed = |_| AesError::Encrypt { encrypt_type: self.encrypt_type };
        let data = match self.encrypt_type {
            EncryptType::Aes => self.cbc(Mode::Encrypt, &[0u8; IV_LEN], plaintext).map_err(failed)?,
            EncryptType::AesV2 => {
                let iv = Self::random_iv()?;
                let mut out = iv.to_vec();
                out.extend(self.cbc(Mode::Encrypt, &iv, plaintext).map_err(failed)?);
                out
            }
            EncryptType::Sm4 => {
                let iv = Self::random_iv()?;
                let mut out = iv.to_vec();
                out.extend(
                    sm4_gcm(&self.key)
                        .and_then(|c| c.encrypt(&iv.into(), plaintext).ok())
                        .ok_or(AesError::Encrypt { encrypt_type: self.encrypt_type })?,
                );
                out
            }
        };
        Ok(STANDARD.encode(data))
    }

    /// Decrypts base64 ciphertext.
    pub fn decrypt(&self, base64_text: &str) -> Result<Vec<u8>, AesError> {
        let compact: String = base64_text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let data = STANDARD.decode(compact).map_err(|source| AesError::Base64 { source })?;
        let failed = AesError::Decrypt { encrypt_type: self.encrypt_type };
        match self.encrypt_type {
            EncryptType::Aes => self.cbc(Mode::Decrypt, &[0u8; IV_LEN], &data),
            EncryptType::AesV2 => {
                // The IV, then at least one whole block.
                if data.len() < 2 * IV_LEN || data.len() % 16 != 0 {
                    return Err(failed);
                }
                let (iv, body) = data.split_at(IV_LEN);
                self.cbc(Mode::Decrypt, iv, body)
            }
            EncryptType::Sm4 => {
                if data.len() < IV_LEN + SM4_GCM_TAG_LEN {
                    return Err(failed);
                }
                let (iv, sealed) = data.split_at(IV_LEN);
                let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| failed.clone())?;
                sm4_gcm(&self.key).and_then(|c| c.decrypt(&iv.into(), sealed).ok()).ok_or(failed)
            }
        }
    }
}

/// SM4-GCM as Alipay's `SM4` content encryption uses it (and BouncyCastle makes it): a 16-byte
/// IV — so `J0` is the GHASH of the IV and the counter wraps in its low 32 bits — and a 128-bit
/// tag after the ciphertext. RustCrypto's GCM is generic over the block cipher and the nonce
/// length; OpenSSL 3.0 has no SM4-GCM.
type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, aes_gcm::aead::consts::U16>;

/// The tag length Alipay uses (BouncyCastle's default).
const SM4_GCM_TAG_LEN: usize = 16;

/// The cipher under `key` (`None` for a key that is not 16 bytes, which `AesKey` refuses
/// before it gets here).
fn sm4_gcm(key: &[u8]) -> Option<Sm4Gcm> {
    use aes_gcm::aead::KeyInit as _;
    Sm4Gcm::new_from_slice(key).ok()
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.encrypt_type {
            EncryptType::Sm4 => write!(f, "AesKey(SM4, redacted)"),
            scheme => write!(f, "AesKey({scheme}, AES-{}, redacted)", self.key.len() * 8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_answer() {
        // Known answer computed with: printf '{"a":"b"}' | openssl enc -aes-128-cbc -K 000102030405060708090a0b0c0d0e0f -iv 0 | base64
        let key = AesKey::from_bytes((0u8..16).collect()).unwrap();
        let encrypted = key.encrypt(br#"{"a":"b"}"#).unwrap();
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
