//! A fleet on a real `redis-server`: one certificate download across 8 processes when the
//! sandbox rotates, once-only notifications over 4 instances, Redis stopped mid-run, a
//! tampered certificate in Redis, an expired lock and a holder that never finishes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alipay_sandbox::Sandbox;
use alipay_sdk::cert::CertificateChain;
use alipay_sdk::charset::Charset;
use alipay_sdk::key::{PublicKey, SignType};
use alipay_sdk::lifecycle::fleet::FleetSettings;
use alipay_sdk::model::trade::{TradeCreate, TradeQuery};
use alipay_sdk::notify::{NotificationVerifier, Rule, VerifiedNotification};
use alipay_sdk::redis_fleet::{NotifyOnce, OnceError, RedisFleet, WhenUnreachable};
use alipay_sdk::{Client, Config};

use crate::common::redis_server::RedisServer;

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

fn amount(text: &str) -> alipay_sdk::model::Amount {
    text.parse().unwrap()
}

/// What a worker process needs: the sandbox's files and URL, Redis, a folder to signal in.
#[derive(serde::Serialize, serde::Deserialize)]
struct WorkerSpec {
    id: usize,
    sandbox_dir: PathBuf,
    gateway: String,
    app_id: String,
    redis: String,
    signals: PathBuf,
    calls_before: usize,
    calls_after: usize,
}

fn fleet_config(
    dir: &Path,
    gateway: &str,
    app_id: &str,
    fleet: Arc<RedisFleet>,
) -> alipay_sdk::ConfigBuilder<alipay_sdk::config::CertificateMode> {
    Config::builder(app_id)
        .gateway(gateway)
        .app_private_key_file(dir.join("app_private_key.pem"))
        .app_cert_file(dir.join(format!("appCertPublicKey_{app_id}.crt")))
        .alipay_cert_file(dir.join("alipayCertPublicKey_RSA2.crt"))
        .alipay_root_cert_file(dir.join("alipayRootCert.crt"))
        .fleet(fleet)
        .fleet_settings(patient_settings())
}

/// A fleet whose Redis operations may take 3 s: these tests count downloads exactly, and on a
/// loaded 2-core CI machine the default 500 ms bound can pass, which (by design) makes an
/// instance download on its own.
fn patient_fleet(url: &str) -> Arc<RedisFleet> {
    RedisFleet::connect_with(url, "alipay:", Duration::from_secs(3)).unwrap()
}

/// The fleet turn's own bound on each Redis operation, likewise 3 s.
fn patient_settings() -> FleetSettings {
    FleetSettings { op_timeout: Duration::from_secs(3), ..FleetSettings::default() }
}

