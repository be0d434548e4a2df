//! Gateway responses: locating the signed node, verifying it, typed failures.
//!
//! Verification follows [the protocol](crate::protocol#verifying-a-response): the signature covers the exact bytes of the
//! `<method>_response` node as received; the node, `sign` and `alipay_cert_sn` must each appear
//! once at top level; the certificate is chosen by `alipay_cert_sn`; a failed check is retried
//! once with `\/` replaced by `/` (as Alipay's Java SDK does); an encrypted node is verified with
//! its quotes, then decrypted; the business object is deserialized from the verified bytes.

mod nested;
pub(crate) mod scan;

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::aes::{AesError, AesKey};
use crate::charset::{Charset, CharsetError};
use crate::key::{PublicKey, SignType};

/// The `code` of a successful call.
pub const SUCCESS_CODE: &str = "10000";

/// The keys that verify Alipay's signatures.
#[derive(Clone, Debug)]
pub(crate) enum AlipayKeys {
    /// Certificate mode: the Alipay certificates, by SN.
    Store(Arc<crate::lifecycle::AlipayCertStore>),
    /// Public-key mode: the Alipay public key.
    PublicKey(PublicKey),
}

/// Verifies gateway responses: the sans-IO half of a client that needs no private key.
///
/// ```
/// use alipay_core::cert::CertificateChain;
/// use alipay_core::response::ResponseVerifier;
/// # let pki = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
/// let alipay_cert = CertificateChain::from_path(pki.join("ca/alipay_cert.pem"))?;
/// let verifier = ResponseVerifier::certificates([alipay_cert])?;
/// let error = verifier.verify("alipay.trade.query", br#"{"alipay_trade_query_response":{"code":"10000"}}"#).unwrap_err();
/// assert!(error.to_string().contains("without 'sign'"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ResponseVerifier {
    pub(crate) charset: Charset,
    pub(crate) sign_type: SignType,
    pub(crate) keys: AlipayKeys,
    pub(crate) aes: Option<AesKey>,
}

impl ResponseVerifier {
    /// Certificate mode: verify with these Alipay certificates, chosen by `alipay_cert_sn`.
    pub fn certificates(
        chains: impl IntoIterator<Item = crate::cert::CertificateChain>,
    ) -> Result<ResponseVerifier, crate::key::KeyError> {
        let store = crate::lifecycle::AlipayCertStore::new(chains)?;
        Ok(ResponseVerifier::new(AlipayKeys::Store(Arc::new(store))))
    }

    /// Certificate mode with a shared store (which may follow Alipay's rotation).
    pub fn from_store(store: Arc<crate::lifecycle::AlipayCertStore>) -> ResponseVerifier {
        ResponseVerifier::new(AlipayKeys::Store(store))
    }

    /// The certificate store (certificate mode).
    pub fn store(&self) -> Option<&Arc<crate::lifecycle::AlipayCertStore>> {
        match &self.keys {
            AlipayKeys::Store(store) => Some(store),
            AlipayKeys::PublicKey(_) => None,
        }
    }

    /// Public-key mode: verify with the Alipay public key.
    pub fn public_key(key: PublicKey) -> ResponseVerifier {
        ResponseVerifier::new(AlipayKeys::PublicKey(key))
    }

    fn new(keys: AlipayKeys) -> ResponseVerifier {
        let algorithm = match &keys {
            AlipayKeys::Store(store) => store.key_algorithm(),
            AlipayKeys::PublicKey(key) => key.algorithm(),
        };
        ResponseVerifier { charset: Charset::Utf8, sign_type: SignType::default_for(algorithm), keys, aes: None }
    }

    /// The charset of the responses (the request charset).
    pub fn with_charset(mut self, charset: Charset) -> Self {
        self.charset = charset;
        self
    }

    /// The signature type (by default the keys' algorithm's: RSA2 or SM2; RSA for an old
    /// public-key-mode RSA app).
    pub fn with_sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The AES key for encrypted responses.
    pub fn with_aes_key(mut self, key: Option<AesKey>) -> Self {
        self.aes = key;
        self
    }

