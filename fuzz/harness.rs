//! What each fuzz target runs on one input. Shared, by `#[path]`, between the `cargo fuzz`
//! targets (nightly, libFuzzer) and the stable replay test (`tests/hardening.rs`), so the corpus
//! and the regression inputs exercise exactly the code the fuzzers did.
//!
//! Every function must return without panicking, in time linear in the input; the verifiers
//! must not accept anything whose signed content was not signed by the test PKI's Alipay key.
#![allow(dead_code)]

use std::sync::OnceLock;

use alipay_sdk::cert::{CertificateChain, RootBundle};
use alipay_sdk::key::{PrivateKey, PublicKey};
use alipay_sdk::notify::{NotificationVerifier, Rule};
use alipay_sdk::response::ResponseVerifier;

const ALIPAY_CERT: &[u8] = include_bytes!("../testdata/pki/ca/alipay_cert.pem");

/// Certificate files and root bundles: every reader, and what is derived from a parsed one.
pub fn certificate(data: &[u8]) {
    let _ = alipay_sdk::kind::sniff(data);
    if let Ok(chain) = CertificateChain::from_bytes(data) {
        let _ = chain.sn().len();
        for certificate in chain.certificates() {
            let _ = (certificate.subject(), certificate.issuer(), certificate.serial_hex(), certificate.role());
            let _ = serde_json::to_string(&certificate.info(chrono::DateTime::UNIX_EPOCH));
        }
        let _ = chain.clone().expect_alipay_certificate();
        let _ = chain.expect_app_certificate();
    }
    if let Ok(bundle) = RootBundle::from_bytes(data) {
        let _ = bundle.sn().len();
    }
}

/// Private and public keys in every form.
pub fn key(data: &[u8]) {
    if let Ok(key) = PrivateKey::from_bytes(data) {
        let _ = key.bits();
    }
    if let Ok(key) = PublicKey::from_bytes(data) {
        let _ = key.bits();
    }
}

fn verifiers() -> &'static (ResponseVerifier, ResponseVerifier) {
    static VERIFIERS: OnceLock<(ResponseVerifier, ResponseVerifier)> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let chain = CertificateChain::from_bytes(ALIPAY_CERT).expect("test PKI Alipay certificate");
        let key = PublicKey::from_certificate(chain.leaf()).expect("its key");
        (ResponseVerifier::certificates([chain]).expect("verifier"), ResponseVerifier::public_key(key))
    })
}

/// Gateway response bodies, in certificate and public-key mode.
pub fn response(data: &[u8]) {
    let (certificates, public_key) = verifiers();
    for method in ["alipay.trade.query", "alipay.open.app.alipaycert.download"] {
        for verifier in [certificates, public_key] {
            if let Ok(verified) = verifier.verify(method, data) {
                let _ = verified.node();
            }
        }
    }
}

fn notification_verifiers() -> &'static [NotificationVerifier; 2] {
    static VERIFIERS: OnceLock<[NotificationVerifier; 2]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let chain = CertificateChain::from_bytes(ALIPAY_CERT).expect("test PKI Alipay certificate");
        let key = PublicKey::from_certificate(chain.leaf()).expect("its key");
        [NotificationVerifier::certificates([chain]).expect("verifier"), NotificationVerifier::public_key(key)]
    })
}

/// Notification form bodies, with and without a charset in the content type, both rules.
pub fn notification(data: &[u8]) {
    for content_type in [None, Some("application/x-www-form-urlencoded; charset=GBK")] {
        let _ = alipay_sdk::notify::parse_form(data, content_type);
        for verifier in notification_verifiers() {
            for rule in [Rule::V1, Rule::V2] {
                if let Ok(verified) = verifier.verify_form(data, content_type, rule) {
                    let _ = verified.trade();
                }
            }
        }
    }
}
