//! OpenAPI v3 on the same port: `METHOD /v3/…` checked as Alipay checks it (the
//! `Authorization` header, its signature, timestamp and SNs), run against the same ledger as
//! the gateway, answered with a signed body and signature headers.
//!
//! Error codes and statuses: `invalid-auth-token` (401) is Alipay's; the others follow its
//! naming (`invalid-signature`, `invalid-timestamp`, `invalid-app-cert-sn` 401;
//! `missing-alipay-root-cert-sn`, `invalid-alipay-root-cert-sn` 400; business failures 400
//! with the gateway's `sub_code` as `code`).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::faults::Fault;
use super::http::{HttpRequest, Reply};
use super::ledger::NotifyTarget;
use super::{AppMode, Shared};
use alipay_core::charset::Charset;
use alipay_core::flow::Method;
use alipay_core::key::SignType;

/// A failure to answer with: HTTP status, code, message.
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

fn refuse(status: u16, code: &str, message: impl Into<String>) -> Refusal {
    Refusal { status, code: code.into(), message: message.into() }
}

/// Handles one v3 request, faults included.
pub(crate) async fn handle(shared: Arc<Shared>, request: HttpRequest) -> Reply {
    // The gateway method this path stands for (faults and the request log use its name), and
    // the path parameters it carries.
    let (api, path_params) = resolve(&request.method, &request.path);
    let fault = crate::lock(&shared.faults).pick(&api);
    crate::record_request(&shared, &format!("v3 {api}"));
    if fault == Some(Fault::ResetBeforeProcessing) {
        return Reply::Reset;
    }
    let encrypted = request.header("alipay-encrypt-type").is_some_and(|t| t.eq_ignore_ascii_case("AES"));
    let outcome = check_and_run(&shared, &request, &api, path_params, encrypted);
    let (status, body) = match outcome {
        Ok((mut node, paid)) => {
            if let Some(trade) = paid {
                shared.notify(trade);
            }
            node.remove("code");
            node.remove("msg");
            let text = Value::Object(node).to_string();
            match encrypted.then(|| shared.aes.encrypt(text.as_bytes())) {
                None => (200, text),
                Some(Ok(sealed)) => (200, sealed),
                Some(Err(error)) => (500, json!({"code": "SYSTEM_ERROR", "message": error.to_string()}).to_string()),
            }
        }
        Err(refusal) => (refusal.status, json!({"code": refusal.code, "message": refusal.message}).to_string()),
    };
    match fault {
        Some(Fault::ResetAfterProcessing) => return Reply::Reset,
        Some(Fault::ServerErrorHtml) => {
            return Reply::Full {
                status: 502,
                content_type: "text/html",
                body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
            };
        }
        Some(Fault::TruncatedBody) => return Reply::Truncated { body: body.into_bytes() },
        Some(Fault::SlowBody(duration)) => return Reply::Slow { body: body.into_bytes(), duration },
        _ => {}
    }
    let mut headers = vec![("alipay-trace-id".to_string(), super::http::trace_id())];
    if !matches!(fault, Some(Fault::Unsigned) | Some(Fault::UnsignedErrorResponse)) {
        headers.extend(shared.sign_v3_answer(body.as_bytes(), fault == Some(Fault::WrongKeySignature)));
    }
    let content_type =
        if encrypted && status == 200 { "text/plain;charset=utf-8" } else { "application/json;charset=utf-8" };
    Reply::Headed { status, content_type, headers, body: body.into_bytes() }
}

type Ran = (Map<String, Value>, Option<super::ledger::Trade>);

/// The operation a request's verb and path stand for, by Alipay's operation table (the one with
/// the fewest placeholders when several match, so a literal segment wins), and its path
/// parameters, percent-decoded; a path the table does not list stands for its dotted name.
fn resolve(verb: &str, path: &str) -> (String, Map<String, Value>) {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&alipay_core::v3::V3Operation, Map<String, Value>, usize)> = None;
    for op in alipay_core::v3::operations().iter().filter(|op| op.http_method.as_str() == verb) {
        let template: Vec<&str> = op.path.split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut params = Map::new();
        let matched = template.iter().zip(&segments).all(|(want, got)| match want.strip_prefix('{') {
            Some(name) => {
                let value = alipay_core::primitives::notification::percent_decode(got.as_bytes())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                let found =
                    value.filter(|v| !v.is_empty()).map(|v| params.insert(name.trim_end_matches('}').into(), v.into()));
                found.is_some()
            }
            None => want == got,
        });
        if matched && best.as_ref().is_none_or(|(_, _, placeholders)| params.len() < *placeholders) {
            let count = params.len();
            best = Some((op, params, count));
        }
    }
    match best {
        Some((op, params, _)) => (op.method.to_string(), params),
        None => (path.trim_start_matches("/v3/").replace('/', "."), Map::new()),
    }
}

