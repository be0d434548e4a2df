//! Signing a request, verifying a ~1 KB response and a whole loopback call, each beside a raw
//! OpenSSL RSA-2048 baseline over the same bytes, in the same run.
//!
//! Targets (issue 3): signing costs at most 5% more than the raw sign; verifying at most 25%
//! more than the raw verify. Run: `cargo bench --bench client`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use alipay_sdk::key::SignType;
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::TradeQuery;
use common::wire::{CaptureServer, alipay_cert_sn, alipay_key, cert_config, signed_body};
use criterion::{Criterion, criterion_group, criterion_main};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};

/// A realistic ~1 KB `alipay.trade.query` node.
fn node_1k() -> String {
    let mut node = String::from(
        r#"{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"88.88","buyer_user_id":"2088101117955611","fund_bill_list":[{"amount":"88.88","fund_channel":"ALIPAYACCOUNT"}],"invoice_amount":"88.88","out_trade_no":"6823789339978248","point_amount":"0.00","receipt_amount":"88.88","send_pay_date":"2026-03-01 12:00:00","total_amount":"88.88","trade_no":"2013112011001004330000121536","trade_status":"TRADE_SUCCESS","subject":"会员充值 月卡""#,
    );
    node.push_str(r#","body":""#);
    while node.len() < 1000 {
        node.push_str("detail ");
    }
    node.push_str("\"}");
    node
}

fn raw_keys() -> (PKey<openssl::pkey::Private>, PKey<openssl::pkey::Public>) {
    let private = PKey::private_key_from_pem(&std::fs::read(common::pki("keys/app_pkcs8.pem")).unwrap()).unwrap();
    let public = PKey::public_key_from_pem(&std::fs::read(common::pki("ca/alipay_public.pem")).unwrap()).unwrap();
    (private, public)
}

fn raw_sign(key: &PKey<openssl::pkey::Private>, data: &[u8]) -> Vec<u8> {
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.sign_oneshot_to_vec(data).unwrap()
}

fn raw_verify(key: &PKey<openssl::pkey::Public>, data: &[u8], signature: &[u8]) -> bool {
    let mut verifier = Verifier::new(MessageDigest::sha256(), key).unwrap();
    verifier.verify_oneshot(signature, data).unwrap()
}

fn signing(c: &mut Criterion) {
    let config = cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let request = TradeQuery::by_out_trade_no("6823789339978248").to_request();
    let content = config.sign_request(&request).unwrap().sign_content;
    let (private, _) = raw_keys();
    let mut group = c.benchmark_group("sign");
    group.bench_function("raw_openssl_rsa2048_sign", |b| b.iter(|| raw_sign(&private, black_box(content.as_bytes()))));
    group.bench_function("sign_request", |b| b.iter(|| config.sign_request(black_box(&request)).unwrap()));
    group.finish();
}

fn verifying(c: &mut Criterion) {
    let config = cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let node = node_1k();
    let body = signed_body("alipay.trade.query", &node, Some(&alipay_cert_sn()), &alipay_key());
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(alipay_key().sign(node.as_bytes(), SignType::Rsa2).unwrap())
        .unwrap();
    let alipay_public =
        PKey::public_key_from_pem(&std::fs::read(common::pki("ca/alipay_public.pem")).unwrap()).unwrap();
    assert!(raw_verify(&alipay_public, node.as_bytes(), &signature));
    let mut group = c.benchmark_group("verify_1k");
    group.bench_function("raw_openssl_rsa2048_verify", |b| {
        b.iter(|| raw_verify(&alipay_public, black_box(node.as_bytes()), &signature))
    });
    group.bench_function("verify_response", |b| {
        b.iter(|| config.verify_response("alipay.trade.query", black_box(body.as_bytes())).unwrap())
    });
    group.finish();
}

fn whole_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let node = node_1k();
    let body = signed_body("alipay.trade.query", &node, Some(&alipay_cert_sn()), &alipay_key()).into_bytes();
    let server = runtime.block_on(CaptureServer::start(move |_| (200, body.clone())));
    let client = alipay_sdk::Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let api = TradeQuery::by_out_trade_no("6823789339978248");
    let (private, _) = raw_keys();
    let alipay_public =
        PKey::public_key_from_pem(&std::fs::read(common::pki("ca/alipay_public.pem")).unwrap()).unwrap();
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(alipay_key().sign(node.as_bytes(), SignType::Rsa2).unwrap())
        .unwrap();
    let mut group = c.benchmark_group("call_loopback");
    group.bench_function("raw_openssl_sign_plus_verify", |b| {
        b.iter(|| {
            raw_sign(&private, black_box(node.as_bytes()));
            raw_verify(&alipay_public, black_box(node.as_bytes()), &signature)
        })
    });
    group.bench_function("client_call", |b| b.iter(|| runtime.block_on(client.call(black_box(&api))).unwrap()));
    group.finish();
    server.requests.lock().unwrap().clear();
}

criterion_group!(benches, signing, verifying, whole_call);
criterion_main!(benches);
