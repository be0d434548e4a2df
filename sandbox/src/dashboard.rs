//! The dashboard (`/`): trades with their actions (pay, scan the QR code as the buyer, close,
//! refund, redeliver the notification), every notification attempt's request and answer, the
//! faults in force with a form for every named fault, the Alipay certificate with a rotate
//! button. Server-rendered, every value escaped; it reloads itself when the state changes (it
//! polls a fingerprint of what it shows, and waits while a form field has the focus).
//!
//! Actions are POSTs to `/sandbox/dashboard/…` carrying the control token in the form
//! (`csrf`, checked by the router); each answers with a redirect back to the dashboard and a
//! one-line result. The page is a template: every value is escaped by construction.

use std::sync::Arc;

use alipay_core::charset::Charset;
use alipay_core::model::trade::TradeStatus;
use alipay_core::primitives::gateway::format_timestamp;
use maud::{Markup, PreEscaped, html};

use crate::http::Reply;
use crate::ledger::Trade;
use crate::pages::{form_field, page, see_other};
use crate::{AppMode, Delivery, FAULT_NAMES, Shared};

/// The most trades the page lists (the newest); the rest are counted.
const MAX_TRADES_SHOWN: usize = 300;

/// Polls the fingerprint of what the page shows and reloads when it changed, unless a form
/// field has the focus (someone is typing).
const LIVE_UPDATES: &str = "addEventListener('load',()=>{const v=document.querySelector('meta[name=sandbox-version]').content;\
setInterval(async()=>{const a=document.activeElement;if(a&&['INPUT','SELECT','TEXTAREA'].includes(a.tagName))return;\
try{const r=await fetch('/sandbox/dashboard/version',{cache:'no-store'});const j=await r.json();\
if(j.version!==v)location.replace(location.pathname+location.hash);}catch(e){}},1500);});";

/// The dashboard page, with the result of the last action (`said`, or `error`) on top.
pub(crate) fn dashboard(shared: &Shared, query: &str) -> Reply {
    let state = state_html(shared);
    let version = fingerprint(&state.0);
    let field = |name: &str| form_field(query.as_bytes(), name).filter(|v| !v.is_empty());
    let mode = match shared.mode {
        AppMode::Certificate => "certificate mode 公钥证书",
        AppMode::PublicKey => "public-key mode 公钥",
    };
    let head = html! {
        meta name="sandbox-version" content=(version);
        script { (PreEscaped(LIVE_UPDATES)) }
    };
    let body = html! {
        header {
            h1 { "支付宝沙箱 · Alipay sandbox" }
            span.meta {
                "app " code { (shared.app_id) } " · " (mode) " · " (shared.sign_type.as_str())
                " · gateway " code { (shared.base_url) "/gateway.do" }
            }
        }
        main {
            @if let Some(error) = field("error") {
                section #flash .error { (error) }
            } @else if let Some(said) = field("said") {
                section #flash { (said) }
            }
            (state)
        }
    };
    page(Charset::Utf8, "Alipay sandbox", head, body)
}

/// `GET /sandbox/dashboard/version`: the fingerprint of what the dashboard shows now.
pub(crate) fn version(shared: &Shared) -> Reply {
    let version = fingerprint(&state_html(shared).0);
    Reply::Full {
        status: 200,
        content_type: "application/json",
        body: serde_json::json!({ "version": version }).to_string().into_bytes(),
    }
}

/// FNV-1a: a change of any shown byte changes the page's fingerprint.
fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// Every section that shows state (the page around it is fixed).
fn state_html(shared: &Shared) -> Markup {
    let csrf = shared.control_token.as_str();
    html! {
        (trades_section(shared, csrf))
        (notifications_section(shared))
        (faults_section(shared, csrf))
        (certificate_section(shared, csrf))
    }
}

fn badge(status: &TradeStatus) -> Markup {
    let class = match status {
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => "badge ok",
        TradeStatus::WaitBuyerPay => "badge wait",
        TradeStatus::TradeClosed => "badge closed",
        TradeStatus::Other(_) => "badge bad",
    };
    html! { span class=(class) { (status.as_str()) } }
}

