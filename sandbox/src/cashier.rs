//! The cashier (page and wap pay in a browser) and the dashboard: plain server-rendered HTML,
//! every value escaped.
//!
//! A page-pay form posted to the gateway (or its GET URL opened) is checked like every call; a
//! good one opens the trade and renders the cashier in the request's charset; a bad one renders
//! an Alipay-style error page naming the `sub_code`. "Pay" marks the trade paid, sends the
//! notification, and redirects the browser to `return_url` with the signed synchronous return
//! parameters; "Cancel" closes the trade and goes back to `quit_url` (or `return_url`, unsigned).

use alipay_core::charset::Charset;
use alipay_core::notify::Rule;
use alipay_core::primitives::escape::html_escape;
use alipay_core::primitives::gateway::format_timestamp;

use super::{AppMode, Shared};
use crate::faults::{Fault, FaultRule};
use crate::http::Reply;

/// A page or wap pay waiting on the cashier.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// When it was opened: the oldest goes first when there are too many.
    pub opened: std::time::Instant,
    pub out_trade_no: String,
    pub method: String,
    pub return_url: Option<String>,
    pub quit_url: Option<String>,
    pub charset: Charset,
}

/// Whether `method` is paid at the cashier.
pub(crate) fn is_cashier_method(method: &str) -> bool {
    matches!(method, "alipay.trade.page.pay" | "alipay.trade.wap.pay")
}

fn page(charset: Charset, title: &str, body: &str) -> Reply {
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"{}\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.error{{color:#b00}}</style></head>\
         <body>{body}</body></html>",
        charset.as_str(),
        html_escape(title)
    );
    // In GBK, a character it cannot carry becomes an HTML character reference (`&#…;`).
    let bytes = match charset {
        Charset::Gbk => encoding_rs::GBK.encode(&html).0.into_owned(),
        Charset::Gb18030 => encoding_rs::GB18030.encode(&html).0.into_owned(),
        _ => html.into_bytes(),
    };
    let content_type = match charset {
        Charset::Gbk => "text/html;charset=GBK",
        Charset::Gb18030 => "text/html;charset=GB18030",
        _ => "text/html;charset=utf-8",
    };
    Reply::Full { status: 200, content_type, body: bytes }
}

/// The cashier page of a session.
pub(crate) fn render(shared: &Shared, token: &str, session: &Session) -> Reply {
    let trade = crate::lock(&shared.ledger).get(&session.out_trade_no);
    let Some(trade) = trade else { return error_page(session.charset, "ACQ.TRADE_NOT_EXIST", "交易不存在") };
    let body = format!(
        "<h1>支付宝沙箱收银台 · Sandbox cashier</h1>\
         <table>\
         <tr><th>Merchant app</th><td id=\"app-id\">{app}</td></tr>\
         <tr><th>Order</th><td id=\"out-trade-no\">{out}</td></tr>\
         <tr><th>Subject</th><td id=\"subject\">{subject}</td></tr>\
         <tr><th>Amount</th><td id=\"amount\">￥{amount}</td></tr>\
         </table>\
         <form method=\"post\" action=\"/sandbox/cashier/pay\" style=\"display:inline\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button id=\"pay\" type=\"submit\">Pay as the sandbox buyer</button></form> \
         <form method=\"post\" action=\"/sandbox/cashier/cancel\" style=\"display:inline\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button id=\"cancel\" type=\"submit\">Cancel</button></form>",
        app = html_escape(&shared.app_id),
        out = html_escape(&trade.out_trade_no),
        subject = html_escape(&trade.subject),
        amount = html_escape(&trade.total_amount.to_string()),
        token = html_escape(token),
    );
    page(session.charset, "支付宝 - 网上支付 安全快速！", &body)
}

/// The page a refused page-pay request gets, naming the `sub_code` as Alipay's does.
pub(crate) fn error_page(charset: Charset, sub_code: &str, sub_msg: &str) -> Reply {
    let body = format!(
        "<h1 class=\"error\">支付宝 · 错误 Error</h1><p>抱歉，您的操作出错了。Sorry, the request was refused.</p>\
         <p>错误代码 Error code: <code id=\"sub-code\">{}</code></p><p id=\"sub-msg\">{}</p>",
        html_escape(sub_code),
        html_escape(sub_msg)
    );
    page(charset, "支付宝 - 错误", &body)
}

/// A 303 to `location`.
pub(crate) fn see_other(location: &str) -> Reply {
    // Never a header split: a location with a control character is not sent.
    if location.chars().any(char::is_control) {
        return error_page(Charset::Utf8, "isv.invalid-parameter", "跳转地址含有控制字符 (CR/LF)");
    }
    Reply::Headed {
        status: 303,
        content_type: "text/plain",
        headers: vec![("location".into(), location.to_string())],
        body: Vec::new(),
    }
}

