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
        self.verify_response(&signed.method, body).map_err(|error| Self::with_request_diagnosis(signed, error))
    }

    /// As [`Config::verify_response`], taking the body: a UTF-8 answer becomes the
    /// [`VerifiedResponse`]'s text without a copy. For a driver of its own that owns the body it
    /// read (the flows do this).
    pub fn verify_response_owned(&self, method: &str, body: Vec<u8>) -> Result<VerifiedResponse, ResponseError> {
        self.inner.verifier.verify_owned(method, body)
    }

    /// As [`Config::verify_response_to`], taking the body (no copy of a UTF-8 answer); on
    /// error the body comes back with it.
    pub(crate) fn verify_response_owned_to(
        &self,
        signed: &SignedRequest,
        body: Vec<u8>,
    ) -> Result<VerifiedResponse, (ResponseError, Vec<u8>)> {
        self.inner
            .verifier
            .verify_owned_or_back(&signed.method, body)
            .map_err(|(error, body)| (Self::with_request_diagnosis(signed, error), body))
    }

    /// An `isv.invalid-signature` failure with what we signed beside what the gateway says it
    /// verified; any other error as it is.
    fn with_request_diagnosis(signed: &SignedRequest, error: ResponseError) -> ResponseError {
        let is_invalid_signature =
            |failure: &response::Failure| failure.sub_code.as_deref() == Some("isv.invalid-signature");
        let error = error.into_kind();
        let diagnose = |failure: &response::Failure| {
            let sub_msg = failure.sub_msg.as_deref()?;
            response::SignatureDiagnosis::compare(&signed.sign_content, sub_msg, signed.charset()).map(Box::new)
        };
        let ours = || Some(crate::excerpt::sign_content(&signed.sign_content));
        match error {
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
        .into()
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
