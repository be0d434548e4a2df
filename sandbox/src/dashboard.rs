//! The dashboard (`/`): trades with their actions (pay, scan the QR code as the buyer, close,
//! refund, redeliver the notification), every notification attempt's request and answer, the
//! faults in force with a form for every named fault, the Alipay certificate with a rotate
//! button. Server-rendered, every value escaped; it reloads itself when the state changes (it
//! polls a fingerprint of what it shows, and waits while a form field has the focus).
//!
//! Actions are POSTs to `/sandbox/dashboard/…` carrying the control token in the form
//! (`csrf`, checked by the router); each answers with a redirect back to the dashboard and a
//! one-line result.

use std::fmt::Write as _;
use std::sync::Arc;

use alipay_core::charset::Charset;
use alipay_core::model::trade::TradeStatus;
use alipay_core::primitives::escape::html_escape;
use alipay_core::primitives::gateway::format_timestamp;

use crate::http::Reply;
use crate::ledger::Trade;
use crate::pages::{form_field, page, see_other};
use crate::{AppMode, Delivery, FAULT_NAMES, Shared};

/// The most trades the page lists (the newest); the rest are counted.
const MAX_TRADES_SHOWN: usize = 300;

/// The dashboard page, with the result of the last action (`said`, or `error`) on top.
pub(crate) fn dashboard(shared: &Shared, query: &str) -> Reply {
    let body = state_html(shared);
    let version = fingerprint(&body);
    let field = |name: &str| form_field(query.as_bytes(), name).filter(|v| !v.is_empty());
    let flash = match (field("said"), field("error")) {
        (_, Some(error)) => format!("<section id=\"flash\" class=\"error\">{}</section>", html_escape(&error)),
        (Some(said), None) => format!("<section id=\"flash\">{}</section>", html_escape(&said)),
        _ => String::new(),
    };
    let head = format!(
        "<meta name=\"sandbox-version\" content=\"{version}\"><script>\
         addEventListener('load',()=>{{const v=document.querySelector('meta[name=sandbox-version]').content;\
         setInterval(async()=>{{const a=document.activeElement;\
         if(a&&['INPUT','SELECT','TEXTAREA'].includes(a.tagName))return;\
         try{{const r=await fetch('/sandbox/dashboard/version',{{cache:'no-store'}});const j=await r.json();\
         if(j.version!==v)location.replace(location.pathname+location.hash);}}catch(e){{}}}},1500);}});\
         </script>"
    );
    let (mode, sign_type) = (
        match shared.mode {
            AppMode::Certificate => "certificate mode 公钥证书",
            AppMode::PublicKey => "public-key mode 公钥",
        },
        shared.sign_type.as_str(),
    );
    let header = format!(
        "<header><h1>支付宝沙箱 · Alipay sandbox</h1><span class=\"meta\">app <code>{}</code> · {mode} · {sign_type} · \
         gateway <code>{}/gateway.do</code></span></header>",
        html_escape(&shared.app_id),
        html_escape(&shared.base_url),
    );
    page(Charset::Utf8, "Alipay sandbox", &head, &format!("{header}<main>{flash}{body}</main>"))
}

/// `GET /sandbox/dashboard/version`: the fingerprint of what the dashboard shows now.
pub(crate) fn version(shared: &Shared) -> Reply {
    let version = fingerprint(&state_html(shared));
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
fn state_html(shared: &Shared) -> String {
    let csrf = html_escape(&shared.control_token);
    let mut html = String::new();
    trades_section(shared, &csrf, &mut html);
    notifications_section(shared, &mut html);
    faults_section(shared, &csrf, &mut html);
    certificate_section(shared, &csrf, &mut html);
    html
}

fn badge(status: &TradeStatus) -> String {
    let class = match status {
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => "ok",
        TradeStatus::WaitBuyerPay => "wait",
        TradeStatus::TradeClosed => "closed",
        TradeStatus::Other(_) => "bad",
    };
    format!("<span class=\"badge {class}\">{}</span>", html_escape(status.as_str()))
}

/// A one-button form posting `fields` to a dashboard action.
fn button(csrf: &str, action: &str, id: &str, label: &str, class: &str, fields: &[(&str, &str)]) -> String {
    let mut hidden = String::new();
    for (name, value) in fields {
        let _ = write!(hidden, "<input type=\"hidden\" name=\"{name}\" value=\"{}\">", html_escape(value));
    }
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/sandbox/dashboard/{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <button id=\"{}\" class=\"{class}\" type=\"submit\">{label}</button></form>",
        html_escape(id)
    )
}

/// The QR code of `text` as inline SVG.
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(112, 112).build();
            // The renderer starts with an XML declaration, which has no place inside HTML.
            svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_string())
        }
        Err(_) => String::new(),
    }
}

