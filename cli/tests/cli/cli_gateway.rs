//! `alipay sign`, `alipay response verify`, `alipay aes`: output and exit codes.

use std::process::Command;

use crate::command::alipay;

use crate::common::wire::{alipay_cert_sn, alipay_key, signed_body};
use crate::common::{pki, shared};

fn path(p: std::path::PathBuf) -> String {
    p.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The signature the `openssl` command computes (PKCS#1 v1.5 is deterministic).
fn openssl_sign(content: &[u8], digest: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("content");
    std::fs::write(&file, content).unwrap();
    let output = Command::new("openssl")
        .args(["dgst", digest, "-sign"])
        .arg(pki("keys/app_pkcs8.pem"))
        .arg(&file)
        .output()
        .unwrap();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(output.stdout)
}

#[test]
fn sign_matches_openssl_and_explains() {
    let params = r#"{"method":"alipay.trade.query","app_id":"2021000000000001","sign":"ignored","empty":"","biz_content":"{\"out_trade_no\":\"订单1\"}"}"#;
    let content = r#"app_id=2021000000000001&biz_content={"out_trade_no":"订单1"}&method=alipay.trade.query"#;

    let output = alipay(&["sign", "--key", &path(pki("keys/app_pkcs1.pem"))], params.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), openssl_sign(content.as_bytes(), "-sha256"));

    let output = alipay(&["sign", "--key", &path(pki("keys/app_pkcs1.pem")), "--explain"], params.as_bytes());
    let out = text(&output.stdout);
    assert!(out.starts_with(&format!("sign content ({} bytes, UTF-8):\n{content}\n", content.len())), "{out}");

    let output =
        alipay(&["sign", "--key", &path(pki("keys/app_pkcs8_base64.txt")), "--sign-type", "RSA"], params.as_bytes());
    assert_eq!(text(&output.stdout).trim(), openssl_sign(content.as_bytes(), "-sha1"));

    let (gbk, _, _) = encoding_rs::GBK.encode(content);
    let output = alipay(
        &["sign", "--key", &path(pki("keys/app_pkcs8.pem")), "--charset", "GBK", "--explain"],
        params.as_bytes(),
    );
    let out = text(&output.stdout);
    assert!(out.contains(&format!("({} bytes, GBK)", gbk.len())), "{out}");
    assert_eq!(out.lines().last().unwrap(), openssl_sign(&gbk, "-sha256"));
}

#[test]
fn sign_rejects_unusable_input() {
    let key = path(pki("keys/app_pkcs8.pem"));
    for stdin in [&b"not json"[..], b"[1,2]", br#"{"a":1}"#] {
        let output = alipay(&["sign", "--key", &key], stdin);
        assert_eq!(output.status.code(), Some(2), "{}", text(stdin));
        assert!(output.stdout.is_empty());
    }
    let output = alipay(&["sign", "--key", &path(pki("ca/app_cert.pem"))], b"{}");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("this is a certificate"));
    assert_eq!(alipay(&["sign", "--key", &key, "--sign-type", "MD5"], b"{}").status.code(), Some(2));
}

