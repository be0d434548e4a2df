//! The gateway: checks each request the way Alipay does, runs it, signs the answer.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{FixedOffset, NaiveDateTime};
use serde_json::{Map, Value, json};

use super::faults::Fault;
use super::http::{HttpRequest, Reply};
use super::ledger::{BizError, NotifyTarget, Trade};
use super::{AppMode, Shared};
use alipay_core::charset::Charset;
use alipay_core::key::{PublicKey, SignType};
use alipay_core::primitives::gateway::node_name;

/// A protocol or business failure to answer with.
struct Failure {
    code: &'static str,
    msg: &'static str,
    sub_code: String,
    sub_msg: String,
}

fn missing(sub_code: &str, sub_msg: &str) -> Failure {
    Failure { code: "40001", msg: "Missing Required Arguments", sub_code: sub_code.into(), sub_msg: sub_msg.into() }
}

fn invalid(sub_code: &str, sub_msg: impl Into<String>) -> Failure {
    Failure { code: "40002", msg: "Invalid Arguments", sub_code: sub_code.into(), sub_msg: sub_msg.into() }
}

/// The gateway's refusal of a method it does not serve: answered in `error_response`, not in
/// the method's node.
fn unknown_method(processed: &mut Processed, method: &str) -> Failure {
    processed.method = None;
    invalid("isv.invalid-method", format!("不存在的方法名: {method}"))
}

impl From<crate::services::ServiceFailure> for Failure {
    fn from(failure: crate::services::ServiceFailure) -> Self {
        Failure { code: failure.code, msg: failure.msg, sub_code: failure.sub_code.into(), sub_msg: failure.sub_msg }
    }
}

impl From<BizError> for Failure {
    fn from(error: BizError) -> Self {
        Failure { code: "40004", msg: "Business Failed", sub_code: error.sub_code.into(), sub_msg: error.sub_msg }
    }
}

/// What processing produced.
struct Processed {
    method: Option<String>,
    charset: Charset,
    node: Result<Map<String, Value>, Failure>,
    encrypt: Option<alipay_core::aes::EncryptType>,
    paid: Option<Trade>,
}

/// Handles one gateway request, faults included.
pub(crate) async fn handle(shared: Arc<Shared>, request: HttpRequest) -> Reply {
    let params = match parameters(&request) {
        Ok(params) => params,
        Err((charset, failure)) => {
            return Reply::Full {
                status: 200,
                content_type: content_type(charset),
                body: shared.signed_body(None, Err(failure), charset, None, None),
            };
        }
    };
    let method = get(&params.values, "method").map(str::to_string);
    let fault = method.as_deref().and_then(|m| crate::lock(&shared.faults).pick(m));
    if let Some(m) = &method {
        crate::record_request(&shared, m);
    }
    if fault == Some(Fault::ResetBeforeProcessing) {
        return Reply::Reset;
    }
    let mut processed = process(&shared, &params);
    // Page and wap pay: the browser gets the cashier, or an error page naming the sub_code.
    if method.as_deref().is_some_and(crate::cashier::is_cashier_method) {
        return match processed.node {
            Ok(node) => {
                let token = node.get("cashier_token").and_then(Value::as_str).unwrap_or_default().to_string();
                let session = crate::lock(&shared.cashier).get(&token).cloned();
                match session {
                    Some(session) => crate::cashier::render(&shared, &token, &session),
                    None => crate::cashier::error_page(params.charset, "isp.unknow-error", "收银台会话丢失"),
                }
            }
            Err(failure) => crate::cashier::error_page(params.charset, &failure.sub_code, &failure.sub_msg),
        };
    }
    if let Some(Fault::Code { code, msg, sub_code }) = &fault {
        let sub_msg = format!("sandbox fault: {sub_code}");
        processed.node = Err(Failure { code, msg, sub_code: sub_code.to_string(), sub_msg });
    }
    if let Some(trade) = processed.paid.clone() {
        shared.notify(trade);
    }
    let charset = processed.charset;
    let body =
        shared.signed_body(processed.method.as_deref(), processed.node, charset, processed.encrypt, fault.clone());
    let content_type = content_type(charset);
    match fault {
        Some(Fault::ResetAfterProcessing) => Reply::Reset,
        Some(Fault::ServerErrorHtml) => Reply::Full {
            status: 502,
            content_type: "text/html",
            body: b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
                .to_vec(),
        },
        Some(Fault::TruncatedBody) => Reply::Truncated { body },
        Some(Fault::SlowBody(duration)) => Reply::Slow { body, duration },
        _ => Reply::Full { status: 200, content_type, body },
    }
}

