//! OpenAPI v3 on a configuration: signing requests, judging answers.

use std::sync::Arc;

use super::Config;
use crate::key::{KeyError, KeyErrorKind, RemoteSigner, SignJob, SignType, check_remote};
use crate::response::AlipayKeys;
use crate::v3::{SignedV3Request, V3Error, V3ErrorKind, V3Failure, V3Request, V3Response};
use crate::wire::HttpResponse;

/// A v3 request with everything but its signature, waiting for a remote signer.
#[derive(Debug)]
pub(crate) struct PreparedV3 {
    /// The request, its authorization still empty.
    signed: SignedV3Request,
    auth_string: String,
    /// Where the authorization header goes among the headers.
    authorization_at: usize,
    signer: Option<Arc<dyn RemoteSigner>>,
}

impl PreparedV3 {
    /// The request as it will be sent (its authorization still empty).
    pub(crate) fn request(&self) -> &SignedV3Request {
        &self.signed
    }

    /// What the driver has the remote signer sign (v3 signs with SHA-256 always).
    pub(crate) fn job(&self) -> Option<SignJob> {
        let signer = self.signer.clone()?;
        Some(SignJob::new(self.signed.sign_content.clone().into_bytes(), SignType::Rsa2, signer))
    }

    /// The signed request, once the remote signature is back and checked with the signer's
    /// public key.
    pub(crate) fn finish(self, signature: String) -> Result<SignedV3Request, V3Error> {
        if let Some(signer) = &self.signer {
            check_remote(&**signer, self.signed.sign_content.as_bytes(), &signature, SignType::Rsa2)?;
        }
        Ok(self.with_signature(&signature))
    }

    fn with_signature(mut self, signature: &str) -> SignedV3Request {
        let authorization = crate::v3::content::authorization(&self.auth_string, signature);
        self.signed.headers.insert(self.authorization_at, ("authorization".into(), authorization.clone()));
        self.signed.authorization = authorization;
        self.signed
    }
}

/// A signed v3 request, or one waiting for its remote signature.
#[derive(Debug)]
pub(crate) enum V3Signing {
    Signed(SignedV3Request),
    Remote(PreparedV3),
    /// Taken apart while the signature is being added.
    Pending,
}

impl Config {
    /// The OpenAPI v3 endpoint: the gateway's origin (`https://openapi.alipay.com` for the
    /// production gateway, the sandbox's own host for Alipay's and ours), derived once at build.
    pub fn v3_endpoint(&self) -> &str {
        &self.inner.v3_endpoint
    }

    /// Signs a v3 request: the auth string (`app_id`, `app_cert_sn` in certificate mode, a
    /// fresh nonce, the clock's time in milliseconds), the content
    /// `authString\nMETHOD\nURI\nBODY\n[app_auth_token\n]` signed with SHA256withRSA, and the
    /// headers to send.
    pub fn sign_v3(&self, request: &V3Request) -> Result<SignedV3Request, V3Error> {
        match self.sign_v3_or_prepare(request)? {
            V3Signing::Signed(signed) => Ok(signed),
            V3Signing::Remote(_) | V3Signing::Pending => {
                Err(KeyError::from(KeyErrorKind::RemoteSignerNotInline).into())
            }
        }
    }

