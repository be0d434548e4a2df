//! The call flow, IO-free: what to send, and how to judge what came back.
//!
//! A [`Call`] is a small state machine. Its driver asks it for the next [`Step`] and does what
//! the step says: perform an HTTP exchange ([`Step::Send`]), wait for its turn to fetch an
//! Alipay certificate ([`Step::AwaitTurn`]), or stop with the verified result
//! ([`Step::Done`]). The flow signs, verifies, notices an `alipay_cert_sn` it does not know,
//! downloads that certificate through `alipay.open.app.alipaycert.download` (single-flight
//! across concurrent calls, rate-limited, validated against the root bundle) and verifies
//! again — so every driver follows Alipay's certificate rotation without writing any of it.
//!
//! The `alipay-sdk` crate's `Client` (async, reqwest) and `blocking::Client` are drivers. Bring your
//! own HTTP stack with the same loop:
//!
//! ```no_run
//! use alipay_core::flow::{HttpResponse, Step, TransportError};
//! use alipay_core::{Config, Request};
//!
//! # fn my_http(method: &str, url: &str, headers: &[(String, String)], content_type: &str, body: &[u8]) -> Result<(u16, Vec<(String, String)>, Vec<u8>), std::io::Error> { unimplemented!() }
//! # fn block_on<F: std::future::Future>(future: F) -> F::Output { unimplemented!() }
//! fn execute(config: &Config, request: &Request) -> Result<alipay_core::VerifiedResponse, alipay_core::Error> {
//!     let mut call = config.start(request)?;
//!     let mut step = call.start();
//!     loop {
//!         step = match step {
//!             Step::Send(http) => {
//!                 // The method, URL, headers and body as given (OpenAPI v3 signs its headers);
//!                 // every response header goes back (v3 answers are signed in theirs).
//!                 let answer = my_http(http.method.as_str(), &http.url, &http.headers, &http.content_type, &http.body)
//!                     .map(|(status, headers, body)| {
//!                         headers.iter().fold(HttpResponse::new(status, body), |a, (k, v)| a.header(k, v))
//!                     })
//!                     .map_err(|e| TransportError::new(e));
//!                 call.receive(answer)
//!             }
//!             // Only with a remote signer (a KMS): await its signature however your code waits.
//!             Step::Sign(job) => call.signed(block_on(job.sign())),
//!             Step::AwaitTurn(turn) => call.resume(turn.wait_blocking()),
//!             Step::Done(result) => return result,
//!         };
//!     }
//! }
//! ```
//!
//! `examples/own_http.rs` is a complete driver over a plain `TcpStream`.

mod download;
mod retry;
mod start;
pub use retry::RetryPolicy;

use crate::config::Config;
use crate::config::signing::{PreparedRequest, Signing};
use crate::config::v3::V3Signing;
use crate::error::Error;
use crate::key::{KeyError, SignJob};
use crate::lifecycle::{AlipayCertStore, DownloadError, DownloadErrorKind, Turn, TurnGuard};
use crate::notify::{self, NotifyErrorKind, Rule, VerifiedNotification};
use crate::request::{Request, SignedRequest};
use crate::response::{ResponseErrorKind, VerifiedResponse};

pub use crate::wire::{HttpRequest, HttpResponse, Method, TransportError};

/// What the driver does next.
#[derive(Debug)]
#[must_use = "a step is an instruction to the driver"]
pub enum Step<T> {
    /// Send this request and pass the outcome to [`Call::receive`].
    Send(HttpRequest),
    /// Have the remote signer sign this ([`SignJob::sign`], awaited) and pass the outcome to
    /// [`Call::signed`]. Only with a [`crate::key::RemoteSigner`] configured: in-process keys
    /// sign inline and never ask.
    Sign(SignJob),
    /// Wait for this turn ([`Turn::wait`] in async code, [`Turn::wait_blocking`] otherwise)
    /// and pass the guard to [`Call::resume`]: another call may be fetching the same Alipay
    /// certificate.
    AwaitTurn(Turn),
    /// Finished.
    Done(Result<T, Error>),
}

