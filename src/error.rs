//! The error of a gateway call: small (one boxed inner, like reqwest's), classified by
//! [`Error::kind`], with the layer's own error kept as its [`source`](std::error::Error::source).
//!
//! Each failure has one representation: a verified business failure is always
//! [`ErrorKind::Business`] with the [`BusinessError`] reachable through [`Error::business`],
//! whichever path produced it.

use std::error::Error as StdError;
use std::fmt;

use crate::lifecycle::DownloadError;
use crate::notify::NotifyError;
use crate::request::RequestError;
use crate::response::{BusinessError, ResponseError, UnverifiedError};

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

/// Why a gateway call, a notification check or a certificate fetch failed.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    method: Option<String>,
    status: Option<u16>,
    timed_out: bool,
    message: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    fn new(kind: ErrorKind, source: Option<Box<dyn StdError + Send + Sync>>) -> Error {
        Error { inner: Box::new(Inner { kind, method: None, status: None, timed_out: false, message: None, source }) }
    }

    pub(crate) fn with_method(mut self, method: &str) -> Error {
        self.inner.method = Some(method.to_string());
        self
    }

    pub(crate) fn transport(
        method: &str,
        gateway: &str,
        timed_out: bool,
        source: Box<dyn StdError + Send + Sync>,
    ) -> Error {
        let mut error = Error::new(ErrorKind::Transport, Some(source)).with_method(method);
        error.inner.timed_out = timed_out;
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

    pub(crate) fn client(source: reqwest::Error) -> Error {
        let mut error = Error::new(ErrorKind::Client, Some(Box::new(source)));
        error.inner.message = Some("cannot build the HTTP client".into());
        error
    }

    pub(crate) fn flow(what: &str) -> Error {
        let mut error = Error::new(ErrorKind::Flow, None);
        error.inner.message = Some(format!("the call was driven out of order: {what}"));
        error
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn runtime(source: std::io::Error) -> Error {
        let mut error = Error::new(ErrorKind::Client, Some(Box::new(source)));
        error.inner.message = Some("cannot start the blocking client's runtime".into());
        error
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn blocking_in_async() -> Error {
        let mut error = Error::new(ErrorKind::BlockingInAsync, None);
        error.inner.message =
            Some("the blocking client was called from inside an async runtime; use alipay_sdk::Client there".into());
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

    fn source_as<T: StdError + 'static>(&self) -> Option<&T> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref::<T>())
    }

    /// The verified business failure ([`ErrorKind::Business`]).
    pub fn business(&self) -> Option<&BusinessError> {
        match self.source_as::<ResponseError>() {
            Some(ResponseError::Business(e)) => Some(e),
            _ => None,
        }
    }

    /// The unsigned failure ([`ErrorKind::Unverified`]): not trustworthy.
    pub fn unverified(&self) -> Option<&UnverifiedError> {
        match self.source_as::<ResponseError>() {
            Some(ResponseError::Unverified(e)) => Some(e),
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

    /// Why a notification was refused ([`ErrorKind::Notification`]).
    pub fn notification(&self) -> Option<&NotifyError> {
        self.source_as()
    }
}

impl From<RequestError> for Error {
    fn from(error: RequestError) -> Self {
        Error::new(ErrorKind::Request, Some(Box::new(error)))
    }
}

impl From<ResponseError> for Error {
    fn from(error: ResponseError) -> Self {
        let kind = match &error {
            ResponseError::Business(_) => ErrorKind::Business,
            ResponseError::Unverified(_) => ErrorKind::Unverified,
            _ => ErrorKind::Response,
        };
        Error::new(kind, Some(Box::new(error)))
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
            (Some(message), Some(source)) => write!(f, "{message}: {}", chain(source.as_ref())),
            (Some(message), None) => f.write_str(message),
            // The layer's error says it all (it names the method where it applies).
            (None, Some(source)) => fmt::Display::fmt(source, f),
            (None, None) => write!(f, "{:?}", self.inner.kind),
        }
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

/// The error and its causes, one after the other ("connection refused" is usually a cause).
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Result<(), Error>>(), std::mem::size_of::<usize>());
    }
}
