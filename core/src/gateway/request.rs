//! Gateway requests: parameters, the sign content, the signed result.
//!
//! A [`Request`] names a method and carries the business content; [`crate::Config::sign_request`]
//! adds the system parameters (`app_id`, `timestamp` in UTC+8, `app_cert_sn`,
//! `alipay_root_cert_sn`, …), signs the sorted parameters and returns a [`SignedRequest`]: the
//! query and form body to send, and the exact sign content for diagnosis.

use std::sync::Arc;

use serde::Serialize;

use crate::charset::{Charset, CharsetError};
use crate::key::KeyError;

/// One gateway call to be signed.
#[derive(Clone)]
pub struct Request {
    pub(crate) method: String,
    pub(crate) biz_content: Option<Result<String, BizContentError>>,
    pub(crate) notify_url: Option<String>,
    pub(crate) return_url: Option<String>,
    pub(crate) app_auth_token: Option<String>,
    pub(crate) auth_token: Option<String>,
    pub(crate) system_params: Vec<(String, String)>,
    pub(crate) app_params: Vec<(String, String)>,
    pub(crate) files: Vec<FilePart>,
    pub(crate) encrypt: bool,
    pub(crate) certificate_mode_only: bool,
}

/// A file part of a multipart upload (never signed).
#[derive(Clone)]
pub struct FilePart {
    /// The form field name (`image_content`, `file_content`, …).
    pub name: String,
    /// The file name sent in the part.
    pub file_name: String,
    /// The content.
    pub bytes: Vec<u8>,
    /// The part's `Content-Type`: given, or guessed from the file name's extension.
    pub content_type: String,
}

impl std::fmt::Debug for FilePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePart")
            .field("name", &self.name)
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Request {
    /// A request for `method` (e.g. `alipay.trade.query`).
    pub fn new(method: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            biz_content: None,
            notify_url: None,
            return_url: None,
            app_auth_token: None,
            auth_token: None,
            system_params: Vec::new(),
            app_params: Vec::new(),
            files: Vec::new(),
            encrypt: false,
            certificate_mode_only: false,
        }
    }

    /// Marks an API Alipay serves in certificate mode only (fund transfers): signing it with a
    /// public-key-mode configuration is an error that says so, before anything is sent.
    pub fn certificate_mode_only(mut self) -> Request {
        self.certificate_mode_only = true;
        self
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Sets `biz_content` from any serializable value (serialized once, here).
    pub fn biz<T: Serialize + ?Sized>(mut self, value: &T) -> Request {
        self.biz_content = Some(serde_json::to_string(value).map_err(|e| BizContentError::Serialize(Arc::new(e))));
        self
    }

    /// Sets `biz_content` from raw JSON text (checked to be a JSON object when signing).
    pub fn biz_json(mut self, json: impl Into<String>) -> Request {
        let json = json.into();
        let checked = match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(serde_json::Value::Object(_)) => Ok(json),
            Ok(_) => Err(BizContentError::NotAnObject),
            Err(e) => Err(BizContentError::NotJson(Arc::new(e))),
        };
        self.biz_content = Some(checked);
        self
    }

    /// `notify_url`: where Alipay sends the asynchronous notification.
    pub fn notify_url(mut self, url: impl Into<String>) -> Request {
        self.notify_url = Some(url.into());
        self
    }

    /// `return_url`: where the buyer's browser returns (page and wap pay).
    pub fn return_url(mut self, url: impl Into<String>) -> Request {
        self.return_url = Some(url.into());
        self
    }

    /// `app_auth_token`: call on behalf of a merchant who authorised this ISV app.
    pub fn app_auth_token(mut self, token: impl Into<String>) -> Request {
        self.app_auth_token = Some(token.into());
        self
    }

    /// `auth_token`: a user's authorisation token.
    pub fn auth_token(mut self, token: impl Into<String>) -> Request {
        self.auth_token = Some(token.into());
        self
    }

    /// An extra application parameter (sent in the form body, signed).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.app_params.push((name.into(), value.into()));
        self
    }

    /// An extra system parameter (sent in the query string, signed), e.g. `prod_code`.
    pub fn system_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.system_params.push((name.into(), value.into()));
        self
    }

    /// A file part for a multipart upload (not signed); its content type is guessed from the
    /// file name's extension ([`guess_content_type`]).
    pub fn file(self, name: impl Into<String>, file_name: impl Into<String>, bytes: Vec<u8>) -> Request {
        let file_name = file_name.into();
        let content_type = guess_content_type(&file_name).to_string();
        self.file_with_type(name, file_name, content_type, bytes)
    }

    /// A file part with its content type given.
    pub fn file_with_type(
        mut self,
        name: impl Into<String>,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Request {
        let part =
            FilePart { name: name.into(), file_name: file_name.into(), bytes, content_type: content_type.into() };
        self.files.push(part);
        self
    }

    /// Encrypt `biz_content` with the configured AES key (`encrypt_type=AES`).
    pub fn encrypt(mut self, encrypt: bool) -> Request {
        self.encrypt = encrypt;
        self
    }
}

