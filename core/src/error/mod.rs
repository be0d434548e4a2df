//! The error of a gateway call: small (one boxed inner, like reqwest's), classified by
//! [`Error::kind`], with the layer's own error kept as its [`source`](std::error::Error::source).
//!
//! Each failure has one representation: a verified business failure is always
//! [`ErrorKind::Business`] with the [`BusinessError`] reachable through [`Error::business`],
//! whichever path produced it.

use crate::response::diagnosis_link;
use std::error::Error as StdError;
use std::fmt;

use crate::lifecycle::DownloadError;
use crate::notify::NotifyError;
use crate::request::RequestError;
use crate::response::{BusinessError, ResponseError, ResponseErrorKind, UnverifiedError};

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be built or signed (nothing was sent).
    Request,
    /// The HTTP exchange failed: connect, TLS, reset, timeout ([`Error::is_timeout`]).
    Transport,
    /// The gateway answered with a non-2xx HTTP status ([`Error::status_code`]).
    Status,
    /// A verified business failure: Alipay really said `code != 10000`.
    Business,
    /// A failure that is not signed by Alipay: it may come from anyone on the path.
    Unverified,
    /// The response was rejected: bad or missing signature, forged, malformed.
    Response,
    /// A new Alipay certificate was needed and could not be obtained.
    AlipayCert,
    /// A notification was not accepted.
    Notification,
    /// The HTTP client could not be built.
    Client,
    /// The blocking client was called from inside an async runtime.
    BlockingInAsync,
    /// An IO-free call was driven out of order (a driver bug).
    Flow,
}

/// What a failed call means for the trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The request certainly did not reach Alipay (it could not be built, or the connection was
    /// never made): retrying it as is is safe.
    NotSent,
    /// Alipay answered with a definitive, verified failure: it did not act.
    Failed,
    /// Alipay may have acted: a timeout or reset after sending, a 5xx, `10003` (waiting for the
    /// buyer), `20000` or an `isp.*` sub_code, or an answer that could not be verified. Query
    /// the trade before retrying, and retry only with the same `out_trade_no`.
    Unknown,
}

impl Outcome {
    fn describe(self) -> &'static str {
        match self {
            Outcome::NotSent => "not sent: safe to retry",
            Outcome::Failed => "definitive: Alipay did not act",
            Outcome::Unknown => "outcome unknown: query before retrying",
        }
    }
}