    /// Signs a v3 request inline, or prepares it for the remote signer.
    pub(crate) fn sign_v3_or_prepare(&self, request: &V3Request) -> Result<V3Signing, V3Error> {
        request.check_headers()?;
        let uri = request.uri()?;
        let json = match &request.body {
            Some(Err(detail)) => return Err(V3ErrorKind::Body { detail: detail.clone() }.into()),
            Some(Ok(text)) => text.clone(),
            None => String::new(),
        };
        let mut headers: Vec<(String, String)> = vec![("accept".into(), "application/json".into())];
        let (body, content_type) = if request.encrypt {
            let aes = self.inner.aes.as_ref().ok_or_else(|| V3ErrorKind::Encryption {
                detail: "no AES key is configured (ConfigBuilder::aes_key)".into(),
            })?;
            if aes.encrypt_type() != crate::aes::EncryptType::Aes {
                return Err(V3ErrorKind::Encryption {
                    detail: format!(
                        "OpenAPI v3 encrypts with AES only; the configured key is for encrypt_type {}",
                        aes.encrypt_type()
                    ),
                }
                .into());
            }
            headers.push(("alipay-encrypt-type".into(), "AES".into()));
            headers.push(("alipay-encryption-algm".into(), "AES".into()));
            let encrypted =
                aes.encrypt(json.as_bytes()).map_err(|e| V3ErrorKind::Encryption { detail: e.to_string() })?;
            (encrypted, "text/plain".to_string())
        } else {
            (json, "application/json".to_string())
        };
        let identity = self.inner.identity.current();
        let nonce = crate::random::uuid_v4("the v3 nonce").map_err(V3ErrorKind::Random)?;
        let timestamp = self.inner.clock.now().timestamp_millis();
        let app_cert_sn = if self.inner.cert_mode.is_some() { identity.app_cert_sn() } else { None };
        let auth_string = crate::v3::content::auth_string(&self.inner.app_id, app_cert_sn, &nonce, timestamp);
        let token = request.app_auth_token.as_deref().filter(|t| !t.is_empty());
        let sign_content = crate::v3::content::request_sign_content(&auth_string, request.method, &uri, &body, token);
        // The authorization header goes after the accept and encryption headers.
        let authorization_at = headers.len();
        let request_id = crate::random::uuid_v4("the v3 request id").map_err(V3ErrorKind::Random)?;
        headers.push(("alipay-request-id".into(), request_id));
        if let Some(token) = token {
            headers.push(("alipay-app-auth-token".into(), token.to_string()));
        }
        if let Some(mode) = &self.inner.cert_mode
            && let Some(root_sn) = mode.root.sn_for(self.inner.sign_type.algorithm())
        {
            headers.push(("alipay-root-cert-sn".into(), root_sn.to_string()));
        }
        headers.extend(request.headers.iter().cloned());
        let prepared = PreparedV3 {
            signed: SignedV3Request {
                method: request.method,
                uri,
                body,
                content_type,
                headers,
                files: request.files.clone(),
                sign_content,
                authorization: String::new(),
                encrypted: request.encrypt,
                has_token: token.is_some(),
            },
            auth_string,
            authorization_at,
            signer: identity.signer().remote(),
        };
        if prepared.signer.is_some() {
            return Ok(V3Signing::Remote(prepared));
        }
        // v3 is SHA256withRSA whatever the gateway's sign_type (an old RSA app signs v3 with
        // SHA-256 over the same key).
        let signature = identity.signer().sign(prepared.signed.sign_content.as_bytes(), SignType::Rsa2)?;
        Ok(V3Signing::Signed(prepared.with_signature(&signature)))
    }