fn content_type(charset: Charset) -> &'static str {
    match charset {
        Charset::Gbk => "text/html;charset=GBK",
        Charset::Gb18030 => "text/html;charset=GB18030",
        _ => "text/html;charset=utf-8",
    }
}

/// The request's parameters, decoded once in the request's charset, and an upload's files.
struct Params {
    charset: Charset,
    values: Vec<(String, String)>,
    files: Vec<crate::catalogue::UploadedFile>,
}

fn get<'a>(values: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn parameters(request: &HttpRequest) -> Result<Params, (Charset, Failure)> {
    let mut raw: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut add_form = |bytes: &[u8]| -> Result<(), Failure> {
        for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let at = pair.iter().position(|b| *b == b'=').unwrap_or(pair.len());
            let name = percent_decode(&pair[..at]).ok_or_else(|| invalid("isv.invalid-parameter", "参数编码错误"))?;
            let value = percent_decode(pair.get(at + 1..).unwrap_or_default())
                .ok_or_else(|| invalid("isv.invalid-parameter", "参数编码错误"))?;
            raw.push((name, value));
        }
        Ok(())
    };
    add_form(request.query.as_bytes()).map_err(|f| (Charset::Utf8, f))?;
    let content_type = request.header("content-type").unwrap_or("").to_string();
    let mut files = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multipart_boundary(&content_type)
            .ok_or_else(|| (Charset::Utf8, invalid("isv.invalid-parameter", "multipart 缺少 boundary")))?;
        for part in multipart_parts(&request.body, &boundary) {
            match part.file_name {
                Some(_) => files.push(crate::catalogue::UploadedFile {
                    name: String::from_utf8_lossy(&part.name).into_owned(),
                    bytes: part.content,
                }),
                None => raw.push((part.name, part.content)),
            }
        }
    } else {
        add_form(&request.body).map_err(|f| (Charset::Utf8, f))?;
    }
    let charset_name = raw.iter().find(|(k, _)| k == b"charset").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let charset = match charset_name.as_deref() {
        None | Some("") => return Err((Charset::Utf8, missing("isv.missing-charset", "缺少字符集参数"))),
        Some(name) => name
            .parse::<Charset>()
            .map_err(|_| (Charset::Utf8, invalid("isv.invalid-charset", format!("字符集不合法: {name}"))))?,
    };
    let mut values = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let decode = |bytes: &[u8]| charset.decode(bytes, "parameter").map(|c| c.into_owned());
        let (Ok(name), Ok(value)) = (decode(&name), decode(&value)) else {
            return Err((charset, invalid("isv.invalid-charset", format!("参数不是合法的 {charset} 编码"))));
        };
        if values.iter().any(|(k, _): &(String, String)| *k == name) {
            return Err((charset, invalid("isv.invalid-parameter", format!("参数重复: {name}"))));
        }
        values.push((name, value));
    }
    Ok(Params { charset, values, files })
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    alipay_core::primitives::notification::percent_decode(input).ok()
}

/// The `boundary` parameter of a multipart `Content-Type`.
pub(crate) fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_string())
}