/// What a call is for ([`Gateway`], [`V3`], [`Notification`], [`Fetch`]): its first request, and how
/// to judge the outcome. Sealed: the flow's goals are the crate's.
pub trait Goal: sealed::Judge {}

impl Goal for Gateway {}
impl Goal for Notification {}
impl Goal for Fetch {}
impl Goal for V3 {}

/// The fields every call span carries; the span name must be a literal, hence a macro.
macro_rules! call_span {
    ($name:literal, $method:expr, $config:expr) => {
        tracing::info_span!(
            $name,
            method = $method,
            app_id = $config.app_id(),
            charset = $config.charset().as_str(),
            attempt = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            outcome = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        )
    };
}

pub(crate) mod sealed {
    use super::{HttpRequest, HttpResponse, TransportError};
    use crate::{Config, Error};

    /// How checking the outcome went.
    #[derive(Debug)]
    pub enum Checked<T> {
        Done(Result<T, Error>),
        /// Signed with a certificate we do not have; `error` is what to report if it cannot be had.
        UnknownCert {
            sn: String,
            error: Error,
        },
    }

    /// The goal-specific parts of the flow.
    pub trait Judge {
        /// What the call produces.
        type Output;
        fn first_request(&self, config: &Config) -> Result<Option<HttpRequest>, Error>;
        fn take_answer(&mut self, config: &Config, answer: Result<HttpResponse, TransportError>) -> Result<(), Error>;
        fn check(&mut self, config: &Config) -> Checked<Self::Output>;
        /// The method, for the call's span.
        fn method(&self) -> &str;
        /// The call's span, named for what it does (`alipay.call`, `alipay.notification`,
        /// `alipay.cert_fetch`), so that a subscriber can filter them apart.
        fn span(&self, config: &Config) -> tracing::Span {
            call_span!("alipay.call", self.method(), config)
        }
        /// The gateway's trace id, once an answer arrived.
        fn trace_id(&self) -> Option<&str> {
            None
        }
        /// The remote signature the first request still needs.
        fn sign_job(&self) -> Option<crate::key::SignJob> {
            None
        }
        /// The remote signature, back.
        fn take_signature(&mut self, _signature: String) -> Result<(), Error> {
            Err(Error::flow("nothing was waiting for a signature"))
        }
    }
}

use sealed::{Checked, Judge};

/// A gateway call: send the signed request, verify the answer.
#[derive(Debug)]
pub struct Gateway {
    method: String,
    signing: Signing,
    answer: Option<Vec<u8>>,
    trace_id: Option<String>,
}

/// An OpenAPI v3 call: send the signed request, verify the answer's headers and body.
#[derive(Debug)]
pub struct V3 {
    signing: V3Signing,
    /// `METHOD /path`, for the span and errors (the query may hold user data).
    label: String,
    answer: Option<HttpResponse>,
}

/// A notification (or Alipay's call) to verify.
#[derive(Debug)]
pub struct Notification {
    form: notify::Form,
    rule: Rule,
}

/// Make sure an Alipay certificate is known.
#[derive(Debug)]
pub struct Fetch {
    sn: String,
}

impl Gateway {
    fn signed(&self) -> Result<&SignedRequest, Error> {
        match &self.signing {
            Signing::Signed(signed) => Ok(signed),
            _ => Err(Error::flow("the request is not signed yet")),
        }
    }
}

impl Judge for Gateway {
    type Output = VerifiedResponse;

    fn method(&self) -> &str {
        &self.method
    }

    fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    fn sign_job(&self) -> Option<SignJob> {
        match &self.signing {
            Signing::Remote(prepared) => Some(prepared.job()),
            _ => None,
        }
    }

    fn take_signature(&mut self, signature: String) -> Result<(), Error> {
        let Signing::Remote(prepared) = std::mem::replace(&mut self.signing, Signing::Pending) else {
            return Err(Error::flow("the request was signed already"));
        };
        self.signing = Signing::Signed(prepared.finish(signature)?);
        Ok(())
    }

