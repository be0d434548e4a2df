//! The axum examples, end to end against the sandbox gateway.

#[path = "../../examples/notify_server.rs"]
#[allow(dead_code)]
mod notify_server;
#[path = "../../examples/spi_server.rs"]
#[allow(dead_code)]
mod spi_server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alipay_sandbox::{Sandbox, SandboxHandle};
use alipay_sdk::Client;
use alipay_sdk::cert::CertificateChain;
use alipay_sdk::key::{PrivateKey, SignType};
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::TradePrecreate;
use alipay_sdk::notify::NotificationVerifier;
use alipay_sdk::server::Responder;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn wait_for(sandbox: &SandboxHandle, out_trade_no: &str, attempts: u32) -> alipay_sandbox::Delivery {
    for _ in 0..1500 {
        if let Some(d) = sandbox
            .deliveries()
            .into_iter()
            .find(|d| d.out_trade_no == out_trade_no && (d.acknowledged || d.attempts >= attempts))
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no delivery for {out_trade_no}: {:?}", sandbox.deliveries());
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_handler_processes_each_trade_once() {
    let sandbox = Sandbox::builder().notify_retry_delays(vec![Duration::from_millis(30); 4]).start().await.unwrap();
    let info = sandbox.info();
    let verifier =
        NotificationVerifier::certificates([CertificateChain::from_path(&info.alipay_cert).unwrap()]).unwrap();
    let state = Arc::new(notify_server::NotifyState {
        verifier,
        app_id: info.app_id.clone(),
        orders: Mutex::new(HashMap::new()),
        processed: Mutex::new(Vec::new()),
    });
    let url = format!("{}/alipay/notify", serve(notify_server::router(state.clone())).await);
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let order = |no: &str, amount: &str| {
        state
            .orders
            .lock()
            .unwrap()
            .insert(no.into(), notify_server::Order { amount: amount.parse().unwrap(), paid: false });
    };

    order("ok-1", "20.00");
    client
        .send(&TradePrecreate::new("ok-1", "20.00".parse().unwrap(), "Order").to_request().notify_url(&url))
        .await
        .unwrap();
    sandbox.buyer_pays("ok-1").unwrap();
    let delivery = wait_for(&sandbox, "ok-1", 1).await;
    assert!(delivery.acknowledged && delivery.attempts == 1, "{delivery:?}");
    assert_eq!(*state.processed.lock().unwrap(), vec!["ok-1".to_string()]);

    // Redeliveries of the same notification are answered "success" and change nothing.
    let http = reqwest::Client::new();
    let post = |body: String| {
        http.post(&url).header("content-type", "application/x-www-form-urlencoded; charset=utf-8").body(body).send()
    };
    for _ in 0..3 {
        let answer = post(delivery.body.clone()).await.unwrap();
        assert_eq!(answer.text().await.unwrap(), "success");
    }
    assert_eq!(state.processed.lock().unwrap().len(), 1);

    // A tampered copy is refused.
    let tampered = delivery.body.replace("total_amount=20.00", "total_amount=0.01");
    assert_ne!(tampered, delivery.body);
    assert_eq!(post(tampered).await.unwrap().text().await.unwrap(), "failure");

    // A genuine notification that disagrees with the merchant's records is refused, so the
    // sandbox keeps redelivering it, and the order is never marked paid.
    order("mismatch-1", "1.00");
    client
        .send(&TradePrecreate::new("mismatch-1", "2.00".parse().unwrap(), "Order").to_request().notify_url(&url))
        .await
        .unwrap();
    sandbox.buyer_pays("mismatch-1").unwrap();
    let delivery = wait_for(&sandbox, "mismatch-1", 5).await;
    assert!(!delivery.acknowledged && delivery.attempts == 5, "{delivery:?}");
    assert!(!state.orders.lock().unwrap()["mismatch-1"].paid);
    assert_eq!(state.processed.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn spi_endpoint_answers_what_alipay_accepts() {
    spi_round(SignType::Rsa2).await;
}

/// An SM2 app's endpoint: the same example code, SM2 from the keys alone.
#[tokio::test(flavor = "multi_thread")]
async fn spi_endpoint_of_an_sm2_app_answers_what_alipay_accepts() {
    spi_round(SignType::Sm2).await;
}

async fn spi_round(sign_type: SignType) {
    let sandbox = Sandbox::builder().sign_type(sign_type).start().await.unwrap();
    let info = sandbox.info();
    let verifier =
        || NotificationVerifier::certificates([CertificateChain::from_path(&info.alipay_cert).unwrap()]).unwrap();
    let app_cert = CertificateChain::from_path(&info.app_cert).unwrap();
    let key = PrivateKey::from_path(&info.app_private_key).unwrap();

    let good = Arc::new(spi_server::SpiState {
        verifier: verifier(),
        responder: Responder::new(key.clone(), Some(app_cert.sn().into())),
    });
    let url = format!("{}/alipay/spi", serve(spi_server::router(good)).await);
    let biz = serde_json::json!({ "order": "spi-1", "note": "中文 & <xml>" });
    let answer = sandbox.call_spi(&url, "alipay.open.spi.demo", &biz).await.unwrap();
    assert!(answer.accepted, "{answer:?}");
    let response: serde_json::Value = serde_json::from_str(answer.response.as_deref().unwrap()).unwrap();
    assert_eq!((response["code"].as_str(), response["echo"].clone()), (Some("10000"), biz.clone()));

    // Without app_cert_sn, or signed with another key, Alipay would refuse the answer.
    let no_sn = Arc::new(spi_server::SpiState { verifier: verifier(), responder: Responder::new(key, None) });
    let url = format!("{}/alipay/spi", serve(spi_server::router(no_sn)).await);
    let answer = sandbox.call_spi(&url, "alipay.open.spi.demo", &biz).await.unwrap();
    assert!(!answer.accepted && answer.reason.as_deref().unwrap().contains("app_cert_sn"), "{answer:?}");

    let other = match sign_type {
        SignType::Sm2 => PrivateKey::generate_sm2().unwrap(),
        _ => PrivateKey::from_path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki/keys/other_pkcs8.pem"),
        )
        .unwrap(),
    };
    let wrong = Arc::new(spi_server::SpiState {
        verifier: verifier(),
        responder: Responder::new(other, Some(app_cert.sn().into())),
    });
    let url = format!("{}/alipay/spi", serve(spi_server::router(wrong)).await);
    let answer = sandbox.call_spi(&url, "alipay.open.spi.demo", &biz).await.unwrap();
    assert!(!answer.accepted && answer.reason.as_deref().unwrap().contains("does not verify"), "{answer:?}");
}

/// An example's binary, as `cargo test` builds it beside the test binaries (built here when
/// this test binary was built alone).
fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
    let binary = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--all-features", "-p", "alipay-sdk", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example {name}");
    }
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}

