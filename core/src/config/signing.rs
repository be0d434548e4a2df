//! Gateway request signing: the system parameters, the sign content, the signature.

use std::sync::Arc;

use super::Config;
use crate::charset::Charset;
use crate::key::{RemoteSigner, SignJob, SignType, check_remote};
use crate::request::{self, FilePart, Request, RequestError, RequestErrorKind, SignedRequest};

/// A gateway request with everything but its signature, waiting for a remote signer.
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    method: String,
    charset: Charset,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    files: Vec<FilePart>,
    sign_content: String,
    /// The sign content in the request charset: what is signed.
    encoded: Vec<u8>,
    sign_type: SignType,
    signer: Arc<dyn RemoteSigner>,
}

impl PreparedRequest {
    /// What the driver has the remote signer sign.
    pub(crate) fn job(&self) -> SignJob {
        SignJob::new(self.encoded.clone(), self.sign_type, self.signer.clone())
    }

    /// The signed request, once the remote signature is back and checked with the signer's
    /// public key.
    pub(crate) fn finish(mut self, signature: String) -> Result<SignedRequest, RequestError> {
        check_remote(&*self.signer, &self.encoded, &signature, self.sign_type)?;
        self.query.push(("sign".into(), signature));
        Ok(SignedRequest {
            method: self.method,
            charset: self.charset,
            query: self.query,
            body: self.body,
            files: self.files,
            sign_content: self.sign_content,
        })
    }
}

/// A signed request, or one waiting for its remote signature.
#[derive(Debug)]
pub(crate) enum Signing {
    Signed(SignedRequest),
    Remote(PreparedRequest),
    /// Taken apart while the signature is being added.
    Pending,
}

impl Config {
    /// Signs a request: adds the system parameters, signs, splits query and body. A remote
    /// signer ([`crate::key::RemoteSigner`]) cannot sign here; the call flow asks it
    /// ([`crate::flow::Step::Sign`]).
    pub fn sign_request(&self, request: &Request) -> Result<SignedRequest, RequestError> {
        match self.sign_or_prepare(request)? {
            Signing::Signed(signed) => Ok(signed),
            Signing::Remote(_) | Signing::Pending => {
                Err(crate::key::KeyError::from(crate::key::KeyErrorKind::RemoteSignerNotInline).into())
            }
        }
    }

    /// A signed page-pay entry point for `request` ([`crate::page`]): an auto-submitting HTML
    /// form (POST) or a URL (GET) to the configured gateway.
    pub fn page_execute(&self, request: &Request, method: crate::page::PageMethod) -> Result<String, RequestError> {
        crate::page::page_entry(&self.sign_request(request)?, self.gateway(), method)
    }

    /// The signed order string for app and mini-program payment ([`crate::page`]).
    pub fn sdk_execute(&self, request: &Request) -> Result<String, RequestError> {
        crate::page::order_string(&self.sign_request(request)?)
    }

    /// Signs `request` inline, or prepares it for the remote signer.
    pub(crate) fn sign_or_prepare(&self, request: &Request) -> Result<Signing, RequestError> {
        let method = &request.method;
        if request.certificate_mode_only && self.inner.cert_mode.is_none() {
            return Err(RequestErrorKind::CertificateModeRequired { method: method.clone() }.into());
        }
        let timestamp = crate::gateway::content::format_timestamp(self.inner.clock.now());
        let mut query: Vec<(String, String)> = vec![
            ("app_id".into(), self.inner.app_id.clone()),
            ("method".into(), method.clone()),
            ("format".into(), "JSON".into()),
            ("charset".into(), self.inner.charset.as_str().into()),
            ("sign_type".into(), self.inner.sign_type.as_str().into()),
            ("timestamp".into(), timestamp),
            ("version".into(), "1.0".into()),
        ];
        // One snapshot: the key that signs and the SN sent always belong together.
        let identity = self.inner.identity.current();
        if let Some(mode) = &self.inner.cert_mode {
            let app_cert_sn = identity.app_cert_sn().unwrap_or_default();
            query.push(("app_cert_sn".into(), app_cert_sn.to_string()));
            let root_sn = mode.root.sn_for(self.inner.sign_type.algorithm()).unwrap_or_default();
            query.push(("alipay_root_cert_sn".into(), root_sn.to_string()));
        }
        let optional = [
            ("notify_url", &request.notify_url),
            ("return_url", &request.return_url),
            ("app_auth_token", &request.app_auth_token),
            ("auth_token", &request.auth_token),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                query.push((name.into(), value.clone()));
            }
        }
        let mut body: Vec<(String, String)> = Vec::new();
        if let Some(biz) = &request.biz_content {
            let biz = biz
                .as_ref()
                .map_err(|source| RequestErrorKind::BizContent { method: method.clone(), source: source.clone() })?;
            let value = if request.encrypt {
                let aes =
                    self.inner.aes.as_ref().ok_or_else(|| RequestErrorKind::NoAesKey { method: method.clone() })?;
                query.push(("encrypt_type".into(), aes.encrypt_type().as_str().into()));
                aes.encrypt(&self.inner.charset.encode(biz, "biz_content")?)
                    .map_err(|source| RequestErrorKind::Encrypt { method: method.clone(), source })?
            } else {
                biz.clone()
            };
            body.push(("biz_content".into(), value));
        } else if request.encrypt {
            return Err(RequestErrorKind::BizContent {
                method: method.clone(),
                source: crate::request::BizContentError::MissingForEncryption,
            }
            .into());
        }
        for (target, extras) in [(&mut query, &request.system_params), (&mut body, &request.app_params)] {
            for (name, value) in extras {
                if request::RESERVED.contains(&name.as_str()) {
                    return Err(
                        RequestErrorKind::ReservedParameter { method: method.clone(), name: name.clone() }.into()
                    );
                }
                target.push((name.clone(), value.clone()));
            }
        }
        let mut names: Vec<&str> = query.iter().chain(body.iter()).map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(
                RequestErrorKind::DuplicateParameter { method: method.clone(), name: pair[0].to_string() }.into()
            );
        }
        // Like Java: blank values are neither signed nor sent.
        query.retain(|(_, v)| !crate::gateway::content::is_java_blank(v));
        body.retain(|(_, v)| !crate::gateway::content::is_java_blank(v));
        let sign_content = crate::gateway::content::sign_content(
            query.iter().chain(body.iter()).map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let encoded = self.inner.charset.encode(&sign_content, "sign content")?;
        if let Some(signer) = identity.signer().remote() {
            let encoded = encoded.into_owned();
            return Ok(Signing::Remote(PreparedRequest {
                method: method.clone(),
                charset: self.inner.charset,
                query,
                body,
                files: request.files.clone(),
                sign_content,
                encoded,
                sign_type: self.inner.sign_type,
                signer,
            }));
        }
        let sign = identity.signer().sign(&encoded, self.inner.sign_type)?;
        query.push(("sign".into(), sign));
        Ok(Signing::Signed(SignedRequest {
            method: method.clone(),
            charset: self.inner.charset,
            query,
            body,
            files: request.files.clone(),
            sign_content,
        }))
    }
}
