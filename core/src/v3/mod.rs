//! OpenAPI v3: Alipay's newer, header-signed protocol ([the facts](crate::protocol#openapi-v3)).
//!
//! REST paths under `/v3/` (`POST /v3/alipay/trade/query`), JSON bodies, an `Authorization`
//! header, and answers signed in their headers. It runs on the same [`Config`](crate::Config)
//! (keys, certificates, Alipay certificate rotation) and the same drivers as the gateway
//! protocol: the `alipay-sdk` crate's async and blocking clients, or any HTTP stack through
//! [`Config::start_v3`](crate::Config::start_v3).
//!
//! **Which protocol?** Both reach the same services. The gateway protocol (`gateway.do`) covers
//! every API, including the browser and app entry points (page, wap, app pay) and the
//! certificate download; v3 is the one Alipay's newer APIs are documented in. Use v3 where an
//! API is documented there and you want HTTP statuses and typed error bodies; the gateway
//! protocol otherwise. They can be mixed freely on one configuration.
//!
//! What trips people:
//! - the query is signed **exactly as sent**: this SDK encodes it once (a space is `%20`) and
//!   signs those bytes; a proxy that re-encodes it breaks the signature;
//! - an empty body still contributes an empty line to the signed content
//!   (`…\nGET\n/v3/…\n\n`);
//! - an answer is verified over `alipay-timestamp`, `alipay-nonce` and the raw body, with the
//!   certificate `alipay-sn` names; a 2xx answer without a signature is an error here, never
//!   a silent success;
//! - error answers (4xx / 5xx) are typed ([`V3Failure`]) and say whether they were signed.
//!
//! With the `alipay-sdk` crate's client: `client.call_v3(&TradeQuery::by_out_trade_no("order-1"))`
//! (typed, the same models as the gateway protocol) or `client.send_v3(&V3Request::get(…))`
//! (raw). The flow underneath, for any driver:
//!
//! ```no_run
//! # fn run(config: &alipay_core::Config) -> Result<(), alipay_core::Error> {
//! use alipay_core::flow::Step;
//! use alipay_core::v3::V3Request;
//!
//! let request = V3Request::get("/v3/alipay/user/info/share").app_auth_token("…");
//! let mut call = config.start_v3(&request)?;
//! if let Step::Send(http) = call.start() {
//!     // The method, URL, headers (authorization, alipay-root-cert-sn, …) and body, as signed.
//!     println!("{} {}", http.method, http.url);
//! }
//! # Ok(())
//! # }
//! ```

pub(crate) mod content;
mod request;

pub use crate::operations::{V3Operation, operation, operations};
pub use request::{SignedV3Request, V3Request};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::AlipayApi;

