//! SM2 on the command line: root SNs, key generation, CSRs, signing, verifying responses and
//! notifications, content encryption and the SM2 demo — checked with the `openssl` command
//! line (`distid:1234567812345678`) and the public production root bundle.

use std::process::Command;

use alipay_sdk::key::{KeyAlgorithm, PrivateKey};

use crate::command::alipay;
use crate::common::{pki, shared};

const USER_ID: &str = "distid:1234567812345678";

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().expect("openssl runs")
}

/// An SM2 key pair made by the openssl command line: (private PEM path, public PEM path).
fn openssl_sm2_pair(dir: &std::path::Path) -> (String, String) {
    let key = dir.join("sm2.pem").display().to_string();
    let public = dir.join("sm2_pub.pem").display().to_string();
    assert!(openssl(&["genpkey", "-algorithm", "SM2", "-out", &key]).status.success());
    assert!(openssl(&["pkey", "-in", &key, "-pubout", "-out", &public]).status.success());
    (key, public)
}

/// `openssl dgst -sm3 -sign` with Alipay's user id, base64.
fn openssl_sign(dir: &std::path::Path, key: &str, content: &str) -> String {
    use base64::Engine as _;
    let input = dir.join("content.txt");
    let signature = dir.join("signature.bin");
    std::fs::write(&input, content).unwrap();
    let output = Command::new("openssl")
        .args(["dgst", "-sm3", "-sign", key, "-sigopt", USER_ID, "-out"])
        .arg(&signature)
        .arg(&input)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(signature).unwrap())
}

