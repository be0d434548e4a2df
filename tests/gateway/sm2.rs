//! SM2 (国密) apps against the sandbox in SM2 mode: payments, notifications, SM4, rotation,
//! public-key mode, and the sandbox's SM2 PKI and signatures checked by BouncyCastle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alipay_sandbox::{AppMode, Fault, FaultRule, Sandbox, SandboxHandle};
use alipay_sdk::aes::EncryptType;
use alipay_sdk::cert::{CertErrorKind, Certificate, CertificateChain, RootBundle};
use alipay_sdk::config::ConfigErrorKind;
use alipay_sdk::key::{KeyAlgorithm, PrivateKey, PublicKey, SignType};
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::*;
use alipay_sdk::notify::{NotificationVerifier, Rule};
use alipay_sdk::response::ResponseErrorKind;
use alipay_sdk::{Client, Config};

use crate::common::bc::{self, b64};
use crate::common::pki;

async fn sm2_sandbox(mode: AppMode) -> SandboxHandle {
    Sandbox::builder()
        .sign_type(SignType::Sm2)
        .mode(mode)
        .notify_retry_delays(vec![Duration::from_millis(50); 6])
        .start()
        .await
        .unwrap()
}

fn amount(text: &str) -> alipay_sdk::model::Amount {
    text.parse().unwrap()
}

/// What a receiver got: (Content-Type, body) per delivery.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A notify_url receiver answering `success`.
async fn receiver() -> (String, Received) {
    crate::sandbox::receiver(0).await
}

