//! The sandbox gateway: Alipay's checks, the trade ledger, notifications, rotation, faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::pki;
use alipay_sandbox::{AppMode, Fault, FaultRule, Sandbox, SandboxHandle};
use alipay_sdk::cert::{CertificateChain, RootBundle};
use alipay_sdk::charset::Charset;
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::*;
use alipay_sdk::notify::{NotificationVerifier, Rule};
use alipay_sdk::response::ResponseErrorKind;
use alipay_sdk::{Client, Error, ErrorKind, Request};
use chrono::Utc;

async fn sandbox() -> SandboxHandle {
    Sandbox::builder().notify_retry_delays(vec![Duration::from_millis(50); 6]).start().await.unwrap()
}

fn client(sandbox: &SandboxHandle) -> Client {
    Client::new(sandbox.client_config().build().unwrap()).unwrap()
}

pub(crate) fn sub_code(error: &Error) -> String {
    match error.business() {
        Some(e) => e.failure.sub_code.clone().unwrap_or_default(),
        None => panic!("expected a verified business error, got {error:?}"),
    }
}

/// Sends a request signed with `config` straight to the gateway and returns the raw answer.
async fn post_signed(gateway: &str, signed: &alipay_sdk::SignedRequest) -> Vec<u8> {
    reqwest::Client::new()
        .post(signed.url(gateway).unwrap())
        .header("content-type", signed.content_type())
        .body(signed.form_body().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn amount(text: &str) -> alipay_sdk::model::Amount {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn files_are_shaped_like_alipays() {
    let sandbox = sandbox().await;
    let info = sandbox.info();
    let roots = RootBundle::from_path(&info.alipay_root_cert).unwrap();
    assert_eq!(roots.rsa_roots().len(), 2);
    assert_eq!(roots.skipped().len(), 1, "the ECDSA root must not count");
    assert_eq!(roots.sn(), info.alipay_root_cert_sn);
    let alipay = CertificateChain::from_path(&info.alipay_cert).unwrap().require_alipay_certificate().unwrap();
    assert_eq!(alipay.certificates().len(), 2, "leaf + CA, as Alipay ships it");
    assert!(alipay.certificates()[0].is_signed_by(&alipay.certificates()[1]));
    assert!(roots.rsa_roots().iter().any(|r| alipay.certificates()[1].is_signed_by(r)));
    let app = CertificateChain::from_path(&info.app_cert).unwrap().require_app_certificate().unwrap();
    assert_eq!(app.sn(), info.app_cert_sn);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.dir().join("sandbox.json")).unwrap()).unwrap();
    assert_eq!(written["address"], sandbox.addr().to_string());
    assert_eq!(written["app_cert_sn"], info.app_cert_sn);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_payment_verified_end_to_end() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let order = TradePrecreate::new("e2e-1", amount("88.88"), "Sandbox order");
    let created = client.call(&order).await.unwrap();
    assert!(created.qr_code.starts_with("https://"));
    let trade = client.call(&TradeQuery::by_out_trade_no("e2e-1")).await.unwrap();
    assert_eq!(trade.trade_status, TradeStatus::WaitBuyerPay);
    sandbox.buyer_pays("e2e-1").unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("e2e-1")).await.unwrap();
    assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(trade.total_amount, amount("88.88"));
    let refund = client.call(&TradeRefund::new(TradeRef::out_trade_no("e2e-1"), amount("8.88"), "r1")).await.unwrap();
    assert_eq!((refund.fund_change.as_str(), refund.refund_fee), ("Y", amount("8.88")));
    let query = TradeRefundQuery { trade: TradeRef::out_trade_no("e2e-1"), out_request_no: "r1".into() };
    let refunded = client.call(&query).await.unwrap();
    assert_eq!(refunded.refund_status.as_deref(), Some("REFUND_SUCCESS"));
    assert_eq!(refunded.refund_amount, Some(amount("8.88")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_is_idempotent_like_alipay() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let first = client.call(&TradePrecreate::new("idem-1", amount("10.00"), "A")).await.unwrap();
    let again = client.call(&TradePrecreate::new("idem-1", amount("10.00"), "A")).await.unwrap();
    assert_eq!(first.qr_code, again.qr_code);
    let error = client.call(&TradePrecreate::new("idem-1", amount("11.00"), "A")).await.unwrap_err();
    assert_eq!(sub_code(&error), "ACQ.CONTEXT_INCONSISTENT");
    assert_eq!(sandbox.trade_count(), 1);

    let refund = |no: &str, value: &str| TradeRefund::new(TradeRef::out_trade_no("idem-1"), amount(value), no);
    assert_eq!(sub_code(&client.call(&refund("r", "1.00")).await.unwrap_err()), "ACQ.TRADE_STATUS_ERROR");
    sandbox.buyer_pays("idem-1").unwrap();
    assert_eq!(client.call(&refund("r", "4.00")).await.unwrap().fund_change, "Y");
    let repeated = client.call(&refund("r", "4.00")).await.unwrap();
    assert_eq!((repeated.fund_change.as_str(), repeated.refund_fee), ("N", amount("4.00")));
    assert_eq!(sub_code(&client.call(&refund("r", "5.00")).await.unwrap_err()), "ACQ.CONTEXT_INCONSISTENT");
    assert_eq!(sub_code(&client.call(&refund("r2", "6.01")).await.unwrap_err()), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    assert_eq!(client.call(&refund("r2", "6.00")).await.unwrap().refund_fee, amount("10.00"));
    assert_eq!(sandbox.trade_status("idem-1"), Some(TradeStatus::TradeClosed));

    let error = client.call(&TradeQuery::by_out_trade_no("nope")).await.unwrap_err();
    assert_eq!(sub_code(&error), "ACQ.TRADE_NOT_EXIST");

    client.call(&TradeCreate::new("close-1", amount("1.00"), "B")).await.unwrap();
    let close = TradeClose { trade: TradeRef::out_trade_no("close-1"), operator_id: None };
    client.call(&close).await.unwrap();
    assert_eq!(sandbox.trade_status("close-1"), Some(TradeStatus::TradeClosed));
    assert_eq!(
        sub_code(&client.call(&TradePrecreate::new("close-1", amount("1.00"), "B")).await.unwrap_err()),
        "ACQ.TRADE_HAS_CLOSE"
    );

    let pay = TradePay::bar_code("bar-1", "281234567890123456", amount("2.50"), "C");
    let paid = client.call(&pay).await.unwrap();
    assert_eq!(client.call(&pay).await.unwrap().trade_no, paid.trade_no, "same request, same trade");
    let cancelled = client.call(&TradeCancel { trade: TradeRef::out_trade_no("bar-1") }).await.unwrap();
    assert_eq!(cancelled.action.as_deref(), Some("refund"));
    let bad_code = TradePay::bar_code("bar-2", "12", amount("1.00"), "D");
    assert_eq!(sub_code(&client.call(&bad_code).await.unwrap_err()), "ACQ.PAYMENT_AUTH_CODE_INVALID");
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_checked_like_alipay_does() {
    let sandbox = sandbox().await;
    let info = sandbox.info();
    let query = TradeQuery::by_out_trade_no("x");

    // Another app certificate (with its matching key): wrong app_cert_sn.
    let wrong_app = alipay_sdk::Config::builder(sandbox.app_id())
        .gateway(sandbox.gateway_url())
        .app_private_key_file(pki("keys/app_pkcs8.pem"))
        .app_cert_file(pki("ca/app_cert.pem"))
        .alipay_cert_file(&info.alipay_cert)
        .alipay_root_cert_file(&info.alipay_root_cert)
        .build()
        .unwrap();
    let error = Client::new(wrong_app).unwrap().call(&query).await.unwrap_err();
    assert_eq!(sub_code(&error), "isv.invalid-app-cert-sn");

    // Another root bundle: wrong alipay_root_cert_sn.
    let wrong_root = sandbox.certificate_config().alipay_root_cert_file(pki("ca/root_bundle.pem")).build().unwrap();
    let error = Client::new(wrong_root).unwrap().call(&query).await.unwrap_err();
    assert_eq!(sub_code(&error), "isv.invalid-alipay-root-cert-sn");

    // A clock 20 minutes off.
    let late = Arc::new(crate::common::wire::FixedClock(Utc::now() - chrono::Duration::minutes(20)));
    let skewed = sandbox.client_config().clock(late).build().unwrap();
    assert_eq!(sub_code(&Client::new(skewed).unwrap().call(&query).await.unwrap_err()), "isv.invalid-timestamp");

    // A request altered after signing; the answer carries the gateway's sign content and ours.
    let config = sandbox.client_config().build().unwrap();
    let signed = config.sign_request(&query.to_request()).unwrap();
    let mut tampered = signed.clone();
    tampered.body[0].1 = r#"{"out_trade_no":"y"}"#.into();
    let body = post_signed(&sandbox.gateway_url(), &tampered).await;
    let Err(error) = config.verify_response_to(&signed, &body) else { panic!("expected a failure") };
    let ResponseErrorKind::Business(error) = error.into_kind() else { panic!("expected a verified failure") };
    assert_eq!(error.failure.sub_code.as_deref(), Some("isv.invalid-signature"));
    // Echoed HTML-escaped, as Alipay does.
    assert!(
        error.failure.sub_msg.as_deref().unwrap().contains(r#"biz_content={&quot;out_trade_no&quot;:&quot;y&quot;}"#)
    );
    assert_eq!(error.request_sign_content.as_deref(), Some(signed.sign_content.as_str()));
    // Unescaped and compared: both lengths, and the first byte where they differ, computed
    // here from the two contents.
    let gateway_content = alipay_sdk::primitives::gateway::sign_content(tampered.all_params());
    let compared = error.signature_diagnosis.as_deref().expect("the gateway's content was compared");
    assert_eq!(compared.gateway, gateway_content);
    assert_eq!((compared.ours_len, compared.gateway_len), (signed.sign_content.len(), gateway_content.len()));
    let expected_at = signed.sign_content.bytes().zip(gateway_content.bytes()).position(|(a, b)| a != b);
    assert_eq!(compared.first_difference, expected_at);
    let message = error.to_string();
    assert!(message.contains(&format!("first differ at byte {}", expected_at.unwrap())), "{message}");

    // Raw requests missing pieces.
    let raw = |query: String| {
        let url = format!("{}?{query}", sandbox.gateway_url());
        async move { reqwest::Client::new().post(url).send().await.unwrap().text().await.unwrap() }
    };
    let valid: Vec<(String, String)> = signed.query.clone();
    let encode = |params: &[(String, String)]| {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter().map(|(k, v)| (k, v))).finish()
    };
    let without = |name: &str| encode(&valid.iter().filter(|(k, _)| k != name).cloned().collect::<Vec<_>>());
    assert!(raw(without("sign")).await.contains("isv.missing-signature"));
    assert!(raw(without("app_cert_sn")).await.contains("isv.missing-app-cert-sn"));
    assert!(raw(without("timestamp")).await.contains("isv.missing-timestamp"));
    assert!(raw(without("method")).await.contains("isv.missing-method"));
    let replaced = |name: &str, value: &str| {
        encode(
            &valid
                .iter()
                .map(|(k, v)| (k.clone(), if k == name { value.to_string() } else { v.clone() }))
                .collect::<Vec<_>>(),
        )
    };
    assert!(raw(replaced("charset", "latin1")).await.contains("isv.invalid-charset"));
    assert!(raw(replaced("app_id", "2021999999999999")).await.contains("isv.invalid-app-id"));
    assert!(raw(replaced("sign_type", "RSA")).await.contains("isv.invalid-signature-type"));
    let unknown = config.sign_request(&Request::new("alipay.nothing.here").param("x", "1")).unwrap();
    let text = raw(encode(&[unknown.query.clone(), unknown.body.clone()].concat())).await;
    assert!(text.starts_with(r#"{"error_response":"#) && text.contains("isv.invalid-method"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn public_key_mode_gbk_and_aes() {
    let sandbox = Sandbox::builder().mode(AppMode::PublicKey).start().await.unwrap();
    assert_eq!(sandbox.mode(), AppMode::PublicKey);
    let config = sandbox.client_config().charset(Charset::Gbk).aes_key(sandbox.aes_key()).build().unwrap();
    assert!(config.app_cert_sn().is_none());
    let client = Client::new(config).unwrap();
    let order = TradePrecreate::new("pk-1", amount("3.00"), "中文商品");
    let response = client.send(&order.to_request().encrypt(true)).await.unwrap();
    assert!(response.node().contains("pk-1"));
    assert!(response.alipay_cert_sn().is_none());
    let trade = client.call(&TradeQuery::by_out_trade_no("pk-1")).await.unwrap();
    assert_eq!(trade.extra["subject"], "中文商品");
    // A certificate-mode client against a public-key-mode app: its extra SNs are signed, so
    // the request is still valid; what matters is that the signature checks out.
    let wrong_key = alipay_sdk::Config::builder(sandbox.app_id())
        .gateway(sandbox.gateway_url())
        .app_private_key_file(pki("keys/other_pkcs8.pem"))
        .alipay_public_key_file(sandbox.info().alipay_public_key)
        .build()
        .unwrap();
    let error = Client::new(wrong_key).unwrap().call(&TradeQuery::by_out_trade_no("pk-1")).await.unwrap_err();
    assert_eq!(sub_code(&error), "isv.invalid-signature");
}

/// A notify_url receiver that answers `fail` `failures` times, then `success`.
pub(crate) async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let mut log = log.lock().unwrap();
                log.push((content_type, body.to_vec()));
                if log.len() > failures { "success" } else { "fail" }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_signed_and_redelivered_until_success() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let (url, received) = receiver(2).await;
    let order = TradePrecreate::new("n-1", amount("5.20"), "通知测试");
    client.send(&order.to_request().notify_url(&url)).await.unwrap();
    sandbox.buyer_pays("n-1").unwrap();
    for _ in 0..500 {
        if sandbox.deliveries().first().is_some_and(|d| d.acknowledged) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivery = sandbox.deliveries().remove(0);
    assert!(delivery.acknowledged, "{delivery:?}");
    assert_eq!(delivery.attempts, 3);
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.windows(2).all(|w| w[0].1 == w[1].1), "every redelivery carries the same notification");

    let alipay = CertificateChain::from_path(sandbox.info().alipay_cert).unwrap();
    let verifier = NotificationVerifier::certificates([alipay]).unwrap();
    let verified = verifier.verify((&bodies[0].1, Some(bodies[0].0.as_str())), Rule::V1).unwrap();
    let trade = verified.trade().unwrap();
    assert_eq!((trade.out_trade_no.as_str(), trade.total_amount), ("n-1", amount("5.20")));
    assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(trade.app_id, sandbox.app_id());
    assert_eq!(verified.get("subject"), Some("通知测试"));
    assert_eq!(verified.get("body"), Some(""), "empty values are kept and signed");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_and_the_download_api() {
    let sandbox = sandbox().await;
    let old_sn = sandbox.info().alipay_cert_sn;
    let client = client(&sandbox);
    client.call(&TradeCreate::new("rot-1", amount("1.00"), "R")).await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    assert_ne!(old_sn, new_sn);
    // The client follows the rotation: one download, checked against the root bundle.
    client.call(&TradeQuery::by_out_trade_no("rot-1")).await.unwrap();
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
    let store = client.config().cert_mode().unwrap().store().clone();
    let mut both = vec![old_sn.clone(), new_sn.clone()];
    both.sort();
    assert_eq!(store.sns(), both);
    // A bare verifier (no root bundle, old certificate only) cannot follow it.
    let info = sandbox.info();
    let old_chain = CertificateChain::from_bytes(sandbox.alipay_certs()[0].1.as_bytes()).unwrap();
    let verifier = alipay_sdk::response::ResponseVerifier::certificates([old_chain]).unwrap();
    let config = sandbox.client_config().build().unwrap();
    let signed = config.sign_request(&TradeQuery::by_out_trade_no("rot-1").to_request()).unwrap();
    let body = post_signed(&info.gateway, &signed).await;
    let error = verifier.verify("alipay.trade.query", &body).unwrap_err();
    assert!(
        matches!(error.kind(), ResponseErrorKind::UnknownCertSn { alipay_cert_sn, known, .. } if *alipay_cert_sn == new_sn && *known == vec![old_sn.clone()]),
        "{error:?}"
    );

    // Both certificates can be downloaded; each decodes to the chain with that SN.
    let mut both = sandbox.certificate_config();
    for (sn, _) in sandbox.alipay_certs() {
        let request =
            Request::new("alipay.open.app.alipaycert.download").biz(&serde_json::json!({ "alipay_cert_sn": sn }));
        let config = sandbox.client_config().build().unwrap();
        let signed = config.sign_request(&request).unwrap();
        let body = post_signed(&sandbox.gateway_url(), &signed).await;
        let node: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let content = node["alipay_open_app_alipaycert_download_response"]["alipay_cert_content"].as_str().unwrap();
        use base64::Engine as _;
        let pem = base64::engine::general_purpose::STANDARD.decode(content).unwrap();
        let chain = CertificateChain::from_bytes(&pem).unwrap();
        assert_eq!(chain.sn(), sn);
        both = both.alipay_cert(chain);
    }
    let client = Client::new(both.build().unwrap()).unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("rot-1")).await.unwrap();
    assert_eq!(trade.out_trade_no, "rot-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_reaches_the_client_as_the_right_error() {
    let sandbox = sandbox().await;
    let client =
        Client::builder(sandbox.client_config().build().unwrap()).timeout(Duration::from_millis(800)).build().unwrap();
    let create = |no: &str| TradeCreate::new(no, amount("1.00"), "F");
    let method = "alipay.trade.create";

    sandbox.set_faults(method, vec![FaultRule::times(Fault::ResetBeforeProcessing, 1)]);
    assert_eq!(client.call(&create("f-1")).await.unwrap_err().kind(), ErrorKind::Transport);
    assert_eq!(sandbox.trade_status("f-1"), None, "nothing processed");

    sandbox.set_faults(method, vec![FaultRule::times(Fault::ResetAfterProcessing, 1)]);
    assert_eq!(client.call(&create("f-2")).await.unwrap_err().kind(), ErrorKind::Transport);
    assert_eq!(sandbox.trade_status("f-2"), Some(TradeStatus::WaitBuyerPay), "processed, answer lost");
    client.call(&create("f-2")).await.unwrap();

    sandbox.set_faults(method, vec![FaultRule::times(Fault::ServerErrorHtml, 1)]);
    let error = client.call(&create("f-3")).await.unwrap_err();
    assert!(error.kind() == ErrorKind::Status && error.status_code() == Some(502), "{error:?}");

    sandbox.set_faults(method, vec![FaultRule::times(Fault::TruncatedBody, 1)]);
    let error = client.call(&create("f-4")).await.unwrap_err();
    assert!(
        error.kind() == ErrorKind::Transport
            || matches!(error.response().map(|e| e.kind()), Some(ResponseErrorKind::Malformed { .. })),
        "{error:?}"
    );

    sandbox.set_faults(method, vec![FaultRule::times(Fault::SlowBody(Duration::from_secs(3)), 1)]);
    let error = client.call(&create("f-5")).await.unwrap_err();
    assert!(error.kind() == ErrorKind::Transport && error.is_timeout(), "{error:?}");

    sandbox.set_faults(method, vec![FaultRule::times(Fault::UnsignedErrorResponse, 1)]);
    assert_eq!(client.call(&create("f-6")).await.unwrap_err().kind(), ErrorKind::Unverified);

    sandbox.set_faults(method, vec![FaultRule::times(Fault::WrongKeySignature, 1)]);
    let error = client.call(&create("f-7")).await.unwrap_err();
    assert!(
        matches!(error.response().map(|e| e.kind()), Some(ResponseErrorKind::InvalidSignature { .. })),
        "{error:?}"
    );

    sandbox.set_faults("*", vec![FaultRule::times(Fault::DuplicatedNode, 1)]);
    let error = client.call(&create("f-8")).await.unwrap_err();
    assert!(matches!(error.response().map(|e| e.kind()), Some(ResponseErrorKind::Duplicate { .. })), "{error:?}");

    // Spent rules leave the gateway healthy.
    client.call(&create("f-9")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_on_the_same_directory_keeps_the_pki() {
    let dir = tempfile::tempdir().unwrap();
    let first = Sandbox::builder().dir(dir.path()).start().await.unwrap();
    let before = first.info();
    first.rotate_alipay_cert().unwrap();
    let rotated = first.info().alipay_cert_sn;
    drop(first);
    let second = Sandbox::builder().dir(dir.path()).start().await.unwrap();
    let after = second.info();
    assert_eq!(after.app_cert_sn, before.app_cert_sn);
    assert_eq!(after.alipay_root_cert_sn, before.alipay_root_cert_sn);
    assert_eq!(after.alipay_cert_sn, rotated);
    assert_eq!(second.alipay_certs().len(), 2);
    client(&second).call(&TradeCreate::new("again", amount("1.00"), "A")).await.unwrap();
    drop(second);

    // Restarting with another mode rewrites alipay.toml, and says which settings (the mode, and
    // the gateway: a fresh port).
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let third = Sandbox::builder()
        .dir(dir.path())
        .mode(AppMode::PublicKey)
        .progress(move |line| seen.lock().unwrap().push(line.to_string()))
        .start()
        .await
        .unwrap();
    let lines = lines.lock().unwrap().clone();
    let rewritten: Vec<&String> = lines.iter().filter(|l| l.contains("rewritten")).collect();
    assert!(rewritten.iter().any(|l| l.contains("alipay.toml: mode: certificate → public-key")), "{lines:?}");
    assert!(rewritten.iter().all(|l| l.contains(": mode: ") || l.contains(": gateway: ")), "{lines:?}");
    let text = std::fs::read_to_string(dir.path().join("alipay.toml")).unwrap();
    assert!(text.contains("mode = \"public-key\""), "{text}");
    drop(third);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_can_be_given_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("sandbox-private");
    std::fs::create_dir(&private).unwrap();
    for (from, to) in [
        ("keys/app_pkcs8.pem", dir.path().join("app_private_key.pem")),
        ("ca/app_cert.pem", dir.path().join("appCertPublicKey_2021000000000001.crt")),
        ("ca/root_bundle.pem", dir.path().join("alipayRootCert.crt")),
        ("ca/alipay.key", private.join("alipay_1.key")),
        ("ca/alipay_cert.pem", private.join("alipay_1.crt")),
    ] {
        std::fs::copy(pki(from), to).unwrap();
    }
    let sandbox = Sandbox::builder().dir(dir.path()).app_id("2021000000000001").start().await.unwrap();
    let info = sandbox.info();
    assert_eq!(info.app_cert_sn, crate::common::oracle_for("app_cert.pem")["sn"].as_str().unwrap());
    assert_eq!(info.alipay_cert_sn, crate::common::oracle_for("alipay_cert.pem")["sn"].as_str().unwrap());
    // A client configured straight from testdata/ talks to it.
    let client = Client::new(crate::common::wire::cert_config(&sandbox.gateway_url()).build().unwrap()).unwrap();
    client.call(&TradeCreate::new("given-1", amount("1.00"), "Given")).await.unwrap();
    // Rotating needs the CA that issues Alipay certificates.
    let error = sandbox.rotate_alipay_cert().unwrap_err();
    assert!(error.to_string().contains("class2.key"), "{error}");
    drop(sandbox);
    std::fs::copy(pki("ca/class2.key"), private.join("class2.key")).unwrap();
    std::fs::copy(pki("ca/class2.pem"), private.join("class2.crt")).unwrap();
    let sandbox = Sandbox::builder().dir(dir.path()).app_id("2021000000000001").start().await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let client = Client::new(crate::common::wire::cert_config(&sandbox.gateway_url()).build().unwrap()).unwrap();
    client.call(&TradeQuery::by_out_trade_no("given-1")).await.unwrap_err(); // new sandbox ledger: not found…
    assert!(
        client.config().cert_mode().unwrap().store().contains(&new_sn),
        "…but the rotated certificate was followed"
    );

    // Files given but incomplete: a clear error, nothing generated over them.
    let partial = tempfile::tempdir().unwrap();
    std::fs::copy(pki("ca/root_bundle.pem"), partial.path().join("alipayRootCert.crt")).unwrap();
    let error = Sandbox::builder().dir(partial.path()).start().await.expect_err("incomplete files are refused");
    assert!(error.to_string().contains("app_private_key.pem"), "{error}");
}