/// A one-button form posting `fields` to a dashboard action.
fn button(csrf: &str, action: &str, id: &str, label: &str, class: &str, fields: &[(&str, &str)]) -> Markup {
    html! {
        form.inline method="post" action=(format!("/sandbox/dashboard/{action}")) {
            input type="hidden" name="csrf" value=(csrf);
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button id=(id) class=(class) type="submit" { (label) }
        }
    }
}

/// The QR code of `text` as inline SVG (drawn from the code's modules: no text of the input
/// reaches the markup).
fn qr_svg(text: &str) -> Markup {
    let svg = match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(112, 112).build(),
        Err(_) => String::new(),
    };
    // The renderer starts with an XML declaration, which has no place inside HTML.
    let svg = svg.find("<svg").map_or("", |at| &svg[at..]);
    PreEscaped(svg.to_string())
}

fn trade_actions(csrf: &str, trade: &Trade, out: &str) -> Markup {
    let field = [("out_trade_no", out)];
    html! {
        @match &trade.status {
            TradeStatus::WaitBuyerPay => {
                @if let Some(qr_code) = &trade.qr_code {
                    div.qr title=(qr_code) {
                        (qr_svg(qr_code))
                        div {
                            (button(csrf, "trade/scan", &format!("scan-{out}"), "扫码付款 Scan as the sandbox buyer", "", &[("qr_code", qr_code)]))
                        }
                    }
                } @else {
                    (button(csrf, "trade/pay", &format!("pay-{out}"), "付款 Pay as the buyer", "", &field))
                }
                (button(csrf, "trade/close", &format!("close-{out}"), "关闭 Close", "danger", &field))
            }
            TradeStatus::TradeSuccess | TradeStatus::TradeFinished if trade.refundable().cents() > 0 => {
                form.inline method="post" action="/sandbox/dashboard/trade/refund" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="out_trade_no" value=(out);
                    input name="refund_amount" value=(trade.refundable()) size="8" aria-label="refund amount";
                    button id=(format!("refund-{out}")) class="plain" type="submit" { "退款 Refund" }
                }
            }
            _ => {}
        }
        @if trade.paid.is_some() && trade.notify.is_some() {
            (button(csrf, "trade/notify", &format!("redeliver-{out}"), "重发通知 Redeliver notification", "plain", &field))
        }
    }
}