    fn first_request(&self, config: &Config) -> Result<Option<HttpRequest>, Error> {
        Ok(Some(self.signed()?.http_request(config.gateway())?))
    }

    fn take_answer(&mut self, config: &Config, answer: Result<HttpResponse, TransportError>) -> Result<(), Error> {
        self.trace_id = answer.as_ref().ok().and_then(|a| a.trace_id.clone());
        let body =
            judge_http(self.signed()?, config.gateway(), answer).map_err(|e| e.with_trace_id(self.trace_id.clone()))?;
        self.answer = Some(body);
        Ok(())
    }

    fn check(&mut self, config: &Config) -> Checked<VerifiedResponse> {
        // Taken, so a verified answer keeps the body without copying it; back on failure (the
        // flow checks it again once the certificate it names is fetched).
        let Some(body) = self.answer.take() else {
            return Checked::Done(Err(Error::flow("no answer was received")));
        };
        let trace = || self.trace_id.clone();
        let signed = match self.signed() {
            Ok(signed) => signed,
            Err(error) => return Checked::Done(Err(error)),
        };
        let verified = match config.verify_response_owned_to(signed, body) {
            Ok(verified) => Ok(verified),
            Err((error, body)) => {
                self.answer = Some(body);
                Err(error)
            }
        };
        match verified {
            Err(error) => match error.kind() {
                ResponseErrorKind::UnknownCertSn { alipay_cert_sn, .. } => Checked::UnknownCert {
                    sn: alipay_cert_sn.clone(),
                    error: Error::from(error).with_trace_id(trace()),
                },
                _ => Checked::Done(Err(Error::from(error).with_trace_id(trace()))),
            },
            Ok(verified) => {
                tracing::debug!(alipay_cert_sn = verified.alipay_cert_sn(), "the answer verified");
                Checked::Done(Ok(verified.with_trace_id(trace())))
            }
        }
    }
}

impl V3 {
    fn signed(&self) -> Result<&crate::v3::SignedV3Request, Error> {
        match &self.signing {
            V3Signing::Signed(signed) => Ok(signed),
            _ => Err(Error::flow("the request is not signed yet")),
        }
    }
}

impl Judge for V3 {
    type Output = crate::v3::V3Response;

    fn method(&self) -> &str {
        &self.label
    }

    fn trace_id(&self) -> Option<&str> {
        self.answer.as_ref().and_then(|a| a.trace_id.as_deref())
    }

    fn sign_job(&self) -> Option<SignJob> {
        match &self.signing {
            V3Signing::Remote(prepared) => prepared.job(),
            _ => None,
        }
    }

    fn take_signature(&mut self, signature: String) -> Result<(), Error> {
        let V3Signing::Remote(prepared) = std::mem::replace(&mut self.signing, V3Signing::Pending) else {
            return Err(Error::flow("the request was signed already"));
        };
        self.signing =
            V3Signing::Signed(prepared.finish(signature).map_err(|e| Error::from(e).with_method(&self.label))?);
        Ok(())
    }

    fn first_request(&self, config: &Config) -> Result<Option<HttpRequest>, Error> {
        Ok(Some(
            self.signed()?.http_request(config.v3_endpoint()).map_err(|e| Error::from(e).with_method(&self.label))?,
        ))
    }

    fn take_answer(&mut self, config: &Config, answer: Result<HttpResponse, TransportError>) -> Result<(), Error> {
        let endpoint = config.v3_endpoint();
        let answer = answer.map_err(|e| Error::transport(&self.label, endpoint, e.timed_out, e.not_sent, e.source))?;
        self.answer = Some(answer);
        Ok(())
    }

    fn check(&mut self, config: &Config) -> Checked<crate::v3::V3Response> {
        let Some(answer) = &self.answer else {
            return Checked::Done(Err(Error::flow("no answer was received")));
        };
        let trace = || answer.trace_id.clone();
        let signed = match self.signed() {
            Ok(signed) => signed,
            Err(error) => return Checked::Done(Err(error)),
        };
        match config.verify_v3(signed, answer) {
            Err(error) => match error.kind() {
                crate::v3::V3ErrorKind::UnknownCertSn { alipay_sn, .. } => Checked::UnknownCert {
                    sn: alipay_sn.clone(),
                    error: Error::from(error).with_method(&self.label).with_trace_id(trace()),
                },
                _ => Checked::Done(Err(Error::from(error).with_method(&self.label).with_trace_id(trace()))),
            },
            Ok(verified) => {
                tracing::debug!(alipay_cert_sn = verified.alipay_sn(), "the v3 answer verified");
                Checked::Done(Ok(verified))
            }
        }
    }
}