    /// Whether this verifier is in certificate mode.
    pub fn is_certificate_mode(&self) -> bool {
        matches!(self.keys, AlipayKeys::Store(_))
    }

    /// Verifies a raw response body for `method`.
    pub fn verify(&self, method: &str, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
        verify(self, method, body)
    }

    /// As [`ResponseVerifier::verify`], taking the body: a UTF-8 answer becomes the
    /// `VerifiedResponse`'s text without a copy (for a large answer, no second megabyte).
    pub fn verify_owned(&self, method: &str, body: Vec<u8>) -> Result<VerifiedResponse, ResponseError> {
        self.verify_owned_or_back(method, body).map_err(|(error, _)| error)
    }

    /// As [`ResponseVerifier::verify_owned`]; on error the body comes back with it, unchanged
    /// (a flow checks it again once the certificate it names is fetched).
    pub(crate) fn verify_owned_or_back(
        &self,
        method: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedResponse, (ResponseError, Vec<u8>)> {
        if !self.charset.is_utf8() {
            return self.verify(method, &body).map_err(|error| (error, body));
        }
        let text = match String::from_utf8(body) {
            Ok(text) => text,
            // Not UTF-8: the borrowed path says where, as for any other answer.
            Err(e) => {
                let body = e.into_bytes();
                return self.verify(method, &body).map_err(|error| (error, body));
            }
        };
        match judge(self, method, &text) {
            Ok(verdict) => Ok(verdict.into_response(method, text)),
            Err(error) => Err((error, text.into_bytes())),
        }
    }
}

/// A response whose signature checked out, with a successful `code`.
#[derive(Clone)]
pub struct VerifiedResponse {
    method: String,
    node: Text,
    body: String,
    alipay_cert_sn: Option<Text>,
    trace_id: Option<String>,
}

/// Where a text of a verified answer is: inside the body (no copy: the signed node, an
/// unescaped SN), or its own (a decrypted node, an SN written with escapes).
#[derive(Clone)]
enum Text {
    InBody(std::ops::Range<usize>),
    Own(String),
}

impl Text {
    fn in_body<'a>(&'a self, body: &'a str) -> &'a str {
        match self {
            Text::InBody(range) => &body[range.clone()],
            Text::Own(text) => text,
        }
    }
}

impl VerifiedResponse {
    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The verified response node as JSON text (decrypted when the response was encrypted).
    pub fn node(&self) -> &str {
        self.node.in_body(&self.body)
    }

    /// The whole body as received (decoded from the charset).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The SN of the certificate that verified the response (certificate mode).
    pub fn alipay_cert_sn(&self) -> Option<&str> {
        self.alipay_cert_sn.as_ref().map(|sn| sn.in_body(&self.body))
    }

    /// The gateway's `trace_id` for this call (when the answer came through a driver that
    /// reads headers): what Alipay support asks for first.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// Alipay's diagnosis page for this call's trace id, as Alipay's Java SDK builds it.
    pub fn diagnosis_link(&self) -> Option<String> {
        self.trace_id.as_deref().map(diagnosis_link)
    }

    pub(crate) fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }

    /// Deserializes the verified node into a business type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ResponseError> {
        serde_json::from_str(self.node())
            .map_err(|source| ResponseErrorKind::Deserialize { method: self.method.clone(), source }.into())
    }
}

impl fmt::Debug for VerifiedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedResponse")
            .field("method", &self.method)
            .field("alipay_cert_sn", &self.alipay_cert_sn())
            .field("node", &crate::excerpt::redact_json_secrets(self.node()))
            .finish()
    }
}

/// The business fields of a failed call.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The method.
    pub method: String,
    /// `code` (e.g. `40004`).
    pub code: String,
    /// `msg`.
    pub msg: String,
    /// `sub_code` (e.g. `ACQ.TRADE_NOT_EXIST`, `isv.invalid-signature`).
    pub sub_code: Option<String>,
    /// `sub_msg`.
    pub sub_msg: Option<String>,
    /// The failure node as received (JSON text).
    pub node: String,
    /// The raw response body.
    pub body: String,
}

