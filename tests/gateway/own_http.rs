//! The IO-free flow driven by a different HTTP stack (`examples/own_http.rs`: HTTP/1.1 over a
//! plain `TcpStream`, blocking), and the blocking client: both follow certificate rotation.

#[path = "../../examples/own_http.rs"]
mod example;

use alipay_sandbox::Sandbox;
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};
use alipay_sdk::notify::Rule;

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

/// The notification the sandbox tried to deliver for `out_trade_no` (nothing listens).
fn delivered(sandbox: &alipay_sandbox::SandboxHandle, out_trade_no: &str) -> String {
    for _ in 0..1000 {
        if let Some(d) = sandbox.deliveries().into_iter().find(|d| d.out_trade_no == out_trade_no && d.attempts > 0) {
            return d.body;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the sandbox did not try to deliver the notification for {out_trade_no}");
}

#[test]
fn a_tcp_stream_driver_signs_verifies_and_follows_rotation() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::builder().notify_retry_delays(vec![]).start()).unwrap();
    let config = sandbox.client_config().build().unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let order = |out: &str| {
        TradePrecreate::new(out, "5.00".parse().unwrap(), "Tea")
            .to_request()
            .notify_url(format!("http://127.0.0.1:{closed_port}/notify"))
    };

    let created = example::execute(&config, &order("own-1")).unwrap();
    assert!(created.node().contains("qr_code"));
    // Alipay rotates: the next answers are signed with a certificate this process never saw.
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    sandbox.buyer_pays("own-1").unwrap();
    std::thread::scope(|scope| {
        let queries: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| example::execute(&config, &TradeQuery::by_out_trade_no("own-1").to_request())))
            .collect();
        for query in queries {
            let verified = query.join().unwrap().unwrap();
            assert_eq!(verified.alipay_cert_sn(), Some(new_sn.as_str()));
            let trade: alipay_sdk::model::trade::TradeQueryResponse = verified.parse().unwrap();
            assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
        }
    });
    assert_eq!(sandbox.request_count(DOWNLOAD), 1, "downloaded once, through the TcpStream driver");

    // A notification signed with a newer certificate: the flow fetches it the same way.
    example::execute(&config, &order("own-2")).unwrap();
    let newer_sn = sandbox.rotate_alipay_cert().unwrap();
    sandbox.buyer_pays("own-2").unwrap();
    let body = delivered(&sandbox, "own-2");
    assert!(body.contains(&newer_sn));
    let verified = example::drive(config.start_notification((body.as_bytes(), None), Rule::V1).unwrap()).unwrap();
    assert_eq!(verified.trade().unwrap().out_trade_no, "own-2");
    assert_eq!(sandbox.request_count(DOWNLOAD), 2);
    // A tampered copy fails, and fetches nothing more.
    let tampered = body.replace("total_amount=5.00", "total_amount=0.01");
    assert!(example::drive(config.start_notification((tampered.as_bytes(), None), Rule::V1).unwrap()).is_err());
    assert_eq!(sandbox.request_count(DOWNLOAD), 2);
}
#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_follows_rotation_and_refuses_to_run_inside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::builder().start()).unwrap();
    let client = alipay_sdk::blocking::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("blk-1", "1.00".parse().unwrap(), "Tea")).unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let verified = client.send(&TradeQuery::by_out_trade_no("blk-1").to_request()).unwrap();
    assert_eq!(verified.alipay_cert_sn(), Some(new_sn.as_str()));
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);

    let inside = runtime.block_on(async { client.send(&TradeQuery::by_out_trade_no("blk-1").to_request()) });
    assert_eq!(inside.unwrap_err().kind(), alipay_sdk::ErrorKind::BlockingInAsync);
}

#[test]
fn the_tcp_stream_driver_speaks_v3_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::builder().start()).unwrap();
    let config = sandbox.client_config().build().unwrap();
    example::execute(&config, &TradePrecreate::new("own-v3", "2.00".parse().unwrap(), "Tea").to_request()).unwrap();
    let request =
        alipay_sdk::v3::V3Request::for_api("alipay.trade.query").body(&serde_json::json!({"out_trade_no": "own-v3"}));
    let answer = example::drive(config.start_v3(&request).unwrap()).expect("method, headers and signed answer");
    assert_eq!(answer.alipay_sn(), Some(sandbox.info().alipay_cert_sn.as_str()));
    assert!(answer.text().unwrap().contains("\"out_trade_no\":\"own-v3\""), "{}", answer.text().unwrap());
}