impl Judge for Notification {
    type Output = VerifiedNotification;

    fn method(&self) -> &str {
        // What the notification says it is (`notify_type`, or an Alipay call's `method`):
        // shown on the span before it is verified, as a label, never trusted.
        self.form.get("notify_type").or_else(|| self.form.get("method")).unwrap_or("notification")
    }

    fn span(&self, config: &Config) -> tracing::Span {
        call_span!("alipay.notification", self.method(), config)
    }

    fn first_request(&self, _: &Config) -> Result<Option<HttpRequest>, Error> {
        Ok(None)
    }

    fn take_answer(&mut self, _: &Config, _: Result<HttpResponse, TransportError>) -> Result<(), Error> {
        Err(Error::flow("a notification check sends nothing of its own"))
    }

    fn check(&mut self, config: &Config) -> Checked<VerifiedNotification> {
        let verifier = config.notification_verifier();
        match verifier.verify(self.form.clone(), self.rule) {
            Err(error) => match error.kind() {
                NotifyErrorKind::UnknownCertSn { alipay_cert_sn, .. } => {
                    Checked::UnknownCert { sn: alipay_cert_sn.clone(), error: error.into() }
                }
                _ => Checked::Done(Err(error.into())),
            },
            Ok(verified) => Checked::Done(Ok(verified)),
        }
    }
}

impl Judge for Fetch {
    type Output = ();

    fn method(&self) -> &str {
        download::METHOD
    }

    fn span(&self, config: &Config) -> tracing::Span {
        call_span!("alipay.cert_fetch", self.method(), config)
    }

    fn first_request(&self, _: &Config) -> Result<Option<HttpRequest>, Error> {
        Ok(None)
    }

    fn take_answer(&mut self, _: &Config, _: Result<HttpResponse, TransportError>) -> Result<(), Error> {
        Err(Error::flow("a fetch sends nothing of its own"))
    }

    fn check(&mut self, config: &Config) -> Checked<()> {
        match config.cert_mode() {
            Some(mode) if mode.store().contains(&self.sn) => Checked::Done(Ok(())),
            Some(_) => Checked::UnknownCert {
                sn: self.sn.clone(),
                error: DownloadErrorKind::NoRoots { sn: self.sn.clone() }.into(),
            },
            None => Checked::Done(Err(DownloadError::from(DownloadErrorKind::NoRoots { sn: self.sn.clone() }).into())),
        }
    }
}

/// The transport outcome of a gateway exchange, judged: the body of a 2xx answer.
fn judge_http(
    signed: &SignedRequest,
    gateway: &str,
    answer: Result<HttpResponse, TransportError>,
) -> Result<Vec<u8>, Error> {
    let method = signed.method();
    let answer = answer.map_err(|e| Error::transport(method, gateway, e.timed_out, e.not_sent, e.source))?;
    if !(200..300).contains(&answer.status) {
        return Err(Error::status(method, answer.status, &answer.body));
    }
    Ok(answer.body)
}

enum State {
    Start,
    /// The first request waits for its remote signature.
    AwaitingSignature,
    AwaitingAnswer,
    AwaitingTurn {
        sn: String,
    },
    /// The certificate download request waits for its remote signature.
    AwaitingDownloadSignature {
        sn: String,
        turn: Box<TurnGuard>,
        prepared: Box<PreparedRequest>,
    },
    AwaitingDownload {
        sn: String,
        turn: Box<TurnGuard>,
        signed: SignedRequest,
    },
    Finished,
}

