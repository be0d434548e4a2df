//! A key that lives in a KMS/HSM (`examples/remote_signer.rs`), end to end against the sandbox:
//! a remote (async) signer is awaited by the driver as a flow step while the runtime's other
//! tasks go on — gateway calls, v3 calls and certificate downloads alike; a synchronous signer
//! signs requests and ISV answers inline; a signer for another key is refused.

#[path = "../../examples/remote_signer.rs"]
mod example;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alipay_sandbox::{Sandbox, SandboxInfo};
use alipay_sdk::key::{KeyErrorKind, PrivateKey, RemoteSigner};
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};
use alipay_sdk::v3::V3Request;
use alipay_sdk::{Client, Config, ConfigErrorKind, ErrorKind};

use crate::common::pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_signer_signs_every_request_and_is_checked_against_the_certificate() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let signer = example::AgentSigner::start(PrivateKey::from_path(&info.app_private_key).unwrap());
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
    let stranger = example::AgentSigner::start(PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap());
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

/// The sandbox's app in certificate mode, signing through `signer`.
fn remote_config(info: &SandboxInfo, signer: Arc<dyn RemoteSigner>) -> Result<Config, alipay_sdk::ConfigError> {
    Config::builder(info.app_id.clone())
        .gateway(info.gateway.clone())
        .app_remote_signer(signer)
        .app_cert_file(&info.app_cert)
        .alipay_cert_file(&info.alipay_cert)
        .alipay_root_cert_file(&info.alipay_root_cert)
        .build()
}

/// One runtime thread only: if anything blocked on the KMS, the ticker could not tick.
#[tokio::test(flavor = "current_thread")]
async fn a_remote_signer_is_awaited_by_the_driver_while_other_tasks_progress() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let latency = Duration::from_millis(300);
    let kms = example::Kms::new(PrivateKey::from_path(&info.app_private_key).unwrap(), latency);
    let config = remote_config(&info, Arc::new(kms.clone())).unwrap();
    assert_eq!(kms.calls.load(Ordering::Relaxed), 0, "the build checks the public key, it signs nothing");
    let client = Client::new(config).unwrap();

    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let started = Instant::now();
    let before = ticks.load(Ordering::Relaxed);
    client.call(&TradePrecreate::new("kms-async-1", "3.00".parse().unwrap(), "Tea")).await.unwrap();
    let elapsed = started.elapsed();
    let ticked = ticks.load(Ordering::Relaxed) - before;
    assert!(elapsed >= latency, "the call waited for the KMS ({elapsed:?})");
    assert!(ticked >= 10, "the runtime's other task ran while the KMS signed: {ticked} ticks in {elapsed:?}");
    assert_eq!(kms.calls.load(Ordering::Relaxed), 1);
    assert_eq!(sandbox.request_count("alipay.trade.precreate"), 1, "the sandbox verified the KMS's signature");

    // OpenAPI v3 signs through the same step.
    sandbox.buyer_pays("kms-async-1").unwrap();
    let answer = client
        .send_v3(&V3Request::post("/v3/alipay/trade/query").body(&serde_json::json!({"out_trade_no": "kms-async-1"})))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().unwrap());
    assert_eq!(kms.calls.load(Ordering::Relaxed), 2);

    // Alipay rotates its certificate: the download request of the new one is signed by the KMS
    // too (a step inside the same call), then the answer verifies.
    let rotated = sandbox.rotate_alipay_cert().unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("kms-async-1")).await.unwrap();
    assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(kms.calls.load(Ordering::Relaxed), 4, "the query and the certificate download were signed by the KMS");
    let store = client.config().cert_mode().unwrap().store();
    assert!(store.contains(&rotated) && store.download_count() == 1);
    ticker.abort();
}

/// A KMS that answers with another key's signatures, or not at all.
#[derive(Debug)]
struct Misbehaving {
    /// The key the configuration believes in (the app certificate's).
    claimed: alipay_sdk::key::PublicKey,
    /// What it really signs with; `None`: the service fails.
    signs_with: Option<PrivateKey>,
}

impl RemoteSigner for Misbehaving {
    fn algorithm(&self) -> alipay_sdk::key::KeyAlgorithm {
        self.claimed.algorithm()
    }

    fn public_key(&self) -> &alipay_sdk::key::PublicKey {
        &self.claimed
    }

    fn sign(
        &self,
        content: Vec<u8>,
        sign_type: alipay_sdk::key::SignType,
    ) -> alipay_sdk::lifecycle::fleet::BoxFuture<'static, Result<String, alipay_sdk::key::KeyError>> {
        let key = self.signs_with.clone();
        Box::pin(async move {
            match key {
                Some(key) => key.sign(&content, sign_type),
                None => Err(KeyErrorKind::Sign { detail: "KMS unavailable: HTTP 503".into() }.into()),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_remote_signer_fails_loudly_and_nothing_is_sent() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let app_key = PrivateKey::from_path(&info.app_private_key).unwrap();
    let stranger = PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap();
    let precreate = TradePrecreate::new("kms-bad-1", "3.00".parse().unwrap(), "Tea");

    // Signatures by another key than the one it claims: refused before sending.
    let wrong = Misbehaving { claimed: app_key.public_key(), signs_with: Some(stranger.clone()) };
    let client = Client::new(remote_config(&info, Arc::new(wrong)).unwrap()).unwrap();
    let error = client.call(&precreate).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Request, "{error}");
    assert!(error.to_string().contains("public key does not verify"), "{error}");
    let error = client.send_v3(&V3Request::get("/v3/alipay/user/info/share")).await.unwrap_err();
    assert!(error.to_string().contains("public key does not verify"), "{error}");
    assert_eq!(sandbox.request_count("alipay.trade.precreate"), 0, "nothing was sent");

    // The service fails: its error, nothing sent.
    let down = Misbehaving { claimed: app_key.public_key(), signs_with: None };
    let client = Client::new(remote_config(&info, Arc::new(down)).unwrap()).unwrap();
    let error = client.call(&precreate).await.unwrap_err();
    assert_eq!(error.outcome(), alipay_sdk::Outcome::NotSent);
    assert!(error.to_string().contains("KMS unavailable: HTTP 503"), "{error}");
    assert_eq!(sandbox.request_count("alipay.trade.precreate"), 0);

    // A KMS key that is not the app certificate's: refused at build.
    let foreign = Misbehaving { claimed: stranger.public_key(), signs_with: Some(stranger) };
    let error = remote_config(&info, Arc::new(foreign)).unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::KeyMismatch(_)), "{error}");

    // Synchronous entry points cannot await a KMS: they say so instead of blocking.
    let kms = example::Kms::new(app_key, Duration::from_millis(1));
    let config = remote_config(&info, Arc::new(kms)).unwrap();
    let page = config.sdk_execute(&alipay_sdk::Request::new("alipay.trade.app.pay"));
    let error = page.unwrap_err();
    assert!(error.to_string().contains("remote signer signs in the call flow"), "{error}");
    assert!(config.sign_request(&alipay_sdk::Request::new("alipay.trade.query")).is_err());
}
