//! What a call tells an operator: one span per call with its fields, debug events, trace ids
//! and diagnosis links — and never a token or a sign content at INFO or above.

use std::io::Write;
use std::sync::{Arc, Mutex};

use alipay_sandbox::Sandbox;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};
use alipay_sdk::{Client, Request};
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOKEN: &str = "201912BBxxSECRETxxTOKENxx0123456789";

const CHILD: &str = "ALIPAY_SDK_TRACING_CHILD";

/// `tracing` caches per call site whether anyone listens; other tests of this binary running
/// at the same time would race that cache, so the capture runs alone in a child process.
#[test]
fn a_call_has_one_span_with_its_fields_and_no_secret_at_info() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "observability::capture_in_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{all}");
    assert!(all.contains("1 passed"), "the capture ran: {all}");
}

#[test]
#[ignore = "helper: run by a_call_has_one_span_with_its_fields_and_no_secret_at_info in a child process"]
fn capture_in_child() {
    assert!(std::env::var(CHILD).is_ok(), "run only as a child");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(scenario(captured));
}

async fn scenario(captured: Captured) {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("obs-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
    let verified = client
        .send(&alipay_sdk::model::AlipayApi::to_request(&TradeQuery::by_out_trade_no("no-such")).app_auth_token(TOKEN))
        .await;
    // A verified business failure, with the gateway's trace id.
    let error = verified.unwrap_err();
    let trace_id = error.trace_id().expect("the error carries the gateway's trace id").to_string();
    assert_eq!(trace_id.len(), 30);
    assert_eq!(
        error.diagnosis_link().unwrap(),
        format!("https://open.alipay.com/api/errCheck?traceId={trace_id}&source=sdk")
    );
    assert!(error.to_string().contains(&trace_id));
    let ok =
        client.send(&alipay_sdk::model::AlipayApi::to_request(&TradeQuery::by_out_trade_no("obs-1"))).await.unwrap();
    assert_eq!(ok.trace_id().map(str::len), Some(30));
    // Tokens are redacted in Debug too.
    let debug = format!("{:?}", Request::new("alipay.trade.query").app_auth_token(TOKEN));
    assert!(!debug.contains(TOKEN), "{debug}");
    let signed = client.config().sign_request(&Request::new("alipay.trade.query").app_auth_token(TOKEN)).unwrap();
    assert!(!format!("{signed:?}").contains(TOKEN));
    assert!(!error.to_string().contains(TOKEN) && !format!("{error:?}").contains(TOKEN));

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closes: Vec<&str> = text.lines().filter(|l| l.contains("alipay.call") && l.contains("close")).collect();
    assert_eq!(closes.len(), 3, "one span per call:\n{text}");
    for field in [
        r#"method="alipay.trade.query""#,
        r#"app_id="9021000000000001""#,
        r#"charset="UTF-8""#,
        "attempt=1",
        "duration_ms=",
        r#"outcome="failed""#,
    ] {
        assert!(closes.iter().any(|l| l.contains(field)), "{field} in\n{}", closes.join("\n"));
    }
    assert!(closes.iter().any(|l| l.contains(&format!(r#"trace_id="{trace_id}""#))), "{text}");
    assert!(closes.iter().any(|l| l.contains(r#"outcome="ok""#)));
    assert!(text.contains("sign_content_len="), "a debug event for the sign content length");
    assert!(text.contains("the answer verified") && text.contains("alipay_cert_sn="), "{text}");
    for line in text.lines().filter(|l| l.contains(" INFO ") || l.contains(" WARN ") || l.contains(" ERROR ")) {
        assert!(!line.contains(TOKEN), "a token at INFO or above: {line}");
        assert!(!line.contains("biz_content="), "a sign content at INFO or above: {line}");
    }
    assert!(!text.contains(TOKEN), "the token appears nowhere, even at DEBUG");
}