/// Why a v3 request could not be made, or its answer was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum V3ErrorKind {
    /// The body could not be serialized.
    #[error("the v3 request body cannot be serialized to JSON: {detail}")]
    Body {
        /// serde's message.
        detail: String,
    },
    /// A path placeholder has no value, or a value has no placeholder.
    #[error("v3 path {path:?}: {detail}")]
    PathParameter {
        /// The path as given.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A header the SDK sets itself was given.
    #[error("header {name:?} is set by the SDK (it is signed or framed by it); do not set it on a v3 request")]
    ReservedHeader {
        /// The header.
        name: String,
    },
    /// Encryption was asked for without an AES key, or with files (not supported by v3).
    #[error("v3 body encryption: {detail}")]
    Encryption {
        /// What is wrong.
        detail: String,
    },
    /// The app's key cannot sign v3 requests.
    #[error("the app key could not sign the v3 request: {0}")]
    Sign(#[from] crate::key::KeyError),
    /// A 2xx answer without a signature.
    #[error(
        "the v3 answer (HTTP {status}) is not signed (no alipay-signature header): rejected — an unsigned success \
         may come from anyone on the path"
    )]
    Unsigned {
        /// The HTTP status.
        status: u16,
    },
    /// A signature header is there but another one it needs is missing.
    #[error("the v3 answer is signed but has no {header} header: rejected")]
    MissingHeader {
        /// The missing header.
        header: &'static str,
    },
    /// A header of the signed content holds a line break (it would move the boundaries of
    /// `timestamp\nnonce\nbody\n`) or is not what it must be.
    #[error("the v3 answer's {header} header {detail}: rejected")]
    BadHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The answer's `alipay-timestamp` is too far from the clock: an old signed answer replayed.
    #[error(
        "the v3 answer's alipay-timestamp {timestamp} is {} s from the clock ({now}); more than the window of {} s: \
         rejected as a possible replay (ConfigBuilder::v3_answer_window)",
        .skew.as_secs(), .window.as_secs()
    )]
    Stale {
        /// The answer's time.
        timestamp: chrono::DateTime<chrono::Utc>,
        /// The clock's time.
        now: chrono::DateTime<chrono::Utc>,
        /// How far apart.
        skew: std::time::Duration,
        /// The window allowed.
        window: std::time::Duration,
    },
    /// The answer names an Alipay certificate we do not have.
    #[error("the v3 answer is signed with Alipay certificate {alipay_sn}, which is not configured (known: {known:?})")]
    UnknownCertSn {
        /// `alipay-sn`.
        alipay_sn: String,
        /// The SNs we have.
        known: Vec<String>,
    },
    /// The signature does not verify.
    #[error(
        "the v3 answer (HTTP {status}) signature does not verify{}; the signed content is {sign_content_len} bytes: {sign_content:?}",
        .alipay_sn.as_ref().map(|sn| format!(" with Alipay certificate {sn}")).unwrap_or_default()
    )]
    InvalidSignature {
        /// The HTTP status.
        status: u16,
        /// `alipay-sn`, when sent.
        alipay_sn: Option<String>,
        /// `timestamp\nnonce\nbody\n`, capped.
        sign_content: String,
        /// Its whole length.
        sign_content_len: usize,
    },
    /// A 4xx or 5xx answer: Alipay's error body.
    #[error("{0}")]
    Failed(Box<V3Failure>),
    /// A 4xx or 5xx answer that is not Alipay's error JSON.
    #[error("the v3 answer is HTTP {status} and not an error body{}: {excerpt}", if *.signed { "" } else { " (unsigned)" })]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// Whether it was signed (and verified).
        signed: bool,
        /// The body's start.
        excerpt: String,
    },
    /// The answer was to be decrypted but could not be.
    #[error("the v3 answer could not be decrypted with the configured AES key")]
    Decrypt(#[from] crate::aes::AesError),
    /// The random source failed: no nonce or request id can be made.
    #[error(transparent)]
    Random(crate::random::RandomError),
    /// A verified body is not the JSON the caller expected.
    #[error("the verified v3 answer does not parse as the expected type: {detail}")]
    Parse {
        /// serde's message.
        detail: String,
    },
}

crate::layer_error!(
    /// Why a v3 request could not be made, or its answer was not accepted; see [`V3ErrorKind`].
    ///
    /// One pointer wide; [`V3Error::kind`] says what went wrong.
    V3Error => V3ErrorKind
);

impl V3Error {
    /// Whether this is a request-side error (nothing was sent).
    pub(crate) fn is_request_side(&self) -> bool {
        matches!(
            self.kind(),
            V3ErrorKind::Body { .. }
                | V3ErrorKind::PathParameter { .. }
                | V3ErrorKind::ReservedHeader { .. }
                | V3ErrorKind::Encryption { .. }
                | V3ErrorKind::Sign(_)
        )
    }
}

/// An error answer: `{code, message, details?, links?}` with its HTTP status.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V3Failure {
    /// The HTTP status (401 `invalid-auth-token`, 400 `app-openid-not-match`, …).
    #[serde(skip)]
    pub status: u16,
    /// Whether the answer's signature was checked and verified. An unsigned error may come
    /// from anyone on the path: do not act on it beyond reporting it.
    #[serde(skip)]
    pub signed: bool,
    /// The error code.
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// Field-level details.
    #[serde(default)]
    pub details: Vec<V3FailureDetail>,
    /// Links to documentation.
    #[serde(default)]
    pub links: Vec<V3FailureLink>,
    /// `alipay-trace-id`.
    #[serde(skip)]
    pub trace_id: Option<String>,
}

impl std::fmt::Display for V3Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An error answer may be unsigned: anyone's text, of any size (`capped` cut what
        // arrived; this keeps a value made here from growing without bound too).
        let cap = |text: &str| crate::excerpt::capped(text, 2048);
        write!(f, "v3 answer HTTP {}: {} {}", self.status, cap(&self.code), cap(&self.message))?;
        for detail in self.details.iter().take(10) {
            write!(f, "; {}: {}", cap(&detail.field), cap(&detail.issue))?;
            if !detail.description.is_empty() {
                write!(f, " ({})", cap(&detail.description))?;
            }
        }
        if self.details.len() > 10 {
            write!(f, "; … {} details in all", self.details.len())?;
        }
        if !self.signed {
            f.write_str(" [unsigned: not verified to come from Alipay]")?;
        }
        Ok(())
    }
}

