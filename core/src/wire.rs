//! The HTTP exchange as plain data: what a driver sends ([`HttpRequest`]) and what it hands
//! back ([`HttpResponse`] or a [`TransportError`]). A leaf below the protocol modules — the
//! gateway, v3 and the flow all speak it, none of it speaks them — re-exported from
//! [`crate::flow`], where drivers meet it.

use std::error::Error as StdError;

/// An HTTP method. The gateway protocol always `POST`s; OpenAPI v3 uses all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name, upper case (as it is signed in OpenAPI v3).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    /// A method name, in any case.
    fn from_str(name: &str) -> Result<Method, String> {
        [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown HTTP method {name:?}: expected GET, POST, PUT, PATCH or DELETE"))
    }
}

/// An HTTP request for the driver to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `POST` for the gateway; any of the five for OpenAPI v3.
    pub method: Method,
    /// The URL: for the gateway, with the signed system parameters in its query; for v3, the
    /// endpoint, the path and the query exactly as signed.
    pub url: String,
    /// The `Content-Type` of `body` (a form, JSON, or multipart with its boundary). Empty when
    /// there is no body.
    pub content_type: String,
    /// Further headers to send as they are (v3: `authorization`, `alipay-root-cert-sn`, …).
    pub headers: Vec<(String, String)>,
    /// The body, already encoded.
    pub body: Vec<u8>,
}

/// What the gateway answered.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, as received.
    pub body: Vec<u8>,
    /// The `trace_id` response header (Alipay support asks for it first), when present.
    pub trace_id: Option<String>,
    /// Every header received, names in lower case (v3 answers are signed in their headers).
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// An answer without headers.
    pub fn new(status: u16, body: Vec<u8>) -> HttpResponse {
        HttpResponse { status, body, trace_id: None, headers: Vec::new() }
    }

    /// Adds a response header; call it for every header. `trace_id` (and `alipay-trace-id`
    /// for OpenAPI v3) also becomes the answer's trace id.
    pub fn header(mut self, name: &str, value: &str) -> HttpResponse {
        if name.eq_ignore_ascii_case("trace_id") || name.eq_ignore_ascii_case("alipay-trace-id") {
            self.trace_id = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        }
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The first header named `name` (any case).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The exchange failed before a whole answer arrived (connect, TLS, reset, timeout).
#[derive(Debug)]
pub struct TransportError {
    pub(crate) timed_out: bool,
    pub(crate) not_sent: bool,
    pub(crate) source: Box<dyn StdError + Send + Sync>,
}

impl TransportError {
    /// A failure of the driver's HTTP stack.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> TransportError {
        TransportError { timed_out: false, not_sent: false, source: source.into() }
    }

    /// Marks it as a timeout.
    pub fn timed_out(mut self, timed_out: bool) -> TransportError {
        self.timed_out = timed_out;
        self
    }

    /// Marks it as certainly not sent (the connection was never made): the caller may retry
    /// as is. Without it, a failed exchange counts as "outcome unknown".
    pub fn not_sent(mut self, not_sent: bool) -> TransportError {
        self.not_sent = not_sent;
        self
    }
}