impl Failure {
    /// Whether this answer leaves the outcome open: `10003` (waiting for the buyer to confirm),
    /// `20000` (service unavailable) or an `isp.*` sub_code (Alipay's side failed). Query the
    /// trade before retrying.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.code.as_str(), "10003" | "20000")
            || self.sub_code.as_deref().is_some_and(|c| c.starts_with("isp."))
    }

    /// When the gateway does not know the method (`isv.invalid-method`) but Alipay's v3
    /// interface description has it: the v3 operation to send instead (`call_v3`).
    ///
    /// Some operations are opened on OpenAPI v3 only. Which ones is not published in a form
    /// this crate could check before sending (the v2 SDKs disagree with each other), so the
    /// gateway request is sent and its refusal points here rather than refused on a guess.
    pub fn v3_alternative(&self) -> Option<&'static crate::operations::V3Operation> {
        if self.sub_code.as_deref() != Some("isv.invalid-method") {
            return None;
        }
        crate::operations::operation(&self.method)
    }
}

/// How much of each field of a failure reaches a message: an unsigned failure is anyone's
/// text, of any size.
const FAILURE_FIELD_EXCERPT: usize = 512;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cap = |text: &str| crate::excerpt::capped(text, FAILURE_FIELD_EXCERPT);
        write!(f, "{}: code {} ({})", cap(&self.method), cap(&self.code), cap(&self.msg))?;
        if let Some(sub_code) = &self.sub_code {
            write!(f, ", sub_code {}", cap(sub_code))?;
        }
        if let Some(sub_msg) = &self.sub_msg {
            write!(f, " ({})", cap(sub_msg))?;
        }
        if let Some(v3) = self.v3_alternative() {
            write!(
                f,
                "; the gateway does not serve this method, but OpenAPI v3 has it ({} {}): \
                 some operations are opened on v3 only, send it with `call_v3`",
                v3.http_method, v3.path
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cap = |text: &str| crate::excerpt::capped(text, FAILURE_FIELD_EXCERPT);
        f.debug_struct("Failure")
            .field("method", &cap(&self.method))
            .field("code", &cap(&self.code))
            .field("msg", &cap(&self.msg))
            .field("sub_code", &self.sub_code.as_deref().map(cap))
            .field("sub_msg", &self.sub_msg.as_deref().map(cap))
            .field("node", &crate::excerpt::capped(&crate::excerpt::redact_json_secrets(&self.node), 1024))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A business failure whose signature checked out: Alipay really said this.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Alipay answered {failure}{}", diagnosis(.request_sign_content.as_deref(), *.request_sign_content_len, .signature_diagnosis.as_deref()))]
#[non_exhaustive]
pub struct BusinessError {
    /// The failure.
    pub failure: Box<Failure>,
    /// When the gateway answered `isv.invalid-signature`: our sign content beside the one the
    /// gateway echoed in `sub_msg`, and where they first differ.
    pub signature_diagnosis: Option<Box<SignatureDiagnosis>>,
    /// When the gateway answered `isv.invalid-signature`: the exact text we signed (its first
    /// [`SIGN_CONTENT_EXCERPT_BYTES`](crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES) bytes).
    pub request_sign_content: Option<String>,
    /// Its length in bytes, in the request charset.
    pub request_sign_content_len: Option<usize>,
}

/// A failure that was not signed (or whose signature could not be checked): it may come from
/// anyone on the path and must not be trusted as Alipay's answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("UNVERIFIED answer (not signed by Alipay): {failure}{}", diagnosis(.request_sign_content.as_deref(), *.request_sign_content_len, .signature_diagnosis.as_deref()))]
#[non_exhaustive]
pub struct UnverifiedError {
    /// The failure as it was received.
    pub failure: Box<Failure>,
    /// When it claims `isv.invalid-signature`: ours beside the content it echoed (untrusted).
    pub signature_diagnosis: Option<Box<SignatureDiagnosis>>,
    /// When it claims `isv.invalid-signature`: the exact text we signed (its first
    /// [`SIGN_CONTENT_EXCERPT_BYTES`](crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES) bytes).
    pub request_sign_content: Option<String>,
    /// Its length in bytes, in the request charset.
    pub request_sign_content_len: Option<usize>,
}

fn diagnosis(sign_content: Option<&str>, len: Option<usize>, compared: Option<&SignatureDiagnosis>) -> String {
    match (compared, sign_content) {
        (Some(compared), _) => compared.to_string(),
        (None, Some(content)) => format!("; we signed {} bytes: {content}", len.unwrap_or(content.len())),
        (None, None) => String::new(),
    }
}

/// Our sign content beside the one the gateway says it verified (`isv.invalid-signature`
/// echoes it in `sub_msg`, HTML-escaped): both lengths in bytes of the request charset and the
/// first byte where they differ. Token values are redacted; no key material is involved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureDiagnosis {
    /// What we signed (capped, tokens redacted).
    pub ours: String,
    /// Its length in bytes.
    pub ours_len: usize,
    /// What the gateway verified, unescaped (capped, tokens redacted).
    pub gateway: String,
    /// Its length in bytes.
    pub gateway_len: usize,
    /// The first byte offset where they differ, or `None` when they are the same (then the
    /// key or the certificate SN is what differs).
    pub first_difference: Option<usize>,
}

impl SignatureDiagnosis {
    /// Compares `ours` (the exact text signed, in `charset`) with the content in the
    /// gateway's `sub_msg`, if it carries one.
    pub fn compare(ours: &str, sub_msg: &str, charset: Charset) -> Option<SignatureDiagnosis> {
        // "…网关生成的验签字符串为：<content>" (full-width or ASCII colon).
        let marker = ["验签字符串为：", "验签字符串为:"].iter().find_map(|m| sub_msg.find(m).map(|at| at + m.len()))?;
        let gateway = crate::excerpt::html_unescape(&sub_msg[marker..]);
        let bytes = |text: &str| {
            charset.encode(text, "sign content").map(|b| b.into_owned()).unwrap_or_else(|_| text.as_bytes().to_vec())
        };
        let (ours_bytes, gateway_bytes) = (bytes(ours), bytes(&gateway));
        let first_difference =
            ours_bytes.iter().zip(&gateway_bytes).position(|(a, b)| a != b).or_else(|| {
                (ours_bytes.len() != gateway_bytes.len()).then(|| ours_bytes.len().min(gateway_bytes.len()))
            });
        Some(SignatureDiagnosis {
            ours: crate::excerpt::sign_content(ours),
            ours_len: ours_bytes.len(),
            gateway: crate::excerpt::sign_content(&gateway),
            gateway_len: gateway_bytes.len(),
            first_difference,
        })
    }
}

impl fmt::Display for SignatureDiagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "; we signed {} bytes, the gateway verified {} bytes", self.ours_len, self.gateway_len)?;
        match self.first_difference {
            Some(at) => {
                let around = |text: &str| {
                    let start = text.char_indices().map(|(i, _)| i).take_while(|&i| i + 20 <= at).last().unwrap_or(0);
                    text.get(start..).unwrap_or_default().chars().take(40).collect::<String>()
                };
                write!(
                    f,
                    "; they first differ at byte {at}: ours …{:?}…, the gateway's …{:?}…",
                    around(&self.ours),
                    around(&self.gateway)
                )?;
            }
            None => {
                f.write_str("; the contents are identical, so the key (or the app certificate SN) is what differs")?
            }
        }
        write!(f, "; ours: {}; the gateway's: {}", self.ours, self.gateway)
    }
}

