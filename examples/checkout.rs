//! Web checkout on axum: a checkout page, the auto-submitting page-pay form, the verified
//! return on `return_url`, and the verified notification that really marks the order paid.
//!
//! Run against the sandbox (in another terminal: `cargo run -- sandbox --dir alipay-sandbox`):
//!
//! ```sh
//! cargo run --example checkout -- alipay-sandbox/alipay.toml 127.0.0.1:3000
//! ```
//!
//! then open <http://127.0.0.1:3000>. The return page shows the verified return at once (a
//! hint for the page: the buyer's browser carried it) and, moments later, the verified
//! notification (the proof of payment).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alipay_sdk::model::Amount;
use alipay_sdk::model::EntryPointApi;
use alipay_sdk::model::trade::TradePagePay;
use alipay_sdk::notify::{Expected, NotificationVerifier, Rule};
use alipay_sdk::page::PageMethod;
use alipay_sdk::primitives::escape::html_escape;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::{get, post};

/// One order of the shop.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    /// What the buyer must pay.
    pub amount: Amount,
    /// The trade status of the verified notification, once it came.
    pub notified: Option<String>,
}

/// The shop.
pub(crate) struct Shop {
    /// The client (its configuration signs the form and verifies the answers).
    pub client: alipay_sdk::Client,
    /// Verifies returns and notifications with the configuration's keys.
    pub verifier: NotificationVerifier,
    /// Where the shop is reachable (for `return_url` and `notify_url`).
    pub base_url: String,
    /// The orders.
    pub orders: Mutex<HashMap<String, Order>>,
}

/// The routes: `/`, `/buy`, `/return`, `/notify`, `/status/{order}`.
pub(crate) fn router(shop: Arc<Shop>) -> Router {
    Router::new()
        .route("/", get(checkout))
        .route("/buy", post(buy))
        .route("/return", get(returned))
        .route("/notify", post(notified))
        .route("/status/{order}", get(status))
        .with_state(shop)
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sandbox coffee</title></head><body>{body}</body></html>"
    ))
}

async fn checkout() -> Html<String> {
    page(
        "<h1>Sandbox coffee</h1><p>One coffee, ¥88.88.</p>\
         <form method=\"post\" action=\"/buy\"><button id=\"buy\" type=\"submit\">Pay with Alipay</button></form>",
    )
}

async fn buy(State(shop): State<Arc<Shop>>) -> Html<String> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let out_trade_no = format!("checkout-{nanos}");
    let amount: Amount = "88.88".parse().expect("a valid amount");
    shop.orders.lock().unwrap().insert(out_trade_no.clone(), Order { amount, notified: None });
    let request = TradePagePay::new(&out_trade_no, amount, "Sandbox coffee")
        .to_request()
        .notify_url(format!("{}/notify", shop.base_url))
        .return_url(format!("{}/return", shop.base_url));
    match shop.client.page_execute(&request, PageMethod::Post) {
        // The signed form submits itself to the gateway: the buyer lands on the cashier.
        Ok(form) => page(&format!("<p>Redirecting to Alipay…</p>{form}")),
        Err(error) => page(&format!("<p>Cannot start the payment: {}</p>", html_escape(&error.to_string()))),
    }
}

async fn returned(State(shop): State<Arc<Shop>>, RawQuery(query): RawQuery) -> Html<String> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return page("<h1 id=\"return-status\">Payment not completed</h1><p><a href=\"/\">Back to the shop</a></p>");
    };
    match shop.verifier.verify_return(&query) {
        Ok(back) => page(&format!(
            "<h1 id=\"return-status\">Return verified: order {order} ¥{amount}</h1>\
             <p>This only says the buyer came back from the cashier; the order is paid when the \
             notification says so:</p><p id=\"notify-status\">Waiting for the notification…</p>\
             <script>\
             const poll = async () => {{\
               const answer = await (await fetch('/status/{order}')).json();\
               if (answer.notified) {{ document.getElementById('notify-status').textContent = 'Notification verified: ' + answer.notified; }}\
               else {{ setTimeout(poll, 200); }}\
             }}; poll();\
             </script>",
            order = html_escape(&back.out_trade_no),
            amount = html_escape(&back.total_amount.to_string()),
        )),
        Err(error) => page(&format!(
            "<h1 id=\"return-status\">Return could not be verified</h1><p>{}</p>",
            html_escape(&error.to_string())
        )),
    }
}

async fn notified(State(shop): State<Arc<Shop>>, headers: HeaderMap, body: Bytes) -> &'static str {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    let Ok(verified) = shop.verifier.verify((&body, content_type), Rule::V1) else { return "fail" };
    let Ok(trade) = verified.trade() else { return "fail" };
    let mut orders = shop.orders.lock().unwrap();
    let Some(order) = orders.get_mut(&trade.out_trade_no) else { return "fail" };
    let expected =
        Expected { app_id: shop.client.config().app_id(), seller_id: None, total_amount: Some(order.amount) };
    if trade.check(&expected).is_err() {
        return "fail";
    }
    order.notified = Some(trade.trade_status.as_str().to_string());
    "success"
}

async fn status(State(shop): State<Arc<Shop>>, Path(order): Path<String>) -> axum::Json<serde_json::Value> {
    let notified = shop.orders.lock().unwrap().get(&order).and_then(|o| o.notified.clone());
    axum::Json(serde_json::json!({ "notified": notified }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let config_path = args.get(1).map_or("alipay-sandbox/alipay.toml", String::as_str);
    let listen = args.get(2).map_or("127.0.0.1:3000", String::as_str);
    let config = alipay_sdk::config_file::ConfigFile::load(config_path)?.builder()?.build()?;
    let verifier = config.notification_verifier();
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let shop = Arc::new(Shop {
        client: alipay_sdk::Client::new(config)?,
        verifier,
        base_url: base_url.clone(),
        orders: Mutex::new(HashMap::new()),
    });
    println!("shop: {base_url}");
    axum::serve(listener, router(shop)).await?;
    Ok(())
}
