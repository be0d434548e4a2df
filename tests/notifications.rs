//! Notification verification (PROTOCOL.md §6): real Alipay-signed vectors and every rule.

mod common;

use alipay_sdk::key::PublicKey;
use alipay_sdk::notify::{NotificationVerifier, NotifyError, Rule};
use common::shared;

fn real(file: &str) -> Vec<u8> {
    std::fs::read(shared(&format!("nodesdk-real/{file}"))).unwrap()
}

fn verifier(key: &str) -> NotificationVerifier {
    NotificationVerifier::public_key(PublicKey::from_path(shared(&format!("nodesdk-real/{key}"))).unwrap())
}

#[test]
fn real_trade_notification_v1() {
    let v1 = verifier("alipay-notify-sign-public-key-v1.pem");
    let body = real("vn-real-trade-v1.txt");
    let verified = v1.verify_form(&body, Some("application/x-www-form-urlencoded"), Rule::V1).unwrap();
    let trade = verified.trade().unwrap();
    assert!(!trade.out_trade_no.is_empty());
    assert!(verified.get("fund_bill_list").unwrap().starts_with('['));
    assert_eq!(verified.ack(), "success");
    let tampered = real("vn-real-trade-v1-tampered.txt");
    assert!(matches!(v1.verify_form(&tampered, None, Rule::V1), Err(NotifyError::InvalidSignature { .. })));
    // The same message checked with the V2 rule fails: sign_type is then part of the content.
    assert!(matches!(v1.verify_form(&body, None, Rule::V2), Err(NotifyError::InvalidSignature { .. })));
}

#[test]
fn real_servicemarket_message_v2() {
    let v2 = verifier("alipay-notify-sign-public-key-v2.pem");
    let body = real("vn-real-servicemarket-v2.txt");
    v2.verify_form(&body, None, Rule::V2).unwrap();
    assert!(matches!(v2.verify_form(&body, None, Rule::V1), Err(NotifyError::InvalidSignature { .. })));
    let tampered = real("vn-real-servicemarket-v2-tampered.txt");
    assert!(matches!(v2.verify_form(&tampered, None, Rule::V2), Err(NotifyError::InvalidSignature { .. })));
}