/// One part of a multipart body.
pub(crate) struct Part {
    pub(crate) name: Vec<u8>,
    /// Set for a file part (its `filename`).
    pub(crate) file_name: Option<String>,
    pub(crate) content: Vec<u8>,
}

/// The parts of a multipart body, text and file.
pub(crate) fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(end) = find(rest, delimiter.as_bytes()) else { break };
        let part = &rest[..end];
        let Some(split) = find(part, b"\r\n\r\n") else { continue };
        let headers = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        // The names from the Content-Disposition line only (other part headers may follow it).
        let disposition =
            headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:")).unwrap_or_default();
        let attribute = |key: &str| {
            disposition
                .split(';')
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|n| n.trim().trim_matches('"').to_string())
        };
        if let Some(name) = attribute("name=") {
            parts.push(Part { name: name.into_bytes(), file_name: attribute("filename="), content: content.to_vec() });
        }
    }
    parts
}

/// Text parts of a multipart body (file parts are not signed).
pub(crate) fn multipart_text_parts(body: &[u8], boundary: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    multipart_parts(body, boundary).into_iter().filter(|p| p.file_name.is_none()).map(|p| (p.name, p.content)).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn process(shared: &Shared, params: &Params) -> Processed {
    let values = &params.values;
    let charset = params.charset;
    let method = get(values, "method").map(str::to_string);
    let mut processed = Processed { method: method.clone(), charset, node: Ok(Map::new()), encrypt: None, paid: None };
    processed.node = check_and_run(shared, params, &mut processed);
    processed
}

fn check_and_run(shared: &Shared, params: &Params, processed: &mut Processed) -> Result<Map<String, Value>, Failure> {
    let values = &params.values;
    let method = get(values, "method").ok_or_else(|| missing("isv.missing-method", "缺少方法名参数"))?;
    let app_id = get(values, "app_id").ok_or_else(|| missing("isv.missing-app-id", "缺少AppID参数"))?;
    if app_id != shared.app_id {
        return Err(invalid("isv.invalid-app-id", format!("无效的AppID参数: {app_id}")));
    }
    let sign = get(values, "sign")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("isv.missing-signature", "缺少签名参数"))?;
    let sign_type_text =
        get(values, "sign_type").ok_or_else(|| missing("isv.missing-signature-type", "缺少签名类型"))?;
    let sign_type = match (sign_type_text, shared.mode) {
        // The registered app's algorithm decides; the message only has to agree.
        ("RSA2", _) if shared.sign_type == SignType::Rsa2 => SignType::Rsa2,
        ("RSA", AppMode::PublicKey) if shared.sign_type == SignType::Rsa2 => SignType::Rsa,
        ("SM2", _) if shared.sign_type == SignType::Sm2 => SignType::Sm2,
        (other, _) => return Err(invalid("isv.invalid-signature-type", format!("无效签名类型: {other}"))),
    };
    let timestamp = get(values, "timestamp").ok_or_else(|| missing("isv.missing-timestamp", "缺少时间戳参数"))?;
    let china = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let sent = NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|naive| naive.and_local_timezone(china).single())
        .ok_or_else(|| invalid("isv.invalid-timestamp", format!("非法的时间戳参数: {timestamp}")))?;
    let drift = (shared.clock.now() - sent.to_utc()).abs();
    if drift > shared.timestamp_window {
        return Err(invalid(
            "isv.invalid-timestamp",
            format!("时间戳 {timestamp} 与网关时间相差超过 {} 分钟", shared.timestamp_window.num_minutes()),
        ));
    }
    if get(values, "version").is_some_and(|v| v != "1.0") {
        return Err(invalid("isv.invalid-version", "版本号不合法"));
    }
    let (verify_key, pki_root_sn, pki_app_sn) = shared.registered_app();
    if shared.mode == AppMode::Certificate {
        let app_sn =
            get(values, "app_cert_sn").ok_or_else(|| missing("isv.missing-app-cert-sn", "缺少应用公钥证书序列号"))?;
        if app_sn != pki_app_sn {
            return Err(invalid("isv.invalid-app-cert-sn", format!("应用公钥证书序列号不匹配: {app_sn}")));
        }
        let root_sn = get(values, "alipay_root_cert_sn")
            .ok_or_else(|| missing("isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号"))?;
        if root_sn != pki_root_sn {
            return Err(invalid("isv.invalid-alipay-root-cert-sn", format!("支付宝根证书序列号不匹配: {root_sn}")));
        }
    }
    let content = alipay_core::primitives::gateway::sign_content(values.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let bytes =
        params.charset.encode(&content, "sign content").map_err(|e| invalid("isv.invalid-charset", e.to_string()))?;
    if !verify_key.is_some_and(|key| key.verify(&bytes, sign, sign_type)) {
        return Err(invalid(
            "isv.invalid-signature",
            // Alipay echoes the content it verified, HTML-escaped.
            format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥证书是否匹配，网关生成的验签字符串为：{}",
                alipay_core::primitives::escape::xml_escape(&content)
            ),
        ));
    }
    if shared.v3_only.iter().any(|only| only == method) {
        return Err(unknown_method(processed, method));
    }
    let mut biz_text = get(values, "biz_content").unwrap_or("{}").to_string();
    if let Some(kind) = get(values, "encrypt_type") {
        let scheme: alipay_core::aes::EncryptType =
            kind.parse().map_err(|_| invalid("isv.invalid-encrypt-type", format!("不支持的加密类型: {kind}")))?;
        // The app's key, used with the scheme the request names; the answer uses it too.
        let key = shared
            .aes
            .clone()
            .with_encrypt_type(scheme)
            .map_err(|_| invalid("isv.invalid-encrypt-type", format!("密钥不支持加密类型: {kind}")))?;
        let plain = key.decrypt(&biz_text).map_err(|_| invalid("isv.decryption-error", "解密出错"))?;
        biz_text = params
            .charset
            .decode(&plain, "biz_content")
            .map_err(|_| invalid("isv.decryption-error", "解密出错"))?
            .into_owned();
        processed.encrypt = Some(scheme);
    }
    let biz: Value = serde_json::from_str(&biz_text)
        .map_err(|_| invalid("isv.invalid-biz-content", "biz_content 不是合法的 JSON"))?;
    if !biz.is_object() {
        return Err(invalid("isv.invalid-biz-content", "biz_content 必须是 JSON 对象"));
    }
    let notify = get(values, "notify_url").map(|url| NotifyTarget { url: url.to_string(), charset: params.charset });
    let now = shared.clock.now();
    let mut ledger = crate::lock(&shared.ledger);
    if method == "alipay.data.dataservice.bill.downloadurl.query" {
        let movements = ledger.movements();
        drop(ledger);
        let partner = crate::lock(&shared.pki).partner_id.clone();
        let mut services = crate::lock(&shared.services);
        let transfers = services.transfers.clone();
        let token = services
            .bill_link(&biz, now, |bill_type, day| {
                crate::bill::zip(bill_type, day, &partner, &movements, &transfers, now)
            })
            .map_err(Failure::from)?;
        let mut node = Map::new();
        node.insert("bill_download_url".into(), format!("{}/sandbox/bill/{token}.zip", shared.base_url).into());
        return Ok(node);
    }
    {
        let partner = crate::lock(&shared.pki).partner_id.clone();
        let caller = crate::services::Caller {
            app_id: &shared.app_id,
            partner_id: &partner,
            certificate_mode: shared.mode == AppMode::Certificate,
            now,
            params: values,
        };
        if let Some(result) = crate::lock(&shared.services).handle(method, &biz, &caller, &ledger) {
            return result.map_err(Failure::from);
        }
    }
    if crate::catalogue::Catalogue::METHODS.contains(&method) {
        drop(ledger);
        // An upload's fields come as text parameters beside the files, not in biz_content.
        let mut fields = biz.as_object().cloned().unwrap_or_default();
        if !params.files.is_empty() {
            let is_system = |name: &str| alipay_core::primitives::gateway::SYSTEM_PARAMS.contains(&name);
            for (name, value) in values.iter().filter(|(name, _)| !is_system(name)) {
                fields.insert(name.clone(), value.clone().into());
            }
        }
        let handled = crate::lock(&shared.catalogue).handle(method, &fields, &params.files, now);
        return handled.unwrap_or_else(|| Ok(Map::new())).map_err(Failure::from);
    }
    let result = match method {
        "alipay.trade.precreate" => ledger.precreate(&biz, notify, now),
        "alipay.trade.create" => ledger.create(&biz, notify, now),
        "alipay.trade.pay" => {
            let (result, newly_paid) = ledger.pay(&biz, notify, now)?;
            if newly_paid {
                let out = biz.get("out_trade_no").and_then(Value::as_str).unwrap_or_default();
                processed.paid = ledger.get(out);
            }
            result
        }
        "alipay.trade.page.pay" | "alipay.trade.wap.pay" => {
            let return_url = get(values, "return_url").map(str::to_string);
            let quit_url = biz.get("quit_url").and_then(Value::as_str).map(str::to_string);
            for (name, url) in [("return_url", &return_url), ("quit_url", &quit_url)] {
                if url.as_deref().is_some_and(|url| url.chars().any(char::is_control)) {
                    return Err(invalid("isv.invalid-parameter", format!("{name} 含有控制字符 (CR/LF 等)")));
                }
            }
            let mut node = ledger.create(&biz, notify, now)?;
            let token = {
                let mut bytes = [0u8; 16];
                openssl::rand::rand_bytes(&mut bytes).map_err(|_| invalid("isp.unknow-error", "随机数失败"))?;
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            let session = crate::cashier::Session {
                opened: std::time::Instant::now(),
                out_trade_no: biz.get("out_trade_no").and_then(Value::as_str).unwrap_or_default().to_string(),
                method: method.to_string(),
                return_url,
                quit_url,
                charset: params.charset,
            };
            let mut sessions = crate::lock(&shared.cashier);
            if sessions.len() >= MAX_CASHIER_SESSIONS
                && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.opened).map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
            sessions.insert(token.clone(), session);
            drop(sessions);
            node.insert("cashier_token".into(), token.into());
            Ok(node)
        }
        "alipay.trade.query" => ledger.query(&biz),
        "alipay.trade.refund" => ledger.refund(&biz, now),
        "alipay.trade.fastpay.refund.query" => ledger.refund_query(&biz),
        "alipay.trade.close" => ledger.close(&biz),
        "alipay.trade.cancel" => ledger.cancel(&biz, now),
        "alipay.open.app.alipaycert.download" => {
            drop(ledger);
            return download(shared, &biz);
        }
        other => return Err(unknown_method(processed, other)),
    };
    Ok(result?)
}

