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
const APP_KEY: &[u8] = include_bytes!("../testdata/pki/keys/app_pkcs8.pem");
const APP_CERT: &[u8] = include_bytes!("../testdata/pki/ca/app_cert.pem");
const ROOT_BUNDLE: &[u8] = include_bytes!("../testdata/pki/ca/root_bundle.pem");

/// Certificate files and root bundles: every reader, and what is derived from a parsed one.
pub(crate) fn certificate(data: &[u8]) {
    let _ = alipay_sdk::kind::sniff(data);
    if let Ok(chain) = CertificateChain::from_bytes(data) {
        let _ = chain.sn().len();
        for certificate in chain.certificates() {
            let _ = (certificate.subject(), certificate.issuer(), certificate.serial_hex(), certificate.role());
            let _ = serde_json::to_string(&certificate.info(chrono::DateTime::UNIX_EPOCH));
        }
        let _ = chain.clone().require_alipay_certificate();
        let _ = chain.require_app_certificate();
    }
    if let Ok(bundle) = RootBundle::from_bytes(data) {
        let _ = bundle.sn().len();
    }
}

/// Private and public keys in every form.
pub(crate) fn key(data: &[u8]) {
    if let Ok(key) = PrivateKey::from_bytes(data) {
        let _ = key.bits();
        // A key that loads signs with its own algorithm and its public half verifies it
        // (SM2 keys: SM3withSM2 with the user id).
        let sign_type = alipay_sdk::key::SignType::default_for(key.algorithm());
        let signature = key.sign(b"probe", sign_type).expect("a loaded key signs");
        assert!(key.public_key().verify(b"probe", &signature, sign_type));
    }
    if let Ok(key) = PublicKey::from_bytes(data) {
        let _ = key.bits();
        let sign_type = alipay_sdk::key::SignType::default_for(key.algorithm());
        assert!(!key.verify(b"probe", "MEUCIQ==", sign_type));
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
pub(crate) fn response(data: &[u8]) {
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
pub(crate) fn notification(data: &[u8]) {
    for content_type in [None, Some("application/x-www-form-urlencoded; charset=GBK")] {
        let _ = alipay_sdk::notify::Form::parse(data, content_type).map(|form| form.to_pairs());
        for verifier in notification_verifiers() {
            for rule in [Rule::V1, Rule::V2] {
                if let Ok(verified) = verifier.verify((data, content_type), rule) {
                    let _ = verified.trade();
                }
            }
        }
    }
}

/// A certificate-mode and a public-key-mode configuration of the test PKI (with an AES key),
/// and a plain and an encrypted v3 request signed by each, made once.
fn v3_setup() -> &'static [(alipay_sdk::Config, [alipay_sdk::v3::SignedV3Request; 2]); 2] {
    use alipay_sdk::Config;
    use alipay_sdk::v3::V3Request;
    static SETUP: OnceLock<[(Config, [alipay_sdk::v3::SignedV3Request; 2]); 2]> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = || PrivateKey::from_bytes(APP_KEY).expect("test PKI app key");
        let chain = CertificateChain::from_bytes(ALIPAY_CERT).expect("test PKI Alipay certificate");
        let aes = || alipay_sdk::aes::AesKey::from_bytes(vec![7; 16]).expect("an AES key");
        // The seeds (fuzz/seed.py) are stamped 1700000000000 ms: the clock says the same, so
        // that the answers' time window is fuzzed too.
        let clock = || -> std::sync::Arc<dyn alipay_sdk::config::Clock> { std::sync::Arc::new(SeedClock) };
        let certificate = Config::builder("2021000000000001")
            .clock(clock())
            .app_private_key(key())
            .aes_key(aes())
            .app_cert(CertificateChain::from_bytes(APP_CERT).expect("test PKI app certificate"))
            .alipay_cert(chain.clone())
            .alipay_root_cert(RootBundle::from_bytes(ROOT_BUNDLE).expect("test PKI roots"))
            .build()
            .expect("certificate-mode configuration");
        let public_key = Config::builder("2021000000000001")
            .clock(clock())
            .app_private_key(key())
            .aes_key(aes())
            .alipay_public_key(PublicKey::from_certificate(chain.leaf()).expect("its key"))
            .build()
            .expect("public-key-mode configuration");
        let request = V3Request::for_api("alipay.trade.query").body(&serde_json::json!({"out_trade_no": "o-1"}));
        let signed = |config: &Config| {
            [
                config.sign_v3(&request).expect("signs"),
                config.sign_v3(&request.clone().encrypt(true)).expect("signs encrypted"),
            ]
        };
        let certificate_signed = signed(&certificate);
        let public_key_signed = signed(&public_key);
        [(certificate, certificate_signed), (public_key, public_key_signed)]
    })
}

