//! `alipay v3 sign | verify | call`: signatures the `openssl` command line agrees with, exit
//! codes, and a verified call against the sandbox.

use std::process::Command;

use crate::command::alipay;
use crate::common::pki;

fn path(p: std::path::PathBuf) -> String {
    p.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `openssl dgst -sha256 -sign KEY` over `content`, base64 (PKCS#1 v1.5 is deterministic).
fn openssl_sign(key: &std::path::Path, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("content");
    std::fs::write(&file, content).unwrap();
    let output = Command::new("openssl").args(["dgst", "-sha256", "-sign"]).arg(key).arg(&file).output().unwrap();
    assert!(output.status.success());
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(output.stdout)
}

#[test]
fn v3_sign_matches_openssl_and_explains() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, r#"{"out_trade_no":"cli-v3"}"#).unwrap();
    let app_cert_sn = alipay_sdk::cert::CertificateChain::from_path(pki("ca/app_cert.pem")).unwrap().sn().to_string();
    let args = [
        "v3",
        "sign",
        "--key",
        &path(pki("keys/app_pkcs8.pem")),
        "--app-id",
        "2021000000000001",
        "--app-cert",
        &path(pki("ca/app_cert.pem")),
        "--method",
        "post",
        "--uri",
        "/v3/alipay/trade/query?x=a%20b",
        "--body-file",
        &path(body_file.clone()),
        "--app-auth-token",
        "tok-1",
        "--nonce",
        "n-1",
        "--timestamp",
        "1700000000000",
        "--explain",
    ];
    let output = alipay(&args, b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let auth = format!("app_id=2021000000000001,app_cert_sn={app_cert_sn},nonce=n-1,timestamp=1700000000000");
    let content = format!("{auth}\nPOST\n/v3/alipay/trade/query?x=a%20b\n{{\"out_trade_no\":\"cli-v3\"}}\ntok-1\n");
    let expected =
        format!("ALIPAY-SHA256withRSA {auth},sign={}", openssl_sign(&pki("keys/app_pkcs8.pem"), content.as_bytes()));
    assert_eq!(stdout.lines().last(), Some(expected.as_str()), "{stdout}");
    assert!(stdout.contains(&format!("({} bytes", content.len())), "{stdout}");
    assert!(stdout.contains(&content), "the exact content is shown: {stdout}");
    // --json: the same header value, with what was signed when --explain asks for it.
    let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let output = alipay(&json_args, b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["authorization"], expected.as_str(), "{shown}");
    assert_eq!((shown["nonce"].as_str(), shown["timestamp"].as_i64()), (Some("n-1"), Some(1_700_000_000_000)));
    assert_eq!(
        (shown["sign_content"].as_str(), shown["sign_content_len"].as_u64()),
        (Some(content.as_str()), Some(content.len() as u64))
    );

    // No body: the empty line is still signed. Public-key mode: no app_cert_sn.
    let output = alipay(
        &[
            "v3",
            "sign",
            "--key",
            &path(pki("keys/app_pkcs8.pem")),
            "--app-id",
            "1",
            "--method",
            "GET",
            "--uri",
            "/v3/x",
            "--nonce",
            "n",
            "--timestamp",
            "5",
        ],
        b"",
    );
    let content = "app_id=1,nonce=n,timestamp=5\nGET\n/v3/x\n\n";
    let expected = format!(
        "ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,sign={}",
        openssl_sign(&pki("keys/app_pkcs8.pem"), content.as_bytes())
    );
    assert_eq!(text(&output.stdout).trim_end(), expected);

    // Unusable input: exit 2, naming what is wrong.
    let bad = alipay(
        &[
            "v3",
            "sign",
            "--key",
            &path(pki("keys/app_pkcs8.pem")),
            "--app-id",
            "1",
            "--method",
            "FETCH",
            "--uri",
            "/v3/x",
        ],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2));
    let bad = alipay(
        &["v3", "sign", "--key", &path(pki("keys/app_pkcs8.pem")), "--app-id", "1", "--method", "GET", "--uri", "v3/x"],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--uri"), "{}", text(&bad.stderr));
}

#[test]
fn v3_verify_exit_codes() {
    let body = br#"{"trade_status":"TRADE_SUCCESS"}"#;
    let content = [b"1700000000000\nnonce-9\n".as_slice(), body, b"\n"].concat();
    let signature = openssl_sign(&pki("ca/alipay.key"), &content);
    let sn = alipay_sdk::cert::CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap().sn().to_string();
    let cert = path(pki("ca/alipay_cert.pem"));
    let args = |sn: &str| {
        vec![
            "v3",
            "verify",
            "--alipay-cert",
            &cert,
            "--timestamp",
            "1700000000000",
            "--nonce",
            "nonce-9",
            "--signature",
        ]
        .into_iter()
        .map(str::to_string)
        .chain([signature.clone(), "--sn".into(), sn.to_string()])
        .collect::<Vec<String>>()
    };
    let run = |args: &[String], stdin: &[u8]| alipay(&args.iter().map(String::as_str).collect::<Vec<_>>(), stdin);
    let ok = run(&args(&sn), body);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stderr).contains(&sn));
    let tampered = run(&args(&sn), br#"{"trade_status":"TRADE_CLOSED"}"#);
    assert_eq!(tampered.status.code(), Some(1));
    let with_json = |sn: &str| args(sn).into_iter().chain(["--json".to_string()]).collect::<Vec<String>>();
    let shown: serde_json::Value = serde_json::from_slice(&run(&with_json(&sn), body).stdout).unwrap();
    assert_eq!(
        (shown["verified"].as_bool(), shown["alipay_cert_sn"].as_str()),
        (Some(true), Some(sn.as_str())),
        "{shown}"
    );
    let refused = run(&with_json(&sn), br#"{"trade_status":"TRADE_CLOSED"}"#);
    assert_eq!(refused.status.code(), Some(1));
    let shown: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(shown["verified"], false, "{shown}");
    let unknown = run(&args("ffff"), body);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("--sn ffff"), "{}", text(&unknown.stderr));
    // The public key works the same; a root bundle where the Alipay certificate belongs is named.
    let public = alipay(
        &[
            "v3",
            "verify",
            "--alipay-public-key",
            &path(pki("ca/alipay_public.pem")),
            "--timestamp",
            "1700000000000",
            "--nonce",
            "nonce-9",
            "--signature",
            &signature,
        ],
        body,
    );
    assert_eq!(public.status.code(), Some(0), "{}", text(&public.stderr));
    let root = alipay(
        &[
            "v3",
            "verify",
            "--alipay-cert",
            &path(pki("ca/root_bundle.pem")),
            "--timestamp",
            "1",
            "--nonce",
            "n",
            "--signature",
            &signature,
        ],
        body,
    );
    assert_eq!(root.status.code(), Some(2), "{}", text(&root.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn v3_call_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = alipay_sandbox::Sandbox::builder().dir(dir.path()).start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let order = alipay_sdk::model::trade::TradePrecreate::new("cli-v3-1", "4.56".parse().unwrap(), "cli v3");
    client.call(&order).await.unwrap();
    let config = path(dir.path().join("alipay.toml"));
    let config_for_json = config.clone();
    let run = move |out: &'static str| {
        let config = config.clone();
        move || {
            let body = format!(r#"{{"out_trade_no":"{out}"}}"#);
            alipay(&["v3", "call", "POST", "/v3/alipay/trade/query", "--body", &body, "--config", &config], b"")
        }
    };
    let found = tokio::task::spawn_blocking(run("cli-v3-1")).await.unwrap();
    assert_eq!(found.status.code(), Some(0), "{}", text(&found.stderr));
    let value: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(value["out_trade_no"], "cli-v3-1");
    assert!(text(&found.stderr).contains("verified HTTP 200"), "{}", text(&found.stderr));
    let missing = tokio::task::spawn_blocking(run("nope")).await.unwrap();
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing.stderr));
    let value: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(value["code"], "ACQ.TRADE_NOT_EXIST");
    // --json: status, certificate, trace id, body.
    let json = tokio::task::spawn_blocking(move || {
        alipay(
            &[
                "v3",
                "call",
                "POST",
                "/v3/alipay/trade/query",
                "--body",
                r#"{"out_trade_no":"cli-v3-1"}"#,
                "--json",
                "--config",
                &config_for_json,
            ],
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((shown["verified"].as_bool(), shown["status"].as_u64()), (Some(true), Some(200)), "{shown}");
    assert_eq!(shown["body"]["out_trade_no"], "cli-v3-1", "{shown}");
    let trace_id = shown["trace_id"].as_str().unwrap_or_default();
    assert!(!trace_id.is_empty() && text(&json.stderr).contains(trace_id), "{shown} {}", text(&json.stderr));
}

/// `alipay api list|show`: Alipay's v3 operations from the generated table.
#[test]
fn api_list_and_show_name_verbs_paths_and_parameters() {
    let listed = alipay(&["api", "list", "alipay.trade."], b"");
    assert_eq!(listed.status.code(), Some(0));
    let listed = text(&listed.stdout);
    assert!(
        listed.lines().any(|l| l.starts_with("alipay.trade.query ") && l.ends_with("POST   /v3/alipay/trade/query"))
    );
    assert!(listed.lines().all(|l| l.contains("alipay.trade.")), "{listed}");
    let all = alipay(&["api", "list", "--json"], b"");
    assert_eq!(text(&all.stdout).lines().count(), 767);
    let shown = alipay(&["api", "show", "alipay.marketing.activity.app.batchquery", "--json"], b"");
    let op: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(op["http_method"], "GET");
    assert_eq!(op["path"], "/v3/alipay/marketing/activity/{activity_id}/app/batchquery");
    assert_eq!(op["path_params"], serde_json::json!(["activity_id"]));
    let shown = text(&alipay(&["api", "show", "alipay.marketing.activity.app.batchquery"], b"").stdout);
    assert!(
        shown.contains(
            "alipay v3 call GET /v3/alipay/marketing/activity/ACTIVITY_ID/app/batchquery --query merchant_id=…"
        ),
        "{shown}"
    );
    // The request skeleton: the body model's fields (nested models expanded), the answer's.
    let refund = alipay(&["api", "show", "alipay.trade.refund", "--json"], b"");
    let op: serde_json::Value = serde_json::from_slice(&refund.stdout).unwrap();
    assert_eq!(op["body_model"], "AlipayTradeRefundModel");
    assert_eq!(op["body"]["refund_amount"], "0.00");
    assert!(op["body"]["goods_detail"][0].get("goods_id").is_some(), "{op}");
    let answer: Vec<&str> =
        op["answer_fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(answer.contains(&"refund_fee") && answer.contains(&"fund_change"), "{answer:?}");
    let text_form = text(&alipay(&["api", "show", "alipay.trade.refund"], b"").stdout);
    assert!(text_form.contains("--body '{") && text_form.contains("\"refund_amount\":\"0.00\""), "{text_form}");
    // The generated Rust type and its feature (the same names tests/gateway/generated_apis.rs
    // imports).
    assert_eq!(op["rust_type"], "alipay_sdk::api::alipay_trade::AlipayTradeRefund");
    assert_eq!(op["feature"], "api-alipay-trade");
    let activity = text(&alipay(&["api", "show", "alipay.marketing.activity.query"], b"").stdout);
    for line in [
        "Rust (feature `api-alipay-marketing`): alipay_sdk::api::alipay_marketing::AlipayMarketingActivityQuery",
        "answer: alipay_sdk::api::alipay_marketing::AlipayMarketingActivityQueryResponse",
        "error codes: alipay_sdk::api::alipay_marketing::AlipayMarketingActivityQueryErrorCode",
    ] {
        assert!(activity.contains(line), "{line} in {activity}");
    }
    let untyped_answer = alipay(&["api", "show", "alipay.boss.fnc.invoicereceipt.create"], b"");
    assert!(text(&untyped_answer.stdout).contains("answer: serde_json::Map"));
    let unknown = alipay(&["api", "show", "alipay.trade.querry"], b"");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("`alipay api list`"));
}

/// A reader that stops early closes the pipe: the command ends quietly (status 141, as a
/// SIGPIPE death), never with a panic.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::io::Read as _;
    // About 130 KB of JSON lines: more than a pipe holds (64 KB), so the command is still
    // writing when the reader goes.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["api", "list", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}