fn trade_actions(csrf: &str, trade: &Trade, out: &str) -> String {
    let mut html = String::new();
    let field = [("out_trade_no", out)];
    match &trade.status {
        TradeStatus::WaitBuyerPay => {
            if let Some(qr_code) = &trade.qr_code {
                let _ = write!(html, "<div class=\"qr\" title=\"{}\">{}<div>", html_escape(qr_code), qr_svg(qr_code));
                html += &button(
                    csrf,
                    "trade/scan",
                    &format!("scan-{out}"),
                    "扫码付款 Scan as the sandbox buyer",
                    "",
                    &[("qr_code", qr_code)],
                );
                html += "</div></div>";
            } else {
                html += &button(csrf, "trade/pay", &format!("pay-{out}"), "付款 Pay as the buyer", "", &field);
            }
            html += &button(csrf, "trade/close", &format!("close-{out}"), "关闭 Close", "danger", &field);
        }
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => {
            let refundable = trade.refundable();
            if refundable.cents() > 0 {
                let _ = write!(
                    html,
                    "<form class=\"inline\" method=\"post\" action=\"/sandbox/dashboard/trade/refund\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <input type=\"hidden\" name=\"out_trade_no\" value=\"{}\">\
                     <input name=\"refund_amount\" value=\"{refundable}\" size=\"8\" aria-label=\"refund amount\">\
                     <button id=\"{}\" class=\"plain\" type=\"submit\">退款 Refund</button></form>",
                    html_escape(out),
                    html_escape(&format!("refund-{out}")),
                );
            }
        }
        _ => {}
    }
    if trade.paid.is_some() && trade.notify.is_some() {
        html += &button(
            csrf,
            "trade/notify",
            &format!("redeliver-{out}"),
            "重发通知 Redeliver notification",
            "plain",
            &field,
        );
    }
    html
}

fn trades_section(shared: &Shared, csrf: &str, html: &mut String) {
    let mut trades = crate::lock(&shared.ledger).all();
    trades.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.trade_no.cmp(&a.trade_no)));
    let deliveries: Vec<Delivery> = crate::lock(&shared.deliveries).iter().cloned().collect();
    let _ = write!(
        html,
        "<section id=\"trades-section\"><h2>交易 Trades <span class=\"muted\">({})</span></h2>",
        trades.len()
    );
    if trades.is_empty() {
        html.push_str(
            "<p class=\"empty\">No trades yet: create one (alipay.trade.precreate, page pay, …) and it shows here.</p></section>",
        );
        return;
    }
    html.push_str(
        "<table id=\"trades\"><tr><th>order · subject</th><th>trade_no</th><th>amount</th><th>status</th>\
         <th>created</th><th>actions</th></tr>",
    );
    for trade in trades.iter().take(MAX_TRADES_SHOWN) {
        let out = trade.out_trade_no.as_str();
        let refunded = trade.refunded();
        let refunded = if refunded.cents() > 0 {
            format!("<br><span class=\"muted\">refunded {refunded}</span>")
        } else {
            String::new()
        };
        let _ = write!(
            html,
            "<tr id=\"trade-{id}\"><td><code class=\"nowrap\">{id}</code><br>{subject}</td>\
             <td><code class=\"nowrap\">{trade_no}</code></td><td class=\"nowrap\">￥{amount}{refunded}</td><td>{badge}</td>\
             <td class=\"muted nowrap\">{created}</td><td>{actions}</td></tr>",
            id = html_escape(out),
            subject = html_escape(&trade.subject),
            trade_no = html_escape(&trade.trade_no),
            amount = trade.total_amount,
            badge = badge(&trade.status),
            created = html_escape(&format_timestamp(trade.created)),
            actions = trade_actions(csrf, trade, out),
        );
        let notes: Vec<&Delivery> = deliveries.iter().filter(|d| d.out_trade_no == out).collect();
        if !notes.is_empty() {
            let _ = write!(
                html,
                "<tr class=\"sub\" id=\"trade-{}-notifications\"><td colspan=\"6\"><details><summary>notifications ({})</summary>",
                html_escape(out),
                notes.len()
            );
            for delivery in notes {
                html.push_str(&delivery_html(delivery));
            }
            html.push_str("</details></td></tr>");
        }
    }
    html.push_str("</table>");
    if trades.len() > MAX_TRADES_SHOWN {
        let _ = write!(html, "<p class=\"muted\">and {} older trades</p>", trades.len() - MAX_TRADES_SHOWN);
    }
    html.push_str("</section>");
}

