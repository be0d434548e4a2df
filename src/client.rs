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
use crate::flow::{Call, Goal, HttpRequest, HttpResponse, Method, Step, TransportError};
use crate::model::AlipayApi;
use crate::model::Traced;
use crate::notify::{IntoForm, Rule, VerifiedNotification};
use crate::page::PageMethod;
use crate::request::Request;
use crate::response::VerifiedResponse;
use crate::v3::{V3Api, V3Request, V3Response};
use crate::{Error, RetryPolicy};

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
    retry: Option<RetryPolicy>,
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

    /// Retries by `policy` (off by default).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        let http = match self.http {
            Some(http) => http,
            // No redirect is followed on its own: the gateway never redirects (a redirect is
            // then an error, not a new destination), and bill downloads check each one.
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::driver_setup("the HTTP client", e))?,
        };
        Ok(Client { config: self.config, http, timeout: self.timeout, retry: self.retry.map(Arc::new) })
    }
}

/// The async client. Cheap to clone; share one per app.
#[derive(Clone, Debug)]
pub struct Client {
    config: Config,
    http: reqwest::Client,
    timeout: Duration,
    retry: Option<Arc<RetryPolicy>>,
}

impl Client {
    /// Fetches and parses a daily bill: queries its URL (a verified call), downloads the zip
    /// (streamed, size-capped, `progress(bytes so far, total)` as it comes) and reads its GBK
    /// CSV files into typed rows ([`crate::bill`]).
    #[cfg(feature = "bill")]
    pub async fn download_bill(
        &self,
        query: &crate::model::settle::BillDownloadUrlQuery,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<crate::bill::Bill, crate::bill::BillError> {
        self.download_bill_with(query, crate::bill::BillLimits::default(), progress).await
    }

    /// [`Self::download_bill`] with limits.
    #[cfg(feature = "bill")]
    pub async fn download_bill_with(
        &self,
        query: &crate::model::settle::BillDownloadUrlQuery,
        limits: crate::bill::BillLimits,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<crate::bill::Bill, crate::bill::BillError> {
        let mut zip = Vec::new();
        self.download_bill_to(query, limits, &mut zip, progress).await?;
        crate::bill::parse(&zip, query.bill_type, limits)
    }

    /// Queries a bill's URL (a verified call) and writes the zip as received to `out`, without
    /// holding it (read it with [`crate::bill::read`], row by row). The URL and its redirects
    /// must be on Alipay's bill hosts or the gateway's ([`crate::bill::BillHosts`]); returns
    /// the number of bytes written.
    #[cfg(feature = "bill")]
    pub async fn download_bill_to(
        &self,
        query: &crate::model::settle::BillDownloadUrlQuery,
        limits: crate::bill::BillLimits,
        out: &mut (dyn std::io::Write + Send),
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<u64, crate::bill::BillError> {
        let url = self.call(query).await.map_err(|e| crate::bill::BillErrorKind::Query(Box::new(e)))?;
        let mut hosts = crate::bill::BillHosts::alipay();
        if let Some(host) = url::Url::parse(self.config.gateway()).ok().and_then(|u| u.host_str().map(str::to_string)) {
            hosts = hosts.allow(host);
        }
        crate::bill::download_to(&self.http, &url.bill_download_url, limits, &hosts, out, progress).await
    }
    /// A client with default timeouts.
    pub fn new(config: Config) -> Result<Client, Error> {
        Client::builder(config).build()
    }

    /// A builder: your own `reqwest::Client`, timeouts.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            http: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: None,
        }
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

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // The URL carries the signed query; keep it out of messages and logs.
        let failed = |e: reqwest::Error| {
            let (timed_out, not_sent) = (e.is_timeout(), e.is_connect());
            TransportError::new(e.without_url()).timed_out(timed_out).not_sent(not_sent)
        };
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut sent = self.http.request(method, request.url);
        if !request.content_type.is_empty() {
            sent = sent.header(reqwest::header::CONTENT_TYPE, request.content_type);
        }
        for (name, value) in &request.headers {
            sent = sent.header(name.as_str(), value.as_str());
        }
        let response = sent.body(request.body).timeout(self.timeout).send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let body = response.bytes().await.map_err(failed)?.to_vec();
        Ok(headers.iter().fold(HttpResponse::new(status, body), |answer, (name, value)| answer.header(name, value)))
    }

    /// Drives an IO-free call to its end.
    pub async fn drive<G: Goal>(&self, mut call: Call<'_, G>) -> Result<G::Output, Error> {
        let mut step = call.start();
        loop {
            step = match step {
                Step::Send(request) => call.receive(self.exchange(request).await),
                // A remote signer (a KMS behind a network call) is awaited here, not inside
                // the flow: the runtime's other tasks go on meanwhile.
                Step::Sign(job) => call.signed(job.sign().await),
                Step::AwaitTurn(turn) => call.resume(turn.wait().await),
                Step::Done(result) => return result,
            };
        }
    }

    /// Signs, sends and verifies a request. An answer signed with an Alipay certificate not
    /// yet known is verified after that certificate is downloaded and checked (once, however
    /// many calls need it at the same time).
    ///
    /// With a [`RetryPolicy`], a failed attempt is sent again when the policy allows it.
    pub async fn send(&self, request: &Request) -> Result<VerifiedResponse, Error> {
        self.with_retries(request.method(), |attempt| Ok(self.config.start(request)?.attempt(attempt))).await
    }

    /// Runs the calls `start` makes, one per attempt, as the [`RetryPolicy`] allows
    /// (`method` is what the policy's idempotent list names).
    async fn with_retries<'s, G: Goal>(
        &'s self,
        method: &str,
        start: impl Fn(u32) -> Result<Call<'s, G>, Error>,
    ) -> Result<G::Output, Error> {
        let Some(policy) = &self.retry else { return self.drive(start(1)?).await };
        let started = std::time::Instant::now();
        let mut attempt = 1;
        loop {
            let error = match self.drive(start(attempt)?).await {
                Ok(verified) => return Ok(verified),
                Err(error) => error,
            };
            let Some(delay) = policy.next_attempt(&error, method, attempt, started.elapsed()) else {
                return Err(error);
            };
            tracing::info!(method, attempt, ?delay, outcome = ?error.outcome(), "retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Signs, sends and verifies an OpenAPI v3 request ([`crate::v3`]). An answer signed
    /// with an Alipay certificate not yet known is verified after that certificate is
    /// downloaded and checked, as for the gateway. With a [`RetryPolicy`], the path (for
    /// example `/v3/alipay/trade/query`) is what [`RetryPolicy::idempotent`] names.
    pub async fn send_v3(&self, request: &V3Request) -> Result<V3Response, Error> {
        let path = request.path().to_string();
        self.with_retries(&path, |attempt| Ok(self.config.start_v3(request)?.attempt(attempt))).await
    }

    /// Calls a typed API over OpenAPI v3 and returns its verified, typed answer.
    pub async fn call_v3<A: V3Api>(&self, api: &A) -> Result<Traced<A::Response>, Error> {
        self.call_v3_with(api, |request| request).await
    }

    /// [`Self::call_v3`] with per-request options (`app_auth_token`, query, headers) set on
    /// its [`V3Request`].
    pub async fn call_v3_with<A: V3Api>(
        &self,
        api: &A,
        options: impl FnOnce(V3Request) -> V3Request,
    ) -> Result<Traced<A::Response>, Error> {
        let answer = self.send_v3(&options(api.to_v3_request())).await?;
        Ok(Traced::new(answer.parse()?, answer.trace_id().map(str::to_string)))
    }

    /// Makes sure the Alipay certificate `sn` is known, downloading it through
    /// `alipay.open.app.alipaycert.download` if needed.
    pub async fn fetch_alipay_cert(&self, sn: &str) -> Result<(), Error> {
        self.drive(self.config.start_fetch(sn)).await
    }

    /// Verifies a notification (or Alipay's call) — a [`crate::notify::Form`] or what one is made
    /// from, `(body, content_type)` as received ([`IntoForm`]) — downloading an
    /// Alipay certificate it names but we do not have yet.
    pub async fn verify_notification(&self, form: impl IntoForm, rule: Rule) -> Result<VerifiedNotification, Error> {
        self.drive(self.config.start_notification(form, rule)?).await
    }

    /// Calls a typed API and returns its verified, typed response.
    pub async fn call<A: AlipayApi>(&self, api: &A) -> Result<Traced<A::Response>, Error> {
        self.call_with(api, |request| request).await
    }

    /// Calls a typed API with per-request options — `notify_url`, `return_url`,
    /// `app_auth_token`, `auth_token`, extra parameters — set on its [`Request`]:
    ///
    /// ```no_run
    /// # async fn run(client: alipay_sdk::Client) -> Result<(), alipay_sdk::Error> {
    /// use alipay_sdk::model::trade::TradePrecreate;
    /// let order = TradePrecreate::new("order-1", "9.99".parse().unwrap(), "Tea");
    /// let created = client
    ///     .call_with(&order, |request| request.notify_url("https://shop.example/notify").app_auth_token("…"))
    ///     .await?;
    /// # let _ = created;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_with<A: AlipayApi>(
        &self,
        api: &A,
        options: impl FnOnce(Request) -> Request,
    ) -> Result<Traced<A::Response>, Error> {
        let response = self.send(&options(api.to_request())).await?;
        Ok(Traced::new(response.parse()?, response.trace_id().map(str::to_string)))
    }

    /// A signed page-pay entry point: an auto-submitting HTML form (POST) or a URL (GET).
    pub fn page_execute(&self, request: &Request, method: PageMethod) -> Result<String, Error> {
        Ok(self.config.page_execute(request, method)?)
    }

    /// The signed order string for app and mini-program payment.
    pub fn sdk_execute(&self, request: &Request) -> Result<String, Error> {
        Ok(self.config.sdk_execute(request)?)
    }
}
