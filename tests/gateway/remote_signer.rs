//! A key that lives in a KMS/HSM (`examples/remote_signer.rs`), end to end against the sandbox:
//! requests and ISV answers are signed through it, and a signer for another key is refused.

#[path = "../../examples/remote_signer.rs"]
mod example;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use alipay_sandbox::Sandbox;
use alipay_sdk::key::PrivateKey;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};
use alipay_sdk::{Client, Config, ConfigErrorKind};

use crate::common::pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_signer_signs_every_request_and_is_checked_against_the_certificate() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let signer = example::RemoteSigner::start(PrivateKey::from_path(&info.app_private_key).unwrap());
    let config = Config::builder(info.app_id.clone())
        .gateway(info.gateway.clone())
        .app_signer(Arc::new(signer.clone()))
        .app_cert_file(&info.app_cert)
        .alipay_cert_file(&info.alipay_cert)
        .alipay_root_cert_file(&info.alipay_root_cert)
        .build()
        .unwrap();
    let probes = signer.calls.load(Ordering::Relaxed);
    assert_eq!(probes, 1, "build checked the signer against the app certificate with one probe signature");

    let client = Client::new(config).unwrap();
    client.call(&TradePrecreate::new("kms-1", "3.00".parse().unwrap(), "Tea")).await.unwrap();
    sandbox.buyer_pays("kms-1").unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("kms-1")).await.unwrap();
    assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(signer.calls.load(Ordering::Relaxed), probes + 2, "the sandbox verified both signatures");

    // Answers to Alipay's calls are signed through it too.
    let responder = alipay_sdk::server::Responder::from_config(client.config());
    let answer = responder.json(&serde_json::json!({"code": "10000"})).unwrap();
    assert!(answer.contains(&info.app_cert_sn));
    assert_eq!(signer.calls.load(Ordering::Relaxed), probes + 3);

    // A signer holding another key is refused at build, without the key ever being read here.
    let stranger = example::RemoteSigner::start(PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap());
    let error = Config::builder(info.app_id)
        .gateway(info.gateway)
        .app_signer(Arc::new(stranger))
        .app_cert_file(&info.app_cert)
        .alipay_cert_file(&info.alipay_cert)
        .alipay_root_cert_file(&info.alipay_root_cert)
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::KeyMismatch(_)), "{error}");
}
