//! Certificate lifecycle with figures: rotation under load, rejected downloads, key swaps
//! under concurrent signing, file watching, expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{pki, shared};
use alipay_sdk::Config;
use alipay_sdk::cert::{CertificateChain, RootBundle};
use alipay_sdk::config::Clock;
use alipay_sdk::key::{PublicKey, SignType};
use alipay_sdk::lifecycle::{
    AlipayCertStore, CertKind, DownloadErrorKind, ExpiryStatus, ReloadErrorKind, ReloadOutcome,
};
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::TradeQuery;
use chrono::{DateTime, Utc};

/// A clock the test moves.
#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn at(at: DateTime<Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(at)))
    }
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(pki(path)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_mid_run_200_concurrent_calls_one_download() {
    use alipay_sdk::model::trade::TradeCreate;
    let sandbox = alipay_sandbox::Sandbox::builder().start().await.unwrap();
    let persisted = tempfile::tempdir().unwrap();
    let config = sandbox.certificate_config().alipay_cert_dir(persisted.path()).build().unwrap();
    let client = alipay_sdk::Client::new(config).unwrap();
    client.call(&TradeCreate::new("load-1", "1.00".parse().unwrap(), "Load")).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((i % 20) * 15)).await;
            client.call(&TradeQuery::by_out_trade_no("load-1")).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(120)).await;
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(error) = task.await.unwrap() {
            failures.push(error.to_string());
        }
    }
    client.call(&TradeQuery::by_out_trade_no("load-1")).await.unwrap();
    assert_eq!(failures, Vec::<String>::new(), "zero failed verifications");
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1, "exactly one download");
    let store = client.config().cert_mode().unwrap().store().clone();
    assert_eq!(store.download_count(), 1);
    assert!(store.contains(&new_sn));

    // The accepted certificate was persisted; a new client starts with it, without downloading.
    assert!(persisted.path().join(format!("alipayCertPublicKey_{new_sn}.crt")).exists());
    let restarted =
        alipay_sdk::Client::new(sandbox.certificate_config().alipay_cert_dir(persisted.path()).build().unwrap())
            .unwrap();
    assert!(restarted.config().cert_mode().unwrap().store().contains(&new_sn));
    restarted.call(&TradeQuery::by_out_trade_no("load-1")).await.unwrap();
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
}

#[test]
fn each_bad_download_is_rejected_and_changes_nothing() {
    let good = read("ca/alipay_cert.pem");
    let good_chain = CertificateChain::from_bytes(&good).unwrap();
    let good_sn = good_chain.sn().to_string();
    let during = good_chain.leaf().not_before() + chrono::Duration::days(1);
    let clock = ManualClock::at(during);
    let store = Arc::new(
        AlipayCertStore::new([])
            .unwrap()
            .issued_to(good_chain.leaf().subject_cn().unwrap())
            .with_roots(RootBundle::from_path(pki("ca/root_bundle.pem")).unwrap())
            .with_clock(clock.clone())
            .retry_after(Duration::from_secs(600)),
    );
    store.validate(&good, &good_sn).unwrap();

    let sn_of = |path: &str| CertificateChain::from_path(pki(path)).unwrap().sn().to_string();
    let rogue_sn = sn_of("ca/alipay_cert_rogue_ca.pem");
    let weak_sn = sn_of("ca/alipay_cert_1024.pem");
    let cases: Vec<(&str, String, Vec<u8>, DateTime<Utc>)> = vec![
        ("wrong chain", rogue_sn, read("ca/alipay_cert_rogue_ca.pem"), during),
        ("expired", good_sn.clone(), good.clone(), good_chain.leaf().not_after() + chrono::Duration::days(1)),
        ("not yet valid", good_sn.clone(), good.clone(), good_chain.leaf().not_before() - chrono::Duration::days(1)),
        ("SN mismatch", "0123456789abcdef0123456789abcdef".into(), good.clone(), during),
        ("RSA-1024", weak_sn, read("ca/alipay_cert_1024.pem"), during),
        ("garbage", "fedcba9876543210fedcba9876543210".into(), b"<html>not a certificate</html>".to_vec(), during),
    ];
    for (name, sn, content, at) in cases {
        clock.set(at);
        let calls = AtomicUsize::new(0);
        let download = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(content.clone())
        };
        let error = store.fetch_blocking(&sn, download).unwrap_err();
        let expected = match name {
            "wrong chain" => matches!(error.kind(), DownloadErrorKind::Chain { .. }),
            "expired" => matches!(error.kind(), DownloadErrorKind::Expired { .. }),
            "not yet valid" => matches!(error.kind(), DownloadErrorKind::NotYetValid { .. }),
            "SN mismatch" => matches!(error.kind(), DownloadErrorKind::SnMismatch { .. }),
            "RSA-1024" => matches!(error.kind(), DownloadErrorKind::WeakKey { .. }),
            _ => matches!(error.kind(), DownloadErrorKind::Garbage { .. }),
        };
        assert!(expected, "{name}: {error:?}");
        assert!(store.sns().is_empty(), "{name}: the store is unchanged");
        // Not retried within the window, retried after it.
        let again = store.fetch_blocking(&sn, download).unwrap_err();
        assert!(matches!(again.kind(), DownloadErrorKind::RecentlyFailed { .. }), "{name}: {again:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{name}: no second download within the window");
        clock.set(at + chrono::Duration::minutes(11));
        let _ = store.fetch_blocking(&sn, download);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{name}: retried after the window");
        assert!(store.sns().is_empty());
    }
    clock.set(during);
    store.fetch_blocking(&good_sn, || Ok(good.clone())).unwrap();
    assert_eq!(store.sns(), vec![good_sn]);
}