/// One call in progress. See the [module documentation](self).
pub struct Call<'c, G: Goal> {
    config: &'c Config,
    goal: G,
    state: State,
    /// One span per call: method, app id, charset, attempt, duration, outcome, trace id.
    span: tracing::Span,
    started: std::time::Instant,
    /// The SN already fetched in this call: a second unknown SN is not chased.
    fetched: Option<String>,
    /// Which attempt this is, for the span.
    attempt: u32,
}

impl<G: Goal> std::fmt::Debug for Call<'_, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Start => "start",
            State::AwaitingSignature => "awaiting the remote signature",
            State::AwaitingDownloadSignature { .. } => "awaiting the remote signature of the certificate download",
            State::AwaitingAnswer => "awaiting the answer",
            State::AwaitingTurn { .. } => "awaiting the turn to fetch a certificate",
            State::AwaitingDownload { .. } => "awaiting the certificate download",
            State::Finished => "finished",
        };
        f.debug_struct("Call").field("state", &state).finish_non_exhaustive()
    }
}

impl<'c> Call<'c, Gateway> {
    pub(crate) fn gateway(config: &'c Config, request: &Request) -> Result<Self, Error> {
        let signing = config.sign_or_prepare(request)?;
        let call =
            Call::new(config, Gateway { method: request.method().to_string(), signing, answer: None, trace_id: None });
        if let Signing::Signed(signed) = &call.goal.signing {
            tracing::debug!(parent: &call.span, sign_content_len = signed.sign_content_len(), "signed");
        }
        Ok(call)
    }

    /// The signed request this call sends (`None` while a remote signer has not signed it).
    pub fn signed_request(&self) -> Option<&SignedRequest> {
        self.goal.signed().ok()
    }
}

impl<'c> Call<'c, V3> {
    pub(crate) fn v3(config: &'c Config, request: &crate::v3::V3Request) -> Result<Self, Error> {
        let signing = config.sign_v3_or_prepare(request).map_err(Error::from)?;
        let label = {
            let unsigned = match &signing {
                V3Signing::Signed(signed) => signed,
                V3Signing::Remote(prepared) => prepared.request(),
                V3Signing::Pending => return Err(Error::flow("a v3 request without a signing state")),
            };
            let path = unsigned.uri().split('?').next().unwrap_or_default();
            format!("{} {path}", unsigned.method())
        };
        let call = Call::new(config, V3 { signing, label, answer: None });
        if let V3Signing::Signed(signed) = &call.goal.signing {
            tracing::debug!(parent: &call.span, sign_content_len = signed.sign_content().len(), "signed");
        }
        Ok(call)
    }

    /// The signed request this call sends (`None` while a remote signer has not signed it).
    pub fn signed_v3_request(&self) -> Option<&crate::v3::SignedV3Request> {
        self.goal.signed().ok()
    }
}

impl<'c> Call<'c, Notification> {
    pub(crate) fn notification(config: &'c Config, form: notify::Form, rule: Rule) -> Self {
        Call::new(config, Notification { form, rule })
    }
}

impl<'c> Call<'c, Fetch> {
    pub(crate) fn fetch(config: &'c Config, sn: &str) -> Self {
        Call::new(config, Fetch { sn: sn.to_string() })
    }
}

impl<'c, G: Goal> Call<'c, G> {
    fn new(config: &'c Config, goal: G) -> Self {
        let span = goal.span(config);
        Call { config, goal, state: State::Start, span, started: std::time::Instant::now(), fetched: None, attempt: 1 }
    }