fn wait_for_file(path: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The entry point of the worker processes `eight_processes_download_a_rotated_certificate_once`
/// starts (this test binary run again with `FLEET_WORKER` set); on its own it has no work.
#[test]
#[ignore = "a worker process of the fleet tests, started by them with FLEET_WORKER set"]
fn fleet_worker() {
    let Ok(spec) = std::env::var("FLEET_WORKER") else { return };
    let spec: WorkerSpec = serde_json::from_str(&spec).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ok, failed) = runtime.block_on(async {
        let fleet = patient_fleet(&spec.redis);
        let config = fleet_config(&spec.sandbox_dir, &spec.gateway, &spec.app_id, fleet).build().unwrap();
        let client = Client::new(config).unwrap();
        let (mut ok, mut failed) = (0, 0);
        let mut call = async || match client.call(&TradeQuery::by_out_trade_no("fleet-1")).await {
            Ok(_) => ok += 1,
            Err(error) => {
                eprintln!("worker {}: {error}", spec.id);
                failed += 1;
            }
        };
        for _ in 0..spec.calls_before {
            call().await;
        }
        std::fs::write(spec.signals.join(format!("ready-{}", spec.id)), b"").unwrap();
        wait_for_file(&spec.signals.join("rotated"), Duration::from_secs(60));
        for _ in 0..spec.calls_after {
            call().await;
        }
        (ok, failed)
    });
    println!("FLEET_RESULT {}", serde_json::json!({ "ok": ok, "failed": failed }));
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_download_a_rotated_certificate_once() {
    let redis = RedisServer::start();
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradeCreate::new("fleet-1", amount("1.00"), "fleet")).await.unwrap();
    let signals = tempfile::tempdir().unwrap();
    let workers: Vec<KillOnDrop> = (0..8)
        .map(|id| {
            let spec = WorkerSpec {
                id,
                sandbox_dir: sandbox.dir().to_path_buf(),
                gateway: info.gateway.clone(),
                app_id: info.app_id.clone(),
                redis: redis.url(),
                signals: signals.path().to_path_buf(),
                calls_before: 3,
                calls_after: 5,
            };
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["fleet::fleet_worker", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
                .env("FLEET_WORKER", serde_json::to_string(&spec).unwrap())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map(|child| KillOnDrop(Some(child)))
                .unwrap()
        })
        .collect();
    let all_ready = tokio::task::spawn_blocking({
        let signals = signals.path().to_path_buf();
        move || (0..8).for_each(|id| wait_for_file(&signals.join(format!("ready-{id}")), Duration::from_secs(120)))
    });
    all_ready.await.unwrap();
    assert_eq!(sandbox.request_count(DOWNLOAD), 0);
    // Alipay rotates; all eight meet the new SN at once.
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    std::fs::write(signals.path().join("rotated"), b"").unwrap();
    let outputs = tokio::task::spawn_blocking(move || {
        workers.into_iter().map(|mut worker| worker.0.take().unwrap().wait_with_output().unwrap()).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (id, output) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line =
            stdout.lines().find_map(|l| l.split_once("FLEET_RESULT ").map(|(_, json)| json)).unwrap_or_else(|| {
                panic!("worker {id} printed no result: {stdout}\n{}", String::from_utf8_lossy(&output.stderr))
            });
        let result: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!((result["ok"].as_u64(), result["failed"].as_u64()), (Some(8), Some(0)), "worker {id}: {stdout}");
    }
    assert_eq!(sandbox.request_count(DOWNLOAD), 1, "one download for the whole fleet");
    // The one accepted copy is in Redis, byte for byte what the sandbox serves.
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let stored: Vec<u8> =
        redis::cmd("GET").arg(format!("alipay:cert:{new_sn}")).query_async(&mut connection).await.unwrap();
    let served = sandbox.alipay_certs().into_iter().find(|(sn, _)| *sn == new_sn).unwrap().1;
    assert_eq!(CertificateChain::from_bytes(&stored).unwrap().sn(), new_sn);
    assert_eq!(
        CertificateChain::from_bytes(&stored).unwrap().certificates(),
        CertificateChain::from_bytes(served.as_bytes()).unwrap().certificates()
    );
}

/// A worker process, killed if the test ends (or fails) before waiting for it.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Notifications signed like the sandbox's, verified, ready for a guard.
fn notifications(count: usize) -> Vec<VerifiedNotification> {
    let key = crate::common::wire::alipay_key();
    let verifier =
        NotificationVerifier::public_key(PublicKey::from_bytes(key.public_key().to_pem().as_bytes()).unwrap());
    (0..count)
        .map(|i| {
            let mut params: Vec<(String, String)> = vec![
                ("app_id".into(), "2021000000000001".into()),
                ("notify_id".into(), format!("fleet-notify-{i:03}")),
                ("out_trade_no".into(), format!("order-{i}")),
                ("trade_status".into(), "TRADE_SUCCESS".into()),
                ("total_amount".into(), "1.00".into()),
            ];
            let sign = alipay_sdk::primitives::notification::sign_params(
                &params,
                Rule::V1,
                &key,
                SignType::Rsa2,
                Charset::Utf8,
            )
            .unwrap();
            params.push(("sign_type".into(), "RSA2".into()));
            params.push(("sign".into(), sign));
            verifier.verify(params, Rule::V1).unwrap()
        })
        .collect()
}

/// Per notification: successful processings, failed attempts, and whether an ack came
/// before any successful processing (which must never happen).
#[derive(Default, Debug, Clone)]
struct Ledger {
    processed: usize,
    failed_attempts: usize,
    acked: usize,
    acked_before_processed: bool,
}

async fn deliver(
    guard: &NotifyOnce,
    notification: &VerifiedNotification,
    ledger: &Mutex<HashMap<String, Ledger>>,
    fail_first: bool,
) -> &'static str {
    let id = notification.get("notify_id").unwrap().to_string();
    let outcome = guard
        .handle(notification, || async {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let mut ledger = ledger.lock().unwrap();
            let entry = ledger.entry(id.clone()).or_default();
            if fail_first && entry.failed_attempts == 0 {
                entry.failed_attempts += 1;
                return Err("the order database is down");
            }
            entry.processed += 1;
            Ok(())
        })
        .await;
    let answer = match outcome {
        Ok(handled) => handled.ack(),
        Err(OnceError::Process(_)) => "fail",
        Err(other) => panic!("{other}"),
    };
    if answer == "success" {
        let mut ledger = ledger.lock().unwrap();
        let entry = ledger.entry(id).or_default();
        entry.acked += 1;
        entry.acked_before_processed |= entry.processed == 0;
    }
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_deliveries_over_four_instances_process_each_notification_once() {
    let redis = RedisServer::start();
    let guards: Vec<Arc<NotifyOnce>> =
        (0..4).map(|_| Arc::new(NotifyOnce::new(RedisFleet::connect(&redis.url()).unwrap()))).collect();
    let notifications = Arc::new(notifications(50));
    let ledger = Arc::new(Mutex::new(HashMap::new()));
    // Every notification delivered 4 times, at once, to the 4 instances (200 deliveries);
    // every 7th fails its first processing. A delivery answered "fail" is redelivered, as
    // Alipay does, until "success".
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (index, _) in notifications.iter().enumerate() {
            let (guards, notifications, ledger) = (guards.clone(), notifications.clone(), ledger.clone());
            tasks.push(tokio::spawn(async move {
                let mut attempt = 0;
                loop {
                    let guard = &guards[(index + round + attempt) % 4];
                    let answer = deliver(guard, &notifications[index], &ledger, index % 7 == 0).await;
                    if answer == "success" {
                        return attempt + 1;
                    }
                    attempt += 1;
                    assert!(attempt < 100, "notification {index} never acknowledged");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
    }
    let mut deliveries = 0;
    for task in tasks {
        deliveries += task.await.unwrap();
    }
    assert!(deliveries >= 200);
    {
        let ledger = ledger.lock().unwrap();
        assert_eq!(ledger.len(), 50);
        for (id, entry) in ledger.iter() {
            assert_eq!(entry.processed, 1, "{id}: {entry:?}");
            assert_eq!(entry.acked, 4, "{id}: every delivery round ends acknowledged: {entry:?}");
            assert!(!entry.acked_before_processed, "{id}: acknowledged before processing: {entry:?}");
        }
        let failing = ledger.values().filter(|e| e.failed_attempts == 1).count();
        assert_eq!(failing, (0..50).filter(|i| i % 7 == 0).count(), "a failure released the claim");
    }
    // A later delivery is answered without processing.
    let again = deliver(&guards[3], &notifications[1], &Mutex::new(HashMap::new()), false).await;
    assert_eq!(again, "success");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_mid_run_loses_no_notification_and_calls_keep_working() {
    let mut redis = RedisServer::start();
    let sandbox = Sandbox::builder().start().await.unwrap();
    let fleet = RedisFleet::connect_with(&redis.url(), "alipay:", Duration::from_millis(300)).unwrap();
    let config = sandbox.certificate_config().fleet(fleet.clone()).build().unwrap();
    let client = Client::new(config).unwrap();
    // This test is about keeping notifications flowing during an outage: the opt-in policy.
    let guard = NotifyOnce::new(fleet.clone()).when_unreachable(WhenUnreachable::ProcessLocally);
    let all = notifications(21);
    let (notifications, fresh) = (&all[..20], &all[20]);
    let ledger = Mutex::new(HashMap::new());
    client.call(&TradeCreate::new("outage-1", amount("1.00"), "outage")).await.unwrap();
    for notification in &notifications[..10] {
        assert_eq!(deliver(&guard, notification, &ledger, false).await, "success");
    }
    assert!(!fleet.is_degraded());

    redis.stop();
    // Calls go on, a rotation included (downloaded by this instance itself).
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    for _ in 0..5 {
        client.call(&TradeQuery::by_out_trade_no("outage-1")).await.unwrap();
    }
    assert!(client.config().cert_mode().unwrap().store().contains(&new_sn));
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);
    // Notifications go on: processed before acknowledged, redeliveries answered locally.
    for notification in notifications {
        assert_eq!(deliver(&guard, notification, &ledger, false).await, "success");
    }
    assert!(fleet.is_degraded());
    assert_eq!(fleet.fleet_health().times_degraded(), 1, "degraded mode entered (and logged) once");
    {
        let ledger = ledger.lock().unwrap();
        for notification in notifications {
            let entry = &ledger[notification.get("notify_id").unwrap()];
            assert_eq!(entry.processed, 1, "{entry:?}");
            assert!(!entry.acked_before_processed);
        }
    }

    // Redis back: the fleet recovers by itself; what was processed meanwhile stays processed.
    redis.restart();
    let mut recovered = false;
    for _ in 0..100 {
        deliver(&guard, fresh, &ledger, false).await;
        if !fleet.is_degraded() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the fleet reconnects when Redis is back");
    assert_eq!(deliver(&guard, &notifications[15], &ledger, false).await, "success");
    assert_eq!(ledger.lock().unwrap()[notifications[15].get("notify_id").unwrap()].processed, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_certificate_in_redis_is_refused_by_every_instance() {
    let redis = RedisServer::start();
    let sandbox = Sandbox::builder().start().await.unwrap();
    // Four instances configured with the current certificate; then Alipay rotates.
    let mut instances = Vec::new();
    for _ in 0..4 {
        let fleet = patient_fleet(&redis.url());
        let config = sandbox.certificate_config().fleet(fleet).fleet_settings(patient_settings());
        instances.push(Client::new(config.build().unwrap()).unwrap());
    }
    instances[0].call(&TradeCreate::new("tamper-1", amount("1.00"), "t")).await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let genuine = sandbox.alipay_certs().into_iter().find(|(sn, _)| *sn == new_sn).unwrap().1;
    // A forgery with the same SN (same issuer name and serial) but the attacker's key, signed
    // by the attacker; followed by the genuine intermediate.
    let chain = CertificateChain::from_bytes(genuine.as_bytes()).unwrap();
    let real = openssl::x509::X509::from_der(chain.leaf().der()).unwrap();
    let attacker = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut forged = openssl::x509::X509Builder::new().unwrap();
    forged.set_version(2).unwrap();
    forged.set_serial_number(real.serial_number()).unwrap();
    forged.set_issuer_name(real.issuer_name()).unwrap();
    forged.set_subject_name(real.subject_name()).unwrap();
    forged.set_not_before(real.not_before()).unwrap();
    forged.set_not_after(real.not_after()).unwrap();
    forged.set_pubkey(&attacker).unwrap();
    forged.sign(&attacker, openssl::hash::MessageDigest::sha256()).unwrap();
    let mut tampered = forged.build().to_der().unwrap();
    tampered.extend_from_slice(chain.certificates()[1].der());
    assert_eq!(CertificateChain::from_bytes(&tampered).unwrap().sn(), new_sn, "the forgery claims the SN");
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg(format!("alipay:cert:{new_sn}"))
        .arg(&tampered)
        .query_async(&mut connection)
        .await
        .unwrap();

    // All four meet the new SN at once.
    let calls: Vec<_> = instances
        .iter()
        .cloned()
        .map(|client| tokio::spawn(async move { client.call(&TradeQuery::by_out_trade_no("tamper-1")).await }))
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let genuine_key = PublicKey::from_certificate(chain.leaf()).unwrap().to_der();
    for client in &instances {
        let store = client.config().cert_mode().unwrap().store();
        assert_eq!(store.get(&new_sn).unwrap().to_der(), genuine_key, "every instance holds the genuine certificate");
    }
    assert_eq!(sandbox.request_count(DOWNLOAD), 1, "the tampered copy was replaced by one download");
    let stored: Vec<u8> =
        redis::cmd("GET").arg(format!("alipay:cert:{new_sn}")).query_async(&mut connection).await.unwrap();
    assert_ne!(stored, tampered);
    assert_eq!(CertificateChain::from_bytes(&stored).unwrap().certificates(), chain.certificates());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_lock_holder_expires_and_a_slow_one_is_not_waited_for_forever() {
    let redis = RedisServer::start();
    let sandbox = Sandbox::builder().start().await.unwrap();
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();

    let fleet = RedisFleet::connect(&redis.url()).unwrap();
    let client = Client::new(sandbox.certificate_config().fleet(fleet.clone()).build().unwrap()).unwrap();
    let settings = FleetSettings { wait_limit: Duration::from_millis(400), ..FleetSettings::default() };
    let patient = Client::new(
        sandbox
            .certificate_config()
            .fleet(RedisFleet::connect(&redis.url()).unwrap())
            .fleet_settings(settings)
            .build()
            .unwrap(),
    )
    .unwrap();
    // A holder that crashed a moment ago: its lock expires after 800 ms, then this instance
    // takes it and downloads.
    let first_sn = sandbox.rotate_alipay_cert().unwrap();
    let () = redis::cmd("SET")
        .arg(format!("alipay:certlock:{first_sn}"))
        .arg("crashed-holder")
        .arg("PX")
        .arg(800)
        .query_async(&mut connection)
        .await
        .unwrap();
    let started = Instant::now();
    client.call(&TradeCreate::new("lock-1", amount("1.00"), "l")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited for the expired holder");
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);
    assert!(client.config().cert_mode().unwrap().store().contains(&first_sn));

    // A holder that never finishes (its lock lives 60 s): after the wait limit this instance
    // downloads itself.
    let second_sn = sandbox.rotate_alipay_cert().unwrap();
    let () = redis::cmd("SET")
        .arg(format!("alipay:certlock:{second_sn}"))
        .arg("stuck-holder")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut connection)
        .await
        .unwrap();
    let started = Instant::now();
    patient.call(&TradeQuery::by_out_trade_no("lock-1")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400), "it waited for the holder first");
    assert!(patient.config().cert_mode().unwrap().store().contains(&second_sn));
    assert_eq!(sandbox.request_count(DOWNLOAD), 2);
    // The stuck holder's lock is not released by the instance that gave up on it.
    let holder: Option<String> =
        redis::cmd("GET").arg(format!("alipay:certlock:{second_sn}")).query_async(&mut connection).await.unwrap();
    assert_eq!(holder.as_deref(), Some("stuck-holder"));
}

#[cfg(feature = "blocking")]
#[tokio::test(flavor = "multi_thread")]
async fn the_blocking_client_shares_certificates_with_the_fleet_too() {
    let redis = RedisServer::start();
    let sandbox = Sandbox::builder().start().await.unwrap();
    let fleet_config = || sandbox.certificate_config().fleet(RedisFleet::connect(&redis.url()).unwrap());
    let asynchronous = Client::new(fleet_config().build().unwrap()).unwrap();
    let blocking = alipay_sdk::blocking::Client::new(fleet_config().build().unwrap()).unwrap();
    asynchronous.call(&TradeCreate::new("blocking-1", amount("1.00"), "b")).await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    asynchronous.call(&TradeQuery::by_out_trade_no("blocking-1")).await.unwrap();
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);
    // A thread of its own (the blocking client refuses to run inside an async runtime, and
    // its runtime is dropped there too).
    let sn = new_sn.clone();
    let source = std::thread::spawn(move || {
        blocking.call(&TradeQuery::by_out_trade_no("blocking-1")).unwrap();
        let store = blocking.config().cert_mode().unwrap().store().clone();
        store.entries().into_iter().find(|c| c.chain.sn() == sn).map(|c| c.source)
    })
    .join()
    .unwrap();
    assert_eq!(sandbox.request_count(DOWNLOAD), 1, "the blocking client loaded it from Redis");
    assert_eq!(source, Some(alipay_sdk::lifecycle::CertSource::Shared));
}
