//! The blocking client (feature `blocking`): the same method names as [`crate::Client`].
//!
//! Do not call it from inside an async runtime; use [`crate::Client`] there.

use std::sync::Arc;

use crate::client::{Error, check_status, transport_error};
use crate::config::Config;
use crate::lifecycle::download;
use crate::model::AlipayApi;
use crate::page::{self, PageMethod};
use crate::request::{Request, RequestError, SignedRequest};
use crate::response::{ResponseError, VerifiedResponse};

/// The blocking client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    config: Arc<Config>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// Builds a client for a configuration.
    pub fn new(config: Config) -> Result<Client, Error> {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(config.connect_timeout())
            .timeout(config.timeout())
            .build()
            .map_err(Error::Http)?;
        Ok(Client { config: Arc::new(config), http })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn exchange(&self, signed: &SignedRequest) -> Result<Vec<u8>, Error> {
        let gateway = self.config.gateway();
        let url = signed.url(gateway).map_err(RequestError::from)?;
        let builder = self.http.post(&url);
        let builder = if signed.files.is_empty() {
            let body = signed.form_body().map_err(RequestError::from)?;
            builder.header(reqwest::header::CONTENT_TYPE, signed.content_type()).body(body)
        } else {
            let mut form = reqwest::blocking::multipart::Form::new();
            for (name, value) in &signed.body {
                form = form.text(name.clone(), value.clone());
            }
            for file in &signed.files {
                let part =
                    reqwest::blocking::multipart::Part::bytes(file.bytes.clone()).file_name(file.file_name.clone());
                form = form.part(file.name.clone(), part);
            }
            builder.multipart(form)
        };
        let response = builder.send().map_err(|e| transport_error(signed, gateway, e))?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| transport_error(signed, gateway, e))?;
        check_status(signed, status, &body)?;
        Ok(body.to_vec())
    }

    /// Signs, sends and verifies a request, following Alipay certificate rotation like
    /// [`crate::Client::execute`].
    pub fn execute(&self, request: &Request) -> Result<VerifiedResponse, Error> {
        let signed = self.config.sign_request(request)?;
        let body = self.exchange(&signed)?;
        match self.config.verify_response_to(&signed, &body) {
            Err(ResponseError::UnknownCertSn { alipay_cert_sn, .. }) if self.can_download() => {
                self.fetch_alipay_cert(&alipay_cert_sn)?;
                Ok(self.config.verify_response_to(&signed, &body)?)
            }
            other => Ok(other?),
        }
    }

    fn can_download(&self) -> bool {
        self.config.cert_mode().is_some_and(|m| m.store().can_download())
    }

    /// Makes sure the Alipay certificate `sn` is known, downloading it if needed.
    pub fn fetch_alipay_cert(&self, sn: &str) -> Result<(), Error> {
        let store = self
            .config
            .cert_mode()
            .map(|m| m.store().clone())
            .ok_or_else(|| crate::lifecycle::DownloadError::NoRoots { sn: sn.to_string() })?;
        store.fetch_blocking(sn, || {
            let call = |e: Error| crate::lifecycle::DownloadError::Call { sn: sn.to_string(), detail: e.to_string() };
            let signed = self.config.sign_request(&download::request(sn)).map_err(|e| call(e.into()))?;
            let body = self.exchange(&signed).map_err(call)?;
            download::content(&self.config, &signed, &body, sn)
        })?;
        Ok(())
    }

    /// Verifies a notification from its raw form body, downloading an unknown Alipay
    /// certificate it names.
    pub fn verify_notification(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        rule: crate::notify::Rule,
    ) -> Result<crate::notify::VerifiedNotification, Error> {
        let verifier = self.config.notification_verifier();
        match verifier.verify_form(body, content_type, rule) {
            Err(crate::notify::NotifyError::UnknownCertSn { alipay_cert_sn, .. }) if self.can_download() => {
                self.fetch_alipay_cert(&alipay_cert_sn)?;
                Ok(verifier.verify_form(body, content_type, rule)?)
            }
            other => Ok(other?),
        }
    }

    /// Calls a typed API and returns its verified, typed response.
    pub fn call<A: AlipayApi>(&self, api: &A) -> Result<A::Response, Error> {
        let response = self.execute(&api.to_request())?;
        Ok(response.parse()?)
    }

    /// A signed page-pay entry point: an auto-submitting HTML form (POST) or a URL (GET).
    pub fn page_execute(&self, request: &Request, method: PageMethod) -> Result<String, Error> {
        Ok(page::page_execute(&self.config, request, method)?)
    }

    /// The signed order string for app and mini-program payment.
    pub fn sdk_execute(&self, request: &Request) -> Result<String, Error> {
        Ok(page::sdk_execute(&self.config, request)?)
    }
}