impl BusinessError {
    /// The business fields.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }
}

impl UnverifiedError {
    /// The business fields, as received (not trustworthy).
    pub fn failure(&self) -> &Failure {
        &self.failure
    }
}

/// Why a response was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseErrorKind {
    /// The body is not in the request charset.
    #[error(transparent)]
    Charset(#[from] CharsetError),
    /// The body is not a JSON object.
    #[error("{method}: the response is not a JSON object ({source}); body starts: {excerpt}")]
    Malformed {
        /// The method.
        method: String,
        /// Where and why scanning stopped.
        source: scan::ScanError,
        /// The start of the body.
        excerpt: String,
    },
    /// Neither `<method>_response` nor `error_response` is in the body.
    #[error("{method}: the response has neither {expected} nor error_response; body starts: {excerpt}")]
    MissingNode {
        /// The method.
        method: String,
        /// The node name expected.
        expected: String,
        /// The start of the body.
        excerpt: String,
    },
    /// A member that must be unique appears twice (duplicate-node injection).
    #[error("{method}: {key:?} appears more than once at the top level of the response: rejected as forged")]
    Duplicate {
        /// The method.
        method: String,
        /// The key.
        key: String,
    },
    /// A successful response without `sign`.
    #[error("{method}: a successful response without 'sign': rejected")]
    MissingSign {
        /// The method.
        method: String,
    },
    /// Certificate mode: a successful response without `alipay_cert_sn`.
    #[error("{method}: a successful response without 'alipay_cert_sn' (certificate mode): rejected")]
    MissingCertSn {
        /// The method.
        method: String,
    },
    /// `alipay_cert_sn` names a certificate we do not have.
    #[error(
        "{method}: the response is signed with Alipay certificate {alipay_cert_sn}, which is not configured \
         (known: {known:?}); download it with alipay.open.app.alipaycert.download or configure it"
    )]
    UnknownCertSn {
        /// The method.
        method: String,
        /// The SN in the response.
        alipay_cert_sn: String,
        /// The SNs we have.
        known: Vec<String>,
    },
    /// The signature does not verify.
    #[error(
        "{method}: the response signature does not verify{}; the signed content is {sign_content_len} bytes: {sign_content}",
        .alipay_cert_sn.as_deref().map(|sn| format!(" with Alipay certificate {sn}")).unwrap_or_default()
    )]
    InvalidSignature {
        /// The method.
        method: String,
        /// The certificate used.
        alipay_cert_sn: Option<String>,
        /// The exact content that was checked: its first
        /// [`SIGN_CONTENT_EXCERPT_BYTES`](crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES) bytes.
        sign_content: String,
        /// Its whole length in bytes.
        sign_content_len: usize,
    },
    /// The node is encrypted but no AES key is configured.
    #[error("{method}: the response is encrypted but no AES key is configured")]
    NoAesKey {
        /// The method.
        method: String,
    },
    /// Decryption failed after a valid signature.
    #[error("{method}: {source}")]
    Decrypt {
        /// The method.
        method: String,
        /// The AES error.
        source: AesError,
    },
    /// The verified node does not fit the business type.
    #[error("{method}: the verified response does not fit the expected type: {source}")]
    Deserialize {
        /// The method.
        method: String,
        /// serde's error.
        source: serde_json::Error,
    },
    /// A verified business failure.
    #[error(transparent)]
    Business(#[from] BusinessError),
    /// An unsigned or unverifiable failure.
    #[error(transparent)]
    Unverified(#[from] UnverifiedError),
}

crate::layer_error!(
    /// Why a response was not accepted; see [`ResponseErrorKind`].
    ///
    /// One pointer wide; [`ResponseError::kind`] says what went wrong.
    ResponseError => ResponseErrorKind
);

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Verifies a raw response body for `method`.
fn verify(context: &ResponseVerifier, method: &str, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
    let text = context.charset.decode(body, "response body")?;
    let verdict = judge(context, method, &text)?;
    Ok(verdict.into_response(method, text.into_owned()))
}

/// What verification found: the node and the certificate that verified it.
struct Verdict {
    node: Text,
    alipay_cert_sn: Option<Text>,
}

impl Verdict {
    fn into_response(self, method: &str, body: String) -> VerifiedResponse {
        VerifiedResponse {
            method: method.to_string(),
            node: self.node,
            body,
            alipay_cert_sn: self.alipay_cert_sn,
            trace_id: None,
        }
    }
}

/// Verifies the decoded body `text` of an answer to `method`.
fn judge(context: &ResponseVerifier, method: &str, text: &str) -> Result<Verdict, ResponseError> {
    // The members the verdict needs, each of which must be unique (a second one is an
    // injection); found in one pass without collecting the others.
    let mut method_node = Unique::default();
    let mut error_node = Unique::default();
    let mut sign_member = Unique::default();
    let mut sn_member = Unique::default();
    scan::visit_top_level_members(text, |member| {
        let slot = match &*member.key {
            "error_response" => &mut error_node,
            "sign" => &mut sign_member,
            "alipay_cert_sn" => &mut sn_member,
            // `<method with '_' for '.'>_response`, compared without building the name.
            key if is_node_name(key, method) => &mut method_node,
            _ => return,
        };
        slot.see(member.value);
    })
    .map_err(|source| ResponseErrorKind::Malformed {
        method: method.to_string(),
        source,
        excerpt: excerpt(text),
    })?;
    let repeated = if method_node.repeated {
        Some(crate::gateway::content::node_name(method))
    } else {
        [(&error_node, "error_response"), (&sign_member, "sign"), (&sn_member, "alipay_cert_sn")]
            .into_iter()
            .find_map(|(slot, key)| slot.repeated.then(|| key.to_string()))
    };
    if let Some(key) = repeated {
        return Err(ResponseErrorKind::Duplicate { method: method.to_string(), key }.into());
    }
    let (node_range, is_error_node) = match (method_node.range, error_node.range) {
        (Some(node), _) => (node, false),
        (None, Some(node)) => (node, true),
        (None, None) => {
            return Err(ResponseErrorKind::MissingNode {
                method: method.to_string(),
                expected: crate::gateway::content::node_name(method),
                excerpt: excerpt(text),
            }
            .into());
        }
    };
    let node_raw = &text[node_range.clone()];
    let string_of = |member: Unique| member.range.and_then(|range| scan::decode_string(&text[range]));
    let sign = string_of(sign_member);
    let sn_range = sn_member.range.clone();
    let alipay_cert_sn = string_of(sn_member);
    let encrypted = node_raw.starts_with('"');
    let failure = if encrypted { None } else { failure_of(method, node_raw, is_error_node, text) };

    let Some(sign) = sign else {
        return match failure {
            Some(failure) => Err(UnverifiedError {
                failure: Box::new(failure),
                request_sign_content: None,
                request_sign_content_len: None,
                signature_diagnosis: None,
            }
            .into()),
            None => Err(ResponseErrorKind::MissingSign { method: method.to_string() }.into()),
        };
    };
    let signed_bytes = context.charset.encode(node_raw, "response node")?;
    let checks = |key: &PublicKey| {
        key.verify(&signed_bytes, &sign, context.sign_type)
            || (node_raw.contains("\\/") && {
                let unescaped = node_raw.replace("\\/", "/");
                context
                    .charset
                    .encode(&unescaped, "response node")
                    .is_ok_and(|bytes| key.verify(&bytes, &sign, context.sign_type))
            })
    };
    let invalid = |sn: Option<String>| {
        ResponseErrorKind::InvalidSignature {
            method: method.to_string(),
            alipay_cert_sn: sn,
            sign_content: crate::excerpt::sign_content(node_raw),
            sign_content_len: signed_bytes.len(),
        }
        .into()
    };
    match (&context.keys, &alipay_cert_sn) {
        (AlipayKeys::PublicKey(key), _) => {
            if !checks(key) {
                return Err(invalid(None));
            }
        }
        (AlipayKeys::Store(store), Some(sn)) => {
            let Some(stored) = store.stored(sn) else {
                return Err(ResponseErrorKind::UnknownCertSn {
                    method: method.to_string(),
                    alipay_cert_sn: crate::excerpt::capped(sn, 64),
                    known: store.sns(),
                }
                .into());
            };
            if !checks(&stored.public_key) {
                return Err(invalid(Some(sn.to_string())));
            }
        }
        (AlipayKeys::Store(store), None) => {
            // Without an SN only a failure may still be shown, and only as verified if one of
            // our certificates checks it.
            return match failure {
                Some(failure) if store.public_keys().iter().any(checks) => Err(BusinessError {
                    failure: Box::new(failure),
                    request_sign_content: None,
                    request_sign_content_len: None,
                    signature_diagnosis: None,
                }
                .into()),
                Some(failure) => Err(UnverifiedError {
                    failure: Box::new(failure),
                    request_sign_content: None,
                    request_sign_content_len: None,
                    signature_diagnosis: None,
                }
                .into()),
                None => Err(ResponseErrorKind::MissingCertSn { method: method.to_string() }.into()),
            };
        }
    }

    let node = if encrypted {
        let aes = context.aes.as_ref().ok_or_else(|| ResponseErrorKind::NoAesKey { method: method.to_string() })?;
        // The node was scanned as a value already: only its type can be wrong here.
        let ciphertext = scan::decode_string(node_raw).ok_or_else(|| ResponseErrorKind::Malformed {
            method: method.to_string(),
            source: scan::ScanError { offset: 0, what: "the encrypted node is not a JSON string" },
            excerpt: excerpt(text),
        })?;
        let plain = aes
            .decrypt(&ciphertext)
            .map_err(|source| ResponseErrorKind::Decrypt { method: method.to_string(), source })?;
        let plain = context.charset.decode(&plain, "decrypted response")?.into_owned();
        if let Some(failure) = failure_of(method, &plain, is_error_node, text) {
            return Err(BusinessError {
                failure: Box::new(failure),
                request_sign_content: None,
                request_sign_content_len: None,
                signature_diagnosis: None,
            }
            .into());
        }
        Text::Own(plain)
    } else {
        if let Some(failure) = failure {
            return Err(BusinessError {
                failure: Box::new(failure),
                request_sign_content: None,
                request_sign_content_len: None,
                signature_diagnosis: None,
            }
            .into());
        }
        Text::InBody(node_range)
    };
    // The SN as the body holds it (an unescaped string: the text between its quotes).
    let alipay_cert_sn = alipay_cert_sn.map(|sn| match (sn, sn_range) {
        (std::borrow::Cow::Borrowed(_), Some(range)) => Text::InBody(range.start + 1..range.end - 1),
        (sn, _) => Text::Own(sn.into_owned()),
    });
    Ok(Verdict { node, alipay_cert_sn })
}

/// A top-level member that must appear at most once: where its value is, and whether it came
/// again.
#[derive(Default)]
struct Unique {
    range: Option<std::ops::Range<usize>>,
    repeated: bool,
}

impl Unique {
    fn see(&mut self, value: std::ops::Range<usize>) {
        if self.range.is_some() {
            self.repeated = true;
        } else {
            self.range = Some(value);
        }
    }
}

/// Whether `key` is `method`'s node name: the method with `_` for `.`, then `_response`.
fn is_node_name(key: &str, method: &str) -> bool {
    key.len() == method.len() + "_response".len()
        && key.ends_with("_response")
        && key.bytes().zip(method.bytes()).all(|(k, m)| k == if m == b'.' { b'_' } else { m })
}

/// The failure described by a node, or `None` when it is a success (code `10000`, or no code
/// at all, as in `alipay.system.oauth.token`).
fn failure_of(method: &str, node: &str, is_error_node: bool, body: &str) -> Option<Failure> {
    let raw_field = |name: &str| -> Option<std::borrow::Cow<'_, str>> {
        let raw = scan::find_member(node, name)?;
        scan::decode_string(raw).or(Some(std::borrow::Cow::Borrowed(raw)))
    };
    let field = |name: &str| raw_field(name).map(std::borrow::Cow::into_owned);
    // Looked at in place: a success (nearly every answer) allocates nothing here.
    let code = raw_field("code");
    let is_success = !is_error_node && code.as_deref().is_none_or(|c| c == SUCCESS_CODE);
    if is_success {
        return None;
    }
    Some(Failure {
        method: method.to_string(),
        code: code.map(std::borrow::Cow::into_owned).unwrap_or_default(),
        msg: field("msg").unwrap_or_default(),
        sub_code: field("sub_code"),
        sub_msg: field("sub_msg"),
        node: node.to_string(),
        body: body.to_string(),
    })
}

/// `https://open.alipay.com/api/errCheck?traceId=…&source=sdk`, the page Alipay's Java SDK
/// points to for a call's trace id.
pub(crate) fn diagnosis_link(trace_id: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(trace_id.as_bytes()).collect();
    format!("https://open.alipay.com/api/errCheck?traceId={encoded}&source=sdk")
}