fn trades_section(shared: &Shared, csrf: &str) -> Markup {
    let mut trades = crate::lock(&shared.ledger).all();
    trades.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.trade_no.cmp(&a.trade_no)));
    // Each trade's notifications, grouped once (not searched for each trade).
    let mut deliveries: std::collections::HashMap<String, Vec<Delivery>> = std::collections::HashMap::new();
    for delivery in crate::lock(&shared.deliveries).iter() {
        deliveries.entry(delivery.out_trade_no.clone()).or_default().push(delivery.clone());
    }
    let no_deliveries = Vec::new();
    html! {
        section #trades-section {
            h2 { "交易 Trades " span.muted { "(" (trades.len()) ")" } }
            @if trades.is_empty() {
                p.empty { "No trades yet: create one (alipay.trade.precreate, page pay, …) and it shows here." }
            } @else {
                table #trades {
                    tr { th { "order · subject" } th { "trade_no" } th { "amount" } th { "status" } th { "created" } th { "actions" } }
                    @for trade in trades.iter().take(MAX_TRADES_SHOWN) {
                        @let out = trade.out_trade_no.as_str();
                        @let notes = deliveries.get(out).unwrap_or(&no_deliveries);
                        tr id=(format!("trade-{out}")) {
                            td { code.nowrap { (out) } br; (trade.subject) }
                            td { code.nowrap { (trade.trade_no) } }
                            td.nowrap {
                                "￥" (trade.total_amount)
                                @if trade.refunded().cents() > 0 { br; span.muted { "refunded " (trade.refunded()) } }
                            }
                            td { (badge(&trade.status)) }
                            td class="muted nowrap" { (format_timestamp(trade.created)) }
                            td { (trade_actions(csrf, trade, out)) }
                        }
                        @if !notes.is_empty() {
                            tr.sub id=(format!("trade-{out}-notifications")) {
                                td colspan="6" {
                                    details {
                                        summary { "notifications (" (notes.len()) ")" }
                                        @for delivery in notes { (delivery_html(delivery)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if trades.len() > MAX_TRADES_SHOWN {
                    p.muted { "and " (trades.len() - MAX_TRADES_SHOWN) " older trades" }
                }
            }
        }
    }
}

/// One notification: where it went, the request it sent (the same bytes on every attempt)
/// and every attempt's answer.
fn delivery_html(delivery: &Delivery) -> Markup {
    // The form body decoded in its charset, one parameter a line; as sent when it does not
    // decode.
    let request = match alipay_core::notify::Form::parse(delivery.body.as_bytes(), None) {
        Ok(form) => form.iter().map(|(name, value)| format!("{name} = {value}\n")).collect(),
        Err(_) => delivery.body.clone(),
    };
    html! {
        div.delivery {
            p {
                code { (delivery.notify_id) } " → " code { (delivery.url) } " "
                @if delivery.acknowledged {
                    span class="badge ok" { "acknowledged" }
                } @else if delivery.attempts == 0 {
                    span class="badge wait" { "sending" }
                } @else {
                    span class="badge bad" { "not acknowledged" }
                }
                " · " (delivery.attempts) " attempt(s)"
            }
            div.muted { "request (form body, decoded)" }
            pre { (request) }
            div.muted { "answers, attempt by attempt" }
            ol { @for answer in &delivery.answers { li { (answer) } } }
        }
    }
}

fn notifications_section(shared: &Shared) -> Markup {
    let deliveries: Vec<Delivery> = crate::lock(&shared.deliveries).iter().rev().cloned().collect();
    html! {
        section #notifications-section {
            h2 { "异步通知 Notifications " span.muted { "(" (deliveries.len()) ")" } }
            @if deliveries.is_empty() {
                p.empty { "None sent yet: a paid trade with a notify_url gets one." }
            } @else {
                table #notifications {
                    tr { th { "order" } th { "notification, request and answers" } }
                    @for delivery in &deliveries {
                        tr {
                            td { code { (delivery.out_trade_no) } }
                            td {
                                details {
                                    summary {
                                        (delivery.attempts) " attempt(s), "
                                        @if delivery.acknowledged { "acknowledged" } @else { "not acknowledged" }
                                    }
                                    (delivery_html(delivery))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn faults_section(shared: &Shared, csrf: &str) -> Markup {
    let rules = crate::lock(&shared.faults).rules();
    html! {
        section #faults-section {
            h2 { "故障注入 Faults" }
            @if rules.is_empty() {
                p.empty #no-faults { "None: every answer is what Alipay would send." }
            } @else {
                table #faults {
                    tr { th { "method" } th { "fault" } th { "chance" } th { "times left" } th {} }
                    @for (method, rules) in &rules {
                        @for rule in rules {
                            tr {
                                td { code { (method) } }
                                td { (rule.fault) " " span.muted { "(" (rule.fault.name()) ")" } }
                                td { (format!("{:.0}%", rule.probability * 100.0)) }
                                td { @if let Some(times) = rule.times { (times) } @else { "∞" } }
                                td { (button(csrf, "faults/clear", &format!("clear-{method}"), "清除 Clear", "plain", &[("method", method)])) }
                            }
                        }
                    }
                }
                (button(csrf, "faults/clear", "clear-all", "清除全部 Clear all", "danger", &[]))
            }
            form #fault-form .inline method="post" action="/sandbox/dashboard/faults" style="margin-top:12px;flex-wrap:wrap" {
                input type="hidden" name="csrf" value=(csrf);
                "method "
                input name="method" value="*" size="22" title="a method such as alipay.trade.query, or * for every method";
                select name="fault" #fault-name {
                    @for (name, words) in FAULT_NAMES { option value=(name) { (words) } }
                }
                " chance " input name="probability" value="1" size="4";
                " times " input name="times" size="4" placeholder="∞";
                " slow ms " input name="slow_ms" value="3000" size="6";
                button #set-fault type="submit" { "设置 Set" }
            }
        }
    }
}

fn certificate_section(shared: &Shared, csrf: &str) -> Markup {
    let (sn, issued) = {
        let pki = crate::lock(&shared.pki);
        (pki.identities.last().map(|i| i.sn().to_string()).unwrap_or_default(), pki.identities.len())
    };
    html! {
        section #certificate-section {
            h2 { "支付宝公钥证书 Alipay certificate" }
            p {
                "current " code { "alipay_cert_sn" } " " code #alipay-cert-sn { (sn) } " "
                span.muted { "(" (issued) " issued; clients download a new one when an answer names it)" }
            }
            (button(csrf, "rotate", "rotate", "轮换证书 Rotate the Alipay certificate", "plain", &[]))
        }
    }
}

/// Back to the dashboard with the action's result.
fn back(result: Result<String, String>) -> Reply {
    let (key, text) = match result {
        Ok(said) => ("said", said),
        Err(error) => ("error", error),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair(key, &text).finish();
    see_other(&format!("/?{query}"))
}

/// A dashboard action (`path` after `/sandbox/dashboard/`), its form in `body`.
pub(crate) async fn act(shared: &Arc<Shared>, action: &str, body: &[u8]) -> Reply {
    let field = |name: &str| form_field(body, name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let out = field("out_trade_no").unwrap_or_default();
    let result = match action {
        "rotate" => crate::rotate_off_the_runtime(shared)
            .await
            .map(|sn| format!("rotated: the Alipay certificate is now {sn}"))
            .map_err(|e| e.to_string()),
        "faults" => {
            let method = field("method").unwrap_or_else(|| "*".to_string());
            match crate::faults::rule_from(|name| form_field(body, name)) {
                Ok(Some(rule)) => {
                    let said = format!("{method}: {} ({:.0}%)", rule.fault, rule.probability * 100.0);
                    crate::lock(&shared.faults).set(&method, vec![rule]);
                    Ok(said)
                }
                Ok(None) => {
                    crate::lock(&shared.faults).set(&method, Vec::new());
                    Ok(format!("{method}: no faults"))
                }
                Err(error) => Err(error),
            }
        }
        "faults/clear" => match field("method") {
            Some(method) => {
                crate::lock(&shared.faults).set(&method, Vec::new());
                Ok(format!("{method}: no faults"))
            }
            None => {
                crate::lock(&shared.faults).clear();
                Ok("every fault cleared".to_string())
            }
        },
        "trade/pay" => {
            shared.buyer_pays(&out).map(|()| format!("{out}: paid by the sandbox buyer")).map_err(|e| e.to_string())
        }
        "trade/scan" => {
            let qr_code = field("qr_code").unwrap_or_default();
            let found = crate::lock(&shared.ledger).by_qr_code(&qr_code);
            match found {
                Some(trade) => shared
                    .buyer_pays(&trade.out_trade_no)
                    .map(|()| format!("{}: scanned and paid by the sandbox buyer", trade.out_trade_no))
                    .map_err(|e| e.to_string()),
                None => Err(format!("no trade has the QR code {qr_code}")),
            }
        }
        "trade/close" => {
            let closed = crate::lock(&shared.ledger).close(&serde_json::json!({ "out_trade_no": out }));
            closed.map(|_| format!("{out}: closed")).map_err(|e| format!("{}: {}", e.sub_code, e.sub_msg))
        }
        "trade/refund" => {
            let amount = field("refund_amount").unwrap_or_default();
            let request_no = {
                let mut sequence = crate::lock(&shared.sequence);
                *sequence += 1;
                format!("dashboard-{:06}", *sequence)
            };
            let now = shared.clock.now();
            let refunded = crate::lock(&shared.ledger).refund(
                &serde_json::json!({ "out_trade_no": out, "refund_amount": amount, "out_request_no": request_no }),
                now,
            );
            refunded
                .map(|_| format!("{out}: refunded {amount} ({request_no})"))
                .map_err(|e| format!("{}: {}", e.sub_code, e.sub_msg))
        }
        "trade/notify" => shared
            .notify_to(&out, None)
            .map(|(url, notify_id)| format!("{out}: notification {notify_id} sent to {url}"))
            .map_err(|e| e.to_string()),
        _ => Err(format!("no dashboard action {action:?}")),
    };
    back(result)
}