fn check_and_run(
    shared: &Shared,
    request: &HttpRequest,
    api: &str,
    path_params: Map<String, Value>,
    encrypted: bool,
) -> Result<Ran, Refusal> {
    let method: Method = request.method.parse().map_err(|e: String| refuse(405, "invalid-method", e))?;
    let authorization =
        request.header("authorization").ok_or_else(|| refuse(401, "invalid-auth-token", "缺少 Authorization 头"))?;
    let rest = authorization
        .strip_prefix("ALIPAY-SHA256withRSA ")
        .ok_or_else(|| refuse(401, "invalid-auth-token", "Authorization 须以 ALIPAY-SHA256withRSA 开头"))?;
    let (auth_string, sign) =
        rest.rsplit_once(",sign=").ok_or_else(|| refuse(401, "invalid-auth-token", "Authorization 缺少 sign"))?;
    let item = |name: &str| {
        auth_string.split(',').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
    };
    let app_id = item("app_id").ok_or_else(|| refuse(401, "invalid-auth-token", "Authorization 缺少 app_id"))?;
    if app_id != shared.app_id {
        return Err(refuse(401, "invalid-app-id", format!("无效的 app_id: {app_id}")));
    }
    let nonce = item("nonce").filter(|n| !n.is_empty());
    nonce.ok_or_else(|| refuse(401, "invalid-auth-token", "Authorization 缺少 nonce"))?;
    let timestamp = item("timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| refuse(401, "invalid-auth-token", "Authorization 的 timestamp 不是毫秒数"))?;
    let drift = (shared.clock.now().timestamp_millis() - timestamp).abs();
    if drift > shared.timestamp_window.num_milliseconds() {
        return Err(refuse(
            401,
            "invalid-timestamp",
            format!("timestamp {timestamp} 与网关时间相差超过 {} 分钟", shared.timestamp_window.num_minutes()),
        ));
    }
    let (verify_key, root_sn, app_sn) = shared.registered_app();
    if shared.mode == AppMode::Certificate {
        match item("app_cert_sn") {
            Some(sn) if sn == app_sn => {}
            Some(sn) => return Err(refuse(401, "invalid-app-cert-sn", format!("应用公钥证书序列号不匹配: {sn}"))),
            None => return Err(refuse(401, "invalid-app-cert-sn", "Authorization 缺少 app_cert_sn")),
        }
        match request.header("alipay-root-cert-sn") {
            Some(sn) if sn == root_sn => {}
            Some(sn) => {
                return Err(refuse(400, "invalid-alipay-root-cert-sn", format!("支付宝根证书序列号不匹配: {sn}")));
            }
            None => return Err(refuse(400, "missing-alipay-root-cert-sn", "缺少 alipay-root-cert-sn 头")),
        }
    }
    let body = signed_body(request)?;
    let uri =
        if request.query.is_empty() { request.path.clone() } else { format!("{}?{}", request.path, request.query) };
    let token = request.header("alipay-app-auth-token");
    let content = alipay_core::primitives::v3::request_sign_content(auth_string, method, &uri, &body, token);
    if !verify_key.is_some_and(|key| key.verify(content.as_bytes(), sign, SignType::Rsa2)) {
        return Err(refuse(401, "invalid-signature", format!("验签出错，网关生成的验签字符串为：{content:?}")));
    }
    let json_text = if encrypted {
        let plain = shared.aes.decrypt(body.trim()).map_err(|_| refuse(400, "decryption-error", "解密出错"))?;
        String::from_utf8(plain).map_err(|_| refuse(400, "decryption-error", "解密后不是 UTF-8"))?
    } else {
        body
    };
    let biz: Value = if json_text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&json_text).map_err(|_| refuse(400, "invalid-parameter", "请求体不是合法的 JSON"))?
    };
    if !biz.is_object() {
        return Err(refuse(400, "invalid-parameter", "请求体必须是 JSON 对象"));
    }
    let notify = biz
        .get("notify_url")
        .and_then(Value::as_str)
        .map(|url| NotifyTarget { url: url.to_string(), charset: Charset::Utf8 });
    let now = shared.clock.now();
    if crate::catalogue::Catalogue::METHODS.contains(&api) {
        // One object of the operation's fields: the body's, the path's and the query's.
        let mut fields = biz.as_object().cloned().unwrap_or_default();
        fields.extend(path_params);
        for (name, value) in url::form_urlencoded::parse(request.query.as_bytes()) {
            fields.insert(name.into_owned(), value.into_owned().into());
        }
        let files = multipart_files(request)?;
        let handled = crate::lock(&shared.catalogue).handle(api, &fields, &files, now);
        let node = handled.unwrap_or_else(|| Ok(Map::new())).map_err(|f| refuse(400, f.sub_code, f.sub_msg))?;
        return Ok((node, None));
    }
    let mut ledger = crate::lock(&shared.ledger);
    let business = |e: super::ledger::BizError| refuse(400, e.sub_code, e.sub_msg);
    let mut paid = None;
    let node = match (method, api) {
        (Method::Post, "alipay.trade.precreate") => ledger.precreate(&biz, notify, now),
        (Method::Post, "alipay.trade.create") => ledger.create(&biz, notify, now),
        (Method::Post, "alipay.trade.pay") => {
            let (result, newly_paid) = ledger.pay(&biz, notify, now).map_err(business)?;
            if newly_paid {
                paid = ledger.get(biz.get("out_trade_no").and_then(Value::as_str).unwrap_or_default());
            }
            result
        }
        (Method::Post, "alipay.trade.query") => ledger.query(&biz),
        (Method::Post, "alipay.trade.refund") => ledger.refund(&biz, now),
        (Method::Post, "alipay.trade.fastpay.refund.query") => ledger.refund_query(&biz),
        (Method::Post, "alipay.trade.close") => ledger.close(&biz),
        (Method::Post, "alipay.trade.cancel") => ledger.cancel(&biz, now),
        _ => return Err(refuse(404, "invalid-method", format!("不存在的接口: {} {}", request.method, request.path))),
    };
    Ok((node.map_err(business)?, paid))
}

