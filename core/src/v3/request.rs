//! OpenAPI v3 requests: what is sent, and exactly what is signed.

use serde::Serialize;

use crate::request::FilePart;
use crate::wire::{HttpRequest, Method};

use super::{V3Error, V3ErrorKind};

/// Headers the SDK sets itself; a request may not set them.
const RESERVED_HEADERS: [&str; 9] = [
    "authorization",
    "alipay-request-id",
    "alipay-app-auth-token",
    "alipay-root-cert-sn",
    "alipay-encrypt-type",
    "alipay-encryption-algm",
    "content-type",
    "content-length",
    "host",
];

/// An OpenAPI v3 request, before signing.
///
/// ```
/// use alipay_core::v3::V3Request;
/// let request = V3Request::post("/v3/alipay/trade/query").body(&serde_json::json!({"out_trade_no": "o-1"}));
/// let by_name = V3Request::for_api("alipay.trade.query");
/// assert_eq!(by_name.path(), request.path());
/// ```
#[derive(Clone)]
pub struct V3Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) path_params: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Result<String, String>>,
    pub(crate) app_auth_token: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) files: Vec<FilePart>,
    pub(crate) encrypt: bool,
}

impl std::fmt::Debug for V3Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("path_params", &self.path_params)
            .field("query", &self.query)
            .field("body_len", &self.body.as_ref().map(|b| b.as_ref().map_or(0, String::len)))
            .field("app_auth_token", &self.app_auth_token.as_ref().map(|_| "<redacted>"))
            .field("headers", &self.headers)
            .field("files", &self.files.len())
            .field("encrypt", &self.encrypt)
            .finish()
    }
}