#[test]
fn response_verify_outcomes() {
    let cert = path(pki("ca/alipay_cert.pem"));
    let verify =
        |body: &[u8]| alipay(&["response", "verify", "--method", "alipay.trade.query", "--alipay-cert", &cert], body);
    let node = r#"{"code":"10000","msg":"Success","out_trade_no":"c-1"}"#;
    let body = signed_body("alipay.trade.query", node, Some(&alipay_cert_sn()), &alipay_key());

    let output = verify(body.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // The result on stdout, the note on stderr.
    assert!(
        text(&output.stderr).starts_with(&format!("verified by Alipay certificate {}: success\n", alipay_cert_sn()))
    );
    assert_eq!(text(&output.stdout).trim_end(), node);
    let json = alipay(
        &["response", "verify", "--method", "alipay.trade.query", "--alipay-cert", &cert, "--json"],
        body.as_bytes(),
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((value["outcome"].as_str(), value["node"]["out_trade_no"].as_str()), (Some("success"), Some("c-1")));
    assert_eq!(value["alipay_cert_sn"], alipay_cert_sn());

    let failure = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"}"#;
    let output = verify(signed_body("alipay.trade.query", failure, Some(&alipay_cert_sn()), &alipay_key()).as_bytes());
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stderr).starts_with("verified: business failure: alipay.trade.query: code 40004"));
    assert_eq!(text(&output.stdout).trim_end(), failure);

    let output = verify(body.replace("c-1", "c-2").as_bytes());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("does not verify"), "{}", text(&output.stderr));

    let output =
        verify(br#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}"#);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("UNVERIFIED"));

    let output = verify(b"<html>bad gateway</html>");
    assert_eq!(output.status.code(), Some(2));

    let output = alipay(&["response", "verify", "--method", "alipay.trade.query"], body.as_bytes());
    assert_eq!(output.status.code(), Some(2), "a key is required");

    let real = std::fs::read(shared("nodesdk-real/vr-real-file-upload.json")).unwrap();
    let key = path(shared("nodesdk-real/alipay-public-key.pem"));
    let output =
        alipay(&["response", "verify", "--method", "alipay.open.file.upload", "--alipay-public-key", &key], &real);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let tampered = std::fs::read(shared("nodesdk-real/vr-real-file-upload-tampered.json")).unwrap();
    let output =
        alipay(&["response", "verify", "--method", "alipay.open.file.upload", "--alipay-public-key", &key], &tampered);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn aes_round_trip_and_openssl_compatibility() {
    let key = "AAECAwQFBgcICQoLDA0ODw=="; // bytes 0..16
    let output = alipay(&["aes", "encrypt", "--key", key], r#"{"a":"中"}"#.as_bytes());
    assert_eq!(output.status.code(), Some(0));
    let encrypted = text(&output.stdout);
    let expected = Command::new("sh")
        .args(["-c", r#"printf '{"a":"中"}' | openssl enc -aes-128-cbc -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 | base64 -w0"#])
        .output()
        .unwrap();
    assert_eq!(encrypted.trim(), text(&expected.stdout).trim());
    let output = alipay(&["aes", "decrypt", "--key", key], encrypted.as_bytes());
    assert_eq!(output.stdout, r#"{"a":"中"}"#.as_bytes());
    let shown: serde_json::Value =
        serde_json::from_slice(&alipay(&["aes", "decrypt", "--key", key, "--json"], encrypted.as_bytes()).stdout)
            .unwrap();
    assert_eq!((shown["encrypt_type"].as_str(), shown["plaintext"].as_str()), (Some("AES"), Some(r#"{"a":"中"}"#)));
    let shown: serde_json::Value =
        serde_json::from_slice(&alipay(&["aes", "encrypt", "--key", key, "--json"], r#"{"a":"中"}"#.as_bytes()).stdout)
            .unwrap();
    assert_eq!(shown["ciphertext"].as_str(), Some(encrypted.trim()), "AES with a zero IV is deterministic");
    assert_eq!(alipay(&["aes", "decrypt", "--key", key], b"AAAA").status.code(), Some(2));
    assert_eq!(alipay(&["aes", "encrypt", "--key", "short"], b"x").status.code(), Some(2));
    // The key from a file or the environment, never only the command line.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("aes_key.txt");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let from_file = alipay(&["aes", "decrypt", "--key-file", key_file.to_str().unwrap()], encrypted.as_bytes());
    assert_eq!(from_file.stdout, r#"{"a":"中"}"#.as_bytes(), "{}", text(&from_file.stderr));
    let from_env = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["aes", "encrypt", "--key-env", "ALIPAY_TEST_AES_KEY"])
        .env("ALIPAY_TEST_AES_KEY", key)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{}", text(&from_env.stderr));
    assert_eq!(alipay(&["aes", "encrypt"], b"x").status.code(), Some(2), "a key source is required");
}
