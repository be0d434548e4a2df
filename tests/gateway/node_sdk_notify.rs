//! Notifications and SPI answers against the official Alipay Node.js SDK, both ways.

use crate::common::wire::alipay_key;
use crate::common::{node, pki};
use alipay_sdk::charset::Charset;
use alipay_sdk::key::{PrivateKey, PublicKey, SignType};
use alipay_sdk::notify::{NotificationVerifier, Rule};
use alipay_sdk::primitives::notification::sign_params;
use alipay_sdk::server::Responder;
use serde_json::json;

/// The base64 body of a PEM file (how keys are usually handed to the Node SDK).
fn bare(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.starts_with("-----")).collect()
}

const CHECK_NOTIFY: &str = r#"
const { AlipaySdk } = require('alipay-sdk');
const c = JSON.parse(process.argv[2]);
const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: c.privateKey, keyType: 'PKCS8', alipayPublicKey: c.alipayPublicKey });
console.log(JSON.stringify({ results: c.notifications.map(n => sdk.checkNotifySignV2(n)) }));
"#;

#[test]
fn node_accepts_notifications_we_sign() {
    let params: Vec<(String, String)> = [
        ("notify_id", "n-node-1"),
        ("app_id", "2021000000000001"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("out_trade_no", "order+1"),
        ("subject", "中文 100% a+b"),
        ("fund_bill_list", r#"[{"amount":"1.00","fundChannel":"ALIPAYACCOUNT"}]"#),
        ("body", ""),
        ("total_amount", "1.00"),
        ("trade_status", "TRADE_SUCCESS"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let object = |rule: Rule, tamper: bool| {
        let mut map = serde_json::Map::new();
        for (k, v) in &params {
            map.insert(k.clone(), json!(v));
        }
        map.insert(
            "sign".into(),
            json!(sign_params(&params, rule, &alipay_key(), SignType::Rsa2, Charset::Utf8).unwrap()),
        );
        if tamper {
            map.insert("total_amount".into(), json!("100.00"));
        }
        serde_json::Value::Object(map)
    };
    let input = json!({
        "privateKey": bare(&pki("keys/app_pkcs8.pem")),
        "alipayPublicKey": bare(&pki("ca/alipay_public.pem")),
        "notifications": [object(Rule::V1, false), object(Rule::V2, false), object(Rule::V1, true)],
    });
    let result = node::run(CHECK_NOTIFY, &input, "UTC0");
    assert_eq!(result["results"], json!([true, true, false]), "{result}");
}

const CHECK_ANSWER: &str = r#"
const { AlipaySdk } = require('alipay-sdk');
const c = JSON.parse(process.argv[2]);
// The Node SDK plays Alipay here: the ISV's app public key verifies the ISV's answer.
const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: c.privateKey, keyType: 'PKCS8', alipayPublicKey: c.appPublicKey });
const results = c.answers.map(raw => {
  try { sdk.checkResponseSign(raw, 'response', JSON.parse(raw).sign); return 'ok'; }
  catch (e) { return 'rejected'; }
});
console.log(JSON.stringify({ results }));
"#;

#[test]
fn node_accepts_spi_answers_we_produce() {
    let responder = Responder::new(
        PrivateKey::from_path(pki("keys/app_pkcs8.pem")).unwrap(),
        Some("0c5821860a334665d4530cd426ccb391".into()),
    );
    let good = responder.json(&json!({"code": "10000", "msg": "Success", "note": "中文 / slash"})).unwrap();
    let forged = good.replace("Success", "Forged!");
    let input = json!({
        "privateKey": bare(&pki("keys/app_pkcs8.pem")),
        "appPublicKey": bare(&pki("keys/app_public.pem")),
        "answers": [good, forged],
    });
    let result = node::run(CHECK_ANSWER, &input, "UTC0");
    assert_eq!(result["results"], json!(["ok", "rejected"]), "{result}");
}

const SIGN_ORDER: &str = r#"
const { AlipaySdk } = require('alipay-sdk');
const c = JSON.parse(process.argv[2]);
const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: c.privateKey, keyType: 'PKCS8', alipayPublicKey: c.publicKey });
const order = sdk.sdkExec('alipay.trade.app.pay', { bizContent: { out_trade_no: 'node+1', subject: '中文 100%', total_amount: '9.90' }, notifyUrl: c.notifyUrl || 'https://m.example/notify?a=1&b=2' });
console.log(JSON.stringify({ order }));
"#;

#[test]
fn we_accept_what_node_signs() {
    let input =
        json!({ "privateKey": bare(&pki("keys/app_pkcs8.pem")), "publicKey": bare(&pki("keys/app_public.pem")) });
    let result = node::run(SIGN_ORDER, &input, "CST-8");
    let order = result["order"].as_str().unwrap();
    // Node signs every parameter but `sign`, sign_type included: the V2 rule.
    let verifier = NotificationVerifier::public_key(PublicKey::from_path(pki("keys/app_public.pem")).unwrap());
    // `notify_url` holds `&b=2`: the unescaped content reads like a parameter `b`, but that is
    // how Alipay and Node sign it, and Java verifies it: so do we.
    let verified = verifier.verify((order.as_bytes(), None), Rule::V2).unwrap();
    assert_eq!(verified.get("notify_url"), Some("https://m.example/notify?a=1&b=2"));
    // With the `&` escaped inside the URL (as merchants should), the same Node-signed form verifies.
    let escaped_input = json!({
        "privateKey": bare(&pki("keys/app_pkcs8.pem")),
        "publicKey": bare(&pki("keys/app_public.pem")),
        "notifyUrl": "https://m.example/notify?a=1%26b=2",
    });
    let escaped = node::run(SIGN_ORDER, &escaped_input, "CST-8");
    let verified = verifier.verify((escaped["order"].as_str().unwrap().as_bytes(), None), Rule::V2).unwrap();
    assert_eq!(verified.get("notify_url"), Some("https://m.example/notify?a=1%26b=2"));
    let biz: serde_json::Value = serde_json::from_str(verified.get("biz_content").unwrap()).unwrap();
    assert_eq!(biz["subject"], "中文 100%");
    // And it is exactly what our request signing rules produce over the same parameters.
    let params = alipay_sdk::notify::Form::parse(order.as_bytes(), None).map(|form| form.to_pairs()).unwrap();
    let ours = alipay_sdk::primitives::gateway::sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let node_sign = params.iter().find(|(k, _)| k == "sign").unwrap().1.clone();
    assert!(PublicKey::from_path(pki("keys/app_public.pem")).unwrap().verify(
        ours.as_bytes(),
        &node_sign,
        SignType::Rsa2
    ));
}