#[test]
fn root_sn_for_sm2_apps_counts_the_sm2_root() {
    let bundle = shared("alipay/prod_alipayRootCert.crt").display().to_string();
    let output = alipay(&["cert", "root-sn", "--sign-type", "SM2", &bundle], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "9e64d67d36446de33aae13a33a89e5a7\n");
    let output = alipay(&["cert", "root-sn", "--sign-type", "SM2", "--json", &bundle], &[]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((value["roots_counted"].as_u64(), value["roots_skipped"].as_u64()), (Some(1), Some(3)));
    // RSA2 is unchanged; a bundle without an SM2 root is refused for SM2, naming the file.
    let output = alipay(&["cert", "root-sn", &bundle], &[]);
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim().split('_').count(), 2);
    let rsa_only = pki("ca/root_bundle.pem").display().to_string();
    let output = alipay(&["cert", "root-sn", "--sign-type", "SM2", &rsa_only], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no SM2-signed root") && stderr.contains("root_bundle.pem"), "{stderr}");
}

#[test]
fn key_gen_and_a_csr_that_openssl_verifies_only_with_alipays_user_id() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["pkcs8", "base64"] {
        let output = alipay(&["key", "gen", "--algorithm", "sm2", "--format", format], &[]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let key = PrivateKey::from_bytes(&output.stdout).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::Sm2);
    }
    let output = alipay(&["key", "gen", "--algorithm", "sm2", "--format", "pkcs1"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("RSA keys only"), "{}", text(&output));

    let key_path = dir.path().join("sm2.key");
    let output = alipay(&["key", "gen", "--algorithm", "sm2", "--out", key_path.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let described = openssl(&["pkey", "-in", key_path.to_str().unwrap(), "-noout", "-text"]);
    assert!(String::from_utf8_lossy(&described.stdout).contains("ASN1 OID: SM2"), "{}", text(&described));

    let csr = dir.path().join("sm2.csr");
    let output = alipay(&["csr", "--key", key_path.to_str().unwrap(), "--out", csr.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let csr = csr.to_str().unwrap();
    // `openssl req -verify` exits 0 either way: its verdict is in the text.
    let with_id = openssl(&["req", "-in", csr, "-noout", "-verify", "-vfyopt", USER_ID]);
    assert!(text(&with_id).contains("verify OK"), "{}", text(&with_id));
    let described = openssl(&["req", "-in", csr, "-noout", "-text"]);
    assert!(String::from_utf8_lossy(&described.stdout).contains("SM2-with-SM3"), "{}", text(&described));
    let default_id = openssl(&["req", "-in", csr, "-noout", "-verify"]);
    assert!(
        text(&default_id).contains("verify failure"),
        "signed with Alipay's user id, not OpenSSL's empty one: {}",
        text(&default_id)
    );
}

#[test]
fn sign_verify_response_and_notification_with_sm2() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = openssl_sm2_pair(dir.path());

    // alipay sign: openssl verifies the signature over the sign content we print.
    let params = r#"{"app_id":"2021000000000001","method":"alipay.trade.query","sign_type":"SM2","biz_content":"{\"out_trade_no\":\"国密\"}"}"#;
    let output = alipay(&["sign", "--key", &key, "--sign-type", "SM2", "--json"], params.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let signed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let content_path = dir.path().join("sign_content.txt");
    std::fs::write(&content_path, signed["sign_content"].as_str().unwrap()).unwrap();
    let signature_path = dir.path().join("sign.bin");
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(signed["sign"].as_str().unwrap()).unwrap();
    std::fs::write(&signature_path, raw).unwrap();
    let check = openssl(&[
        "dgst",
        "-sm3",
        "-verify",
        &public,
        "-sigopt",
        USER_ID,
        "-signature",
        signature_path.to_str().unwrap(),
        content_path.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", text(&check));

    // alipay response verify: a response whose node openssl signed.
    let node = r#"{"code":"10000","msg":"Success","out_trade_no":"sm2-cli","trade_status":"TRADE_SUCCESS"}"#;
    let sign = openssl_sign(dir.path(), &key, node);
    let body = format!(r#"{{"alipay_trade_query_response":{node},"sign":"{sign}"}}"#);
    let verify = |sign_type: &str| {
        alipay(
            &[
                "response",
                "verify",
                "--method",
                "alipay.trade.query",
                "--alipay-public-key",
                &public,
                "--sign-type",
                sign_type,
            ],
            body.as_bytes(),
        )
    };
    let output = verify("SM2");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("sm2-cli"));
    assert_eq!(verify("RSA2").status.code(), Some(1), "the algorithm comes from the flag, never the message");

    // alipay notify verify: a notification openssl signed (V1: sign and sign_type left out).
    let content =
        "app_id=2021000000000001&notify_id=sm2-1&out_trade_no=sm2-cli&total_amount=1.00&trade_status=TRADE_SUCCESS";
    let sign = openssl_sign(dir.path(), &key, content);
    let form =
        format!("{content}&sign_type=SM2&sign={}", sign.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
    let output = alipay(&["notify", "verify", "--alipay-public-key", &public, "--sign-type", "SM2"], form.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let fields: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(fields["out_trade_no"], "sm2-cli");
    let tampered = form.replace("1.00", "9.00");
    let output =
        alipay(&["notify", "verify", "--alipay-public-key", &public, "--sign-type", "SM2"], tampered.as_bytes());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
}

#[test]
fn content_encryption_schemes_round_trip_and_sm4_keys_are_checked() {
    let key = "AAECAwQFBgcICQoLDA0ODw==";
    for scheme in ["AES", "AES_V2", "SM4"] {
        let encrypted = alipay(&["aes", "encrypt", "--key", key, "--encrypt-type", scheme], b"{\"a\":\"b\"}");
        assert_eq!(encrypted.status.code(), Some(0), "{scheme}: {}", text(&encrypted));
        let decrypted = alipay(&["aes", "decrypt", "--key", key, "--encrypt-type", scheme], &encrypted.stdout);
        assert_eq!(decrypted.status.code(), Some(0), "{scheme}: {}", text(&decrypted));
        assert_eq!(String::from_utf8_lossy(&decrypted.stdout).trim(), "{\"a\":\"b\"}");
        // Another scheme does not decrypt it (SM4 is authenticated; the CBC schemes differ in IV).
        if scheme == "SM4" {
            let wrong = alipay(&["aes", "decrypt", "--key", key, "--encrypt-type", "AES_V2"], &encrypted.stdout);
            assert_ne!(String::from_utf8_lossy(&wrong.stdout).trim(), "{\"a\":\"b\"}");
        }
    }
    let long_key = "AAECAwQFBgcICQoLDA0ODwABAgMEBQYHCAkKCwwNDg8=";
    let output = alipay(&["aes", "encrypt", "--key", long_key, "--encrypt-type", "SM4"], b"x");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("16 bytes"), "{}", text(&output));
    let output = alipay(&["aes", "encrypt", "--key", key, "--encrypt-type", "SM4_CBC"], b"x");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_demo_runs_a_whole_sm2_payment() {
    let output = Command::new(env!("CARGO_BIN_EXE_alipay")).args(["demo", "--sign-type", "SM2"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(stdout.contains("sign_type SM2") && stdout.contains("SM4-encrypted"), "{stdout}");
    assert!(stdout.contains("REFUND_SUCCESS") && stdout.contains("every signature checked out"), "{stdout}");
}