/// `Debug` for parameter lists: the values of `app_auth_token` and `auth_token` redacted.
struct Redacted<'a>(&'a [(String, String)]);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| {
                if crate::excerpt::is_secret_parameter(k) {
                    (k.as_str(), "<redacted>")
                } else {
                    (k.as_str(), v.as_str())
                }
            }))
            .finish()
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only whether one is set.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("biz_content", &self.biz_content)
            .field("notify_url", &self.notify_url)
            .field("return_url", &self.return_url)
            .field("app_auth_token", &self.app_auth_token.as_ref().map(|_| "<redacted>"))
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<redacted>"))
            .field("system_params", &Redacted(&self.system_params))
            .field("app_params", &Redacted(&self.app_params))
            .field("files", &self.files)
            .field("encrypt", &self.encrypt)
            .finish()
    }
}

impl std::fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("charset", &self.charset)
            .field("query", &Redacted(&self.query))
            .field("body", &Redacted(&self.body))
            .field("files", &self.files)
            .field("sign_content", &crate::excerpt::sign_content(&self.sign_content))
            .finish()
    }
}

/// Why `biz_content` is unusable.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BizContentError {
    /// The value given to [`Request::biz`] could not be serialized.
    #[error("biz_content could not be serialized: {0}")]
    Serialize(#[source] Arc<serde_json::Error>),
    /// The text given to [`Request::biz_json`] is not JSON.
    #[error("biz_content is not JSON: {0}")]
    NotJson(#[source] Arc<serde_json::Error>),
    /// The text given to [`Request::biz_json`] is JSON but not an object.
    #[error("biz_content must be a JSON object")]
    NotAnObject,
    /// Encryption was asked for without a `biz_content` to encrypt.
    #[error("encrypt(true) needs biz_content")]
    MissingForEncryption,
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestErrorKind {
    /// `biz_content` could not be produced.
    #[error("{method}: {source}")]
    BizContent {
        /// The method.
        method: String,
        /// What went wrong.
        source: BizContentError,
    },
    /// A parameter the SDK sets itself was given as an extra parameter.
    #[error("{method}: parameter {name:?} is set by the SDK and cannot be given as an extra parameter")]
    ReservedParameter {
        /// The method.
        method: String,
        /// The parameter.
        name: String,
    },
    /// The same parameter was given twice.
    #[error("{method}: parameter {name:?} is given twice")]
    DuplicateParameter {
        /// The method.
        method: String,
        /// The parameter.
        name: String,
    },
    /// The API is served in certificate mode only (fund transfers), and the configuration is
    /// in public-key mode.
    #[error(
        "{method}: Alipay serves this API to apps in certificate mode (公钥证书模式) only; this configuration is in \
         public-key mode. Switch the app to certificate mode in the console and configure app_cert, alipay_cert and \
         alipay_root_cert (see MIGRATION.md)"
    )]
    CertificateModeRequired {
        /// The method.
        method: String,
    },
    /// Encryption was asked for without an AES key.
    #[error("{method}: encrypt(true) needs an AES key in the configuration (aes_key)")]
    NoAesKey {
        /// The method.
        method: String,
    },
    /// A value cannot be carried in the configured charset.
    #[error(transparent)]
    Charset(#[from] CharsetError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] KeyError),
    /// The random source failed (a multipart boundary, an AES_V2 / SM4 IV).
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
    /// Encrypting `biz_content` failed.
    #[error("{method}: encrypting biz_content failed: {source}")]
    Encrypt {
        /// The method.
        method: String,
        /// Why.
        source: crate::aes::AesError,
    },
}

crate::layer_error!(
    /// Why a request could not be signed; see [`RequestErrorKind`].
    ///
    /// One pointer wide; [`RequestError::kind`] says what went wrong.
    RequestError => RequestErrorKind
);

/// The parameters the SDK sets itself; extra parameters may not use these names.
pub(crate) const RESERVED: &[&str] = &[
    "app_id",
    "method",
    "format",
    "charset",
    "sign_type",
    "sign",
    "timestamp",
    "version",
    "notify_url",
    "return_url",
    "app_auth_token",
    "auth_token",
    "biz_content",
    "app_cert_sn",
    "alipay_root_cert_sn",
    "encrypt_type",
];

/// A signed request, ready for any HTTP stack.
#[derive(Clone)]
pub struct SignedRequest {
    pub(crate) method: String,
    pub(crate) charset: Charset,
    /// System parameters, including `sign`, for the query string.
    pub query: Vec<(String, String)>,
    /// Application parameters (`biz_content`, extras) for the form body.
    pub body: Vec<(String, String)>,
    /// File parts (multipart uploads only).
    pub files: Vec<FilePart>,
    /// The exact text that was signed.
    pub sign_content: String,
}

impl SignedRequest {
    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The charset of the request.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The `sign` value.
    pub fn sign(&self) -> &str {
        self.query.iter().find(|(k, _)| k == "sign").map_or("", |(_, v)| v.as_str())
    }

    /// Every parameter, system and application, including `sign`.
    pub fn all_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().chain(self.body.iter()).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `gateway?<system parameters>`, percent-encoded in the request charset.
    pub fn url(&self, gateway: &str) -> Result<String, CharsetError> {
        let query = crate::gateway::content::encode_pairs(self.query.iter(), self.charset)?;
        let separator = if gateway.contains('?') { '&' } else { '?' };
        Ok(format!("{gateway}{separator}{query}"))
    }

    /// The `application/x-www-form-urlencoded` body in the request charset.
    pub fn form_body(&self) -> Result<Vec<u8>, CharsetError> {
        Ok(crate::gateway::content::encode_pairs(self.body.iter(), self.charset)?.into_bytes())
    }

    /// The `Content-Type` of the form body.
    pub fn content_type(&self) -> String {
        format!("application/x-www-form-urlencoded;charset={}", self.charset.as_str().to_ascii_lowercase())
    }

    /// The whole HTTP request: `POST gateway?<system parameters>` with the application
    /// parameters as a form body, or as multipart text parts beside the file parts (never
    /// signed) for uploads. IO-free: any HTTP stack can send it.
    pub fn http_request(&self, gateway: &str) -> Result<crate::wire::HttpRequest, RequestError> {
        let url = self.url(gateway)?;
        if self.files.is_empty() {
            return Ok(crate::wire::HttpRequest {
                method: crate::wire::Method::Post,
                url,
                content_type: self.content_type(),
                headers: Vec::new(),
                body: self.form_body()?,
            });
        }
        let mut texts = Vec::with_capacity(self.body.len());
        for (name, value) in &self.body {
            texts.push(TextPart { name, content_type: None, bytes: self.charset.encode(value, &quoted(name))? });
        }
        let (content_type, body) = multipart(&texts, &self.files)?;
        Ok(crate::wire::HttpRequest { method: crate::wire::Method::Post, url, content_type, headers: Vec::new(), body })
    }

    /// The sign content's length in bytes, in the request charset.
    pub fn sign_content_len(&self) -> usize {
        self.charset.encode(&self.sign_content, "sign content").map_or(self.sign_content.len(), |b| b.len())
    }
}

/// The content type of a file by its extension (the types Alipay's upload APIs take, and a few
/// common others); `application/octet-stream` otherwise.
pub fn guess_content_type(file_name: &str) -> &'static str {
    let extension = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "json" => "application/json",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A boundary no part can contain by chance: 24 random bytes, hex.
fn multipart_boundary() -> Result<String, crate::random::RandomError> {
    crate::random::hex::<24>("a multipart boundary")
}

/// A name for a `Content-Disposition` parameter: quotes and line breaks escaped.
/// A text part of a multipart body.
pub(crate) struct TextPart<'a> {
    pub name: &'a str,
    /// Its `Content-Type` header, when it has one.
    pub content_type: Option<&'a str>,
    pub bytes: std::borrow::Cow<'a, [u8]>,
}