async fn first_notification(received: &Received) -> (String, Vec<u8>) {
    for _ in 0..500 {
        if let Some(first) = received.lock().unwrap().first() {
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no notification arrived");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sm2_app_pays_end_to_end_with_sm4_encryption() {
    let sandbox = sm2_sandbox(AppMode::Certificate).await;
    let info = sandbox.info();
    assert_eq!(info.sign_type, "SM2");
    // The files: SM2 keys and certificates; the root SN counts the SM2 root only.
    let key = PrivateKey::from_path(&info.app_private_key).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Sm2);
    let roots = RootBundle::from_path(&info.alipay_root_cert).unwrap();
    assert_eq!(roots.sn_for(KeyAlgorithm::Sm2), Some(info.alipay_root_cert_sn.as_str()));
    assert_ne!(roots.sn_for(KeyAlgorithm::Rsa), roots.sn_for(KeyAlgorithm::Sm2));
    assert_eq!(roots.rsa_roots().len(), 2);

    let sm4 = sandbox.aes_key().with_encrypt_type(EncryptType::Sm4).unwrap();
    let config: Config = sandbox.client_config().aes_key(sm4.clone()).build().unwrap();
    assert_eq!(config.sign_type(), SignType::Sm2);
    let client = Client::new(config).unwrap();
    let config = client.config();

    // What goes on the wire: sign_type SM2, the SM2 root SN, biz_content under SM4.
    let query = TradeQuery::by_out_trade_no("sm2-1").to_request().encrypt(true);
    let signed = config.sign_request(&query).unwrap();
    let sent: Vec<(String, String)> = signed.all_params().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let get = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(get("sign_type").as_deref(), Some("SM2"));
    assert_eq!(get("encrypt_type").as_deref(), Some("SM4"));
    assert_eq!(get("alipay_root_cert_sn"), Some(info.alipay_root_cert_sn.clone()));
    let biz = get("biz_content").unwrap();
    assert!(!biz.contains("sm2-1"), "encrypted: {biz}");
    assert!(sm4.decrypt(&biz).is_ok());

    let (url, received) = receiver().await;
    let order = TradePrecreate::new("sm2-1", amount("66.60"), "国密订单");
    client.send(&order.to_request().notify_url(&url)).await.unwrap();
    sandbox.buyer_pays("sm2-1").unwrap();
    let (content_type, body) = first_notification(&received).await;
    let verified = config.notification_verifier().verify((&body, Some(content_type.as_str())), Rule::V1).unwrap();
    assert_eq!(verified.get("sign_type"), Some("SM2"));
    let trade = verified.trade().unwrap();
    assert_eq!((trade.out_trade_no.as_str(), trade.total_amount), ("sm2-1", amount("66.60")));
    // A verifier made from the certificate alone takes SM2 from its key.
    let alipay = CertificateChain::from_path(&info.alipay_cert).unwrap();
    NotificationVerifier::certificates([alipay.clone()]).unwrap().verify((&body, None), Rule::V1).unwrap();
    // …and refuses it when told to verify RSA2.
    let rsa2 = NotificationVerifier::certificates([alipay]).unwrap().with_sign_type(SignType::Rsa2);
    assert!(rsa2.verify((&body, None), Rule::V1).is_err());

    let paid: TradeQueryResponse = client.send(&query).await.unwrap().parse().unwrap();
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    let refund = TradeRefund::new(TradeRef::out_trade_no("sm2-1"), amount("6.60"), "r1");
    assert_eq!(client.call(&refund).await.unwrap().refund_fee, amount("6.60"));
    // The sandbox answered in SM4 as asked; the same request with AES_V2 works too.
    let aes_v2 = sandbox.aes_key().with_encrypt_type(EncryptType::AesV2).unwrap();
    let v2_client = Client::new(sandbox.client_config().aes_key(aes_v2).build().unwrap()).unwrap();
    let again: TradeQueryResponse = v2_client.send(&query).await.unwrap().parse().unwrap();
    assert_eq!(again.trade_status, TradeStatus::TradeSuccess);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_is_followed_through_the_sm2_root() {
    let sandbox = sm2_sandbox(AppMode::Certificate).await;
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradeCreate::new("sm2-rot", amount("1.00"), "R")).await.unwrap();
    let old_sn = sandbox.info().alipay_cert_sn;
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    client.call(&TradeQuery::by_out_trade_no("sm2-rot")).await.unwrap();
    client.call(&TradeQuery::by_out_trade_no("sm2-rot")).await.unwrap();
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
    let mut both = vec![old_sn, new_sn];
    both.sort();
    assert_eq!(client.config().cert_mode().unwrap().store().sns(), both);
}

#[tokio::test(flavor = "multi_thread")]
async fn public_key_mode_and_forged_answers() {
    let sandbox = sm2_sandbox(AppMode::PublicKey).await;
    let config = sandbox.client_config().build().unwrap();
    let public = PublicKey::from_path(sandbox.info().alipay_public_key).unwrap();
    assert_eq!(public.algorithm(), KeyAlgorithm::Sm2);
    let client = Client::new(config).unwrap();
    let signed = client.config().sign_request(&TradeQuery::by_out_trade_no("x").to_request()).unwrap();
    assert!(signed.all_params().all(|(k, _)| k != "app_cert_sn" && k != "alipay_root_cert_sn"));
    client.call(&TradeCreate::new("sm2-pk", amount("2.00"), "P")).await.unwrap();
    // An answer signed with another SM2 key never passes.
    sandbox.set_faults("*", vec![FaultRule::always(Fault::WrongKeySignature)]);
    let error = client.call(&TradeQuery::by_out_trade_no("sm2-pk")).await.unwrap_err();
    assert!(
        matches!(error.response().map(|e| e.kind()), Some(ResponseErrorKind::InvalidSignature { .. })),
        "{error:?}"
    );
    sandbox.clear_faults();
    client.call(&TradeQuery::by_out_trade_no("sm2-pk")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn mixed_algorithms_are_refused_when_the_configuration_is_built() {
    let sm2 = sm2_sandbox(AppMode::Certificate).await;
    let rsa = Sandbox::builder().start().await.unwrap();
    let (sm2_info, rsa_info) = (sm2.info(), rsa.info());

    // An SM2 key with sign_type RSA2.
    let error = sm2.client_config().sign_type(SignType::Rsa2).build().unwrap_err();
    let message = error.to_string();
    assert!(message.contains("app_private_key") && message.contains("RSA2") && message.contains("SM2"), "{message}");

    // An SM2 app given the RSA Alipay certificate.
    let error = sm2.certificate_config().alipay_cert_file(&rsa_info.alipay_cert).build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::AlipayKeyAlgorithm { found: KeyAlgorithm::Rsa, .. }), "{error}");
    assert!(error.to_string().contains("alipay_cert"), "{error}");

    // An SM2 app whose root bundle has no SM2 root.
    let error = sm2.certificate_config().alipay_root_cert_file(pki("ca/root_bundle.pem")).build().unwrap_err();
    let ConfigErrorKind::Cert { field, source } = error.kind() else { panic!("{error:?}") };
    assert_eq!(*field, "alipay_root_cert");
    assert!(matches!(source.kind(), CertErrorKind::NoRootForAlgorithm { algorithm: KeyAlgorithm::Sm2, .. }));
    assert!(error.to_string().contains("no SM2-signed root"), "{error}");

    // The SM2 sandbox's bundle serves RSA apps too (the RSA roots count for them).
    let bundle = RootBundle::from_path(&sm2_info.alipay_root_cert).unwrap();
    assert!(bundle.sn_for(KeyAlgorithm::Rsa).is_some());
    // A directory holding an SM2 PKI is not reused for an RSA sandbox.
    let error = Sandbox::builder().dir(sm2.dir()).start().await.err().unwrap();
    assert!(error.to_string().contains("SM2"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bouncycastle_verifies_the_sm2_pki_and_the_notifications() {
    let sandbox = sm2_sandbox(AppMode::Certificate).await;
    let info = sandbox.info();
    let alipay = CertificateChain::from_path(&info.alipay_cert).unwrap();
    let (leaf, class2) = (&alipay.certificates()[0], &alipay.certificates()[1]);
    let roots = RootBundle::from_path(&info.alipay_root_cert).unwrap();
    let root = roots.sm2_roots()[0].clone();
    let spki = |c: &Certificate| b64(&PublicKey::from_certificate(c).unwrap().to_der());

    // A certificate OpenSSL signed by itself (empty user id): neither we nor BouncyCastle accept it.
    let dir = std::env::temp_dir().join(format!("alipay-sm2-openssl-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("key.pem");
    std::fs::write(&key_path, PrivateKey::generate_sm2().unwrap().to_pkcs8_pem().unwrap()).unwrap();
    let output = std::process::Command::new("openssl")
        .args(["req", "-x509", "-new", "-sm3", "-subj", "/CN=openssl default id", "-days", "1", "-key"])
        .arg(&key_path)
        .args(["-outform", "DER"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let openssl_cert = Certificate::from_der(&output.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    // A leaf with one letter of its subject changed (still well-formed, no longer signed).
    let mut tampered_der = leaf.der().to_vec();
    let at = tampered_der.windows(16).position(|w| w == b"Sandbox Merchant").expect("the leaf's O");
    tampered_der[at] = b'T';
    let tampered = Certificate::from_der(&tampered_der).unwrap();

    // The notification: its sign content and signature, for BouncyCastle to judge.
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let (url, received) = receiver().await;
    client.send(&TradePrecreate::new("sm2-bc", amount("3.00"), "BC").to_request().notify_url(&url)).await.unwrap();
    sandbox.buyer_pays("sm2-bc").unwrap();
    let (_, body) = first_notification(&received).await;
    let form = alipay_sdk::notify::Form::parse(&body, None).unwrap();
    let params: Vec<(&str, &str)> = form.iter().collect();
    let sign = params.iter().find(|(k, _)| *k == "sign").unwrap().1;
    let content = alipay_sdk::primitives::notification::sign_content(params.iter().copied(), Rule::V1);

    let mut commands = vec![
        format!("certverify {} {}", b64(leaf.der()), spki(class2)),
        format!("certverify {} {}", b64(class2.der()), spki(&root)),
        format!("certverify {} {}", b64(root.der()), spki(&root)),
        format!("certverify {} {}", b64(openssl_cert.der()), spki(&openssl_cert)),
        format!("verify {} {} {sign}", spki(leaf), b64(content.as_bytes())),
    ];
    commands.push(format!("certverify {} {}", b64(tampered.der()), spki(class2)));
    let answers = bc::run(&commands);
    assert_eq!(answers[..5], ["true", "true", "true", "false", "true"]);
    assert!(leaf.is_signed_by(class2) && class2.is_signed_by(&root) && root.is_signed_by(&root));
    assert!(!openssl_cert.is_signed_by(&openssl_cert), "OpenSSL's empty-id signature must not verify");
    assert_eq!(answers[5], "false");
    assert!(!tampered.is_signed_by(class2));
}
