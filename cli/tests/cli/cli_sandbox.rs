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
    let paid = reqwest::blocking::Client::new()
        .post(format!("http://{address}/sandbox/pay?out_trade_no=cli-1"))
        .send()
        .unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(client.call(&TradeQuery::by_out_trade_no("cli-1")).unwrap().trade_status, TradeStatus::TradeSuccess);
}
