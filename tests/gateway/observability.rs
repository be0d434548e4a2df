//! What a call tells an operator: one span per call with its fields, debug events, trace ids
//! and diagnosis links — and never a token or a sign content at INFO or above.

use std::io::Write;
use std::sync::{Arc, Mutex};

use alipay_sandbox::{Fault, FaultRule, Sandbox};
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
    run_in_child("observability::capture_in_child");
}

/// Runs the ignored test `name` of this binary alone in a child process; it must pass.
fn run_in_child(name: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{all}");
    assert!(all.contains("1 passed"), "the capture ran: {all}");
}

/// With nothing but `tracing_subscriber::fmt()` (INFO, no span events), each call is one line
/// with its method, outcome, duration and trace id; `attempt` is on the span once; a
/// notification check has its own span name; a typed call's answer carries the trace id.
#[test]
fn a_plain_fmt_subscriber_shows_one_line_per_call() {
    run_in_child("observability::plain_capture_in_child");
}

#[test]
#[ignore = "helper: run by a_plain_fmt_subscriber_shows_one_line_per_call in a child process"]
fn plain_capture_in_child() {
    assert!(std::env::var(CHILD).is_ok(), "run only as a child");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(plain_scenario(captured));
}

async fn plain_scenario(captured: Captured) {
    use alipay_sdk::RetryPolicy;
    use alipay_sdk::model::AlipayApi;
    use alipay_sdk::notify::Rule;
    let sandbox = Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
    let client = Client::builder(sandbox.client_config().build().unwrap())
        .retry(
            RetryPolicy::new(2)
                .backoff(std::time::Duration::from_millis(1), std::time::Duration::from_millis(5))
                .idempotent("alipay.trade.query"),
        )
        .build()
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let order = TradePrecreate::new("plain-1", "1.00".parse().unwrap(), "Tea");
    client.send(&order.to_request().notify_url(format!("http://127.0.0.1:{port}/notify"))).await.unwrap();
    // A typed call gives the trace id on success.
    let queried = client.call(&TradeQuery::by_out_trade_no("plain-1")).await.unwrap();
    let trace_id = queried.trace_id().expect("a typed answer carries the trace id").to_string();
    assert_eq!(trace_id.len(), 30);
    let over_v3 = client.call_v3(&TradeQuery::by_out_trade_no("plain-1")).await.unwrap();
    assert!(over_v3.trace_id().is_some_and(|t| !t.is_empty()), "v3 too");
    // A second attempt: the first query's connection is reset before it is processed.
    sandbox.set_faults("alipay.trade.query", vec![FaultRule::times(Fault::ResetBeforeProcessing, 1)]);
    client.call(&TradeQuery::by_out_trade_no("plain-1")).await.unwrap();
    sandbox.clear_faults();
    // A notification check.
    sandbox.buyer_pays("plain-1").unwrap();
    let body = crate::first_delivered_body(&sandbox).await;
    client.verify_notification((body.as_bytes(), None), Rule::V1).await.unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let calls: Vec<&str> =
        text.lines().filter(|l| l.contains(" INFO ") && l.contains("alipay call finished")).collect();
    // precreate, query, v3 query, the retried query's second attempt (its first failed).
    assert_eq!(calls.len(), 4, "one INFO line per call that finished well:\n{text}");
    let failed: Vec<&str> = text.lines().filter(|l| l.contains("alipay call failed")).collect();
    assert_eq!(failed.len(), 1, "the reset attempt:\n{text}");
    assert!(failed[0].contains(r#"outcome="unknown""#) && failed[0].contains("attempt=1"), "{}", failed[0]);
    let line = calls.iter().find(|l| l.contains(&trace_id)).unwrap_or_else(|| panic!("{trace_id} in\n{text}"));
    for field in [r#"method="alipay.trade.query""#, r#"outcome="ok""#, "duration_ms=", "trace_id="] {
        assert!(line.contains(field), "{field} in {line}");
    }
    for line in text.lines().filter(|l| l.contains("alipay.")) {
        assert!(line.matches("attempt=").count() <= 1, "attempt recorded once: {line}");
    }
    assert!(text.lines().any(|l| l.contains("attempt=2") && l.contains("alipay call")), "the retry's span:\n{text}");
    let checks: Vec<&str> = text.lines().filter(|l| l.contains("notification check finished")).collect();
    assert_eq!(checks.len(), 1, "{text}");
    assert!(
        checks[0].contains("alipay.notification{") && checks[0].contains(r#"method="trade_status_sync""#),
        "{}",
        checks[0]
    );
    assert!(!text.lines().any(|l| l.contains(" DEBUG ")), "INFO by default");
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
