//! `alipay bill download` against the sandbox.

use alipay_sandbox::Sandbox;
use alipay_sdk::model::trade::TradePrecreate;

use crate::command::alipay;

#[tokio::test(flavor = "multi_thread")]
async fn downloads_verifies_and_writes_the_parsed_bill() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("cli-bill-1", "9.99".parse().unwrap(), "命令行账单")).await.unwrap();
    sandbox.buyer_pays("cli-bill-1").unwrap();
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
    let bill: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = bill["details"].as_array().unwrap();
    let row = rows.iter().find(|r| r["out_trade_no"] == "cli-bill-1").unwrap();
    assert_eq!((row["total_amount"].as_str(), row["subject"].as_str()), (Some("9.99"), Some("命令行账单")));
    let written = out.path().join(format!("alipay-bill-trade-{today}.json"));
    let on_disk: serde_json::Value = serde_json::from_slice(&std::fs::read(written).unwrap()).unwrap();
    assert_eq!(on_disk, bill);
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
