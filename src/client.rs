//! The async client: a thin driver of the [IO-free flow](crate::flow) over reqwest (the
//! operating system's trust store).
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
//!
//! Around your own `reqwest::Client` (a proxy, extra TLS roots for a corporate proxy,
//! middleware), with timeouts:
//!
//! ```no_run
//! # fn run(config: alipay_sdk::Config) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let http = reqwest::Client::builder().proxy(reqwest::Proxy::https("http://proxy.internal:3128")?).build()?;
//! let client = alipay_sdk::Client::builder(config).http_client(http).timeout(Duration::from_secs(10)).build()?;
//! let patient = client.with_timeout(Duration::from_secs(60)); // one slow call, same connections
//! # let _ = patient;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::error::Error;
use crate::flow::{Call, Goal, HttpRequest, HttpResponse, Step, TransportError};
use crate::model::AlipayApi;
use crate::notify::{Rule, VerifiedNotification};
use crate::page::{self, PageMethod};
use crate::request::Request;
use crate::response::VerifiedResponse;

/// Connect timeout unless the builder says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Total timeout of one HTTP exchange unless the builder says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    config: Config,
    http: Option<reqwest::Client>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl ClientBuilder {
    /// Sends through this `reqwest::Client` (its proxy, TLS and pool settings are kept; the
    /// connect timeout below does not apply to it, the total timeout does).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Time allowed to connect (default 5 s), for the client this builder creates.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one whole HTTP exchange (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder().connect_timeout(self.connect_timeout).build().map_err(Error::client)?,
        };
        Ok(Client { config: Arc::new(self.config), http, timeout: self.timeout })
    }
}

/// The async client. Cheap to clone; share one per app.
#[derive(Clone, Debug)]
pub struct Client {
    config: Arc<Config>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    /// A client with default timeouts.
    pub fn new(config: Config) -> Result<Client, Error> {
        Client::builder(config).build()
    }

    /// A builder: your own `reqwest::Client`, timeouts.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder { config, http: None, connect_timeout: DEFAULT_CONNECT_TIMEOUT, timeout: DEFAULT_TIMEOUT }
    }

    /// The same client (same configuration and connections) with another total timeout, for
    /// the calls made through it.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client { timeout, ..self.clone() }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // The URL carries the signed query; keep it out of messages and logs.
        let failed = |e: reqwest::Error| {
            let (timed_out, not_sent) = (e.is_timeout(), e.is_connect());
            TransportError::new(e.without_url()).timed_out(timed_out).not_sent(not_sent)
        };
        let sent = self.http.post(request.url).header(reqwest::header::CONTENT_TYPE, request.content_type);
        let response = sent.body(request.body).timeout(self.timeout).send().await.map_err(failed)?;
        let status = response.status().as_u16();
        Ok(HttpResponse { status, body: response.bytes().await.map_err(failed)?.to_vec() })
    }

    /// Drives an IO-free call to its end.
    pub async fn drive<G: Goal>(&self, mut call: Call<'_, G>) -> Result<G::Output, Error> {
        let mut step = call.start();
        loop {
            step = match step {
                Step::Send(request) => call.receive(self.send(request).await),
                Step::AwaitTurn(turn) => call.resume(turn.wait().await),
                Step::Done(result) => return result,
            };
        }
    }

    /// Signs, sends and verifies a request. An answer signed with an Alipay certificate not
    /// yet known is verified after that certificate is downloaded and checked (once, however
    /// many calls need it at the same time).
    pub async fn execute(&self, request: &Request) -> Result<VerifiedResponse, Error> {
        self.drive(self.config.start_call(request)?).await
    }

    /// Makes sure the Alipay certificate `sn` is known, downloading it through
    /// `alipay.open.app.alipaycert.download` if needed.
    pub async fn fetch_alipay_cert(&self, sn: &str) -> Result<(), Error> {
        self.drive(self.config.start_fetch(sn)).await
    }

    /// Verifies a notification (or Alipay's call) from its raw form body, downloading an
    /// Alipay certificate it names but we do not have yet.
    pub async fn verify_notification(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        rule: Rule,
    ) -> Result<VerifiedNotification, Error> {
        self.drive(self.config.start_notification(body, content_type, rule)?).await
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
