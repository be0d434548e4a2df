//! `alipay.open.app.alipaycert.download`: the request, and trusting its answer.
//!
//! The answer is usually signed with the very certificate it carries. It is trusted when its
//! signature checks out with a certificate we already trust, or, when it names the requested
//! certificate, only after that certificate has passed every check against the root bundle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::config::Config;
use crate::key::PublicKey;
use crate::lifecycle::{DownloadError, DownloadErrorKind};
use crate::request::{Request, SignedRequest};
use crate::response::{ResponseErrorKind, ResponseVerifier};

/// The download method.
pub(crate) const METHOD: &str = "alipay.open.app.alipaycert.download";

pub(crate) fn request(sn: &str) -> Request {
    Request::new(METHOD).biz(&serde_json::json!({ "alipay_cert_sn": sn }))
}

pub(crate) fn call_error(sn: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> DownloadError {
    DownloadErrorKind::Call { sn: sn.to_string(), source: std::sync::Arc::from(source.into()) }.into()
}

/// A failed download call: [`DownloadErrorKind::Unreachable`] when it says nothing about the
/// certificate (transport, timeout, HTTP 5xx or 429, Alipay's `isp.*` / `20000` system errors),
/// so that it is retried after seconds; [`DownloadErrorKind::Call`] otherwise.
pub(crate) fn failure(sn: &str, error: crate::Error) -> DownloadError {
    use crate::ErrorKind;
    let transient = match error.kind() {
        ErrorKind::Transport => true,
        ErrorKind::Status => error.status_code().is_some_and(|status| status >= 500 || status == 429),
        ErrorKind::Business => error.outcome() == crate::Outcome::Unknown,
        _ => false,
    };
    if transient {
        let cause = crate::excerpt::capped(&crate::excerpt::chain(&error), 512);
        DownloadErrorKind::Unreachable { sn: sn.to_string(), cause, source: std::sync::Arc::new(error) }.into()
    } else {
        call_error(sn, error)
    }
}

/// What is wrong with a download answer's shape.
#[derive(Debug, thiserror::Error)]
#[error("the download answer {0}")]
struct BadAnswer(&'static str);

fn content_of(node: &str, sn: &str) -> Result<Vec<u8>, DownloadError> {
    let value: serde_json::Value = serde_json::from_str(node).map_err(|e| call_error(sn, e))?;
    let encoded =
        value["alipay_cert_content"].as_str().ok_or_else(|| call_error(sn, BadAnswer("has no alipay_cert_content")))?;
    STANDARD
        .decode(encoded.trim())
        .map_err(|e| DownloadErrorKind::Garbage { sn: sn.to_string(), source: std::sync::Arc::new(e) }.into())
}

/// The certificate content of a download answer, once the answer is trusted.
pub(crate) fn content(
    config: &Config,
    signed: &SignedRequest,
    body: &[u8],
    sn: &str,
) -> Result<Vec<u8>, DownloadError> {
    match config.verify_response_to(signed, body) {
        Ok(response) => content_of(response.node(), sn),
        Err(error) => match error.kind() {
            // Signed with the certificate being fetched: check the certificate first, then the
            // answer's signature with it.
            ResponseErrorKind::UnknownCertSn { alipay_cert_sn, .. } if alipay_cert_sn == sn => {
                trusted_by_its_certificate(config, body, sn, Signature::Required)
            }
            // Signed, without saying by which certificate: the one it carries must verify it.
            ResponseErrorKind::MissingCertSn { .. } => {
                trusted_by_its_certificate(config, body, sn, Signature::Required)
            }
            // Unsigned: Alipay's Java SDK does not verify this answer at all. The certificate it
            // carries is trusted only on its own checks (chain to the root bundle, validity,
            // the SN asked for, key strength).
            ResponseErrorKind::MissingSign { .. } => trusted_by_its_certificate(config, body, sn, Signature::Absent),
            _ => Err(failure(sn, crate::Error::from(error))),
        },
    }
}

enum Signature {
    Required,
    Absent,
}

/// The content of an answer whose certificate passes every check against the root bundle on
/// its own, and (when signed) whose signature that certificate verifies.
fn trusted_by_its_certificate(
    config: &Config,
    body: &[u8],
    sn: &str,
    signature: Signature,
) -> Result<Vec<u8>, DownloadError> {
    let text = config.charset().decode(body, "download answer").map_err(|e| call_error(sn, e))?;
    // The same scan as verification: one node, located exactly (duplicates refused).
    let members = crate::response::scan::top_level_members(&text).map_err(|e| call_error(sn, e))?;
    let name = crate::gateway::content::node_name(METHOD);
    let mut nodes = members.iter().filter(|m| m.key == name.as_str());
    let node = match (nodes.next(), nodes.next()) {
        (Some(node), None) => &text[node.value.clone()],
        (None, _) => return Err(call_error(sn, BadAnswer("has no response node"))),
        (Some(_), Some(_)) => return Err(call_error(sn, BadAnswer("has its response node twice"))),
    };
    let candidate = content_of(node, sn)?;
    let store =
        config.cert_mode().map(|m| m.store().clone()).ok_or_else(|| DownloadErrorKind::NoRoots { sn: sn.into() })?;
    let chain = store.validate(&candidate, sn)?;
    if let Signature::Required = signature {
        let key = PublicKey::from_certificate(chain.leaf()).map_err(|e| call_error(sn, e))?;
        let verifier =
            ResponseVerifier::public_key(key).with_charset(config.charset()).with_sign_type(config.sign_type());
        verifier.verify(METHOD, body).map_err(|e| call_error(sn, crate::Error::from(e)))?;
    } else {
        tracing::info!(sn, "accepting an unsigned certificate download answer on the certificate's own checks");
    }
    Ok(candidate)
}