#[test]
fn java_leniency_on_key_usage_and_a_strict_mode() {
    // Alipay's real sandbox intermediate lacks keyCertSign: Java accepts it, strict RFC 5280 does not.
    let content = std::fs::read(shared("alipay/sandbox_alipayPublicCert_smartwalle.crt")).unwrap();
    let chain = CertificateChain::from_bytes(&content).unwrap();
    let roots = RootBundle::from_path(shared("alipay/sandbox_dev_alipayRootCert_javasdk.crt")).unwrap();
    let clock = ManualClock::at(chain.leaf().not_before() + chrono::Duration::days(1));
    let cn = chain.leaf().subject_cn().unwrap();
    assert_eq!(cn, "支付宝(中国)网络技术有限公司-2088721004113593", "the real sandbox certificate's CN");
    let lenient =
        AlipayCertStore::new([]).unwrap().issued_to(cn.clone()).with_roots(roots.clone()).with_clock(clock.clone());
    lenient.validate(&content, "05d88faef76d723019c5c14d3ecd014a").unwrap();
    let strict = AlipayCertStore::new([]).unwrap().issued_to(cn).with_roots(roots).with_clock(clock).strict(true);
    let error = strict.validate(&content, "05d88faef76d723019c5c14d3ecd014a").unwrap_err();
    assert!(matches!(error.kind(), DownloadErrorKind::KeyUsage { .. }), "{error:?}");

    // A production chain to the production bundle passes strict checks too.
    let prod = std::fs::read(shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk.crt")).unwrap();
    let prod_chain = CertificateChain::from_bytes(&prod).unwrap();
    let strict = AlipayCertStore::new([])
        .unwrap()
        .issued_to(prod_chain.leaf().subject_cn().unwrap())
        .with_roots(RootBundle::from_path(shared("alipay/prod_alipayRootCert.crt")).unwrap())
        .with_clock(ManualClock::at(prod_chain.leaf().not_before() + chrono::Duration::days(1)))
        .strict(true);
    strict.validate(&prod, "f4facbef87f2c92cf8ca72cdfcb25eb1").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fetches_download_once() {
    let good = read("ca/alipay_cert.pem");
    let sn = CertificateChain::from_bytes(&good).unwrap().sn().to_string();
    let store = Arc::new(
        AlipayCertStore::new([])
            .unwrap()
            .issued_to("支付宝(中国)网络技术有限公司-2088000000000001")
            .with_roots(RootBundle::from_path(pki("ca/root_bundle.pem")).unwrap()),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (store, calls, good, sn) = (store.clone(), calls.clone(), good.clone(), sn.clone());
        tasks.push(tokio::spawn(async move {
            store
                .fetch(&sn, || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(good)
                })
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

fn cert_mode_config(key: &str, cert: &str) -> alipay_sdk::ConfigBuilder<alipay_sdk::config::CertificateMode> {
    Config::builder("2021000000000001")
        .gateway("http://127.0.0.1:9/gateway.do")
        .app_private_key_file(key)
        .app_cert_file(cert)
        .alipay_cert_file(pki("ca/alipay_cert.pem"))
        .alipay_root_cert_file(pki("ca/root_bundle.pem"))
}

#[test]
fn signers_never_mix_key_and_sn_while_pairs_are_swapped() {
    let path = |p: &str| pki(p).display().to_string();
    let config = Arc::new(cert_mode_config(&path("keys/app_pkcs8.pem"), &path("ca/app_cert.pem")).build().unwrap());
    let pairs = [
        ("keys/app_pkcs8.pem", "ca/app_cert.pem"),
        ("keys/app2_pkcs8.pem", "ca/app_cert_2.pem"),
        ("keys/app3_pkcs8.pem", "ca/app_cert_3.pem"),
    ];
    let mut keys_by_sn: HashMap<String, PublicKey> = HashMap::new();
    for (_, cert) in pairs {
        let chain = CertificateChain::from_path(pki(cert)).unwrap();
        keys_by_sn.insert(chain.sn().to_string(), PublicKey::from_certificate(chain.leaf()).unwrap());
    }
    assert_eq!(keys_by_sn.len(), 3);
    // 20 swaps, every fourth deliberately bad.
    let text = |p: &str| read(p);
    let truncated_key = {
        let k = text("keys/app2_pkcs8.pem");
        k[..k.len() / 2].to_vec()
    };
    let swaps: Vec<(Vec<u8>, Vec<u8>, bool)> = (0..20)
        .map(|i| match (i % 4, i % 3) {
            (3, 0) => (text("keys/app2_pkcs8.pem"), text("ca/app_cert_3.pem"), false),
            (3, 1) => (text("keys/app_pkcs8.pem"), text("ca/alipay_cert.pem"), false),
            (3, _) => (truncated_key.clone(), text("ca/app_cert_2.pem"), false),
            (_, n) => (text(pairs[n].0), text(pairs[n].1), true),
        })
        .collect();

    const SIGNERS: usize = 8;
    const SIGNS: usize = 2000;
    let progress = Arc::new(AtomicUsize::new(0));
    let request = TradeQuery::by_out_trade_no("swap-1").to_request();
    let mut handles = Vec::new();
    for _ in 0..SIGNERS {
        let (config, progress, request) = (config.clone(), progress.clone(), request.clone());
        handles.push(std::thread::spawn(move || {
            let mut out = Vec::with_capacity(SIGNS);
            let mut failed = 0;
            for _ in 0..SIGNS {
                match config.sign_request(&request) {
                    Ok(signed) => {
                        let sn = signed.query.iter().find(|(k, _)| k == "app_cert_sn").unwrap().1.clone();
                        out.push((sn, signed.sign_content.clone(), signed.sign().to_string()));
                    }
                    Err(_) => failed += 1,
                }
                progress.fetch_add(1, Ordering::Relaxed);
            }
            (out, failed)
        }));
    }
    let mut good_swaps = 0;
    let mut rejected = 0;
    for (i, (key, cert, valid)) in swaps.iter().enumerate() {
        while progress.load(Ordering::Relaxed) < (i + 1) * SIGNERS * SIGNS / 22 {
            std::thread::yield_now();
        }
        match config.identity_cell().reload_from_bytes(key, Some(cert)) {
            Ok(ReloadOutcome::Swapped { .. }) => {
                assert!(valid, "swap {i} should have been rejected");
                good_swaps += 1;
            }
            Ok(ReloadOutcome::Unchanged) => unreachable!("bytes reloads always swap or fail"),
            Err(error) => {
                assert!(!valid, "swap {i} should have succeeded: {error}");
                assert!(config.identity_cell().last_error().is_some());
                rejected += 1;
            }
        }
    }
    let mut signatures = Vec::new();
    let mut failed_signs = 0;
    for handle in handles {
        let (out, failed) = handle.join().unwrap();
        signatures.extend(out);
        failed_signs += failed;
    }
    assert_eq!((good_swaps, rejected), (15, 5));
    assert_eq!(failed_signs, 0, "zero failed signs");
    assert_eq!(signatures.len(), SIGNERS * SIGNS);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (sn, content, sign) in &signatures {
        let key = keys_by_sn.get(sn).unwrap_or_else(|| panic!("unknown SN {sn}"));
        assert!(
            key.verify(content.as_bytes(), sign, SignType::Rsa2),
            "a signature does not verify under its SN's certificate"
        );
        *seen.entry(sn.as_str()).or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "signatures were made with every pair: {seen:?}");
}

#[test]
fn watching_follows_symlink_swaps_and_keeps_the_last_good_pair() {
    let dir = tempfile::tempdir().unwrap();
    let version = |name: &str, key: &str, cert: &str| {
        let v = dir.path().join(name);
        std::fs::create_dir(&v).unwrap();
        std::fs::copy(pki(key), v.join("app.key")).unwrap();
        std::fs::copy(pki(cert), v.join("app.crt")).unwrap();
    };
    version("v1", "keys/app_pkcs8.pem", "ca/app_cert.pem");
    version("v2", "keys/app2_pkcs8.pem", "ca/app_cert_2.pem");
    version("v3", "keys/app3_pkcs8.pem", "ca/app_cert_2.pem"); // mismatched: must be refused
    let point = |target: &str| {
        let link = dir.path().join("..data.tmp");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        std::fs::rename(&link, dir.path().join("..data")).unwrap();
    };
    point("v1");
    std::os::unix::fs::symlink("..data/app.key", dir.path().join("app.key")).unwrap();
    std::os::unix::fs::symlink("..data/app.crt", dir.path().join("app.crt")).unwrap();
    let config = cert_mode_config(
        &dir.path().join("app.key").display().to_string(),
        &dir.path().join("app.crt").display().to_string(),
    )
    .build()
    .unwrap();
    let sn = |p: &str| CertificateChain::from_path(pki(p)).unwrap().sn().to_string();
    assert_eq!(config.app_cert_sn(), Some(sn("ca/app_cert.pem")));
    assert_eq!(config.reload_app_identity().unwrap(), ReloadOutcome::Unchanged);

    let _watch = config.watch_app_identity(Duration::from_millis(25)).unwrap();
    let wait_for = |wanted: &dyn Fn() -> bool| {
        for _ in 0..1000 {
            if wanted() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    };
    point("v2");
    assert!(wait_for(&|| config.app_cert_sn() == Some(sn("ca/app_cert_2.pem"))), "the watcher picked up v2");
    point("v3");
    assert!(wait_for(&|| config.identity_cell().last_error().is_some()), "the bad pair was reported");
    assert_eq!(config.app_cert_sn(), Some(sn("ca/app_cert_2.pem")), "the last good pair stays");
    let error = config.reload_app_identity().unwrap_err();
    assert!(matches!(error.kind(), ReloadErrorKind::Mismatch(_)), "{error}");
    let signed = config.sign_request(&TradeQuery::by_out_trade_no("w").to_request()).unwrap();
    let key = PublicKey::from_path(pki("keys/app_public.pem")).unwrap();
    assert!(!key.verify(signed.sign_content.as_bytes(), signed.sign(), SignType::Rsa2));
    let key2 =
        PublicKey::from_certificate(CertificateChain::from_path(pki("ca/app_cert_2.pem")).unwrap().leaf()).unwrap();
    assert!(key2.verify(signed.sign_content.as_bytes(), signed.sign(), SignType::Rsa2));
}

#[test]
fn a_pair_not_valid_now_is_refused() {
    let app = CertificateChain::from_path(pki("ca/app_cert_2.pem")).unwrap();
    let clock = ManualClock::at(app.leaf().not_after() + chrono::Duration::days(1));
    let path = |p: &str| pki(p).display().to_string();
    let config = cert_mode_config(&path("keys/app_pkcs8.pem"), &path("ca/app_cert.pem")).clock(clock).build().unwrap();
    let error = config
        .identity_cell()
        .reload_from_bytes(&read("keys/app2_pkcs8.pem"), Some(&read("ca/app_cert_2.pem")))
        .unwrap_err();
    assert!(matches!(error.kind(), ReloadErrorKind::NotValidNow { .. }), "{error}");
    let error = config.identity_cell().reload_from_bytes(&read("keys/app2_pkcs8.pem"), None).unwrap_err();
    assert!(matches!(error.kind(), ReloadErrorKind::Mode { .. }), "{error}");
    assert_eq!(config.app_identity().generation(), 1);
}

/// Collects what `tracing` writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn expiry_report_and_warnings_follow_the_injected_clock() {
    let app = CertificateChain::from_path(pki("ca/app_cert.pem")).unwrap();
    let clock = ManualClock::at(app.leaf().not_after() - chrono::Duration::days(5));
    let path = |p: &str| pki(p).display().to_string();
    let config =
        cert_mode_config(&path("keys/app_pkcs8.pem"), &path("ca/app_cert.pem")).clock(clock.clone()).build().unwrap();
    let report = config.expiry_report();
    let kinds: Vec<CertKind> = report.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![CertKind::App, CertKind::Alipay, CertKind::Root, CertKind::Root, CertKind::Root]);
    let app_entry = &report.entries[0];
    assert_eq!(app_entry.sn, app.sn());
    assert_eq!(app_entry.days_left, 5);
    assert_eq!(app_entry.status, ExpiryStatus::Warning { threshold_days: 7 });

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    tracing::subscriber::with_default(subscriber, || config.check_expiry());
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("WARN") && logged.contains(app.sn()) && logged.contains("expires soon"), "{logged}");

    clock.set(app.leaf().not_after() + chrono::Duration::days(1));
    assert_eq!(config.expiry_report().entries[0].status, ExpiryStatus::Expired);
    clock.set(app.leaf().not_before());
    let report = config.expiry_report();
    assert!(!report.needs_attention(), "{report:?}");
    let custom = cert_mode_config(&path("keys/app_pkcs8.pem"), &path("ca/app_cert.pem"))
        .clock(ManualClock::at(app.leaf().not_after() - chrono::Duration::days(20)))
        .expiry_thresholds(vec![60])
        .build()
        .unwrap();
    assert_eq!(custom.expiry_report().entries[0].status, ExpiryStatus::Warning { threshold_days: 60 });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_signed_with_a_new_certificate_triggers_the_download() {
    use alipay_sdk::model::trade::TradePrecreate;
    use alipay_sdk::notify::Rule;
    let sandbox = alipay_sandbox::Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    // Nothing listens at the notify_url: the sandbox records the (single) attempt and its body.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let order = TradePrecreate::new("rot-n", "3.30".parse().unwrap(), "N");
    client.send(&order.to_request().notify_url(format!("http://127.0.0.1:{port}/notify"))).await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    sandbox.buyer_pays("rot-n").unwrap();
    let body = crate::first_delivered_body(&sandbox).await;
    assert!(body.contains(&new_sn));
    let verified = client.verify_notification((body.as_bytes(), None), Rule::V1).await.unwrap();
    assert_eq!(verified.trade().unwrap().out_trade_no, "rot-n");
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
    // A tampered copy still fails, and causes no second download.
    let tampered = body.replace("total_amount=3.30", "total_amount=0.01");
    assert!(client.verify_notification((tampered.as_bytes(), None), Rule::V1).await.is_err());
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
}

#[tokio::test]
async fn dropping_a_watcher_returns_at_once_even_with_a_long_interval() {
    let config = cert_mode_config(
        &pki("keys/app_pkcs8.pem").display().to_string(),
        &pki("ca/app_cert.pem").display().to_string(),
    )
    .build()
    .unwrap();
    let watcher = config.watch_app_identity(Duration::from_secs(10)).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    drop(watcher);
    // It used to join the thread, blocking the async worker for up to the poll interval.
    assert!(started.elapsed() < Duration::from_secs(1), "drop took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_download_answer_is_accepted_on_the_certificates_own_checks() {
    use alipay_sandbox::{Fault, FaultRule, Sandbox};
    use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};
    const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("uns-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
    // Like a live gateway whose download answer Java never verifies: no sign, no alipay_cert_sn.
    sandbox.set_faults(DOWNLOAD, vec![FaultRule::always(Fault::Unsigned)]);
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let verified = client.send(&TradeQuery::by_out_trade_no("uns-1").to_request()).await.unwrap();
    assert_eq!(verified.alipay_cert_sn(), Some(new_sn.as_str()));
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);
}

#[tokio::test]
async fn an_unsigned_download_answer_with_a_certificate_that_does_not_chain_is_refused() {
    use alipay_sdk::lifecycle::DownloadErrorKind;
    use base64::Engine as _;
    let rogue = read("ca/alipay_cert_rogue_ca.pem");
    let rogue_sn = CertificateChain::from_bytes(&rogue).unwrap().sn().to_string();
    let content = base64::engine::general_purpose::STANDARD.encode(&rogue);
    let server = crate::common::wire::CaptureServer::start(move |_| {
        let node = format!(r#"{{"code":"10000","msg":"Success","alipay_cert_content":"{content}"}}"#);
        (200, format!(r#"{{"alipay_open_app_alipaycert_download_response":{node}}}"#).into_bytes())
    })
    .await;
    let client = alipay_sdk::Client::new(crate::common::wire::cert_config(&server.url).build().unwrap()).unwrap();
    let error = client.fetch_alipay_cert(&rogue_sn).await.unwrap_err();
    assert!(matches!(error.alipay_cert().map(|e| e.kind()), Some(DownloadErrorKind::Chain { .. })), "{error}");
    assert!(!client.config().cert_mode().unwrap().store().contains(&rogue_sn));
}

#[test]
fn transport_failures_back_off_for_seconds_refusals_for_the_retry_window() {
    let good = read("ca/alipay_cert.pem");
    let chain = CertificateChain::from_bytes(&good).unwrap();
    let sn = chain.sn().to_string();
    let start = chain.leaf().not_before() + chrono::Duration::days(1);
    let clock = ManualClock::at(start);
    let store = Arc::new(
        AlipayCertStore::new([])
            .unwrap()
            .issued_to(chain.leaf().subject_cn().unwrap())
            .with_roots(RootBundle::from_path(pki("ca/root_bundle.pem")).unwrap())
            .with_clock(clock.clone())
            .download_limit(100, Duration::from_secs(1)),
    );
    let reset = |sn: &str| -> Result<Vec<u8>, alipay_sdk::lifecycle::DownloadError> {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        Err(DownloadErrorKind::Unreachable { sn: sn.into(), cause: io.to_string(), source: Arc::new(io) }.into())
    };
    // Each failure in a row waits longer, up to a minute, never the ten-minute window.
    let mut previous = chrono::Duration::zero();
    for streak in 1..=8u32 {
        let now = clock.now();
        store.fetch_blocking(&sn, || reset(&sn)).unwrap_err();
        let blocked = store.fetch_blocking(&sn, || panic!("not before the backoff")).unwrap_err();
        let DownloadErrorKind::RecentlyFailed { retry_at, reason, .. } = blocked.kind() else { panic!("{blocked}") };
        assert!(reason.contains("connection reset by peer"), "the cause is kept: {reason}");
        let wait = *retry_at - now;
        let ceiling = chrono::Duration::seconds((2i64 << (streak - 1).min(5)).min(60));
        assert!(wait <= ceiling && wait * 2 >= ceiling, "streak {streak}: waited {wait}, ceiling {ceiling}");
        assert!(wait >= previous / 2, "streak {streak}: the backoff does not shrink much ({wait} after {previous})");
        previous = wait;
        clock.set(*retry_at);
    }
    assert_eq!(store.refused_count(), 0, "transport failures are not refusals");
    // A working download then succeeds and clears the streak.
    store.fetch_blocking(&sn, || Ok(good.clone())).unwrap();
    assert!(store.contains(&sn));

    // A certificate refused on its own checks waits the whole window.
    let rogue = read("ca/alipay_cert_rogue_ca.pem");
    let rogue_sn = CertificateChain::from_bytes(&rogue).unwrap().sn().to_string();
    let now = clock.now();
    store.fetch_blocking(&rogue_sn, || Ok(rogue.clone())).unwrap_err();
    let blocked = store.fetch_blocking(&rogue_sn, || panic!("not retried")).unwrap_err();
    let DownloadErrorKind::RecentlyFailed { retry_at, .. } = blocked.kind() else { panic!("{blocked}") };
    assert_eq!(*retry_at - now, chrono::Duration::minutes(10));
    assert_eq!(store.refused_count(), 1);
}
