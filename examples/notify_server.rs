//! A `notify_url` handler on axum: every notification is verified, checked against the
//! merchant's own order, and processed exactly once however often Alipay redelivers it.
//!
//! The merchant's orders are given on the command line (`ORDER=AMOUNT`): a notification for
//! any other order is refused, as a real shop refuses one it has no record of. Run against the
//! sandbox (`alipay sandbox --dir alipay-sandbox` in another terminal):
//!
//! ```sh
//! cargo run --example notify_server -- 127.0.0.1:8080 alipay-sandbox/alipayCertPublicKey_RSA2.crt 9021000000000001 tea-1=9.00
//! alipay call alipay.trade.precreate --config alipay-sandbox/alipay.toml \
//!     --biz '{"out_trade_no":"tea-1","total_amount":"9.00","subject":"Tea"}' \
//!     --notify-url http://127.0.0.1:8080/alipay/notify
//! alipay sandbox pay tea-1 --dir alipay-sandbox     # the server prints: tea-1 paid (9.00): shipped
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alipay_sdk::cert::CertificateChain;
use alipay_sdk::model::Amount;
use alipay_sdk::notify::{Expected, NotificationVerifier, Rule};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// One order in the merchant's database.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    /// What the buyer must pay.
    pub amount: Amount,
    /// Whether payment was recorded (and the goods shipped).
    pub paid: bool,
}

/// The handler's state: the verifier and the merchant's own records.
pub(crate) struct NotifyState {
    /// Verifies with the Alipay certificate(s).
    pub verifier: NotificationVerifier,
    /// The merchant's app id.
    pub app_id: String,
    /// Orders by `out_trade_no`.
    pub orders: Mutex<HashMap<String, Order>>,
    /// Every time an order was actually processed (shipped), for the audit log.
    pub processed: Mutex<Vec<String>>,
}

/// The router: `POST /alipay/notify`.
pub(crate) fn router(state: Arc<NotifyState>) -> Router {
    Router::new().route("/alipay/notify", post(notify)).with_state(state)
}

async fn notify(State(state): State<Arc<NotifyState>>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    // Anything but "success" makes Alipay redeliver; forged messages get "failure".
    let verified = match state.verifier.verify((&body, content_type), Rule::V1) {
        Ok(verified) => verified,
        Err(error) => {
            eprintln!("rejected notification: {error}");
            return (StatusCode::BAD_REQUEST, "failure");
        }
    };
    let Ok(trade) = verified.trade() else { return (StatusCode::BAD_REQUEST, "failure") };
    let mut orders = state.orders.lock().expect("orders lock");
    let Some(order) = orders.get_mut(&trade.out_trade_no) else {
        eprintln!("notification for an unknown order {}", trade.out_trade_no);
        return (StatusCode::BAD_REQUEST, "failure");
    };
    let expected = Expected { app_id: &state.app_id, seller_id: None, total_amount: Some(order.amount) };
    if let Err(error) = trade.check(&expected) {
        eprintln!("notification does not match the order: {error}");
        return (StatusCode::BAD_REQUEST, "failure");
    }
    if trade.trade_status.is_paid() && !order.paid {
        order.paid = true;
        println!("{} paid ({}): shipped", trade.out_trade_no, order.amount);
        state.processed.lock().expect("log lock").push(trade.out_trade_no.clone());
    }
    (StatusCode::OK, verified.ack())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, alipay_cert, app_id, orders @ ..] = args.as_slice() else {
        eprintln!("usage: notify_server LISTEN_ADDR ALIPAY_CERT_FILE APP_ID [ORDER=AMOUNT ...]");
        std::process::exit(2);
    };
    let mut book = HashMap::new();
    for order in orders {
        let Some((out_trade_no, amount)) = order.split_once('=') else {
            eprintln!("{order:?}: expected ORDER=AMOUNT, e.g. tea-1=9.00");
            std::process::exit(2);
        };
        book.insert(out_trade_no.to_string(), Order { amount: amount.parse()?, paid: false });
    }
    let verifier = NotificationVerifier::certificates([CertificateChain::from_path(alipay_cert)?])?;
    let state = Arc::new(NotifyState {
        verifier,
        app_id: app_id.clone(),
        orders: Mutex::new(book),
        processed: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("notify_url: http://{}/alipay/notify ({} orders)", listener.local_addr()?, orders.len());
    axum::serve(listener, router(state)).await?;
    Ok(())
}
