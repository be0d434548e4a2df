//! Judging what came back: responses, notifications, and the IO-free flows that may need to
//! fetch an Alipay certificate first.

use super::Config;
use crate::notify::NotificationVerifier;
use crate::request::SignedRequest;
use crate::response::{self, AlipayKeys, ResponseError, ResponseErrorKind, ResponseVerifier, VerifiedResponse};

impl Config {
    /// A verifier for notifications and Alipay's calls, sharing this configuration's keys.
    pub fn notification_verifier(&self) -> NotificationVerifier {
        match &self.inner.cert_mode {
            Some(mode) => NotificationVerifier::from_store(mode.store.clone()),
            None => match &self.inner.verifier.keys {
                AlipayKeys::PublicKey(key) => NotificationVerifier::public_key(key.clone()),
                AlipayKeys::Store(store) => NotificationVerifier::from_store(store.clone()),
            },
        }
        .with_sign_type(self.inner.sign_type)
    }

    /// Verifies a raw response body for `method`.
    pub fn verify_response(&self, method: &str, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
        self.inner.verifier.verify(method, body)
    }

    /// Verifies the response to `signed`, attaching our sign content to an
    /// `isv.invalid-signature` answer so it can be compared with the gateway's.
    pub fn verify_response_to(&self, signed: &SignedRequest, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
        let is_invalid_signature =
            |failure: &response::Failure| failure.sub_code.as_deref() == Some("isv.invalid-signature");
        let error = match self.verify_response(&signed.method, body) {
            Ok(verified) => return Ok(verified),
            Err(error) => error.into_kind(),
        };
        let diagnose = |failure: &response::Failure| {
            let sub_msg = failure.sub_msg.as_deref()?;
            response::SignatureDiagnosis::compare(&signed.sign_content, sub_msg, signed.charset()).map(Box::new)
        };
        let ours = || Some(crate::excerpt::sign_content(&signed.sign_content));
        Err(match error {
            ResponseErrorKind::Business(mut e) if is_invalid_signature(&e.failure) => {
                (e.request_sign_content, e.request_sign_content_len) = (ours(), Some(signed.sign_content_len()));
                e.signature_diagnosis = diagnose(&e.failure);
                ResponseErrorKind::Business(e)
            }
            ResponseErrorKind::Unverified(mut e) if is_invalid_signature(&e.failure) => {
                (e.request_sign_content, e.request_sign_content_len) = (ours(), Some(signed.sign_content_len()));
                e.signature_diagnosis = diagnose(&e.failure);
                ResponseErrorKind::Unverified(e)
            }
            other => other,
        }
        .into())
    }

    /// The response verifier of this configuration.
    pub fn verifier(&self) -> &ResponseVerifier {
        &self.inner.verifier
    }
}

// Built here rather than in `server`, so that the inbound side stays below the configuration.
impl crate::server::Responder {
    /// A responder using a client configuration's key, `app_cert_sn`, sign type and charset.
    pub fn from_config(config: &Config) -> crate::server::Responder {
        crate::server::Responder::live(config.identity_cell().clone(), config.sign_type(), config.charset())
    }
}
