//! The sandbox as the caller of an ISV's SPI / app-gateway endpoint: it sends a signed form
//! (V2 rule, as Alipay does) and checks the signed answer the way Alipay would.

use serde::Serialize;

use super::{AppMode, SandboxError, SandboxHandle};
use alipay_core::charset::Charset;
use alipay_core::notify::Rule;
use alipay_core::primitives::gateway as scan;
use alipay_core::primitives::gateway::format_timestamp;

/// What the ISV answered, and whether Alipay would accept it.
#[derive(Debug, Clone, Serialize)]
pub struct SpiAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: String,
    /// The `response` value, when the body has one.
    pub response: Option<String>,
    /// Whether `sign` verifies under the registered app's key and, in certificate mode,
    /// `app_cert_sn` names the registered app certificate.
    pub accepted: bool,
    /// Why it was not accepted.
    pub reason: Option<String>,
}

impl SandboxHandle {
    /// Calls an ISV endpoint as Alipay does: a form signed with the current Alipay key (V2 rule:
    /// only `sign` left out), then checks the signed JSON answer.
    pub async fn call_spi(
        &self,
        url: &str,
        method: &str,
        biz_content: &serde_json::Value,
    ) -> Result<SpiAnswer, SandboxError> {
        call_spi(&self.shared, url, method, biz_content).await
    }
}

/// [`SandboxHandle::call_spi`], for the handle and the `/sandbox/spi` control endpoint.
pub(crate) async fn call_spi(
    shared: &super::Shared,
    url: &str,
    method: &str,
    biz_content: &serde_json::Value,
) -> Result<SpiAnswer, SandboxError> {
    let (key, sn) = shared.alipay_signer(false);
    let (app_key, _, app_cert_sn) = shared.registered_app();
    let mut params: Vec<(String, String)> = vec![
        ("app_id".into(), shared.app_id.clone()),
        ("method".into(), method.into()),
        ("charset".into(), "UTF-8".into()),
        ("sign_type".into(), shared.sign_type.as_str().into()),
        ("timestamp".into(), format_timestamp(shared.clock.now())),
        ("version".into(), "1.0".into()),
        ("biz_content".into(), biz_content.to_string()),
    ];
    if shared.mode == AppMode::Certificate {
        params.push(("alipay_cert_sn".into(), sn));
    }
    let sign =
        alipay_core::primitives::notification::sign_params(&params, Rule::V2, &key, shared.sign_type, Charset::Utf8)
            .map_err(|e| SandboxError::Pki(e.to_string()))?;
    params.push(("sign".into(), sign));
    let body = alipay_core::primitives::gateway::encode_pairs(params.iter(), Charset::Utf8)
        .map_err(|e| SandboxError::Pki(e.to_string()))?;
    let answer = shared
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| SandboxError::Pki(format!("SPI call failed: {}", e.without_url())))?;
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    let mut result = SpiAnswer { status, body: text.clone(), response: None, accepted: false, reason: None };
    let members = match scan::top_level_members(&text) {
        Ok(members) => members,
        Err(e) => {
            result.reason = Some(format!("not JSON: {e}"));
            return Ok(result);
        }
    };
    let one = |name: &str| {
        let mut found = members.iter().filter(|m| m.key == name);
        match (found.next(), found.next()) {
            (Some(m), None) => Ok(Some(&text[m.value.clone()])),
            (None, _) => Ok(None),
            _ => Err(format!("{name} appears twice")),
        }
    };
    let checked = (|| -> Result<(), String> {
        let response = one("response")?.ok_or("no response node")?;
        result.response = Some(response.to_string());
        let sign = one("sign")?.and_then(scan::decode_string).ok_or("no sign")?;
        if shared.mode == AppMode::Certificate {
            let sent = one("app_cert_sn")?.and_then(scan::decode_string).ok_or("no app_cert_sn (certificate mode)")?;
            if sent != app_cert_sn {
                return Err(format!("app_cert_sn {sent} is not the registered {app_cert_sn}"));
            }
        }
        let key = app_key.as_ref().ok_or("no app key")?;
        if !key.verify(response.as_bytes(), &sign, shared.sign_type) {
            return Err("sign does not verify over the response text".into());
        }
        Ok(())
    })();
    match checked {
        Ok(()) => result.accepted = true,
        Err(reason) => result.reason = Some(reason),
    }
    Ok(result)
}