impl V3Request {
    /// A request: a method and a path under the endpoint (`/v3/…`), which may hold
    /// `{name}` placeholders for [`Self::path_param`].
    pub fn new(method: Method, path: impl Into<String>) -> V3Request {
        V3Request {
            method,
            path: path.into(),
            path_params: Vec::new(),
            query: Vec::new(),
            body: None,
            app_auth_token: None,
            headers: Vec::new(),
            files: Vec::new(),
            encrypt: false,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> V3Request {
        V3Request::new(Method::Get, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> V3Request {
        V3Request::new(Method::Post, path)
    }

    /// The v3 form of a gateway method such as `alipay.trade.query`: the verb and path Alipay's
    /// v3 description gives it ([`super::operation`]; fill path placeholders with
    /// [`path_param`](Self::path_param)), or for a method it does not list (a newer API),
    /// `POST /v3/<method with dots as slashes>`, the form most operations have.
    pub fn for_api(method: &str) -> V3Request {
        match super::operation(method) {
            Some(op) => V3Request::new(op.http_method, op.path),
            None => V3Request::post(format!("/v3/{}", method.replace('.', "/"))),
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path as given (placeholders not yet filled).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Fills the `{name}` placeholder of the path with `value`, percent-encoded as one path
    /// segment.
    pub fn path_param(mut self, name: impl Into<String>, value: impl Into<String>) -> V3Request {
        self.path_params.push((name.into(), value.into()));
        self
    }

    /// Adds a query parameter. The query is encoded once (RFC 3986: a space is `%20`) and
    /// signed exactly as sent.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> V3Request {
        self.query.push((name.into(), value.into()));
        self
    }

    /// The JSON body: any serializable value.
    pub fn body<T: Serialize + ?Sized>(mut self, value: &T) -> V3Request {
        self.body = Some(serde_json::to_string(value).map_err(|e| e.to_string()));
        self
    }

    /// The body as text, sent and signed byte for byte.
    pub fn body_text(mut self, text: impl Into<String>) -> V3Request {
        self.body = Some(Ok(text.into()));
        self
    }

    /// The ISV's `app_auth_token` (sent as `alipay-app-auth-token`, and signed).
    pub fn app_auth_token(mut self, token: impl Into<String>) -> V3Request {
        self.app_auth_token = Some(token.into());
        self
    }

    /// Adds a header (not one the SDK sets itself: `authorization`, `content-type`, …).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> V3Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a file part: the request becomes multipart, the JSON body goes in the part named
    /// `data` (it is what is signed) and the files are not signed.
    pub fn file(mut self, name: impl Into<String>, file_name: impl Into<String>, bytes: Vec<u8>) -> V3Request {
        let file_name = file_name.into();
        let content_type = crate::request::guess_content_type(&file_name).to_string();
        self.files.push(FilePart { name: name.into(), file_name, content_type, bytes });
        self
    }

    /// Encrypts the body with the configured AES key (`alipay-encrypt-type: AES`); the
    /// ciphertext is what is signed, and the answer is decrypted after it is verified.
    pub fn encrypt(mut self, encrypt: bool) -> V3Request {
        self.encrypt = encrypt;
        self
    }

    /// The path with its placeholders filled, each value percent-encoded as a segment. The
    /// template's own text is sent as written, so it may hold only what a path may (RFC 3986
    /// `pchar` and `/`); a query goes through [`Self::query`].
    pub(crate) fn filled_path(&self) -> Result<String, V3Error> {
        let invalid = |detail: String| -> V3Error {
            V3ErrorKind::PathParameter { path: crate::excerpt::capped(&self.path, 256), detail }.into()
        };
        let literal = |text: &str| match text.chars().find(|c| !is_path_char(*c)) {
            Some(c) => Err(invalid(format!("{c:?} cannot be sent in a path as written (use .path_param or .query)"))),
            None => Ok(()),
        };
        let mut path = String::with_capacity(self.path.len());
        let mut used = vec![false; self.path_params.len()];
        let mut rest = self.path.as_str();
        while let Some(open) = rest.find('{') {
            literal(&rest[..open])?;
            path.push_str(&rest[..open]);
            let close =
                rest[open..].find('}').map(|c| open + c).ok_or_else(|| invalid("a '{' is not closed".into()))?;
            let name = &rest[open + 1..close];
            let Some(at) = self.path_params.iter().position(|(k, _)| k == name) else {
                let name = crate::excerpt::capped(name, 64);
                return Err(invalid(format!("no value for {{{name}}}: use .path_param({name:?}, …)")));
            };
            used[at] = true;
            path.push_str(&encode_component(&self.path_params[at].1));
            rest = &rest[close + 1..];
        }
        literal(rest)?;
        path.push_str(rest);
        if let Some(at) = used.iter().position(|u| !u) {
            let name = crate::excerpt::capped(&self.path_params[at].0, 64);
            return Err(invalid(format!("the path has no {{{name}}} placeholder")));
        }
        if !path.starts_with('/') {
            return Err(invalid("must start with '/'".into()));
        }
        Ok(path)
    }

    /// `path?query`, exactly as it will be sent and signed: placeholders filled (each value
    /// percent-encoded as one segment), the query encoded once (RFC 3986). An error names a
    /// placeholder without a value, a value without a placeholder, or a path not starting with
    /// `/`.
    pub fn uri(&self) -> Result<String, V3Error> {
        let mut uri = self.filled_path()?;
        for (i, (name, value)) in self.query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(&encode_component(name));
            uri.push('=');
            uri.push_str(&encode_component(value));
        }
        Ok(uri)
    }

    pub(crate) fn check_headers(&self) -> Result<(), V3Error> {
        match self.headers.iter().find(|(name, _)| RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str())) {
            Some((name, _)) => Err(V3ErrorKind::ReservedHeader { name: name.clone() }.into()),
            None => Ok(()),
        }
    }
}

/// What a path may hold as written: RFC 3986 `pchar` (unreserved, sub-delims, `:`, `@`, and
/// `%` of an escape already made) and `/`.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A signed v3 request: the headers and body to send, and the content that was signed.
#[derive(Clone)]
pub struct SignedV3Request {
    pub(crate) method: Method,
    pub(crate) uri: String,
    pub(crate) body: String,
    pub(crate) content_type: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) files: Vec<FilePart>,
    pub(crate) sign_content: String,
    pub(crate) authorization: String,
    pub(crate) encrypted: bool,
    pub(crate) has_token: bool,
}

impl std::fmt::Debug for SignedV3Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedV3Request")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("body_len", &self.body.len())
            .field("sign_content_len", &self.sign_content.len())
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl SignedV3Request {
    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// `path?query` as sent and signed.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The body as sent (the ciphertext when encrypted; the `data` part when multipart).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The `Authorization` header value.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// The exact content that was signed (`authString\nMETHOD\nURI\nBODY\n[token\n]`). It
    /// holds the `app_auth_token` when one is sent: keep it out of logs.
    pub fn sign_content(&self) -> &str {
        &self.sign_content
    }

    /// The sign content as logs may show it: capped at
    /// [`SIGN_CONTENT_EXCERPT_BYTES`](crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES), the
    /// `app_auth_token` line redacted.
    pub fn redacted_sign_content(&self) -> String {
        let content = if self.has_token {
            match self.sign_content.trim_end_matches('\n').rsplit_once('\n') {
                Some((before, _token)) => format!("{before}\n<app_auth_token redacted>\n"),
                None => self.sign_content.clone(),
            }
        } else {
            self.sign_content.clone()
        };
        crate::excerpt::capped(&content, crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES)
    }

    /// Every header to send besides `Content-Type`.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Whether the body is AES-encrypted (the answer will be too).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The whole HTTP request against `endpoint` (`https://openapi.alipay.com`). IO-free.
    pub fn http_request(&self, endpoint: &str) -> Result<HttpRequest, super::V3Error> {
        let url = format!("{}{}", endpoint.trim_end_matches('/'), self.uri);
        if self.files.is_empty() {
            let body = self.body.as_bytes().to_vec();
            let content_type =
                if body.is_empty() && self.method == Method::Get { String::new() } else { self.content_type.clone() };
            return Ok(HttpRequest { method: self.method, url, content_type, headers: self.headers.clone(), body });
        }
        // An encrypted `data` part is the base64 ciphertext, sent as text (as Alipay's Java SDK
        // sends it).
        let data = crate::request::TextPart {
            name: "data",
            content_type: Some(if self.encrypted { "text/plain" } else { "application/json" }),
            bytes: std::borrow::Cow::Borrowed(self.body.as_bytes()),
        };
        let (content_type, body) =
            crate::request::multipart(&[data], &self.files).map_err(super::V3ErrorKind::Random)?;
        Ok(HttpRequest { method: self.method, url, content_type, headers: self.headers.clone(), body })
    }
}
