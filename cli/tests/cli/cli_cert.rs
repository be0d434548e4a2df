//! The `alipay cert` and `alipay key check` commands: output and exit codes.

use std::process::{Command, Output};

use crate::common::{oracle_for, pki, shared};

fn alipay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alipay")).args(args).output().expect("run alipay")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn path(p: std::path::PathBuf) -> String {
    p.display().to_string()
}

#[test]
fn cert_sn_prints_one_line() {
    let output = alipay(&["cert", "sn", &path(shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk.crt"))]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "f4facbef87f2c92cf8ca72cdfcb25eb1\n");

    let output = alipay(&["cert", "sn", &path(pki("dn/escapes.pem"))]);
    assert_eq!(stdout(&output).trim(), oracle_for("escapes.pem")["sn"].as_str().unwrap());
}

#[test]
fn cert_root_sn_prints_one_line() {
    let output = alipay(&["cert", "root-sn", &path(shared("alipay/prod_alipayRootCert_crlf.crt"))]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6\n");

    let output = alipay(&["cert", "root-sn", &path(pki("ca/root_bundle_no_rsa.pem"))]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no RSA- or SM2-signed certificate"));
    assert!(output.stdout.is_empty());
}

#[test]
fn cert_inspect_describes_every_certificate() {
    let file = path(shared("alipay/prod_alipayRootCert.crt"));
    let output = alipay(&["cert", "inspect", &file, "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let certificates = value["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 4);
    assert_eq!(value["root_sn"], "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6");
    assert_eq!(certificates[1]["sn"], "687b59193f3f462dd5336e5abf83c5d8");
    assert_eq!(certificates[1]["key_type"], "RSA");
    assert_eq!(certificates[1]["key_bits"], 4096);
    assert_eq!(certificates[0]["signature_algorithm_oid"], "1.2.156.10197.1.501");
    assert_eq!(certificates[0]["rsa_signed"], false);
    for field in ["subject", "issuer", "serial_decimal", "serial_hex", "not_before", "not_after", "days_left"] {
        assert!(!certificates[2][field].is_null(), "{field}");
    }

    let output = alipay(&["cert", "inspect", &path(shared("alipay/prod_alipayCertPublicKey_RSA2_nodesdk.crt"))]);
    let text = stdout(&output);
    assert!(text.contains("sn         7513daaaa48aa3ba2e4018d84402479c"), "{text}");
    assert!(text.contains("an Alipay certificate") && text.contains("RSA 2048") && text.contains("EXPIRED"), "{text}");
    assert!(!text.contains("root sn"));
}

#[test]
fn key_check_exit_codes() {
    let ok = alipay(&[
        "key",
        "check",
        "--key",
        &path(pki("keys/app_pkcs1_base64.txt")),
        "--cert",
        &path(pki("ca/app_cert.pem")),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout(&ok).starts_with("ok:"));

    let mismatch =
        alipay(&["key", "check", "--key", &path(pki("keys/other_pkcs8.pem")), "--cert", &path(pki("ca/app_cert.pem"))]);
    assert_eq!(mismatch.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&mismatch.stderr).contains("does not match"));

    let swapped =
        alipay(&["key", "check", "--key", &path(pki("ca/app_cert.pem")), "--cert", &path(pki("keys/app_pkcs8.pem"))]);
    assert_eq!(swapped.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&swapped.stderr).contains("this is a certificate"));
}

#[test]
fn bad_input_and_usage_exit_2() {
    let output = alipay(&["cert", "sn", "/nonexistent/file.crt"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/file.crt"));
    assert_eq!(alipay(&["cert", "frobnicate"]).status.code(), Some(2));
    assert_eq!(alipay(&["key", "check", "--key", "x"]).status.code(), Some(2));
}

/// A certificate whose notBefore holds a two-byte UTF-8 character (the hardening regression
/// input, written by `fuzz/seed.py`): an error naming the time, exit 2, never a panic (101).
#[test]
fn the_cli_exits_2_on_hostile_certificate_bytes() {
    let input = crate::common::root().join("fuzz/regressions/certificate/utf8_in_time_17.der");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["cert", "sn", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("time"));
}

/// The right file in the right place: each mix-up names the file, what it is and what was
/// expected, with exit 2, and never an OpenSSL internal.
#[test]
fn every_wrong_file_is_named_for_what_it_is() {
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();
    let expect = |args: &[&str], needles: &[&str]| {
        let output = alipay(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let message = stderr(&output);
        for needle in needles {
            assert!(message.contains(needle), "{args:?}: {needle:?} in {message}");
        }
        assert!(!message.contains("Id("), "{args:?}: an OpenSSL internal in {message}");
    };
    let leaf_chain = path(pki("ca/alipay_cert.pem"));
    let bundle = path(pki("ca/root_bundle.pem"));
    let app_cert = path(pki("ca/app_cert.pem"));
    // A leaf chain where the root bundle belongs.
    expect(&["cert", "root-sn", &leaf_chain], &[&leaf_chain, "not a root", "alipayRootCert.crt"]);
    // A root bundle where one certificate is expected.
    expect(&["cert", "sn", &bundle], &[&bundle, "root bundle", "alipay cert root-sn"]);
    // Verifying with a root or an app certificate.
    for wrong in [&bundle, &app_cert] {
        expect(
            &["response", "verify", "--method", "alipay.trade.query", "--alipay-cert", wrong],
            &[wrong.as_str(), "expected"],
        );
        expect(&["notify", "verify", "--alipay-cert", wrong], &[wrong.as_str(), "expected"]);
    }
    // key check against the Alipay certificate.
    expect(
        &["key", "check", "--key", &path(pki("keys/app_pkcs8.pem")), "--cert", &leaf_chain],
        &[&leaf_chain, "Alipay certificate"],
    );
    // sign with a public key: called a public key, not "the app public key".
    let alipay_public = path(pki("ca/alipay_public.pem"));
    let output = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["sign", "--key", &alipay_public])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&alipay_public) && message.contains("public key") && message.contains("app private key"),
        "{message}"
    );
    // A key of another algorithm: a person's name for it.
    let dir = tempfile::tempdir().unwrap();
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let ec = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let ec_path = dir.path().join("ec.pem");
    std::fs::write(&ec_path, ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["sign", "--key", ec_path.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("an EC key on prime256v1") && !message.contains("Id("), "{message}");
}

#[test]
fn results_are_json_on_request_and_alone_on_stdout() {
    let json = |args: &[&str]| -> serde_json::Value {
        let output = alipay(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
    };
    let cert = path(pki("ca/app_cert.pem"));
    let sn = json(&["cert", "sn", &cert, "--json"]);
    assert_eq!(sn["sn"], oracle_for("app_cert.pem")["sn"]);
    let roots = json(&["cert", "root-sn", &path(pki("ca/root_bundle.pem")), "--json"]);
    assert!(roots["alipay_root_cert_sn"].as_str().unwrap().contains('_'));
    let check = json(&["key", "check", "--key", &path(pki("keys/app_pkcs8.pem")), "--cert", &cert, "--json"]);
    assert_eq!(check["matches"], true);
    let signed = Command::new(env!("CARGO_BIN_EXE_alipay"))
        .args(["sign", "--key", &path(pki("keys/app_pkcs8.pem")), "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(br#"{"b":"2","a":"1"}"#)?;
            child.wait_with_output()
        })
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!((value["sign_content"].as_str(), value["sign_content_len"].as_u64()), (Some("a=1&b=2"), Some(7)));
    // key gen --json keeps the private key in its file; csr --json carries the PEM.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("app.pem");
    let generated = json(&["key", "gen", "--out", key_file.to_str().unwrap(), "--json"]);
    assert!(generated["public_key_pem"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!generated.to_string().contains("PRIVATE KEY"));
    let csr = json(&["csr", "--key", key_file.to_str().unwrap(), "--json"]);
    assert!(csr["csr_pem"].as_str().unwrap().contains("BEGIN CERTIFICATE REQUEST"));
    assert_ne!(alipay(&["key", "gen", "--json"]).status.code(), Some(0), "--json needs --out");
}
