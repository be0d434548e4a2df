//! Remote signers: a KMS or HSM reached over the network, asked by the driver as a step of the
//! call flow ([`crate::flow::Step::Sign`]) instead of inside it, so that an async driver awaits
//! the signature and no runtime worker blocks on a network call.

use std::fmt;
use std::sync::Arc;

use super::{KeyAlgorithm, KeyError, KeyErrorKind, PublicKey, SignType, Signer};
use crate::future::BoxFuture;

/// A signer that keeps the app private key elsewhere and answers asynchronously (a KMS or HSM
/// behind a network call). Give one to [`crate::ConfigBuilder::app_remote_signer`].
///
/// The call flow hands each sign content to its driver ([`crate::flow::Step::Sign`]); the
/// driver awaits [`RemoteSigner::sign`] and hands the signature back. Every signature is
/// verified with [`RemoteSigner::public_key`] before it is sent, so a service answering with
/// the wrong key fails loudly here, not as an `invalid-signature` at Alipay.
///
/// In-process keys ([`super::PrivateKey`]) and synchronous signers ([`Signer`]) still sign
/// inline. Entry points that are synchronous by nature — page and app payment strings
/// (`page_execute`, `sdk_execute`) and signed answers to Alipay's calls — need an inline
/// signer and refuse a remote one with [`KeyErrorKind::RemoteSignerNotInline`].
pub trait RemoteSigner: Send + Sync + fmt::Debug {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;

    /// The public half of the remote key (a KMS shows it; fetch it once at start-up). The
    /// configuration checks it against the app certificate, and every signature against it.
    fn public_key(&self) -> &PublicKey;

    /// Signs `content` (the exact sign content bytes, already in the request charset) with
    /// `sign_type`; the standard base64 signature.
    fn sign(&self, content: Vec<u8>, sign_type: SignType) -> BoxFuture<'static, Result<String, KeyError>>;
}

/// A [`RemoteSigner`] in the configuration's signer slot: it cannot sign inline.
#[derive(Debug)]
pub(crate) struct RemoteKey(pub(crate) Arc<dyn RemoteSigner>);

impl Signer for RemoteKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.0.algorithm()
    }

    fn sign(&self, _content: &[u8], _sign_type: SignType) -> Result<String, KeyError> {
        Err(KeyErrorKind::RemoteSignerNotInline.into())
    }

    fn is_key_of(&self, certified: &PublicKey) -> Result<bool, KeyError> {
        Ok(certified.same_key(self.0.public_key()))
    }

    fn describe(&self) -> String {
        format!("the remote signer {:?}", self.0)
    }

    fn remote(&self) -> Option<Arc<dyn RemoteSigner>> {
        Some(self.0.clone())
    }
}

/// Content for the driver to have signed by the remote signer ([`crate::flow::Step::Sign`]).
pub struct SignJob {
    content: Vec<u8>,
    sign_type: SignType,
    signer: Arc<dyn RemoteSigner>,
}

impl fmt::Debug for SignJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The content may hold customer data; its length is enough to follow a call.
        f.debug_struct("SignJob")
            .field("content_len", &self.content.len())
            .field("sign_type", &self.sign_type)
            .field("signer", &self.signer)
            .finish()
    }
}

impl SignJob {
    pub(crate) fn new(content: Vec<u8>, sign_type: SignType, signer: Arc<dyn RemoteSigner>) -> SignJob {
        SignJob { content, sign_type, signer }
    }

    /// The bytes to sign.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The signature type.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// Asks the remote signer; await it and hand the result to the call
    /// ([`crate::flow::Call::signed`]).
    pub fn sign(self) -> BoxFuture<'static, Result<String, KeyError>> {
        self.signer.sign(self.content, self.sign_type)
    }
}

/// Checks a remote signature with the signer's public key before it is used.
pub(crate) fn check_remote(
    signer: &dyn RemoteSigner,
    content: &[u8],
    signature: &str,
    sign_type: SignType,
) -> Result<(), KeyError> {
    if signer.public_key().verify(content, signature, sign_type) {
        Ok(())
    } else {
        Err(KeyErrorKind::RemoteSignatureInvalid { signer: format!("{signer:?}") }.into())
    }
}