/// The most cashier sessions waiting at once (the oldest is dropped).
const MAX_CASHIER_SESSIONS: usize = 1000;

fn download(shared: &Shared, biz: &Value) -> Result<Map<String, Value>, Failure> {
    let wanted = biz
        .get("alipay_cert_sn")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("isv.missing-parameter", "缺少必选参数 alipay_cert_sn"))?;
    let pki = crate::lock(&shared.pki);
    let identity = pki.identities.iter().find(|i| i.sn() == wanted).ok_or_else(|| {
        Failure::from(BizError {
            sub_code: "isv.alipay-cert-not-exist",
            sub_msg: format!("支付宝公钥证书不存在: {wanted}"),
        })
    })?;
    let mut node = Map::new();
    node.insert("alipay_cert_content".into(), STANDARD.encode(identity.pem()).into());
    Ok(node)
}

impl Shared {
    /// What requests of the registered app are checked against: its public key (from its
    /// certificate in certificate mode), the root SN and the app certificate's SN.
    pub(crate) fn registered_app(&self) -> (Option<PublicKey>, String, String) {
        let pki = crate::lock(&self.pki);
        let key = match self.mode {
            AppMode::Certificate => PublicKey::from_certificate(pki.app_cert.leaf()).ok(),
            AppMode::PublicKey => Some(pki.app_key.public_key()),
        };
        (key, pki.roots.sn_for(pki.algorithm).unwrap_or_default().to_string(), pki.app_cert.sn().to_string())
    }