    /// Which attempt this call is (a retry policy's driver sets it; 1 by default). Recorded
    /// on the span once, when the call starts.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    fn finish(&mut self, result: Result<G::Output, Error>) -> Step<G::Output> {
        self.state = State::Finished;
        let span = &self.span;
        let duration_ms = self.started.elapsed().as_millis() as u64;
        span.record("duration_ms", duration_ms);
        let trace_id = self.goal.trace_id().or_else(|| result.as_ref().err().and_then(Error::trace_id));
        if let Some(trace_id) = trace_id {
            span.record("trace_id", trace_id);
        }
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => match error.outcome() {
                crate::error::Outcome::NotSent => "not_sent",
                crate::error::Outcome::Failed => "failed",
                _ => "unknown",
            },
        };
        span.record("outcome", outcome);
        let _entered = span.enter();
        let span_name = span.metadata().map_or("alipay.call", |m| m.name());
        crate::metrics::finished(span_name, self.goal.method(), outcome, self.started.elapsed());
        // The one line per call a plain `tracing_subscriber::fmt()` shows (no span events
        // needed): what, how it ended, how long, and the trace id Alipay support asks for.
        let what = match span_name {
            "alipay.notification" => "notification check",
            "alipay.cert_fetch" => "certificate fetch",
            _ => "alipay call",
        };
        let trace_id = trace_id.unwrap_or("");
        match &result {
            Ok(_) => tracing::info!(outcome, duration_ms, trace_id, "{what} finished"),
            Err(error) => {
                // The kind only: messages may hold sign contents, which stay at DEBUG.
                let kind = error.kind();
                match kind {
                    crate::ErrorKind::Response | crate::ErrorKind::Unverified | crate::ErrorKind::AlipayCert => {
                        tracing::warn!(outcome, duration_ms, trace_id, ?kind, "{what} refused");
                    }
                    _ => tracing::info!(outcome, duration_ms, trace_id, ?kind, "{what} failed"),
                }
                tracing::debug!(error = %error, "details");
            }
        }
        Step::Done(result)
    }

    /// The first step.
    pub fn start(&mut self) -> Step<G::Output> {
        let span = self.span.clone();
        span.record("attempt", self.attempt);
        let _entered = span.enter();
        if !matches!(self.state, State::Start) {
            return self.finish(Err(Error::flow("start called twice")));
        }
        if let Some(job) = self.goal.sign_job() {
            self.state = State::AwaitingSignature;
            return Step::Sign(job);
        }
        self.send_first()
    }

    /// The goal's first request, signed: send it (or judge at once when there is none).
    fn send_first(&mut self) -> Step<G::Output> {
        match self.goal.first_request(self.config) {
            Ok(Some(request)) => {
                self.state = State::AwaitingAnswer;
                Step::Send(request)
            }
            Ok(None) => self.judge(),
            Err(error) => self.finish(Err(error)),
        }
    }

    /// The outcome of the last [`Step::Sign`]: the remote signer's signature (checked here
    /// with its public key before it is used), or why it could not sign.
    pub fn signed(&mut self, signature: Result<String, KeyError>) -> Step<G::Output> {
        let span = self.span.clone();
        let _entered = span.enter();
        match std::mem::replace(&mut self.state, State::Finished) {
            State::AwaitingSignature => {
                match signature
                    .map_err(|e| Error::from(crate::request::RequestError::from(e)))
                    .and_then(|signature| self.goal.take_signature(signature))
                {
                    Ok(()) => self.send_first(),
                    Err(error) => self.finish(Err(error)),
                }
            }
            State::AwaitingDownloadSignature { sn, turn, prepared } => {
                let signed = signature
                    .map_err(crate::request::RequestError::from)
                    .and_then(|signature| prepared.finish(signature));
                match signed
                    .map_err(Error::from)
                    .and_then(|signed| Ok((signed.http_request(self.config.gateway())?, signed)))
                {
                    Ok((request, signed)) => {
                        self.state = State::AwaitingDownload { sn, turn, signed };
                        Step::Send(request)
                    }
                    Err(error) => self.download_not_sent(&turn, &sn, error),
                }
            }
            _ => self.finish(Err(Error::flow("signed called with no signature asked for"))),
        }
    }

    /// A certificate download that could not be sent: recorded like any failed download (not
    /// retried for `retry_after`), and the call ends with it.
    fn download_not_sent(&mut self, turn: &TurnGuard, sn: &str, error: Error) -> Step<G::Output> {
        let Some(store) = self.config.cert_mode().map(|m| m.store().clone()) else {
            return self.finish(Err(error));
        };
        let error = match store.finish(turn, sn, Err(download::call_error(sn, error))) {
            Err(failure) => failure.into(),
            Ok(()) => Error::flow("a failed download was accepted"),
        };
        self.finish(Err(error))
    }

    /// The outcome of the last [`Step::Send`].
    pub fn receive(&mut self, answer: Result<HttpResponse, TransportError>) -> Step<G::Output> {
        let span = self.span.clone();
        let _entered = span.enter();
        match std::mem::replace(&mut self.state, State::Finished) {
            State::AwaitingAnswer => match self.goal.take_answer(self.config, answer) {
                Ok(()) => self.judge(),
                Err(error) => self.finish(Err(error)),
            },
            State::AwaitingDownload { sn, turn, signed } => {
                let content = judge_http(&signed, self.config.gateway(), answer)
                    .map_err(|e| download::failure(&sn, e))
                    .and_then(|body| download::content(self.config, &signed, &body, &sn));
                let stored = match self.config.cert_mode() {
                    Some(mode) => mode.store().finish(&turn, &sn, content),
                    None => Err(DownloadErrorKind::NoRoots { sn: sn.clone() }.into()),
                };
                drop(turn);
                match stored {
                    Ok(()) => self.judge(),
                    Err(error) => self.finish(Err(error.into())),
                }
            }
            _ => self.finish(Err(Error::flow("receive called with no request outstanding"))),
        }
    }

    /// The turn asked for by [`Step::AwaitTurn`], now held.
    pub fn resume(&mut self, turn: TurnGuard) -> Step<G::Output> {
        let span = self.span.clone();
        let _entered = span.enter();
        let State::AwaitingTurn { sn } = std::mem::replace(&mut self.state, State::Finished) else {
            return self.finish(Err(Error::flow("resume called without awaiting a turn")));
        };
        let Some(store) = self.config.cert_mode().map(|m| m.store().clone()) else {
            return self.finish(Err(DownloadError::from(DownloadErrorKind::NoRoots { sn }).into()));
        };
        match store.begin(&turn, &sn) {
            // Another call fetched it meanwhile.
            Ok(false) => {
                drop(turn);
                self.judge()
            }
            Ok(true) => {
                tracing::debug!(sn = %sn, "downloading an Alipay certificate");
                let prepared =
                    self.config.sign_or_prepare(&download::request(&sn)).map_err(Error::from).and_then(|signing| {
                        match signing {
                            Signing::Signed(signed) => {
                                Ok(Ok((signed.http_request(self.config.gateway()).map_err(Error::from)?, signed)))
                            }
                            Signing::Remote(prepared) => Ok(Err(prepared)),
                            Signing::Pending => Err(Error::flow("a download request without a signing state")),
                        }
                    });
                match prepared {
                    Ok(Ok((request, signed))) => {
                        self.state = State::AwaitingDownload { sn, turn: Box::new(turn), signed };
                        Step::Send(request)
                    }
                    Ok(Err(prepared)) => {
                        let job = prepared.job();
                        self.state =
                            State::AwaitingDownloadSignature { sn, turn: Box::new(turn), prepared: Box::new(prepared) };
                        Step::Sign(job)
                    }
                    Err(error) => self.download_not_sent(&turn, &sn, error),
                }
            }
            Err(error) => self.finish(Err(error.into())),
        }
    }

    /// Checks the outcome; asks for the certificate it names when it is not known yet.
    fn judge(&mut self) -> Step<G::Output> {
        match self.goal.check(self.config) {
            Checked::Done(result) => self.finish(result),
            Checked::UnknownCert { sn, error } => {
                let store = self.config.cert_mode().map(|m| m.store()).filter(|s| s.can_download());
                match store {
                    Some(store) if self.fetched.as_deref() != Some(sn.as_str()) => {
                        if let Err(malformed) = AlipayCertStore::check_sn(&sn) {
                            return self.finish(Err(malformed.into()));
                        }
                        self.fetched = Some(sn.clone());
                        let turn = store.turn(&sn);
                        self.state = State::AwaitingTurn { sn };
                        Step::AwaitTurn(turn)
                    }
                    _ => self.finish(Err(error)),
                }
            }
        }
    }
}
