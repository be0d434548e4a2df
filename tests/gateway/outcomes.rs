//! What a failed call means for the trade — not sent, definitive, or unknown — for every class
//! of failure, each driven by the sandbox's fault injection (issue: Java parity, outcomes).

use std::time::Duration;

use alipay_sandbox::{Fault, FaultRule, Sandbox};
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};
use alipay_sdk::{Client, Outcome, Request};

const QUERY: &str = "alipay.trade.query";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_says_whether_alipay_may_have_acted() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client =
        Client::builder(sandbox.client_config().build().unwrap()).timeout(Duration::from_millis(800)).build().unwrap();
    client.call(&TradePrecreate::new("out-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
    let query = || TradeQuery::by_out_trade_no("out-1");

    let unknown = [
        Fault::ResetBeforeProcessing, // the client cannot tell this reset from the next one
        Fault::ResetAfterProcessing,
        Fault::ServerErrorHtml,
        Fault::SlowBody(Duration::from_secs(3)),
        Fault::UnsignedErrorResponse,
        Fault::WrongKeySignature,
        Fault::Code { code: "20000", msg: "Service Currently Unavailable", sub_code: "isp.unknow-error" },
        Fault::Code { code: "10003", msg: "Waiting for the buyer", sub_code: "ACQ.WAIT_USER_PAY" },
        Fault::Code { code: "40004", msg: "Business Failed", sub_code: "isp.system-busy" },
    ];
    for fault in unknown {
        sandbox.set_faults(QUERY, vec![FaultRule::times(fault.clone(), 1)]);
        let error = client.call(&query()).await.unwrap_err();
        assert_eq!(error.outcome(), Outcome::Unknown, "{fault:?}: {error}");
        assert!(error.to_string().contains("outcome unknown: query before retrying"), "{error}");
    }

    // A definitive, verified business failure.
    sandbox.clear_faults();
    let error = client.call(&TradeQuery::by_out_trade_no("no-such-trade")).await.unwrap_err();
    assert_eq!(error.outcome(), Outcome::Failed, "{error}");
    assert!(error.to_string().contains("definitive"), "{error}");

    // Not sent: nothing listens there, or the request could not be built.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = sandbox.certificate_config().gateway(format!("http://{closed}/gateway.do")).build().unwrap();
    let error = Client::new(nowhere).unwrap().call(&query()).await.unwrap_err();
    assert_eq!(error.outcome(), Outcome::NotSent, "{error}");
    let error = client.send(&Request::new(QUERY).param("sign", "x")).await.unwrap_err();
    assert_eq!(error.outcome(), Outcome::NotSent, "{error}");
    assert!(error.to_string().contains("not sent"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_never_execute_a_trade_twice() {
    use alipay_sdk::RetryPolicy;
    const PRECREATE: &str = "alipay.trade.precreate";
    let sandbox = Sandbox::builder().start().await.unwrap();
    let policy = RetryPolicy::new(3)
        .backoff(Duration::from_millis(20), Duration::from_millis(50))
        .idempotent(PRECREATE)
        .idempotent(QUERY);
    let client = Client::builder(sandbox.client_config().build().unwrap())
        .timeout(Duration::from_millis(600))
        .retry(policy.clone())
        .build()
        .unwrap();
    let faults = [
        Fault::ResetBeforeProcessing,
        Fault::ResetAfterProcessing,
        Fault::ServerErrorHtml,
        Fault::SlowBody(Duration::from_secs(3)),
    ];
    for (i, fault) in faults.iter().enumerate() {
        let out = format!("retry-{i}");
        sandbox.set_faults(PRECREATE, vec![FaultRule::times(fault.clone(), 1)]);
        let before = sandbox.request_count(PRECREATE);
        let created = client.call(&TradePrecreate::new(&out, "2.00".parse().unwrap(), "Tea")).await;
        assert!(created.is_ok(), "{fault:?}: {created:?}");
        assert_eq!(sandbox.request_count(PRECREATE) - before, 2, "{fault:?}: sent twice, the same out_trade_no");
        assert_eq!(sandbox.trade_count(), i + 1, "{fault:?}: one trade, whatever the retries");
    }
    // Not marked idempotent: an unknown outcome is returned, not retried.
    let strict = Client::builder(sandbox.client_config().build().unwrap())
        .retry(RetryPolicy::new(3).backoff(Duration::from_millis(20), Duration::from_millis(50)))
        .build()
        .unwrap();
    sandbox.set_faults(PRECREATE, vec![FaultRule::times(Fault::ResetAfterProcessing, 1)]);
    let before = sandbox.request_count(PRECREATE);
    let error = strict.call(&TradePrecreate::new("retry-strict", "2.00".parse().unwrap(), "Tea")).await.unwrap_err();
    assert_eq!((error.outcome(), sandbox.request_count(PRECREATE) - before), (Outcome::Unknown, 1));
    // A definitive failure is never retried.
    sandbox.clear_faults();
    let before = sandbox.request_count(QUERY);
    let error = client.call(&TradeQuery::by_out_trade_no("no-such-trade")).await.unwrap_err();
    assert_eq!((error.outcome(), sandbox.request_count(QUERY) - before), (Outcome::Failed, 1));
}
