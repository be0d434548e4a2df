//! The cashier (page and wap pay in a browser): server-rendered HTML, every value escaped.
//!
//! A page-pay form posted to the gateway (or its GET URL opened) is checked like every call; a
//! good one opens the trade and renders the cashier in the request's charset; a bad one renders
//! an Alipay-style error page naming the `sub_code`. "Pay" marks the trade paid, sends the
//! notification, and redirects the browser to `return_url` with the signed synchronous return
//! parameters; "Cancel" closes the trade and goes back to `quit_url` (or `return_url`, unsigned).

use alipay_core::charset::Charset;
use alipay_core::notify::Rule;
use alipay_core::primitives::gateway::format_timestamp;
use maud::html;

use super::{AppMode, Shared};
use crate::http::Reply;
use crate::pages::{card, page, see_other};

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

/// The cashier page of a session.
pub(crate) fn render(shared: &Shared, token: &str, session: &Session) -> Reply {
    let trade = crate::lock(&shared.ledger).get(&session.out_trade_no);
    let Some(trade) = trade else { return error_page(session.charset, "ACQ.TRADE_NOT_EXIST", "交易不存在") };
    let kind = if session.method == "alipay.trade.wap.pay" {
        "手机网站支付 Wap pay"
    } else {
        "电脑网站支付 Page pay"
    };
    let top = html! { "支付宝 · 沙箱收银台 " span.muted style="color:#dbe8ff" { "Sandbox cashier" } };
    let body = html! {
        div.muted { (kind) }
        div.amount #amount { "￥" (trade.total_amount) }
        table {
            tr { th { "订单标题 Subject" } td #subject { (trade.subject) } }
            tr { th { "商户订单号 Order" } td #out-trade-no .mono { (trade.out_trade_no) } }
            tr { th { "收款应用 Merchant app" } td #app-id .mono { (shared.app_id) } }
            tr { th { "付款账户 Buyer" } td { "沙箱买家 sandbox buyer" } }
        }
        div.actions {
            form method="post" action="/sandbox/cashier/pay" {
                input type="hidden" name="token" value=(token);
                button #pay type="submit" { "确认付款 Pay as the sandbox buyer" }
            }
            form method="post" action="/sandbox/cashier/cancel" {
                input type="hidden" name="token" value=(token);
                button #cancel .plain type="submit" { "取消 Cancel" }
            }
        }
    };
    page(session.charset, "支付宝 - 网上支付 安全快速！", html! {}, card(top, None, body))
}

/// The page a refused page-pay request gets, naming the `sub_code` as Alipay's does.
pub(crate) fn error_page(charset: Charset, sub_code: &str, sub_msg: &str) -> Reply {
    let body = html! {
        p { "抱歉，您的操作出错了。Sorry, the request was refused." }
        p { "错误代码 Error code: " code #sub-code { (sub_code) } }
        p #sub-msg .error { (sub_msg) }
    };
    page(charset, "支付宝 - 错误", html! {}, card(html! { "支付宝 · 错误 Error" }, Some("#d83931"), body))
}

/// A page with one heading: what became of the payment.
fn outcome_page(charset: Charset, title: &str, id: &str, heading: &str) -> Reply {
    page(charset, title, html! {}, card(html! { "支付宝" }, None, html! { h2 id=(id) { (heading) } }))
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
        return outcome_page(session.charset, "支付成功", "paid", "支付成功 · Paid");
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
        None => outcome_page(session.charset, "已取消", "cancelled", "已取消 · Cancelled"),
    }
}