impl V3Failure {
    /// Every text field capped (an unsigned error answer is anyone's text), at most 20 details
    /// and links kept.
    pub(crate) fn capped(mut self) -> V3Failure {
        let cap = |text: &mut String| *text = crate::excerpt::capped(text, 1024);
        cap(&mut self.code);
        cap(&mut self.message);
        self.details.truncate(20);
        for detail in &mut self.details {
            for field in
                [&mut detail.field, &mut detail.value, &mut detail.location, &mut detail.issue, &mut detail.description]
            {
                cap(field);
            }
        }
        self.links.truncate(20);
        for link in &mut self.links {
            for field in [&mut link.link, &mut link.desc, &mut link.rel] {
                cap(field);
            }
        }
        self
    }
}

impl std::fmt::Debug for V3Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cap = |text: &str| crate::excerpt::capped(text, 2048);
        f.debug_struct("V3Failure")
            .field("status", &self.status)
            .field("signed", &self.signed)
            .field("code", &cap(&self.code))
            .field("message", &cap(&self.message))
            .field("details", &self.details.iter().take(10).collect::<Vec<_>>())
            .field("details_len", &self.details.len())
            .field("links_len", &self.links.len())
            .field("trace_id", &self.trace_id.as_deref().map(cap))
            .finish()
    }
}

/// One entry of an error answer's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V3FailureDetail {
    /// The field at fault.
    #[serde(default)]
    pub field: String,
    /// The value it had.
    #[serde(default)]
    pub value: String,
    /// Where it was (`body`, `query`, `path`, `header`).
    #[serde(default)]
    pub location: String,
    /// The issue.
    #[serde(default)]
    pub issue: String,
    /// A description.
    #[serde(default)]
    pub description: String,
}

/// One entry of an error answer's `links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V3FailureLink {
    /// The URL.
    #[serde(default)]
    pub link: String,
    /// What it is.
    #[serde(default)]
    pub desc: String,
    /// Its relation.
    #[serde(default)]
    pub rel: String,
}

/// A verified 2xx answer.
#[derive(Clone)]
pub struct V3Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) alipay_sn: Option<String>,
    pub(crate) trace_id: Option<String>,
}

impl std::fmt::Debug for V3Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("alipay_sn", &self.alipay_sn)
            .field("trace_id", &self.trace_id)
            .finish()
    }
}

impl V3Response {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body exactly as it was signed (for an encrypted request, the decrypted plaintext of
    /// the signed ciphertext); may be empty.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text: an error naming where it is not UTF-8 (JSON always is), never a
    /// lossy conversion.
    pub fn text(&self) -> Result<&str, V3Error> {
        std::str::from_utf8(&self.body).map_err(|e| {
            V3ErrorKind::Parse { detail: format!("the verified body is not UTF-8 at byte {}", e.valid_up_to()) }.into()
        })
    }

    /// The Alipay certificate that signed it (`alipay-sn`; certificate mode).
    pub fn alipay_sn(&self) -> Option<&str> {
        self.alipay_sn.as_deref()
    }

    /// `alipay-trace-id`.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// The body as `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, V3Error> {
        serde_json::from_slice(&self.body).map_err(|e| V3ErrorKind::Parse { detail: e.to_string() }.into())
    }
}

/// An API with a typed v3 form: the verb and path Alipay's description gives its method (see
/// [`V3Request::for_api`]), with the same JSON body and answer fields as its gateway form.
pub trait V3Api: AlipayApi {
    /// The v3 request for this value.
    fn to_v3_request(&self) -> V3Request {
        V3Request::for_api(Self::METHOD).body(self)
    }
}

impl V3Api for crate::model::trade::TradeQuery {}
impl V3Api for crate::model::trade::TradeRefund {}
impl V3Api for crate::model::trade::TradeRefundQuery {}
impl V3Api for crate::model::trade::TradePrecreate {}
impl V3Api for crate::model::trade::TradeCreate {}
impl V3Api for crate::model::trade::TradePay {}
impl V3Api for crate::model::trade::TradeClose {}
impl V3Api for crate::model::trade::TradeCancel {}