/// Why a gateway call, a notification check or a certificate fetch failed.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    method: Option<String>,
    status: Option<u16>,
    timed_out: bool,
    not_sent: bool,
    trace_id: Option<String>,
    message: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    fn new(kind: ErrorKind, source: Option<Box<dyn StdError + Send + Sync>>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                method: None,
                status: None,
                timed_out: false,
                not_sent: false,
                trace_id: None,
                message: None,
                source,
            }),
        }
    }

    pub(crate) fn with_trace_id(mut self, trace_id: Option<String>) -> Error {
        if trace_id.is_some() {
            self.inner.trace_id = trace_id;
        }
        self
    }

    /// The gateway's `trace_id` for the call, when an answer arrived: what Alipay support asks
    /// for first.
    pub fn trace_id(&self) -> Option<&str> {
        self.inner.trace_id.as_deref()
    }

    /// Alipay's diagnosis page for the call's trace id, as Alipay's Java SDK builds it.
    pub fn diagnosis_link(&self) -> Option<String> {
        self.trace_id().map(diagnosis_link)
    }

    pub(crate) fn with_method(mut self, method: &str) -> Error {
        self.inner.method = Some(method.to_string());
        self
    }

    pub(crate) fn transport(
        method: &str,
        gateway: &str,
        timed_out: bool,
        not_sent: bool,
        source: Box<dyn StdError + Send + Sync>,
    ) -> Error {
        let mut error = Error::new(ErrorKind::Transport, Some(source)).with_method(method);
        error.inner.timed_out = timed_out;
        error.inner.not_sent = not_sent;
        error.inner.message =
            Some(format!("{method}: HTTP request to {gateway} failed{}", if timed_out { " (timed out)" } else { "" }));
        error
    }

    pub(crate) fn status(method: &str, status: u16, body: &[u8]) -> Error {
        let mut error = Error::new(ErrorKind::Status, None).with_method(method);
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        error.inner.status = Some(status);
        error.inner.message = Some(format!("{method}: the gateway answered HTTP {status}; body starts: {excerpt}"));
        error
    }

    /// For drivers: the driver itself could not be set up (its HTTP client, its runtime);
    /// `what` says which, `source` why. Kind [`ErrorKind::Client`], nothing was sent.
    pub fn driver_setup(what: &str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        let mut error = Error::new(ErrorKind::Client, Some(source.into()));
        error.inner.message = Some(format!("cannot set up {what}"));
        error
    }

    pub(crate) fn flow(what: &str) -> Error {
        let mut error = Error::new(ErrorKind::Flow, None);
        error.inner.message = Some(format!("the call was driven out of order: {what}"));
        error
    }

    /// For blocking drivers: the blocking client was called from inside an async runtime,
    /// where it would stall a worker. Kind [`ErrorKind::BlockingInAsync`].
    pub fn blocking_in_async() -> Error {
        let mut error = Error::new(ErrorKind::BlockingInAsync, None);
        error.inner.message =
            Some("the blocking client was called from inside an async runtime; use the async client there".into());
        error
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The gateway method, when the failure belongs to a call.
    pub fn method(&self) -> Option<&str> {
        self.inner.method.as_deref()
    }

    /// The HTTP status of an [`ErrorKind::Status`] failure.
    pub fn status_code(&self) -> Option<u16> {
        self.inner.status
    }

    /// Whether a timeout expired ([`ErrorKind::Transport`]).
    pub fn is_timeout(&self) -> bool {
        self.inner.timed_out
    }

    /// What the failure means for the trade: [`Outcome::NotSent`] (retry as is),
    /// [`Outcome::Failed`] (Alipay did not act) or [`Outcome::Unknown`] (query before retrying).
    pub fn outcome(&self) -> Outcome {
        match self.inner.kind {
            ErrorKind::Request | ErrorKind::Client | ErrorKind::BlockingInAsync | ErrorKind::Flow => Outcome::NotSent,
            ErrorKind::Transport if self.inner.not_sent => Outcome::NotSent,
            ErrorKind::Transport => Outcome::Unknown,
            ErrorKind::Status if self.inner.status.is_some_and(|s| s >= 500) => Outcome::Unknown,
            ErrorKind::Status => Outcome::Failed,
            ErrorKind::Business => match (self.business(), self.v3_failure()) {
                (Some(business), _) if business.failure.outcome_unknown() => Outcome::Unknown,
                (_, Some(failure)) if failure.status >= 500 => Outcome::Unknown,
                _ => Outcome::Failed,
            },
            // An answer that cannot be trusted says nothing about what Alipay did.
            ErrorKind::Unverified | ErrorKind::Response | ErrorKind::AlipayCert => Outcome::Unknown,
            ErrorKind::Notification => Outcome::Failed,
        }
    }

    fn source_as<T: StdError + 'static>(&self) -> Option<&T> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref::<T>())
    }

    /// The verified business failure ([`ErrorKind::Business`]).
    pub fn business(&self) -> Option<&BusinessError> {
        match self.source_as::<ResponseError>().map(ResponseError::kind) {
            Some(ResponseErrorKind::Business(e)) => Some(e),
            _ => None,
        }
    }

    /// The unsigned failure ([`ErrorKind::Unverified`]): not trustworthy.
    pub fn unverified(&self) -> Option<&UnverifiedError> {
        match self.source_as::<ResponseError>().map(ResponseError::kind) {
            Some(ResponseErrorKind::Unverified(e)) => Some(e),
            _ => None,
        }
    }

    /// Why the response was rejected ([`ErrorKind::Response`], and the two above).
    pub fn response(&self) -> Option<&ResponseError> {
        self.source_as()
    }

    /// Why the request could not be built ([`ErrorKind::Request`]).
    pub fn request(&self) -> Option<&RequestError> {
        self.source_as()
    }

    /// Why a certificate could not be obtained ([`ErrorKind::AlipayCert`]).
    pub fn alipay_cert(&self) -> Option<&DownloadError> {
        self.source_as()
    }

    /// Why an OpenAPI v3 call failed, when it did on the v3 side (request building, answer
    /// verification, an error answer).
    pub fn v3(&self) -> Option<&crate::v3::V3Error> {
        self.source_as()
    }

    /// A v3 error answer (`{code, message, details, links}` with its status);
    /// [`crate::v3::V3Failure::signed`] says whether it was verified.
    pub fn v3_failure(&self) -> Option<&crate::v3::V3Failure> {
        match self.v3().map(crate::v3::V3Error::kind) {
            Some(crate::v3::V3ErrorKind::Failed(failure)) => Some(failure),
            _ => None,
        }
    }

    /// Why a notification was refused ([`ErrorKind::Notification`]).
    pub fn notification(&self) -> Option<&NotifyError> {
        self.source_as()
    }
}

/// Each layer's kind converts like the layer's error.
macro_rules! from_kind {
    ($($kind:ty => $error:ty),*) => {$(
        impl From<$kind> for Error {
            fn from(kind: $kind) -> Self {
                <$error>::from(kind).into()
            }
        }
    )*};
}

