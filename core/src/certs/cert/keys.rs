//! Which keys a certificate certifies: a certificate's public key, and whether an app key
//! (in process or remote) is the private half of it. Here, not in `key`, because
//! certificates are built on keys, not keys on certificates.

use super::{Certificate, CertificateChain};
use crate::key::{KeyError, KeyErrorKind, PrivateKey, PublicKey, Signer};

impl PublicKey {
    /// The public key of a certificate (RSA or SM2).
    pub fn from_certificate(certificate: &Certificate) -> Result<PublicKey, KeyError> {
        let origin = format!("certificate {}", certificate.sn());
        match certificate.public_key() {
            Some(pkey) => PublicKey::from_certified(pkey, origin),
            None => Err(KeyErrorKind::UnsupportedKey { origin, algorithm: "an unsupported algorithm".into() }.into()),
        }
    }
}

impl PrivateKey {
    /// Whether this key is the private half of `certificate`'s public key.
    pub fn matches(&self, certificate: &Certificate) -> bool {
        PublicKey::from_certificate(certificate)
            .is_ok_and(|certified| Signer::is_key_of(self, &certified).unwrap_or(false))
    }

    /// Checks that this key belongs to the first certificate of `chain`.
    pub fn check_matches(&self, chain: &CertificateChain) -> Result<(), KeyError> {
        chain.check_signer(self)
    }
}

impl CertificateChain {
    /// Checks that `signer`'s key is the one this chain's first certificate certifies
    /// ([`Signer::is_key_of`]): a key and a certificate from different pairs are refused
    /// with [`KeyErrorKind::Mismatch`], naming both.
    pub fn check_signer(&self, signer: &(impl Signer + ?Sized)) -> Result<(), KeyError> {
        let certified = PublicKey::from_certificate(self.leaf())?;
        if signer.is_key_of(&certified)? {
            return Ok(());
        }
        Err(KeyErrorKind::Mismatch {
            key_origin: signer.describe(),
            cert_origin: self.origin().to_string(),
            cert_sn: self.sn().to_string(),
        }
        .into())
    }
}