/// One notification: where it went, the request body it sent (the same on every attempt), and
/// every attempt's answer.
fn delivery_html(delivery: &Delivery) -> String {
    let state = if delivery.acknowledged {
        "<span class=\"badge ok\">acknowledged</span>"
    } else if delivery.attempts == 0 {
        "<span class=\"badge wait\">sending</span>"
    } else {
        "<span class=\"badge bad\">not acknowledged</span>"
    };
    let mut answers = String::new();
    for answer in &delivery.answers {
        let _ = write!(answers, "<li>{}</li>", html_escape(answer));
    }
    // The form body decoded in its charset, one parameter a line (the bytes sent are the same
    // on every attempt); as sent when it does not decode.
    let mut request = String::new();
    match alipay_core::notify::Form::parse(delivery.body.as_bytes(), None) {
        Ok(form) => {
            for (name, value) in form.iter() {
                let _ = writeln!(request, "{name} = {value}");
            }
        }
        Err(_) => request.clone_from(&delivery.body),
    }
    format!(
        "<div class=\"delivery\"><p><code>{}</code> → <code>{}</code> {state} · {} attempt(s)</p>\
         <div class=\"muted\">request (form body, decoded)</div><pre>{}</pre>\
         <div class=\"muted\">answers, attempt by attempt</div><ol>{answers}</ol></div>",
        html_escape(&delivery.notify_id),
        html_escape(&delivery.url),
        delivery.attempts,
        html_escape(&request),
    )
}

fn notifications_section(shared: &Shared, html: &mut String) {
    let deliveries: Vec<Delivery> = crate::lock(&shared.deliveries).iter().rev().cloned().collect();
    let _ = write!(
        html,
        "<section id=\"notifications-section\"><h2>异步通知 Notifications <span class=\"muted\">({})</span></h2>",
        deliveries.len()
    );
    if deliveries.is_empty() {
        html.push_str("<p class=\"empty\">None sent yet: a paid trade with a notify_url gets one.</p></section>");
        return;
    }
    html.push_str("<table id=\"notifications\"><tr><th>order</th><th>notification, request and answers</th></tr>");
    for delivery in &deliveries {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td><details><summary>{} attempt(s), {}</summary>{}</details></td></tr>",
            html_escape(&delivery.out_trade_no),
            delivery.attempts,
            if delivery.acknowledged { "acknowledged" } else { "not acknowledged" },
            delivery_html(delivery),
        );
    }
    html.push_str("</table></section>");
}

fn faults_section(shared: &Shared, csrf: &str, html: &mut String) {
    html.push_str("<section id=\"faults-section\"><h2>故障注入 Faults</h2>");
    let rules = crate::lock(&shared.faults).rules();
    if rules.is_empty() {
        html.push_str("<p class=\"empty\" id=\"no-faults\">None: every answer is what Alipay would send.</p>");
    } else {
        html.push_str(
            "<table id=\"faults\"><tr><th>method</th><th>fault</th><th>chance</th><th>times left</th><th></th></tr>",
        );
        for (method, rules) in &rules {
            for rule in rules {
                let _ = write!(
                    html,
                    "<tr><td><code>{}</code></td><td>{} <span class=\"muted\">({})</span></td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>",
                    html_escape(method),
                    html_escape(&rule.fault.to_string()),
                    html_escape(&rule.fault.name()),
                    rule.probability * 100.0,
                    rule.times.map_or_else(|| "∞".to_string(), |t| t.to_string()),
                    button(
                        csrf,
                        "faults/clear",
                        &format!("clear-{method}"),
                        "清除 Clear",
                        "plain",
                        &[("method", method)]
                    ),
                );
            }
        }
        html.push_str("</table>");
        html.push_str(&button(csrf, "faults/clear", "clear-all", "清除全部 Clear all", "danger", &[]));
    }
    let _ = write!(
        html,
        "<form id=\"fault-form\" class=\"inline\" method=\"post\" action=\"/sandbox/dashboard/faults\" style=\"margin-top:12px;flex-wrap:wrap\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         method <input name=\"method\" value=\"*\" size=\"22\" title=\"a method such as alipay.trade.query, or * for every method\">\
         <select name=\"fault\" id=\"fault-name\">"
    );
    for (name, words) in FAULT_NAMES {
        let _ = write!(html, "<option value=\"{name}\">{}</option>", html_escape(words));
    }
    html.push_str(
        "</select> chance <input name=\"probability\" value=\"1\" size=\"4\"> times <input name=\"times\" size=\"4\" \
         placeholder=\"∞\"> slow ms <input name=\"slow_ms\" value=\"3000\" size=\"6\">\
         <button id=\"set-fault\" type=\"submit\">设置 Set</button></form></section>",
    );
}

fn certificate_section(shared: &Shared, csrf: &str, html: &mut String) {
    let (sn, issued) = {
        let pki = crate::lock(&shared.pki);
        (pki.identities.last().map(|i| i.sn().to_string()).unwrap_or_default(), pki.identities.len())
    };
    let _ = write!(
        html,
        "<section id=\"certificate-section\"><h2>支付宝公钥证书 Alipay certificate</h2>\
         <p>current <code>alipay_cert_sn</code> <code id=\"alipay-cert-sn\">{}</code> <span class=\"muted\">({issued} issued; \
         clients download a new one when an answer names it)</span></p>{}</section>",
        html_escape(&sn),
        button(csrf, "rotate", "rotate", "轮换证书 Rotate the Alipay certificate", "plain", &[]),
    );
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