/// The file parts of a multipart request (none for a JSON one).
fn multipart_files(request: &HttpRequest) -> Result<Vec<crate::catalogue::UploadedFile>, Refusal> {
    let content_type = request.header("content-type").unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        return Ok(Vec::new());
    }
    let boundary = super::gateway::multipart_boundary(content_type)
        .ok_or_else(|| refuse(400, "invalid-parameter", "multipart 缺少 boundary"))?;
    Ok(super::gateway::multipart_parts(&request.body, &boundary)
        .into_iter()
        .filter(|part| part.file_name.is_some())
        .map(|part| crate::catalogue::UploadedFile {
            name: String::from_utf8_lossy(&part.name).into_owned(),
            bytes: part.content,
        })
        .collect())
}

/// The body that is signed: the request body, or the `data` part of a multipart request.
fn signed_body(request: &HttpRequest) -> Result<String, Refusal> {
    let content_type = request.header("content-type").unwrap_or_default();
    let bytes = if content_type.starts_with("multipart/form-data") {
        let boundary = super::gateway::multipart_boundary(content_type)
            .ok_or_else(|| refuse(400, "invalid-parameter", "multipart 缺少 boundary"))?;
        super::gateway::multipart_text_parts(&request.body, &boundary)
            .into_iter()
            .find(|(name, _)| name == b"data")
            .map(|(_, content)| content)
            .unwrap_or_default()
    } else {
        request.body.clone()
    };
    String::from_utf8(bytes).map_err(|_| refuse(400, "invalid-parameter", "请求体不是 UTF-8"))
}

impl Shared {
    /// `alipay-timestamp`, `alipay-nonce`, `alipay-signature` over `timestamp\nnonce\nbody\n`
    /// with the current Alipay key (another key when told to fault), and in certificate mode
    /// `alipay-sn`.
    fn sign_v3_answer(&self, body: &[u8], wrong_key: bool) -> Vec<(String, String)> {
        let (key, sn) = self.alipay_signer(wrong_key);
        let timestamp = self.clock.now().timestamp_millis().to_string();
        let nonce = alipay_core::random::hex::<16>("a v3 answer nonce").unwrap_or_default();
        let content = alipay_core::primitives::v3::answer_sign_content(&timestamp, &nonce, body);
        let signature = key.sign(&content, SignType::Rsa2).unwrap_or_default();
        let mut headers = vec![
            ("alipay-timestamp".to_string(), timestamp),
            ("alipay-nonce".to_string(), nonce),
            ("alipay-signature".to_string(), signature),
        ];
        if self.mode == AppMode::Certificate {
            headers.push(("alipay-sn".to_string(), sn));
        }
        headers
    }
}
