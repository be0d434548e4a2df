//! `alipay bill download` against the sandbox.

use alipay_sdk::model::trade::TradePrecreate;

use crate::command::alipay;

#[tokio::test(flavor = "multi_thread")]
async fn downloads_verifies_and_writes_the_parsed_bill() {
    // The bill of a day that is over: the sandbox's clock moves on a day after the payment.
    let (sandbox, clock) = crate::common::wire::sandbox_with_movable_clock().await;
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("cli-bill-1", "9.99".parse().unwrap(), "命令行账单")).await.unwrap();
    sandbox.buyer_pays("cli-bill-1").unwrap();
    clock.shift(chrono::Duration::days(1));
    let config = sandbox.dir().join("alipay.toml").display().to_string();
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().display().to_string();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
    let args =
        ["bill", "download", "--date", &today, "--config", &config, "--out", &out_path, "--json"].map(str::to_string);
    let output = tokio::task::spawn_blocking(move || alipay(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    // JSON lines: one per row, then the summary.
    let lines: Vec<serde_json::Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let (summary, rows) = lines.split_last().unwrap();
    let row = rows.iter().find(|r| r["out_trade_no"] == "cli-bill-1").unwrap();
    assert_eq!((row["total_amount"].as_str(), row["subject"].as_str()), (Some("9.99"), Some("命令行账单")));
    assert_eq!(summary["rows"].as_u64(), Some(rows.len() as u64));
    let net: i64 =
        rows.iter().map(|r| r["total_amount"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap()).sum();
    assert_eq!(summary["net"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap(), net);
    // The files it says it writes: the rows as JSON lines, the summary, and the zip as received.
    let file = |suffix: &str| out.path().join(format!("alipay-bill-trade-{today}{suffix}"));
    let on_disk: Vec<serde_json::Value> =
        std::fs::read_to_string(file(".jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(on_disk, rows);
    let written_summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file(".summary.json")).unwrap()).unwrap();
    assert_eq!(&written_summary, summary);
    let zip = std::fs::read(file(".zip")).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"), "the archive as received");
    assert_eq!(summary["zip_bytes"].as_u64(), Some(zip.len() as u64));
    let parsed = alipay_sdk::bill::parse(&zip, alipay_sdk::model::settle::BillType::Trade, Default::default()).unwrap();
    assert_eq!(parsed.details.len(), rows.len());
    assert!(!file(".zip.part").exists());
    assert!(
        output.stderr.is_empty() || !String::from_utf8_lossy(&output.stderr).contains('\u{1b}'),
        "no progress bar off a terminal"
    );

    let (config2, out2) = (config.clone(), out_path.clone());
    let output = tokio::task::spawn_blocking(move || {
        alipay(&["bill", "download", "--date", "2026-13-40", "--config", &config2, "--out", &out2], &[])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("YYYY-MM-DD"));
    let output = tokio::task::spawn_blocking(move || {
        alipay(&["bill", "download", "--date", "2999-01-01", "--config", &config, "--out", &out_path], &[])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "a verified refusal: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("isp.bill_not_exist"));
}