fn token_of(body: &[u8]) -> String {
    url::form_urlencoded::parse(body).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).unwrap_or_default()
}

fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// "Pay as the sandbox buyer".
pub(crate) fn pay(shared: &std::sync::Arc<Shared>, body: &[u8]) -> Reply {
    let token = token_of(body);
    let Some(session) = crate::lock(&shared.cashier).remove(&token) else {
        return error_page(Charset::Utf8, "ACQ.CASHIER_SESSION_EXPIRED", "收银台会话不存在或已使用");
    };
    let now = shared.clock.now();
    let paid = crate::lock(&shared.ledger).buyer_pays(&session.out_trade_no, now);
    let trade = match paid {
        Ok(Some(trade)) => {
            shared.notify(trade.clone());
            trade
        }
        Ok(None) => match crate::lock(&shared.ledger).get(&session.out_trade_no) {
            Some(trade) => trade,
            None => return error_page(session.charset, "ACQ.TRADE_NOT_EXIST", "交易不存在"),
        },
        Err(error) => return error_page(session.charset, error.sub_code, &error.sub_msg),
    };
    let Some(return_url) = &session.return_url else {
        return page(session.charset, "支付成功", "<h1 id=\"paid\">支付成功 · Paid</h1>");
    };
    let (key, sn) = shared.alipay_signer(false);
    let partner = crate::lock(&shared.pki).partner_id.clone();
    let mut params: Vec<(String, String)> = vec![
        ("out_trade_no".into(), trade.out_trade_no.clone()),
        ("trade_no".into(), trade.trade_no.clone()),
        ("total_amount".into(), trade.total_amount.to_string()),
        ("seller_id".into(), partner),
        ("method".into(), format!("{}.return", session.method)),
        ("timestamp".into(), format_timestamp(now)),
        ("app_id".into(), shared.app_id.clone()),
        ("auth_app_id".into(), shared.app_id.clone()),
        ("charset".into(), session.charset.as_str().into()),
        ("version".into(), "1.0".into()),
        ("sign_type".into(), shared.sign_type.as_str().into()),
    ];
    if shared.mode == AppMode::Certificate {
        params.push(("alipay_cert_sn".into(), sn));
    }
    let Ok(sign) =
        alipay_core::primitives::notification::sign_params(&params, Rule::V1, &key, shared.sign_type, session.charset)
    else {
        return error_page(session.charset, "isp.unknow-error", "签名失败");
    };
    params.push(("sign".into(), sign));
    let query = alipay_core::primitives::gateway::encode_pairs(params.iter(), session.charset).unwrap_or_default();
    see_other(&with_query(return_url, &query))
}

/// "Cancel": the trade is closed, the buyer goes back to the merchant without a signed return.
pub(crate) fn cancel(shared: &std::sync::Arc<Shared>, body: &[u8]) -> Reply {
    let token = token_of(body);
    let Some(session) = crate::lock(&shared.cashier).remove(&token) else {
        return error_page(Charset::Utf8, "ACQ.CASHIER_SESSION_EXPIRED", "收银台会话不存在或已使用");
    };
    let close = serde_json::json!({ "out_trade_no": session.out_trade_no });
    let _ = crate::lock(&shared.ledger).close(&close);
    match session.quit_url.or(session.return_url) {
        Some(url) => see_other(&url),
        None => page(session.charset, "已取消", "<h1 id=\"cancelled\">已取消 · Cancelled</h1>"),
    }
}

fn fault_name(fault: &Fault) -> String {
    match fault {
        Fault::Code { sub_code, .. } => format!("Code({sub_code})"),
        other => format!("{other:?}"),
    }
}