    /// The key answers are signed with and its certificate's SN: the current Alipay identity,
    /// or a key that is not Alipay's when a fault says so.
    pub(crate) fn alipay_signer(&self, wrong_key: bool) -> (alipay_core::key::PrivateKey, String) {
        let pki = crate::lock(&self.pki);
        let current = pki.identities.last().expect("an Alipay identity");
        let key = if wrong_key { self.wrong_key.clone() } else { current.key.clone() };
        (key, current.sn().to_string())
    }

    /// The response body: the node signed with the current Alipay key (or faulted as told).
    fn signed_body(
        &self,
        method: Option<&str>,
        node: Result<Map<String, Value>, Failure>,
        charset: Charset,
        encrypt: Option<alipay_core::aes::EncryptType>,
        fault: Option<Fault>,
    ) -> Vec<u8> {
        let is_error = node.is_err();
        // Alipay's login token exchange answers success without code and msg, and its
        // failures as error_response.
        let login = method == Some("alipay.system.oauth.token");
        let method = if login && is_error { None } else { method };
        let mut fields = Map::new();
        match node {
            Ok(values) => {
                if !login {
                    fields.insert("code".into(), "10000".into());
                    fields.insert("msg".into(), "Success".into());
                }
                fields.extend(values);
            }
            Err(failure) => {
                fields.insert("code".into(), failure.code.into());
                fields.insert("msg".into(), failure.msg.into());
                fields.insert("sub_code".into(), failure.sub_code.into());
                fields.insert("sub_msg".into(), failure.sub_msg.into());
            }
        }
        let name = method.map_or_else(|| "error_response".to_string(), node_name);
        let mut node_text = Value::Object(fields).to_string();
        if let Some(scheme) = encrypt
            && !is_error
            && let Ok(key) = self.aes.clone().with_encrypt_type(scheme)
            && let Ok(encrypted) = key.encrypt(node_text.as_bytes())
        {
            node_text = Value::String(encrypted).to_string();
        }
        if fault == Some(Fault::UnsignedErrorResponse) {
            let forged = json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "forged"});
            let text = json!({ "error_response": forged }).to_string();
            return charset.encode(&text, "response").map(|b| b.into_owned()).unwrap_or_else(|_| text.into_bytes());
        }
        let (key, sn) = self.alipay_signer(fault == Some(Fault::WrongKeySignature));
        let node_bytes = charset
            .encode(&node_text, "response")
            .map(|b| b.into_owned())
            .unwrap_or_else(|_| node_text.clone().into_bytes());
        let sign = key.sign(&node_bytes, self.sign_type).unwrap_or_default();
        let mut body = format!("{{\"{name}\":").into_bytes();
        body.extend_from_slice(&node_bytes);
        if fault == Some(Fault::DuplicatedNode) {
            let forged = node_text.replace("WAIT_BUYER_PAY", "TRADE_SUCCESS").replace("\"10000\"", "\"10000\" ");
            body.extend_from_slice(format!(",\"{name}\":{forged}").as_bytes());
        }
        if fault == Some(Fault::Unsigned) {
            body.push(b'}');
            return body;
        }
        if self.mode == AppMode::Certificate {
            body.extend_from_slice(format!(",\"alipay_cert_sn\":\"{sn}\"").as_bytes());
        }
        body.extend_from_slice(format!(",\"sign\":\"{sign}\"}}").as_bytes());
        body
    }
}
