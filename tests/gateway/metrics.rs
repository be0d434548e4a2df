//! Metrics through the `metrics` facade (feature `metrics`): what a dashboard reads, recorded
//! into metrics-util's debugging recorder for one scenario on the sandbox.

use alipay_sandbox::Sandbox;
use alipay_sdk::Client;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};
use alipay_sdk::notify::Rule;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// The value of the metric `name` whose labels include every one of `labels`.
fn find<'a>(
    snapshot: &'a [(metrics_util::CompositeKey, Option<metrics::Unit>, Option<metrics::SharedString>, DebugValue)],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a DebugValue> {
    snapshot.iter().find_map(|(key, _, _, value)| {
        let key = key.key();
        let has = |(k, v): &(&str, &str)| key.labels().any(|l| l.key() == *k && l.value() == *v);
        (key.name() == name && labels.iter().all(has)).then_some(value)
    })
}

#[test]
fn calls_notifications_downloads_and_expiry_are_measured() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // A current-thread runtime polls every future on this thread, where the recorder is set.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = metrics::with_local_recorder(&recorder, || runtime.block_on(scenario()));
    let snapshot = snapshotter.snapshot().into_vec();

    let counter = |name: &str, labels: &[(&str, &str)]| match find(&snapshot, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?} in {snapshot:#?}"),
    };
    let calls = "alipay_calls_total";
    assert_eq!(counter(calls, &[("kind", "call"), ("method", "alipay.trade.precreate"), ("outcome", "ok")]), 1);
    assert_eq!(counter(calls, &[("kind", "call"), ("method", "alipay.trade.query"), ("outcome", "failed")]), 1);
    assert_eq!(counter("alipay_notifications_total", &[("outcome", "verified")]), 1);
    assert_eq!(counter("alipay_notifications_total", &[("outcome", "refused")]), 1);
    assert_eq!(counter("alipay_cert_downloads_total", &[("outcome", "accepted")]), 1);
    match find(&snapshot, "alipay_call_duration_seconds", &[("method", "alipay.trade.precreate")]) {
        Some(DebugValue::Histogram(values)) => assert_eq!(values.len(), 1),
        other => panic!("latency: {other:?}"),
    }
    // One gauge per certificate of the report, at the report's days left.
    assert!(report.entries.len() >= 3, "{report:?}");
    for entry in &report.entries {
        match find(&snapshot, "alipay_cert_expiry_days", &[("sn", entry.sn.as_str())]) {
            Some(DebugValue::Gauge(days)) => assert_eq!(days.into_inner(), entry.days_left as f64, "{}", entry.sn),
            other => panic!("expiry of {}: {other:?}", entry.sn),
        }
    }
}

async fn scenario() -> alipay_sdk::lifecycle::ExpiryReport {
    let sandbox = Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let order = TradePrecreate::new("metrics-1", "1.00".parse().unwrap(), "Tea");
    client.call_with(&order, |r| r.notify_url(format!("http://127.0.0.1:{port}/notify"))).await.unwrap();
    client.call(&TradeQuery::by_out_trade_no("no-such")).await.unwrap_err();
    // The notification is signed with a new Alipay certificate: checking it downloads that.
    sandbox.rotate_alipay_cert().unwrap();
    sandbox.buyer_pays("metrics-1").unwrap();
    let body = crate::first_delivered_body(&sandbox).await;
    client.verify_notification((body.as_bytes(), None), Rule::V1).await.unwrap();
    let tampered = body.replacen("total_amount=1.00", "total_amount=9.00", 1);
    assert_ne!(tampered, body);
    client.verify_notification((tampered.as_bytes(), None), Rule::V1).await.unwrap_err();
    client.config().expiry_report()
}
