//! Cryptography: key algorithms, private and public keys, signers local and remote
//! ([`key`]), SM3withSM2 with Alipay's user id ([`sm2`]), RSA PKCS#1 v1.5 verification on the
//! extracted key (`key::pkcs1`), content encryption — AES, AES_V2, SM4 (SM4-GCM through
//! RustCrypto's `aes-gcm` and `sm4`) — ([`aes`]).

pub mod aes;
pub mod key;
pub mod sm2;