/// `cargo run --example remote_signer -- alipay-sandbox`, as the README runs it: a relative
/// directory, from the directory that holds it.
#[tokio::test(flavor = "multi_thread")]
async fn the_remote_signer_example_runs_with_a_relative_dir() {
    let work = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::builder().dir(work.path().join("alipay-sandbox")).start().await.unwrap();
    let binary = example_binary("remote_signer");
    for mode in [None, Some("agent")] {
        let mut command = tokio::process::Command::new(&binary);
        command.current_dir(work.path()).arg("alipay-sandbox").args(mode);
        let output = command.output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{mode:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains(&format!("app_cert_sn {}", sandbox.info().app_cert_sn)), "{stdout}");
        let signed_by_kms = stdout.contains("signed by the KMS 1 time(s)");
        assert_eq!(signed_by_kms, mode.is_none(), "{mode:?}: {stdout}");
    }
    assert_eq!(sandbox.trade_count(), 2);
}

/// `cargo run --example notify_server -- ADDR CERT APP_ID ORDER=AMOUNT`, then a paid trade: the
/// notification is acknowledged and the order shipped; an order it does not know is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_notify_server_example_runs_as_documented() {
    use tokio::io::AsyncBufReadExt;
    let sandbox = Sandbox::builder().notify_retry_delays(vec![Duration::from_millis(50)]).start().await.unwrap();
    let info = sandbox.info();
    let mut child = tokio::process::Command::new(example_binary("notify_server"))
        .args(["127.0.0.1:0", info.alipay_cert.to_str().unwrap(), &info.app_id, "tea-1=9.00"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let notify_url = first.strip_prefix("notify_url: ").and_then(|rest| rest.split(' ').next()).unwrap().to_string();
    assert!(first.ends_with("(1 orders)"), "{first}");

    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    for (order, amount) in [("tea-1", "9.00"), ("unknown-1", "1.00")] {
        let request = TradePrecreate::new(order, amount.parse().unwrap(), "Tea").to_request().notify_url(&notify_url);
        client.send(&request).await.unwrap();
        sandbox.buyer_pays(order).unwrap();
    }
    assert!(wait_for(&sandbox, "tea-1", 1).await.acknowledged);
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "tea-1 paid (9.00): shipped");
    let unknown = wait_for(&sandbox, "unknown-1", 2).await;
    assert!(!unknown.acknowledged && unknown.last_answer.contains("400"), "{unknown:?}");
    child.kill().await.unwrap();
}