/// The time of the v3 seeds.
#[derive(Debug)]
struct SeedClock;

impl alipay_sdk::config::Clock for SeedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default()
    }
}

/// OpenAPI v3 answers: the first byte picks the HTTP status, then `name: value` header lines
/// up to an empty line, then the body; judged in both modes, for a plain and an encrypted
/// request. The same bytes, as text, also serve as a path template, a path parameter and a
/// query value of a request whose URI is built (not signed: the path is what can go wrong).
pub(crate) fn v3(data: &[u8]) {
    v3_verified(data);
}

/// [`v3`], returning how many of the four judgements accepted the answer.
pub(crate) fn v3_verified(data: &[u8]) -> usize {
    const STATUSES: [u16; 6] = [200, 204, 400, 401, 500, 502];
    let Some((&first, rest)) = data.split_first() else { return 0 };
    let status = STATUSES[usize::from(first) % STATUSES.len()];
    let split = rest.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&rest[..0], rest),
    };
    let mut answer = alipay_sdk::flow::HttpResponse::new(status, body.to_vec());
    for line in String::from_utf8_lossy(head).lines() {
        if let Some((name, value)) = line.split_once(':') {
            answer = answer.header(name.trim(), value.trim());
        }
    }
    let mut accepted = 0;
    for (config, signed) in v3_setup() {
        for request in signed {
            if let Ok(verified) = config.verify_v3(request, &answer) {
                let _ = verified.parse::<serde_json::Value>();
                accepted += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let request = alipay_sdk::v3::V3Request::post(text.as_ref())
        .path_param(text.as_ref(), text.as_ref())
        .query(text.as_ref(), text.as_ref());
    if let Ok(uri) = request.uri() {
        // Whatever the caller gave, what is sent is a path and a query: no raw space, brace,
        // fragment or second '?'.
        let (path, _query) = uri.split_once('?').unwrap_or((&uri, ""));
        assert!(path.starts_with('/') && !uri.contains([' ', '{', '}', '#']) && !path.contains('?'), "{uri}");
    }
    let _ = format!("{request:?}");
    accepted
}

/// Bill archives (feature `bill`): the bytes as an archive; as the text of both detail files put
/// into an archive here; and as the text of both summary files beside minimal detail files —
/// each read as a trade and as an account bill. A bill that parses lists every file of its
/// archive and serializes.
#[cfg(feature = "bill")]
pub(crate) fn bill(data: &[u8]) {
    bill_parsed(data);
}

/// [`bill`], returning how many of its six readings parsed (so the replay test can tell that the
/// seeds reach the typed rows).
#[cfg(feature = "bill")]
pub(crate) fn bill_parsed(data: &[u8]) -> usize {
    use alipay_sdk::bill::{self, BillLimits};
    use alipay_sdk::model::settle::BillType;

    // UTF-8 with a byte-order mark is read as UTF-8; the markers make them detail files.
    const TRADE_DETAIL: &[u8] = "\u{feff}支付宝交易号\r\n".as_bytes();
    const ACCOUNT_DETAIL: &[u8] = "\u{feff}账务流水号\r\n".as_bytes();
    let archives = [
        data.to_vec(),
        stored_zip(&[("x_业务明细.csv", data), ("x_账务明细.csv", data)]),
        stored_zip(&[
            ("x_业务明细.csv", TRADE_DETAIL),
            ("x_账务明细.csv", ACCOUNT_DETAIL),
            ("x_业务明细(汇总).csv", data),
            ("x_账务明细(汇总).csv", data),
        ]),
    ];
    let limits = BillLimits { max_download_bytes: 1 << 20, max_unpacked_bytes: 1 << 20, ..BillLimits::default() };
    let mut parsed_count = 0;
    for archive in &archives {
        for bill_type in [BillType::Trade, BillType::SignCustomer] {
            if let Ok(parsed) = bill::parse(archive, bill_type, limits) {
                assert_eq!(parsed.bill_type, bill_type);
                assert!(!parsed.files.is_empty());
                serde_json::to_string(&parsed).expect("a parsed bill serializes");
                parsed_count += 1;
            }
        }
    }
    parsed_count
}

/// An archive of `files`, stored (not compressed) so the fuzzer's bytes reach the CSV reader.
#[cfg(feature = "bill")]
fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in files {
        writer.start_file(*name, options).expect("an entry starts");
        writer.write_all(content).expect("an entry is written");
    }
    writer.finish().expect("the archive is finished");
    buffer.into_inner()
}