    /// Judges a v3 answer to `signed`: verified over `alipay-timestamp`, `alipay-nonce` and
    /// the raw body with the certificate `alipay-sn` names (or the Alipay public key). An
    /// unsigned 2xx answer is an error; a 4xx / 5xx answer is a [`V3Failure`] that says
    /// whether it was signed; a bad signature is an error whatever the status.
    pub fn verify_v3(&self, signed: &SignedV3Request, answer: &HttpResponse) -> Result<V3Response, V3Error> {
        let status = answer.status;
        let success = (200..300).contains(&status);
        let signature = answer.header_value("alipay-signature").filter(|s| !s.trim().is_empty());
        let alipay_sn = answer.header_value("alipay-sn").map(str::trim).filter(|s| !s.is_empty());
        let verified = match signature {
            None if success => return Err(V3ErrorKind::Unsigned { status }.into()),
            None => false,
            Some(signature) => {
                let timestamp = answer
                    .header_value("alipay-timestamp")
                    .ok_or(V3ErrorKind::MissingHeader { header: "alipay-timestamp" })?;
                let nonce =
                    answer.header_value("alipay-nonce").ok_or(V3ErrorKind::MissingHeader { header: "alipay-nonce" })?;
                for (header, value) in [("alipay-timestamp", timestamp), ("alipay-nonce", nonce)] {
                    if value.contains(['\r', '\n']) {
                        return Err(
                            V3ErrorKind::BadHeader { header, detail: "holds a line break (CR or LF)".into() }.into()
                        );
                    }
                }
                // A success must be fresh. A failure outside the window is still shown (the
                // gateway refuses a request from a host whose clock is off, and says why), but
                // not as Alipay's word: a replayed old failure must not pass for a definitive one.
                let fresh = match self.check_v3_timestamp(timestamp) {
                    Ok(()) => true,
                    Err(error) if success || !matches!(error.kind(), V3ErrorKind::Stale { .. }) => return Err(error),
                    Err(error) => {
                        tracing::warn!(%error, "a v3 failure answer is outside the time window: taken as unverified");
                        false
                    }
                };
                let content = crate::v3::content::answer_sign_content(timestamp, nonce, &answer.body);
                let checks = |key: &crate::key::PublicKey| key.verify(&content, signature, SignType::Rsa2);
                // Certificate mode's keys are the store `alipay-sn` chooses from (the same
                // store the gateway protocol and its rotation use).
                let ok = match (&self.inner.verifier.keys, alipay_sn) {
                    (AlipayKeys::PublicKey(key), _) => checks(key),
                    (AlipayKeys::Store(store), Some(sn)) => match store.get(sn) {
                        Some(key) => checks(&key),
                        None => {
                            return Err(V3ErrorKind::UnknownCertSn {
                                alipay_sn: crate::excerpt::capped(sn, 64),
                                known: store.sns(),
                            }
                            .into());
                        }
                    },
                    (AlipayKeys::Store(store), None) => store.public_keys().iter().any(checks),
                };
                if !ok {
                    let text = String::from_utf8_lossy(&content);
                    return Err(V3ErrorKind::InvalidSignature {
                        status,
                        alipay_sn: alipay_sn.map(|sn| crate::excerpt::capped(sn, 64)),
                        sign_content: crate::excerpt::capped(&text, crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES),
                        sign_content_len: content.len(),
                    }
                    .into());
                }
                fresh
            }
        };
        let text = || String::from_utf8_lossy(&answer.body).into_owned();
        if !success {
            return Err(match serde_json::from_slice::<V3Failure>(&answer.body) {
                Ok(failure) => {
                    let mut failure = failure.capped();
                    (failure.status, failure.signed, failure.trace_id) = (status, verified, answer.trace_id.clone());
                    // The gateway may echo the content it checked, token included: never keep it.
                    if let Some((_, token)) = signed.headers.iter().find(|(k, _)| k == "alipay-app-auth-token")
                        && !token.is_empty()
                    {
                        failure.message = failure.message.replace(token.as_str(), "<app_auth_token redacted>");
                    }
                    V3ErrorKind::Failed(Box::new(failure))
                }
                Err(_) => V3ErrorKind::UnexpectedStatus {
                    status,
                    signed: verified,
                    excerpt: crate::excerpt::capped(&text(), 200),
                },
            }
            .into());
        }
        let body = if signed.encrypted && !answer.body.is_empty() {
            let aes = self
                .inner
                .aes
                .as_ref()
                .ok_or_else(|| V3ErrorKind::Encryption { detail: "no AES key is configured".into() })?;
            let ciphertext = std::str::from_utf8(&answer.body)
                .map_err(|_| V3ErrorKind::Parse { detail: "the encrypted body is not base64 text".into() })?;
            aes.decrypt(ciphertext.trim())?
        } else {
            answer.body.clone()
        };
        Ok(V3Response { status, body, alipay_sn: alipay_sn.map(str::to_string), trace_id: answer.trace_id.clone() })
    }

    /// Refuses an `alipay-timestamp` (milliseconds since the epoch; seconds are read too) that
    /// is not a number or is further from the clock than the window.
    fn check_v3_timestamp(&self, timestamp: &str) -> Result<(), V3Error> {
        let bad = || V3ErrorKind::BadHeader {
            header: "alipay-timestamp",
            detail: format!("{:?} is not a time in milliseconds", crate::excerpt::capped(timestamp, 40)),
        };
        let value: i64 = timestamp.trim().parse().map_err(|_| bad())?;
        // Ten digits or fewer is seconds (until the year 5138), thirteen is milliseconds.
        let millis = if value.unsigned_abs() < 100_000_000_000 { value.saturating_mul(1000) } else { value };
        let at = chrono::DateTime::from_timestamp_millis(millis).ok_or_else(bad)?;
        let now = self.inner.clock.now();
        let skew = (now - at).abs().to_std().unwrap_or(std::time::Duration::MAX);
        if skew > self.inner.v3_answer_window {
            return Err(V3ErrorKind::Stale { timestamp: at, now, skew, window: self.inner.v3_answer_window }.into());
        }
        Ok(())
    }
}
