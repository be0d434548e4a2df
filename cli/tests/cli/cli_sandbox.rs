//! `alipay demo` and `alipay sandbox` from the shell.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use alipay_sdk::Config;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};

#[test]
fn demo_runs_a_whole_payment_and_exits_0() {
    let output = Command::new(env!("CARGO_BIN_EXE_alipay")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for step in [
        "[1]",
        "[2] alipay.trade.precreate",
        "[3]",
        "[4] notification",
        "[5] alipay.trade.query: TRADE_SUCCESS",
        "[6] alipay.trade.refund",
        "[7] alipay.trade.fastpay.refund.query: REFUND_SUCCESS",
    ] {
        assert!(stdout.contains(step), "missing {step}:\n{stdout}");
    }
    assert!(
        stdout.contains("app_cert_sn") && stdout.contains("alipay_root_cert_sn") && stdout.contains("alipay_cert_sn")
    );
    assert!(stdout.trim_end().ends_with("every signature checked out"));
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sandbox_command_serves_and_writes_what_a_client_needs() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first.strip_prefix("alipay sandbox gateway listening on ").expect(&first).to_string();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("press Ctrl-C") {
            break;
        }
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap()).unwrap();
    assert_eq!(info["address"], address);
    for key in ["app_id", "app_cert_sn", "alipay_root_cert_sn", "alipay_cert_sn"] {
        assert!(printed.contains(info[key].as_str().unwrap()), "{key} printed:\n{printed}");
    }
    let path = |key: &str| info[key].as_str().unwrap().to_string();
    let config = Config::builder(path("app_id"))
        .gateway(path("gateway"))
        .app_private_key_file(path("app_private_key"))
        .app_cert_file(path("app_cert"))
        .alipay_cert_file(path("alipay_cert"))
        .alipay_root_cert_file(path("alipay_root_cert"))
        .build()
        .unwrap();
    let client = alipay_sdk::blocking::Client::new(config).unwrap();
    client.call(&TradePrecreate::new("cli-1", "1.00".parse().unwrap(), "CLI")).unwrap();
    // Control endpoints want the process's token (sandbox.json, readable by its owner only).
    let pay = || reqwest::blocking::Client::new().post(format!("http://{address}/sandbox/pay?out_trade_no=cli-1"));
    assert_eq!(pay().send().unwrap().status(), 403, "no token");
    let paid = pay().header("x-sandbox-token", path("control_token")).send().unwrap();
    assert_eq!(paid.status(), 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["sandbox.json", "app_private_key.pem", "aes_key.txt", "sandbox-private/class2.key"] {
            let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
    }
    assert_eq!(client.call(&TradeQuery::by_out_trade_no("cli-1")).unwrap().trade_status, TradeStatus::TradeSuccess);
}

/// Starts `alipay sandbox --dir DIR` (extra args appended) and waits for its address.
fn start_sandbox(dir: &std::path::Path, extra: &[&str]) -> (Killed, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["sandbox", "--dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let guard = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first.strip_prefix("alipay sandbox gateway listening on ").expect(&first).to_string();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("press Ctrl-C") {
            break;
        }
    }
    // The progress line went to stderr; read what is there without waiting for the end.
    let mut progress = vec![0u8; 4096];
    let n = std::io::Read::read(&mut stderr, &mut progress).unwrap_or(0);
    (guard, address, String::from_utf8_lossy(&progress[..n]).into_owned())
}

fn alipay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_alipay")).args(args).output().unwrap()
}

