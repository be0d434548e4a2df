//! An SPI / app-gateway endpoint on axum: Alipay's signed call is verified (V2 rule: only
//! `sign` is left out), and the answer is signed with the app key and carries `app_cert_sn`.
//!
//! With `alipay sandbox --dir alipay-sandbox` running:
//!
//! ```sh
//! cargo run --example spi_server -- 127.0.0.1:8081 alipay-sandbox 9021000000000001
//! alipay sandbox spi --url http://127.0.0.1:8081/alipay/spi --dir alipay-sandbox   # "accepted": true
//! ```

use std::sync::Arc;

use alipay_sdk::cert::CertificateChain;
use alipay_sdk::key::PrivateKey;
use alipay_sdk::notify::{NotificationVerifier, Rule};
use alipay_sdk::server::Responder;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::json;

/// The endpoint's state.
pub(crate) struct SpiState {
    /// Verifies Alipay's calls.
    pub verifier: NotificationVerifier,
    /// Signs the answers.
    pub responder: Responder,
}

/// The router: `POST /alipay/spi`.
pub(crate) fn router(state: Arc<SpiState>) -> Router {
    Router::new().route("/alipay/spi", post(spi)).with_state(state)
}

async fn spi(
    State(state): State<Arc<SpiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ([(&'static str, &'static str); 1], String) {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    let response = match state.verifier.verify((&body, content_type), Rule::V2) {
        Ok(call) => {
            let biz: serde_json::Value =
                call.get("biz_content").and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
            json!({
                "code": "10000",
                "msg": "Success",
                "method": call.get("method").unwrap_or_default(),
                "echo": biz,
            })
        }
        Err(error) => {
            json!({ "code": "40004", "msg": "Business Failed", "sub_code": "INVALID_SIGNATURE", "sub_msg": error.to_string() })
        }
    };
    let body = state.responder.json(&response).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#));
    ([("content-type", "application/json;charset=utf-8")], body)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, dir, app_id] = args.as_slice() else {
        eprintln!("usage: spi_server LISTEN_ADDR SANDBOX_DIR APP_ID");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(dir);
    let verifier =
        NotificationVerifier::certificates([CertificateChain::from_path(dir.join("alipayCertPublicKey_RSA2.crt"))?])?;
    let app_cert = CertificateChain::from_path(dir.join(format!("appCertPublicKey_{app_id}.crt")))?;
    let key = PrivateKey::from_path(dir.join("app_private_key.pem"))?;
    key.check_matches(&app_cert)?;
    let responder = Responder::new(key, Some(app_cert.sn().to_string()));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("SPI endpoint: http://{}/alipay/spi", listener.local_addr()?);
    axum::serve(listener, router(Arc::new(SpiState { verifier, responder }))).await?;
    Ok(())
}
