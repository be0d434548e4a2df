//! The async gateway client (tokio, reqwest with the operating system's trust store).
//!
//! ```no_run
//! use alipay_sdk::{Client, Config, Request};
//! use alipay_sdk::model::trade::TradeQuery;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder("2021000000000001")
//!     .app_private_key_file("app_private_key.pem")
//!     .app_cert_file("appCertPublicKey_2021000000000001.crt")
//!     .alipay_cert_file("alipayCertPublicKey_RSA2.crt")
//!     .alipay_root_cert_file("alipayRootCert.crt")
//!     .build()?;
//! let client = Client::new(config)?;
//! let trade = client.call(&TradeQuery::by_out_trade_no("order-1")).await?;
//! println!("{:?} {:?}", trade.trade_status, trade.total_amount);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use crate::config::Config;
use crate::lifecycle::download;
use crate::model::AlipayApi;
use crate::page::{self, PageMethod};
use crate::request::{Request, RequestError, SignedRequest};
use crate::response::{BusinessError, ResponseError, UnverifiedError, VerifiedResponse};

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built or signed.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The HTTP exchange failed (connect, timeout, reset, TLS).
    #[error("{method}: HTTP request to {gateway} failed{}: {}", if *.timed_out { " (timed out)" } else { "" }, chain(.source))]
    Transport {
        /// The method.
        method: String,
        /// The gateway (without the signed query).
        gateway: String,
        /// Whether a timeout expired.
        timed_out: bool,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// The gateway answered with a non-2xx HTTP status.
    #[error("{method}: the gateway answered HTTP {status}; body starts: {excerpt}")]
    Status {
        /// The method.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// A verified business failure (`code` is not 10000).
    #[error(transparent)]
    Business(BusinessError),
    /// A failure that was not signed by Alipay.
    #[error(transparent)]
    Unverified(UnverifiedError),
    /// The response was rejected (bad signature, forged, malformed, …).
    #[error(transparent)]
    Response(ResponseError),
    /// Building the HTTP client failed.
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
    /// A new Alipay certificate was needed and could not be obtained.
    #[error(transparent)]
    AlipayCert(#[from] crate::lifecycle::DownloadError),
    /// A notification was not accepted.
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
}

impl From<ResponseError> for Error {
    fn from(error: ResponseError) -> Self {
        match error {
            ResponseError::Business(e) => Error::Business(e),
            ResponseError::Unverified(e) => Error::Unverified(e),
            other => Error::Response(other),
        }
    }
}

impl Error {
    /// The verified business failure, if that is what this is.
    pub fn business(&self) -> Option<&BusinessError> {
        match self {
            Error::Business(e) => Some(e),
            _ => None,
        }
    }
}

/// The error and its causes, one after the other ("connection refused" is usually a cause).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) fn transport_error(signed: &SignedRequest, gateway: &str, source: reqwest::Error) -> Error {
    // The URL carries the signed query; keep it out of messages and logs.
    let source = source.without_url();
    Error::Transport {
        method: signed.method().to_string(),
        gateway: gateway.to_string(),
        timed_out: source.is_timeout(),
        source,
    }
}

pub(crate) fn check_status(signed: &SignedRequest, status: u16, body: &[u8]) -> Result<(), Error> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    Err(Error::Status {
        method: signed.method().to_string(),
        status,
        excerpt: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    })
}

/// The async client. Cheap to clone; share one per app.
#[derive(Clone, Debug)]
pub struct Client {
    config: Arc<Config>,
    http: reqwest::Client,
}

impl Client {
    /// Builds a client for a configuration.
    pub fn new(config: Config) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
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

    /// Signs and sends a request; returns the raw answer body.
    async fn send(&self, signed: &SignedRequest) -> Result<reqwest::Response, Error> {
        let gateway = self.config.gateway();
        let url = signed.url(gateway).map_err(RequestError::from)?;
        let builder = self.http.post(&url);
        let builder = if signed.files.is_empty() {
            let body = signed.form_body().map_err(RequestError::from)?;
            builder.header(reqwest::header::CONTENT_TYPE, signed.content_type()).body(body)
        } else {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in &signed.body {
                form = form.text(name.clone(), value.clone());
            }
            for file in &signed.files {
                let part = reqwest::multipart::Part::bytes(file.bytes.clone()).file_name(file.file_name.clone());
                form = form.part(file.name.clone(), part);
            }
            builder.multipart(form)
        };
        builder.send().await.map_err(|e| transport_error(signed, gateway, e))
    }

    async fn exchange(&self, signed: &SignedRequest) -> Result<Vec<u8>, Error> {
        let response = self.send(signed).await?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| transport_error(signed, self.config.gateway(), e))?;
        check_status(signed, status, &body)?;
        Ok(body.to_vec())
    }

    /// Signs, sends and verifies a request. An answer signed with an Alipay certificate not
    /// yet known is verified after that certificate is downloaded and checked (once, however
    /// many calls need it at the same time).
    pub async fn execute(&self, request: &Request) -> Result<VerifiedResponse, Error> {
        let signed = self.config.sign_request(request)?;
        let body = self.exchange(&signed).await?;
        match self.config.verify_response_to(&signed, &body) {
            Err(ResponseError::UnknownCertSn { alipay_cert_sn, .. }) if self.can_download() => {
                self.fetch_alipay_cert(&alipay_cert_sn).await?;
                Ok(self.config.verify_response_to(&signed, &body)?)
            }
            other => Ok(other?),
        }
    }

    fn can_download(&self) -> bool {
        self.config.cert_mode().is_some_and(|m| m.store().can_download())
    }

    /// Makes sure the Alipay certificate `sn` is known, downloading it through
    /// `alipay.open.app.alipaycert.download` if needed.
    pub async fn fetch_alipay_cert(&self, sn: &str) -> Result<(), Error> {
        let store = self
            .config
            .cert_mode()
            .map(|m| m.store().clone())
            .ok_or_else(|| crate::lifecycle::DownloadError::NoRoots { sn: sn.to_string() })?;
        store
            .fetch(sn, || async {
                let call =
                    |e: Error| crate::lifecycle::DownloadError::Call { sn: sn.to_string(), detail: e.to_string() };
                let signed = self.config.sign_request(&download::request(sn)).map_err(|e| call(e.into()))?;
                let body = self.exchange(&signed).await.map_err(call)?;
                download::content(&self.config, &signed, &body, sn)
            })
            .await?;
        Ok(())
    }

    /// Verifies a notification (or Alipay's call) from its raw form body, downloading an
    /// Alipay certificate it names but we do not have yet.
    pub async fn verify_notification(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        rule: crate::notify::Rule,
    ) -> Result<crate::notify::VerifiedNotification, Error> {
        let verifier = self.config.notification_verifier();
        match verifier.verify_form(body, content_type, rule) {
            Err(crate::notify::NotifyError::UnknownCertSn { alipay_cert_sn, .. }) if self.can_download() => {
                self.fetch_alipay_cert(&alipay_cert_sn).await?;
                Ok(verifier.verify_form(body, content_type, rule)?)
            }
            other => Ok(other?),
        }
    }

    /// Calls a typed API and returns its verified, typed response.
    pub async fn call<A: AlipayApi>(&self, api: &A) -> Result<A::Response, Error> {
        let response = self.execute(&api.to_request()).await?;
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