from_kind!(
    crate::request::RequestErrorKind => RequestError,
    crate::response::ResponseErrorKind => ResponseError,
    crate::lifecycle::DownloadErrorKind => DownloadError,
    crate::notify::NotifyErrorKind => NotifyError
);

impl From<RequestError> for Error {
    fn from(error: RequestError) -> Self {
        Error::new(ErrorKind::Request, Some(Box::new(error)))
    }
}

impl From<ResponseError> for Error {
    fn from(error: ResponseError) -> Self {
        let kind = match error.kind() {
            ResponseErrorKind::Business(_) => ErrorKind::Business,
            ResponseErrorKind::Unverified(_) => ErrorKind::Unverified,
            _ => ErrorKind::Response,
        };
        Error::new(kind, Some(Box::new(error)))
    }
}

impl From<crate::v3::V3Error> for Error {
    fn from(error: crate::v3::V3Error) -> Self {
        use crate::v3::V3ErrorKind;
        let (kind, status) = match error.kind() {
            _ if error.is_request_side() => (ErrorKind::Request, None),
            V3ErrorKind::Failed(failure) if failure.signed => (ErrorKind::Business, Some(failure.status)),
            V3ErrorKind::Failed(failure) => (ErrorKind::Unverified, Some(failure.status)),
            V3ErrorKind::UnexpectedStatus { status, signed: false, .. } => (ErrorKind::Unverified, Some(*status)),
            V3ErrorKind::UnexpectedStatus { status, .. } => (ErrorKind::Status, Some(*status)),
            V3ErrorKind::Unsigned { status } | V3ErrorKind::InvalidSignature { status, .. } => {
                (ErrorKind::Response, Some(*status))
            }
            _ => (ErrorKind::Response, None),
        };
        let mut error = Error::new(kind, Some(Box::new(error)));
        error.inner.status = status;
        error
    }
}

impl From<DownloadError> for Error {
    fn from(error: DownloadError) -> Self {
        Error::new(ErrorKind::AlipayCert, Some(Box::new(error)))
    }
}

impl From<NotifyError> for Error {
    fn from(error: NotifyError) -> Self {
        Error::new(ErrorKind::Notification, Some(Box::new(error)))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.inner.message, &self.inner.source) {
            (Some(message), Some(source)) => write!(f, "{message}: {}", crate::excerpt::chain(source.as_ref()))?,
            (Some(message), None) => f.write_str(message)?,
            // The layer's error says it all (it names the method where it applies).
            (None, Some(source)) => fmt::Display::fmt(source, f)?,
            (None, None) => write!(f, "{:?}", self.inner.kind)?,
        }
        if !matches!(self.inner.kind, ErrorKind::Notification) {
            write!(f, " [{}]", self.outcome().describe())?;
        }
        if let Some(trace_id) = &self.inner.trace_id {
            write!(f, " (trace_id {trace_id}: {})", diagnosis_link(trace_id))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug.field("kind", &self.inner.kind);
        if let Some(method) = &self.inner.method {
            debug.field("method", method);
        }
        if let Some(status) = self.inner.status {
            debug.field("status", &status);
        }
        if let Some(message) = &self.inner.message {
            debug.field("message", message);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_error_is_one_pointer() {
        let pointer = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Error>(), pointer);
        assert_eq!(std::mem::size_of::<Result<(), Error>>(), pointer);
        for (name, size) in [
            ("CertError", std::mem::size_of::<crate::cert::CertError>()),
            ("KeyError", std::mem::size_of::<crate::key::KeyError>()),
            ("ConfigError", std::mem::size_of::<crate::ConfigError>()),
            ("RequestError", std::mem::size_of::<RequestError>()),
            ("ResponseError", std::mem::size_of::<ResponseError>()),
            ("NotifyError", std::mem::size_of::<NotifyError>()),
            ("DownloadError", std::mem::size_of::<DownloadError>()),
            ("ReloadError", std::mem::size_of::<crate::lifecycle::ReloadError>()),
            ("ServerError", std::mem::size_of::<crate::server::ServerError>()),
            ("V3Error", std::mem::size_of::<crate::v3::V3Error>()),
        ] {
            assert_eq!(size, pointer, "{name}");
        }
    }

    #[test]
    fn causes_are_sources_not_strings() {
        use std::error::Error as _;
        let chained = Error::from(ResponseError::from(crate::response::ResponseErrorKind::Decrypt {
            method: "m".into(),
            source: crate::aes::AesKey::from_bytes(vec![0; 16]).unwrap().decrypt("%%%").unwrap_err(),
        }));
        // Error -> ResponseError -> AesError -> base64's DecodeError: three real sources.
        let mut depth = 0;
        let mut cause = chained.source();
        while let Some(c) = cause {
            depth += 1;
            cause = c.source();
        }
        assert_eq!(depth, 3, "{chained:?}");
    }
}