/// The dashboard: trades, refunds, notifications with every attempt, the Alipay certificate
/// with a rotate button, the faults in force with a form to set one.
pub(crate) fn dashboard(shared: &Shared) -> Reply {
    let mut trades = crate::lock(&shared.ledger).all();
    trades.sort_by_key(|t| std::cmp::Reverse(t.created));
    let movements = crate::lock(&shared.ledger).movements();
    let mut html = String::from("<h1>Alipay sandbox</h1>");
    let (sn, identities) = {
        let pki = crate::lock(&shared.pki);
        (pki.identities.last().map(|i| i.sn().to_string()).unwrap_or_default(), pki.identities.len())
    };
    html += &format!(
        "<h2>Alipay certificate</h2><p>app <code>{}</code>, current alipay_cert_sn <code id=\"alipay-cert-sn\">{}</code> \
         ({identities} issued)</p><form method=\"post\" action=\"/sandbox/dashboard/rotate\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button id=\"rotate\" type=\"submit\">Rotate the Alipay certificate</button></form>",
        html_escape(&shared.app_id),
        html_escape(&sn),
        csrf = html_escape(&shared.control_token),
    );
    html += "<h2>Trades</h2><table id=\"trades\"><tr><th>out_trade_no</th><th>trade_no</th><th>subject</th>\
             <th>amount</th><th>status</th><th>created</th></tr>";
    for trade in &trades {
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&trade.out_trade_no),
            html_escape(&trade.trade_no),
            html_escape(&trade.subject),
            html_escape(&trade.total_amount.to_string()),
            html_escape(trade.status.as_str()),
            html_escape(&format_timestamp(trade.created))
        );
    }
    html += "</table><h2>Refunds</h2><table id=\"refunds\"><tr><th>out_trade_no</th><th>out_request_no</th>\
             <th>amount</th><th>at</th></tr>";
    for refund in movements.iter().filter(|m| m.cents < 0) {
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}.{:02}</td><td>{}</td></tr>",
            html_escape(&refund.out_trade_no),
            html_escape(refund.refund_request_no.as_deref().unwrap_or("")),
            refund.cents.unsigned_abs() / 100,
            refund.cents.unsigned_abs() % 100,
            html_escape(&format_timestamp(refund.at))
        );
    }
    html += "</table><h2>Notifications</h2><table id=\"notifications\"><tr><th>notify_id</th><th>out_trade_no</th>\
             <th>url</th><th>attempts and answers</th><th>acknowledged</th></tr>";
    for delivery in crate::lock(&shared.deliveries).iter() {
        let answers: Vec<String> =
            delivery.answers.iter().enumerate().map(|(i, a)| format!("{}. {}", i + 1, html_escape(a))).collect();
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&delivery.notify_id),
            html_escape(&delivery.out_trade_no),
            html_escape(&delivery.url),
            answers.join("<br>"),
            if delivery.acknowledged { "yes" } else { "no" }
        );
    }
    html += "</table><h2>Faults</h2><table id=\"faults\"><tr><th>method</th><th>fault</th><th>probability</th>\
             <th>times left</th></tr>";
    for (method, rules) in crate::lock(&shared.faults).rules() {
        for rule in rules {
            html += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&method),
                html_escape(&fault_name(&rule.fault)),
                rule.probability,
                rule.times.map_or_else(|| "∞".to_string(), |t| t.to_string())
            );
        }
    }
    html += &format!(
        "</table><form method=\"post\" action=\"/sandbox/dashboard/faults\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html_escape(&shared.control_token)
    );
    html += "method <input name=\"method\" value=\"*\"> fault <select name=\"fault\">\
             <option>none</option><option>ResetBeforeProcessing</option><option>ResetAfterProcessing</option>\
             <option>ServerErrorHtml</option><option>TruncatedBody</option><option>UnsignedErrorResponse</option>\
             <option>WrongKeySignature</option><option>DuplicatedNode</option></select> \
             probability <input name=\"probability\" value=\"1.0\" size=\"4\"> \
             <button id=\"set-fault\" type=\"submit\">Set</button></form>";
    page(Charset::Utf8, "Alipay sandbox", &html)
}

/// The dashboard's fault form: one rule for a method (`none` clears the method's rules).
pub(crate) fn set_faults(shared: &Shared, body: &[u8]) -> Reply {
    let field = |name: &str| {
        url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    let method = field("method");
    let method = if method.trim().is_empty() { "*".to_string() } else { method.trim().to_string() };
    let probability = field("probability").parse::<f64>().unwrap_or(1.0);
    let fault = match field("fault").as_str() {
        "ResetBeforeProcessing" => Some(Fault::ResetBeforeProcessing),
        "ResetAfterProcessing" => Some(Fault::ResetAfterProcessing),
        "ServerErrorHtml" => Some(Fault::ServerErrorHtml),
        "TruncatedBody" => Some(Fault::TruncatedBody),
        "UnsignedErrorResponse" => Some(Fault::UnsignedErrorResponse),
        "WrongKeySignature" => Some(Fault::WrongKeySignature),
        "DuplicatedNode" => Some(Fault::DuplicatedNode),
        _ => None,
    };
    let rules = fault.map(|f| vec![FaultRule::sometimes(f, probability)]).unwrap_or_default();
    crate::lock(&shared.faults).set(&method, rules);
    see_other("/")
}