#[test]
fn sandbox_start_up_binds_first_reports_progress_and_keeps_its_port() {
    // A taken port: an error, and nothing written.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let addr = taken.local_addr().unwrap().to_string();
    let output = alipay(&["sandbox", "--listen", &addr, "--dir", fresh.to_str().unwrap()]);
    assert_ne!(output.status.code(), Some(0));
    assert!(!fresh.exists(), "nothing generated for a sandbox that cannot listen");
    drop(taken);

    let (guard, first, progress) = start_sandbox(&fresh, &[]);
    assert!(progress.contains("generating the sandbox PKI"), "{progress:?}");
    drop(guard);
    // Started again without --listen: the same port, so alipay.toml stays right.
    let (_guard, second, _) = start_sandbox(&fresh, &[]);
    assert_eq!(first, second);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_sandbox_takes_pay_notify_and_spi_commands() {
    use alipay_sdk::key::PrivateKey;
    use alipay_sdk::server::Responder;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (_guard, address, _) = tokio::task::spawn_blocking(move || start_sandbox(&path, &[])).await.unwrap();
    let dir_arg = dir.path().to_str().unwrap().to_string();

    // A receiver for notifications and an SPI endpoint answering with the app's key.
    let key = PrivateKey::from_path(dir.path().join("app_private_key.pem")).unwrap();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sandbox.json")).unwrap()).unwrap();
    let responder = Responder::new(key, info["app_cert_sn"].as_str().map(str::to_string));
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = received.clone();
    let app = axum::Router::new()
        .route(
            "/notify",
            axum::routing::post(move |body: String| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(body);
                    "success"
                }
            }),
        )
        .route(
            "/spi",
            axum::routing::post(move || {
                let answer = responder.json(&serde_json::json!({"code": "10000", "msg": "Success"})).unwrap();
                async move { answer }
            }),
        )
        // A receiver that does not acknowledge, and an SPI endpoint that does not sign.
        .route("/refuse-notify", axum::routing::post(|| async { "failure" }))
        .route("/refuse-spi", axum::routing::post(|| async { r#"{"response":{"code":"10000"}}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config = alipay_sdk::config_file::ConfigFile::load(dir.path().join("alipay.toml"))
        .unwrap()
        .builder()
        .unwrap()
        .build()
        .unwrap();
    let client = alipay_sdk::Client::new(config).unwrap();
    client.call(&TradePrecreate::new("cli-pay", "1.00".parse().unwrap(), "Tea")).await.unwrap();
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || alipay(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };

    let paid =
        run(vec!["sandbox".into(), "pay".into(), "cli-pay".into(), "--dir".into(), dir_arg.clone()]).await.unwrap();
    assert_eq!(paid.status.code(), Some(0), "{}", String::from_utf8_lossy(&paid.stderr));
    assert_eq!(
        client.call(&TradeQuery::by_out_trade_no("cli-pay")).await.unwrap().trade_status,
        TradeStatus::TradeSuccess
    );

    let url = format!("{base}/notify");
    let sent = run(vec![
        "sandbox".into(),
        "notify".into(),
        "cli-pay".into(),
        "--url".into(),
        url.clone(),
        "--dir".into(),
        dir_arg.clone(),
    ])
    .await
    .unwrap();
    assert_eq!(sent.status.code(), Some(0), "{}", String::from_utf8_lossy(&sent.stderr));
    for _ in 0..500 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let body = received.lock().unwrap().first().cloned().expect("the notification arrived");
    assert!(body.contains("out_trade_no=cli-pay") && body.contains("sign="), "{body}");

    let spi = run(vec![
        "sandbox".into(),
        "spi".into(),
        "--url".into(),
        format!("{base}/spi"),
        "--dir".into(),
        dir_arg.clone(),
    ])
    .await
    .unwrap();
    assert_eq!(spi.status.code(), Some(0), "{}", String::from_utf8_lossy(&spi.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&spi.stdout).unwrap();
    assert_eq!(answer["accepted"], true, "{answer}");

    // Not accepted: the JSON still shows what happened, and the exit status is 1.
    let refused = run(vec![
        "sandbox".into(),
        "spi".into(),
        "--url".into(),
        format!("{base}/refuse-spi"),
        "--dir".into(),
        dir_arg.clone(),
    ])
    .await
    .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(answer["accepted"], false, "{answer}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("was not accepted"));
    let unacknowledged = run(vec![
        "sandbox".into(),
        "notify".into(),
        "cli-pay".into(),
        "--url".into(),
        format!("{base}/refuse-notify"),
        "--dir".into(),
        dir_arg.clone(),
    ])
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&unacknowledged.stderr).into_owned();
    assert_eq!(unacknowledged.status.code(), Some(1), "{stderr}");
    let answer: serde_json::Value = serde_json::from_slice(&unacknowledged.stdout).unwrap();
    assert_eq!(answer["acknowledged"], false, "{answer}");
    assert!(stderr.contains("did not acknowledge") && stderr.contains("HTTP 200: failure"), "{stderr}");

    // Faults by name from the command line: set, felt by the client, listed in words, cleared.
    let fault = |args: &[&str]| {
        let mut all: Vec<String> = vec!["sandbox".into(), "fault".into()];
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(["--dir".to_string(), dir_arg.clone()]);
        run(all)
    };
    let set = fault(&["set", "alipay.trade.query", "service-unavailable", "--times", "1"]).await.unwrap();
    assert_eq!(set.status.code(), Some(0), "{}", String::from_utf8_lossy(&set.stderr));
    let rules: serde_json::Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(rules["rules"][0]["method"], "alipay.trade.query", "{rules}");
    assert_eq!(rules["rules"][0]["fault"], "service-unavailable", "{rules}");
    assert!(rules["rules"][0]["what"].as_str().unwrap().contains("20000"), "{rules}");
    let unknown = client.call(&TradeQuery::by_out_trade_no("cli-pay")).await.unwrap_err();
    assert_eq!(unknown.business().map(|b| b.failure.code.as_str()), Some("20000"), "{unknown}");
    let listed = fault(&["list"]).await.unwrap();
    let names = String::from_utf8_lossy(&listed.stderr).into_owned();
    assert!(names.contains("slow-body") && names.contains("the answer is cut off halfway"), "{names}");
    let rules: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rules["rules"][0]["times_left"], 0, "the one time was used: {rules}");
    let slow = fault(&["set", "*", "slow-body", "--slow-ms", "1", "--probability", "0.5"]).await.unwrap();
    assert_eq!(slow.status.code(), Some(0));
    let rules: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    let star = rules["rules"].as_array().unwrap().iter().find(|r| r["method"] == "*").unwrap().clone();
    assert_eq!((star["slow_ms"].as_u64(), star["probability"].as_f64()), (Some(1), Some(0.5)), "{rules}");
    let cleared = fault(&["clear"]).await.unwrap();
    let rules: serde_json::Value = serde_json::from_slice(&cleared.stdout).unwrap();
    assert_eq!(rules["rules"], serde_json::json!([]), "{rules}");
    assert_eq!(fault(&["set", "*", "no-such-fault"]).await.unwrap().status.code(), Some(2), "usage error");
    let refused = fault(&["set", "*", "unsigned", "--probability", "3"]).await.unwrap();
    assert_ne!(refused.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("0 to 1"));
    let _ = address;
}
