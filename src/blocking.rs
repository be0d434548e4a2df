//! The blocking client (feature `blocking`): the same methods as [`crate::Client`], without
//! `async`.
//!
//! It is the async client run to completion on a small runtime of its own, the way
//! `reqwest::blocking` layers over async reqwest: one implementation of the call flow, so the
//! two cannot drift apart. Calling it from inside an async runtime is an
//! [`ErrorKind::BlockingInAsync`](crate::ErrorKind::BlockingInAsync) error, not a panic; use
//! [`crate::Client`] there.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::config::Config;
use crate::model::AlipayApi;
use crate::notify::{IntoForm, Rule, VerifiedNotification};
use crate::page::PageMethod;
use crate::request::Request;
use crate::response::VerifiedResponse;

/// The blocking client. Cheap to clone; the clones share connections.
#[derive(Clone, Debug)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

/// Builds a blocking [`Client`]; see [`crate::ClientBuilder`].
#[derive(Debug)]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

impl ClientBuilder {
    /// Sends through this async `reqwest::Client` (driven by the blocking client's runtime).
    pub fn http_client(self, http: reqwest::Client) -> Self {
        ClientBuilder { inner: self.inner.http_client(http) }
    }

    /// Time allowed to connect (default 5 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        ClientBuilder { inner: self.inner.connect_timeout(timeout) }
    }

    /// Time allowed for one whole HTTP exchange (default 15 s).
    pub fn timeout(self, timeout: Duration) -> Self {
        ClientBuilder { inner: self.inner.timeout(timeout) }
    }

    /// Retries by `policy` (off by default); see [`crate::RetryPolicy`].
    pub fn retry(self, policy: crate::RetryPolicy) -> Self {
        ClientBuilder { inner: self.inner.retry(policy) }
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::driver_setup("the blocking client's runtime", e))?;
        Ok(Client { inner: self.inner.build()?, runtime: Arc::new(runtime) })
    }
}

impl Client {
    /// A client with default timeouts.
    pub fn new(config: Config) -> Result<Client, Error> {
        Client::builder(config).build()
    }

    /// A builder: your own `reqwest::Client`, timeouts.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder { inner: crate::Client::builder(config) }
    }

    /// The same client with another total timeout for the calls made through it.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client { inner: self.inner.with_timeout(timeout), runtime: self.runtime.clone() }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    fn run<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::blocking_in_async());
        }
        self.runtime.block_on(work)
    }

    /// Signs, sends and verifies a request, following Alipay certificate rotation like
    /// [`crate::Client::send`].
    pub fn send(&self, request: &Request) -> Result<VerifiedResponse, Error> {
        self.run(self.inner.send(request))
    }

    /// Fetches and parses a daily bill; see [`crate::Client::download_bill`].
    #[cfg(feature = "bill")]
    pub fn download_bill(
        &self,
        query: &crate::model::settle::BillDownloadUrlQuery,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<crate::bill::Bill, crate::bill::BillError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(crate::bill::BillErrorKind::Query(Box::new(Error::blocking_in_async())).into());
        }
        self.runtime.block_on(self.inner.download_bill(query, progress))
    }

    /// Writes a daily bill's zip as received to `out`; see [`crate::Client::download_bill_to`].
    #[cfg(feature = "bill")]
    pub fn download_bill_to(
        &self,
        query: &crate::model::settle::BillDownloadUrlQuery,
        limits: crate::bill::BillLimits,
        out: &mut (dyn std::io::Write + Send),
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<u64, crate::bill::BillError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(crate::bill::BillErrorKind::Query(Box::new(Error::blocking_in_async())).into());
        }
        self.runtime.block_on(self.inner.download_bill_to(query, limits, out, progress))
    }

    /// Signs, sends and verifies an OpenAPI v3 request; see [`crate::Client::send_v3`].
    pub fn send_v3(&self, request: &crate::v3::V3Request) -> Result<crate::v3::V3Response, Error> {
        self.run(self.inner.send_v3(request))
    }

    /// Calls a typed API over OpenAPI v3; see [`crate::Client::call_v3`].
    pub fn call_v3<A: crate::v3::V3Api>(&self, api: &A) -> Result<crate::model::Traced<A::Response>, Error> {
        self.run(self.inner.call_v3(api))
    }

    /// [`Self::call_v3`] with per-request options; see [`crate::Client::call_v3_with`].
    pub fn call_v3_with<A: crate::v3::V3Api>(
        &self,
        api: &A,
        options: impl FnOnce(crate::v3::V3Request) -> crate::v3::V3Request,
    ) -> Result<crate::model::Traced<A::Response>, Error> {
        self.run(self.inner.call_v3_with(api, options))
    }

    /// Makes sure the Alipay certificate `sn` is known, downloading it if needed.
    pub fn fetch_alipay_cert(&self, sn: &str) -> Result<(), Error> {
        self.run(self.inner.fetch_alipay_cert(sn))
    }

    /// Verifies a notification from its raw form body, downloading an unknown Alipay
    /// certificate it names.
    pub fn verify_notification(&self, form: impl IntoForm, rule: Rule) -> Result<VerifiedNotification, Error> {
        let form = form.into_form().map_err(Error::from)?;
        self.run(self.inner.verify_notification(form, rule))
    }

    /// Calls a typed API and returns its verified, typed response.
    pub fn call<A: AlipayApi>(&self, api: &A) -> Result<crate::model::Traced<A::Response>, Error> {
        self.run(self.inner.call(api))
    }

    /// Calls a typed API with per-request options; see [`crate::Client::call_with`].
    pub fn call_with<A: AlipayApi>(
        &self,
        api: &A,
        options: impl FnOnce(Request) -> Request,
    ) -> Result<crate::model::Traced<A::Response>, Error> {
        self.run(self.inner.call_with(api, options))
    }

    /// A signed page-pay entry point: an auto-submitting HTML form (POST) or a URL (GET).
    pub fn page_execute(&self, request: &Request, method: PageMethod) -> Result<String, Error> {
        self.inner.page_execute(request, method)
    }

    /// The signed order string for app and mini-program payment.
    pub fn sdk_execute(&self, request: &Request) -> Result<String, Error> {
        self.inner.sdk_execute(request)
    }
}