/// A `multipart/form-data` body — the text parts, then the file parts — and its
/// `Content-Type` (with a fresh boundary).
pub(crate) fn multipart(
    texts: &[TextPart<'_>],
    files: &[FilePart],
) -> Result<(String, Vec<u8>), crate::random::RandomError> {
    let boundary = multipart_boundary()?;
    let mut body = Vec::new();
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    for text in texts {
        let mut headers = format!("Content-Disposition: form-data; name=\"{}\"", quoted(text.name));
        if let Some(content_type) = text.content_type {
            headers.push_str(&format!("\r\nContent-Type: {}", quoted(content_type)));
        }
        part(headers, &text.bytes);
    }
    for file in files {
        let (name, file_name) = (quoted(&file.name), quoted(&file.file_name));
        part(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {}",
                quoted(&file.content_type)
            ),
            &file.bytes,
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

fn quoted(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use crate::gateway::content::sign_content;
    use chrono::{DateTime, Utc};

    #[test]
    fn sign_content_sorts_drops_empty_and_sign() {
        let content = sign_content([("b", "2"), ("sign", "x"), ("a", "1"), ("empty", ""), ("A", "0")]);
        assert_eq!(content, "A=0&a=1&b=2");
    }

    #[test]
    fn timestamp_is_utc_plus_8() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T20:30:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(crate::gateway::content::format_timestamp(at), "2026-02-01 04:30:05");
    }
}
