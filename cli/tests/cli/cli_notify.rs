//! `alipay notify verify`: output and exit codes.

use crate::command::alipay;

use crate::common::{pki, shared};

#[test]
fn verifies_real_notifications_and_explains_failures() {
    let v1_key = shared("nodesdk-real/alipay-notify-sign-public-key-v1.pem").display().to_string();
    let body = std::fs::read(shared("nodesdk-real/vn-real-trade-v1.txt")).unwrap();
    let output = alipay(&["notify", "verify", "--alipay-public-key", &v1_key], &body);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let fields: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(fields["trade_status"], "TRADE_SUCCESS");
    assert_eq!(fields["notify_type"], "trade_status_sync");
    let output = alipay(&["notify", "verify", "--alipay-public-key", &v1_key, "--json"], &body);
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((shown["verified"].as_bool(), &shown["params"]), (Some(true), &fields), "{shown}");

    let tampered = std::fs::read(shared("nodesdk-real/vn-real-trade-v1-tampered.txt")).unwrap();
    let output = alipay(&["notify", "verify", "--alipay-public-key", &v1_key], &tampered);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not verify") && stderr.contains("app_id=") && stderr.contains("bytes"), "{stderr}");
    assert!(output.stdout.is_empty());
    let output = alipay(&["notify", "verify", "--alipay-public-key", &v1_key, "--json"], &tampered);
    assert_eq!(output.status.code(), Some(1));
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(shown["verified"] == false && shown["error"].as_str().unwrap().contains("does not verify"), "{shown}");

    let v2_key = shared("nodesdk-real/alipay-notify-sign-public-key-v2.pem").display().to_string();
    let v2 = std::fs::read(shared("nodesdk-real/vn-real-servicemarket-v2.txt")).unwrap();
    assert_eq!(alipay(&["notify", "verify", "--alipay-public-key", &v2_key, "--v2"], &v2).status.code(), Some(0));
    assert_eq!(alipay(&["notify", "verify", "--alipay-public-key", &v2_key], &v2).status.code(), Some(1));
}

#[test]
fn unusable_input_exits_2() {
    let cert = pki("ca/alipay_cert.pem").display().to_string();
    assert_eq!(alipay(&["notify", "verify", "--alipay-cert", &cert], b"a=%zz").status.code(), Some(2));
    assert_eq!(alipay(&["notify", "verify"], b"a=1").status.code(), Some(2));
    let output =
        alipay(&["notify", "verify", "--alipay-cert", &pki("keys/app_pkcs8.pem").display().to_string()], b"a=1");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a certificate"));
    let output = alipay(&["notify", "verify", "--alipay-cert", &cert], b"a=1&b=2");
    assert_eq!(output.status.code(), Some(1), "no sign: the check fails");
}
