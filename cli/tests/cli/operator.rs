//! Operator tooling: alipay.toml, `alipay doctor`, `alipay call`, `alipay key gen`, `alipay csr`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use crate::common::{pki, shared};
use alipay_sandbox::{Sandbox, SandboxHandle};
use alipay_sdk::config_file::{ConfigFile, ConfigFileErrorKind, Mode};
use alipay_sdk::key::PrivateKey;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509Builder, X509NameBuilder};

fn alipay(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alipay"));
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A certificate-mode alipay.toml over the test PKI, with `overrides` replacing settings.
fn toml_file(dir: &Path, gateway: &str, overrides: &[(&str, String)]) -> PathBuf {
    let path = |p: &str| pki(p).display().to_string();
    let mut settings: Vec<(&str, String)> = vec![
        ("app_id", "2021000000000001".into()),
        ("mode", "certificate".into()),
        ("gateway", gateway.into()),
        ("app_private_key", path("keys/app_pkcs8.pem")),
        ("app_cert", path("ca/app_cert.pem")),
        ("alipay_cert", path("ca/alipay_cert.pem")),
        ("alipay_root_cert", path("ca/root_bundle.pem")),
    ];
    for (name, value) in overrides {
        settings.retain(|(n, _)| n != name);
        settings.push((name, value.clone()));
    }
    let body: String = settings.iter().map(|(k, v)| format!("{k} = {v:?}\n")).collect();
    let file = dir.join("alipay.toml");
    std::fs::write(&file, body).unwrap();
    file
}

/// `alipay ARGS --config CONFIG`, off the test's runtime (the command talks to the sandbox
/// that runtime serves).
async fn call_cli(config: &Path, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["--config".to_string(), config.to_str().unwrap().to_string()]);
    tokio::task::spawn_blocking(move || alipay(&all.iter().map(String::as_str).collect::<Vec<_>>(), &[])).await.unwrap()
}

fn doctor_json(config: &Path, env: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
    let output = alipay(&["doctor", "--config", config.to_str().unwrap(), "--json"], env);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(&output)));
    (output.status.code(), value)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

async fn sandbox() -> SandboxHandle {
    Sandbox::builder().start().await.unwrap()
}

#[test]
fn config_file_resolves_paths_and_takes_environment_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki("keys/app_pkcs8.pem"), dir.path().join("key.pem")).unwrap();
    std::fs::write(dir.path().join("aes.txt"), "aGVsbG8gd29ybGQgMTIzNA==").unwrap();
    let file = dir.path().join("alipay.toml");
    let ca = |p: &str| pki(p).display().to_string();
    std::fs::write(
        &file,
        format!(
            "app_id = \"2021000000000001\"\ngateway = \"sandbox\"\ncharset = \"GBK\"\napp_private_key = \"key.pem\"\napp_cert = {:?}\nalipay_cert = [{:?}]\nalipay_root_cert = {:?}\naes_key_file = \"aes.txt\"\ntimeout_ms = 2500\n",
            ca("ca/app_cert.pem"),
            ca("ca/alipay_cert.pem"),
            ca("ca/root_bundle.pem")
        ),
    )
    .unwrap();
    let loaded = ConfigFile::load_with_env(&file, |_| None).unwrap();
    assert_eq!(loaded.path_of("app_private_key").unwrap(), dir.path().join("key.pem"));
    let config = loaded.builder().unwrap().build().unwrap();
    assert_eq!(config.gateway(), alipay_sdk::config::SANDBOX_GATEWAY);
    assert_eq!(config.charset(), alipay_sdk::charset::Charset::Gbk);
    assert!(config.aes_key().is_some());
    assert_eq!(loaded.timeout(), Some(std::time::Duration::from_millis(2500)));

    let env = |name: &str| match name {
        "ALIPAY_APP_ID" => Some("2021999999999999".to_string()),
        "ALIPAY_GATEWAY" => Some("http://127.0.0.1:9/gateway.do".to_string()),
        "ALIPAY_MODE" => Some("public-key".to_string()),
        "ALIPAY_ALIPAY_PUBLIC_KEY" => Some(ca("ca/alipay_public.pem")),
        _ => None,
    };
    let overridden = ConfigFile::load_with_env(&file, env).unwrap();
    assert_eq!(overridden.mode, Mode::PublicKey);
    let config = overridden.builder().unwrap().build().unwrap();
    assert_eq!((config.app_id(), config.gateway()), ("2021999999999999", "http://127.0.0.1:9/gateway.do"));
    assert!(config.app_cert_sn().is_none());

    std::fs::write(&file, "app_id = \"1\"\napp_privat_key = \"typo.pem\"\n").unwrap();
    let error = ConfigFile::load_with_env(&file, |_| None).unwrap_err();
    assert!(
        matches!(error.kind(), ConfigFileErrorKind::Parse { .. }) && error.to_string().contains("app_privat_key"),
        "{error}"
    );
    std::fs::write(&file, "mode = \"certificate\"\n").unwrap();
    let error = ConfigFile::load_with_env(&file, |_| None).unwrap().builder().unwrap_err();
    assert!(error.to_string().contains("setting app_id: missing"), "{error}");
    let error =
        ConfigFile::load_with_env(&file, |n| (n == "ALIPAY_MODE").then(|| "certificates".to_string())).unwrap_err();
    assert!(error.to_string().contains("ALIPAY_MODE"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_and_call_against_the_sandbox_files() {
    let sandbox = sandbox().await;
    let config = sandbox.dir().join("alipay.toml");
    assert!(config.exists(), "alipay sandbox --dir writes alipay.toml");
    let path = config.clone();
    let (code, report) = tokio::task::spawn_blocking(move || doctor_json(&path, &[])).await.unwrap();
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["failed"], 0);
    for name in [
        "app private key",
        "app certificate",
        "Alipay certificate",
        "root bundle",
        "key matches app certificate",
        "Alipay certificate chains",
        "SNs sent",
        "host clock",
    ] {
        assert_eq!(check(&report, name)["status"], "pass", "{name}: {report}");
    }
    assert!(check(&report, "SNs sent")["detail"].as_str().unwrap().contains(&sandbox.info().app_cert_sn));
    assert_eq!(check(&report, "TLS trust store")["status"], "skip");

    let path = config.clone();
    let output =
        tokio::task::spawn_blocking(move || alipay(&["doctor", "--config", path.to_str().unwrap(), "--probe"], &[]))
            .await
            .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("✔ signed probe: the gateway accepted our signature and SNs"));

    // The same app configured in public-key mode: the gateway wants SNs, and the probe's fix
    // says which setting (not "see sub_msg").
    let public_key_mode = sandbox.dir().join("public-key.toml");
    let settings = std::fs::read_to_string(&config).unwrap().replace("mode = \"certificate\"", "mode = \"public-key\"");
    std::fs::write(&public_key_mode, settings).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        alipay(&["doctor", "--config", public_key_mode.to_str().unwrap(), "--probe", "--json"], &[])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let probe = check(&report, "signed probe");
    assert_eq!(probe["status"], "fail", "{report}");
    assert!(probe["detail"].as_str().unwrap().contains("isv.missing-app-cert-sn"), "{probe}");
    assert!(probe["fix"].as_str().unwrap().contains("mode = \"certificate\""), "{probe}");

    let output = call_cli(
        &config,
        &[
            "call",
            "alipay.trade.precreate",
            "--biz",
            r#"{"out_trade_no":"call-1","total_amount":"1.23","subject":"CLI"}"#,
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let node: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(node["out_trade_no"], "call-1");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("verified with Alipay certificate") && stderr.contains("(trace id "), "{stderr}");
    // --json: the node with what was verified and the trace id Alipay support asks for.
    let output =
        call_cli(&config, &["call", "alipay.trade.query", "--biz", r#"{"out_trade_no":"call-1"}"#, "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["verified"], true, "{shown}");
    assert_eq!(shown["node"]["out_trade_no"], "call-1", "{shown}");
    let trace_id = shown["trace_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(trace_id.len(), 30, "{shown}");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&trace_id));
    assert!(shown["alipay_cert_sn"].is_string(), "{shown}");
    let output = call_cli(&config, &["call", "alipay.trade.query", "--biz", r#"{"out_trade_no":"nope"}"#]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("ACQ.TRADE_NOT_EXIST"));
    let output =
        call_cli(&config, &["call", "alipay.trade.query", "--biz", r#"{"out_trade_no":"nope"}"#, "--json"]).await;
    assert_eq!(output.status.code(), Some(1));
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["error"]["sub_code"], "ACQ.TRADE_NOT_EXIST", "{shown}");
    assert!(shown["trace_id"].is_string(), "{shown}");
}

/// An app key and an app certificate that expired in 2001, issued by the test PKI's class 1 CA.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_and_a_probe_for_an_sm2_app() {
    let sandbox = Sandbox::builder().sign_type(alipay_sdk::key::SignType::Sm2).start().await.unwrap();
    let config = sandbox.dir().join("alipay.toml");
    let path = config.clone();
    let (code, report) = tokio::task::spawn_blocking(move || doctor_json(&path, &[])).await.unwrap();
    assert_eq!((code, report["failed"].as_u64()), (Some(0), Some(0)), "{report}");
    let detail = |name: &str| check(&report, name)["detail"].as_str().unwrap().to_string();
    assert!(detail("app private key").starts_with("SM2"), "{report}");
    assert!(detail("root bundle").contains("1 SM2 roots counted"), "{report}");
    assert!(detail("Alipay certificate chains").contains("Sandbox Root S1"), "{report}");
    assert!(detail("SNs sent").contains(&sandbox.info().alipay_root_cert_sn), "{report}");
    let path = config.clone();
    let output =
        tokio::task::spawn_blocking(move || alipay(&["doctor", "--config", path.to_str().unwrap(), "--probe"], &[]))
            .await
            .unwrap();
    assert!(text(&output).contains("✔ signed probe"), "{}", text(&output));
    // The same files with sign_type RSA2: the key is named as the mismatch.
    let path = config.clone();
    let (code, report) =
        tokio::task::spawn_blocking(move || doctor_json(&path, &[("ALIPAY_SIGN_TYPE", "RSA2")])).await.unwrap();
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(check(&report, "app private key")["status"], "fail", "{report}");
    assert!(check(&report, "app private key")["detail"].as_str().unwrap().contains("SM2 key, but sign_type is RSA2"));
}

fn expired_app_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let ca_key = PKey::private_key_from_pem(&std::fs::read(pki("ca/class1.key")).unwrap()).unwrap();
    let ca = X509::from_pem(&std::fs::read(pki("ca/class1.pem")).unwrap()).unwrap();
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "2088000000000001-2021000000000001").unwrap();
    let name = name.build();
    let mut builder = X509Builder::new().unwrap();
    builder.set_version(2).unwrap();
    builder.set_serial_number(&BigNum::from_u32(77).unwrap().to_asn1_integer().unwrap()).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(ca.subject_name()).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder.set_not_before(&Asn1Time::from_unix(946_684_800).unwrap()).unwrap();
    builder.set_not_after(&Asn1Time::from_unix(978_307_200).unwrap()).unwrap();
    builder.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let (key_path, cert_path) = (dir.join("expired.key"), dir.join("expired.crt"));
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, builder.build().to_pem().unwrap()).unwrap();
    (key_path, cert_path)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_doctor_check_fails_with_its_fix() {
    let sandbox = sandbox().await;
    let gateway = sandbox.gateway_url();
    let dir = tempfile::tempdir().unwrap();
    let (expired_key, expired_cert) = expired_app_pair(dir.path());
    let p = |path: &str| pki(path).display().to_string();
    // (case, settings replaced, the check that must fail, a word its detail must contain)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        ("baseline", vec![], "", ""),
        (
            "expired",
            vec![
                ("app_private_key", expired_key.display().to_string()),
                ("app_cert", expired_cert.display().to_string()),
            ],
            "expiry of app certificate",
            "EXPIRED",
        ),
        (
            "mismatched key",
            vec![("app_private_key", p("keys/other_pkcs8.pem"))],
            "key matches app certificate",
            "does not match",
        ),
        (
            "wrong chain",
            vec![("alipay_cert", shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk.crt").display().to_string())],
            "Alipay certificate chains",
            "no signature path",
        ),
        (
            "missing file",
            vec![("app_cert", dir.path().join("missing.crt").display().to_string())],
            "app certificate",
            "cannot read",
        ),
        ("wrong kind", vec![("app_private_key", p("ca/app_cert.pem"))], "app private key", "this is a certificate"),
        ("wrong role", vec![("app_cert", p("ca/alipay_cert.pem"))], "app certificate", "an Alipay certificate"),
        (
            "leaf chain as the root bundle",
            vec![("alipay_root_cert", p("ca/alipay_cert.pem"))],
            "root bundle",
            "not a root",
        ),
        ("unknown charset", vec![("charset", "LATIN1".into())], "charset", "LATIN1"),
        ("missing app_id", vec![("app_id", String::new())], "app_id", "not set"),
        (
            "unreachable gateway",
            vec![("gateway", "http://127.0.0.1:1/gateway.do".into())],
            "gateway reachable",
            "cannot reach",
        ),
    ];
    for (name, overrides, failing, needle) in cases {
        let case_dir = dir.path().join(name.replace(' ', "_"));
        std::fs::create_dir(&case_dir).unwrap();
        let file = toml_file(&case_dir, &gateway, &overrides);
        let (code, report) = tokio::task::spawn_blocking(move || doctor_json(&file, &[])).await.unwrap();
        if name == "baseline" {
            assert_eq!(code, Some(0), "{report}");
            continue;
        }
        assert_eq!(code, Some(1), "{name}: {report}");
        let failed: Vec<&serde_json::Value> =
            report["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "fail").collect();
        let hit = failed
            .iter()
            .find(|c| c["check"].as_str().unwrap().starts_with(failing))
            .unwrap_or_else(|| panic!("{name}: no failing {failing}: {report}"));
        assert!(hit["detail"].as_str().unwrap().contains(needle), "{name}: {hit}");
        assert!(!hit["fix"].as_str().unwrap_or("").is_empty(), "{name}: every failure says how to fix it");
        // The cause is reported once: the configuration that cannot be built because of it is
        // skipped, not failed a second time.
        assert_ne!(check(&report, "client configuration")["status"], "fail", "{name}: {report}");
        let details: Vec<&str> = failed.iter().map(|c| c["detail"].as_str().unwrap()).collect();
        for (i, detail) in details.iter().enumerate() {
            assert!(!details[i + 1..].contains(detail), "{name}: {detail} reported twice: {report}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_catches_a_skewed_clock() {
    #[derive(Debug)]
    struct Ahead;
    impl alipay_sdk::config::Clock for Ahead {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::Utc::now() + chrono::Duration::hours(1)
        }
    }
    let sandbox = Sandbox::builder().clock(Arc::new(Ahead)).start().await.unwrap();
    let file = sandbox.dir().join("alipay.toml");
    let (code, report) = tokio::task::spawn_blocking(move || doctor_json(&file, &[])).await.unwrap();
    assert_eq!(code, Some(1));
    let clock = check(&report, "host clock");
    assert_eq!(clock["status"], "fail", "{report}");
    assert!(
        clock["detail"].as_str().unwrap().contains("-3600 s") || clock["detail"].as_str().unwrap().contains("-3599 s"),
        "{clock}"
    );
}

/// A local HTTPS server whose certificate (for 127.0.0.1) is issued by a fresh CA.
fn https_server() -> (String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let make_key = || PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let name = |cn: &str| {
        let mut b = X509NameBuilder::new().unwrap();
        b.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
        b.build()
    };
    let build = |subject: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>| {
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(rand_serial()).unwrap().to_asn1_integer().unwrap()).unwrap();
        b.set_subject_name(&name(subject)).unwrap();
        b.set_issuer_name(issuer.map_or(&*name(subject), |(c, _)| c.subject_name())).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
        if issuer.is_none() {
            b.append_extension(openssl::x509::extension::BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
        } else {
            let san = SubjectAlternativeName::new().ip("127.0.0.1").build(&b.x509v3_context(None, None)).unwrap();
            b.append_extension(san).unwrap();
        }
        b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256()).unwrap();
        b.build()
    };
    let ca_key = make_key();
    let ca = build("doctor test CA", &ca_key, None);
    let server_key = make_key();
    let server = build("127.0.0.1", &server_key, Some((&ca, &ca_key)));
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.to_pem().unwrap()).unwrap();
    let mut acceptor = openssl::ssl::SslAcceptor::mozilla_intermediate_v5(openssl::ssl::SslMethod::tls()).unwrap();
    acceptor.set_private_key(&server_key).unwrap();
    acceptor.set_certificate(&server).unwrap();
    let acceptor = Arc::new(acceptor.build());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}/gateway.do", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let acceptor = acceptor.clone();
            std::thread::spawn(move || {
                if let Ok(mut tls) = acceptor.accept(stream) {
                    let mut buffer = [0u8; 4096];
                    let _ = tls.read(&mut buffer);
                    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
                    let _ = tls.write_all(
                        format!("HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                            .as_bytes(),
                    );
                }
            });
        }
    });
    (url, ca_path, dir)
}

fn rand_serial() -> u32 {
    let mut bytes = [0u8; 4];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    u32::from_be_bytes(bytes) >> 1
}

#[test]
fn doctor_checks_the_gateway_tls_chain_with_the_system_trust_store() {
    let (url, ca_path, _keep) = https_server();
    let dir = tempfile::tempdir().unwrap();
    let file = toml_file(dir.path(), &url, &[]);
    // The system trust store does not know this CA: the check fails and says how to fix it.
    let (code, report) = doctor_json(&file, &[]);
    assert_eq!(code, Some(1));
    let tls = check(&report, "TLS trust store");
    assert_eq!(tls["status"], "fail", "{report}");
    assert!(tls["fix"].as_str().unwrap().contains("ca-certificates"));
    // With the CA in the trust store OpenSSL reads (SSL_CERT_FILE), it passes.
    let (code, report) = doctor_json(&file, &[("SSL_CERT_FILE", ca_path.to_str().unwrap())]);
    assert_eq!(check(&report, "TLS trust store")["status"], "pass", "{report}");
    assert_eq!(check(&report, "host clock")["status"], "pass", "{report}");
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn key_gen_in_every_format_and_a_csr_openssl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    for (format, marker) in [("pkcs1", "BEGIN RSA PRIVATE KEY"), ("pkcs8", "BEGIN PRIVATE KEY"), ("base64", "MII")] {
        let output = alipay(&["key", "gen", "--format", format], &[]);
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with(marker) || text.contains(marker), "{format}: {text}");
        let key = PrivateKey::from_bytes(text.as_bytes()).unwrap();
        assert_eq!(key.bits(), 2048);
    }
    let key_path = dir.path().join("app.key");
    let output = alipay(&["key", "gen", "--out", key_path.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0));
    let key = PrivateKey::from_path(&key_path).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), key.public_key().to_pem(), "prints the matching public key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        alipay(&["key", "gen", "--out", key_path.to_str().unwrap()], &[]).status.code(),
        Some(2),
        "never overwrites a key"
    );

    let csr = dir.path().join("app.csr");
    let output = alipay(
        &[
            "csr",
            "--key",
            key_path.to_str().unwrap(),
            "--org",
            "Example Co",
            "--cn",
            "Example App",
            "--out",
            csr.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let verify =
        Command::new("openssl").args(["req", "-verify", "-noout", "-subject", "-in"]).arg(&csr).output().unwrap();
    // `openssl req -verify` exits 0 even when the signature fails: its verdict is in the text.
    assert!(verify.status.success() && text(&verify).contains("verify OK"), "{}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("Example App"));
    let public = Command::new("openssl").args(["req", "-pubkey", "-noout", "-in"]).arg(&csr).output().unwrap();
    assert_eq!(String::from_utf8(public.stdout).unwrap(), key.public_key().to_pem());
    assert_eq!(alipay(&["csr", "--key", pki("ca/app_cert.pem").to_str().unwrap()], &[]).status.code(), Some(2));
}

/// Lines of base64 from a PEM file, long enough to be recognisable if echoed.
fn secret_fragments(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 32)
        .map(|l| l[..32].to_string())
        .collect()
}

fn assert_no_secret(text: &str, fragments: &[String]) {
    assert!(!fragments.is_empty());
    for fragment in fragments {
        assert!(!text.contains(fragment.as_str()), "key material echoed: {text}");
    }
}

#[test]
fn key_content_given_as_a_path_is_named_never_echoed() {
    let key_file = pki("keys/app_pkcs8.pem");
    let pem = std::fs::read_to_string(&key_file).unwrap();
    let fragments = secret_fragments(&key_file);
    let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let dir = tempfile::tempdir().unwrap();

    // In alipay.toml: the bare base64 where the path belongs.
    let file = toml_file(dir.path(), "production", &[("app_private_key", bare.clone())]);
    let error = ConfigFile::load(&file).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("app_private_key") && message.contains("looks like key"), "{message}");
    assert!(message.contains(&format!("{} characters", bare.chars().count())), "{message}");
    assert_no_secret(&message, &fragments);
    assert_no_secret(&format!("{error:?}"), &fragments);

    // In the environment: a whole PEM in ALIPAY_APP_PRIVATE_KEY.
    let file = toml_file(dir.path(), "production", &[]);
    let error = ConfigFile::load_with_env(&file, |n| (n == "ALIPAY_APP_PRIVATE_KEY").then(|| pem.clone())).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("ALIPAY_APP_PRIVATE_KEY") && message.contains("looks like key"), "{message}");
    assert_no_secret(&message, &fragments);

    // Through the builder and the key loader directly.
    let error = alipay_sdk::Config::builder("2021000000000001")
        .app_private_key_file(&pem)
        .alipay_public_key_file(pki("ca/alipay_public.pem"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("looks like key"), "{error}");
    assert_no_secret(&format!("{error} {error:?}"), &fragments);
    let error = PrivateKey::from_path(&bare).unwrap_err();
    assert_no_secret(&format!("{error} {error:?}"), &fragments);

    // A mistyped setting holding key content: the TOML message hides the literal.
    std::fs::write(dir.path().join("typo.toml"), format!("app_id = \"1\"\nconnect_timeout_ms = \"{bare}\"\n")).unwrap();
    let error = ConfigFile::load(dir.path().join("typo.toml")).unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
    assert_no_secret(&error.to_string(), &fragments);
}

#[test]
fn doctor_pointed_at_a_key_file_says_so_without_quoting_it() {
    for key in ["keys/app_pkcs1.pem", "keys/app_pkcs8_base64.txt"] {
        let path = pki(key);
        let output = alipay(&["doctor", "--config", path.to_str().unwrap()], &[]);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(1), "{all}");
        assert!(all.contains("private key, not an alipay.toml"), "{key}: {all}");
        let fragments: Vec<String> = if key.ends_with(".txt") {
            let body = std::fs::read_to_string(&path).unwrap();
            body.trim()
                .as_bytes()
                .chunks(32)
                .filter(|c| c.len() == 32)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect()
        } else {
            secret_fragments(&path)
        };
        assert_no_secret(&all, &fragments);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn call_takes_request_options_and_exits_3_on_the_network() {
    let sandbox = Sandbox::builder().notify_retry_delays(vec![]).start().await.unwrap();
    let config = sandbox.dir().join("alipay.toml");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let notify_url = format!("http://{closed}/notify");
    let (path, url) = (config.clone(), notify_url.clone());
    let output = tokio::task::spawn_blocking(move || {
        alipay(
            &[
                "call",
                "alipay.trade.precreate",
                "--biz",
                r#"{"out_trade_no":"opts-1","total_amount":"1.00","subject":"CLI"}"#,
                "--config",
                path.to_str().unwrap(),
                "--notify-url",
                &url,
                "--param",
                "extend_info=x",
            ],
            &[("ALIPAY_APP_AUTH_TOKEN", "token-from-env")],
        )
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    // The notify_url given on the command line is where the sandbox delivers.
    sandbox.buyer_pays("opts-1").unwrap();
    let mut delivered = None;
    for _ in 0..500 {
        delivered = sandbox.deliveries().into_iter().find(|d| d.out_trade_no == "opts-1" && d.attempts > 0);
        if delivered.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(delivered.expect("a delivery attempt").url, notify_url);
    let bad = tokio::task::spawn_blocking(move || {
        alipay(&["call", "alipay.trade.query", "--config", config.to_str().unwrap(), "--param", "no-equals"], &[])
    })
    .await
    .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));

    // Unreachable gateway: exit 3, not 1.
    let dir = tempfile::tempdir().unwrap();
    let file = toml_file(dir.path(), &format!("http://{closed}/gateway.do"), &[]);
    let output = tokio::task::spawn_blocking(move || {
        alipay(&["call", "alipay.trade.query", "--biz", "{}", "--config", file.to_str().unwrap()], &[])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
}

/// A private key pasted where a path belongs (`alipay cert sn "$(cat key.pem)"`) is named,
/// never echoed: by the argument parser's own errors, and by the commands.
#[test]
fn a_pasted_key_is_never_echoed_by_any_error() {
    let pem = std::fs::read_to_string(crate::common::pki("keys/app_pkcs8.pem")).unwrap();
    let bare = std::fs::read_to_string(crate::common::pki("keys/app_pkcs8_base64.txt")).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["cert", "sn", &pem],
        vec!["cert", "inspect", &pem],
        vec!["cert", "root-sn", &bare],
        vec!["key", "check", "--key", &pem, "--cert", &bare],
        vec!["sign", "--key", &pem],
        vec!["notify", "verify", "--alipay-cert", &pem],
        vec!["notify", "verify", "--bogus", &bare],
        vec!["response", "verify", "--method", "m", "--alipay-public-key", &bare],
        vec!["cert", "sn", "--no-such-flag", &pem],
        vec![&pem],
    ];
    // Any 40 characters of the key's base64 would be a leak.
    let body: String = bare.trim().to_string();
    let chunks: Vec<&str> = (0..body.len() / 40).map(|i| &body[i * 40..i * 40 + 40]).collect();
    for args in cases {
        let output = crate::command::alipay(&args, b"{}");
        let shown = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let label = args.iter().map(|a| if a.len() > 40 { "<key>" } else { a }).collect::<Vec<_>>().join(" ");
        assert!(!output.status.success(), "{label}: {shown}");
        assert!(chunks.iter().all(|chunk| !shown.contains(chunk)), "{label} echoed the key: {shown}");
        // (An error about another argument need not mention the key at all.)
        if !args.contains(&"--bogus") {
            assert!(shown.contains("not shown"), "{label}: the key is named: {shown}");
        }
    }
}

/// A root bundle holding an intermediate (as root migrations ship cross-signed roots) is used
/// as Java uses it, and `doctor` warns about it without failing.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_warns_about_a_ca_in_the_bundle_that_is_not_self_signed() {
    let sandbox = sandbox().await;
    let gateway = sandbox.gateway_url();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    let read = |p: &str| std::fs::read(pki(p)).unwrap();
    std::fs::write(&bundle, [read("ca/root_bundle.pem"), read("ca/class2.pem")].concat()).unwrap();
    let file = toml_file(dir.path(), &gateway, &[("alipay_root_cert", bundle.display().to_string())]);
    let (_, report) = tokio::task::spawn_blocking(move || doctor_json(&file, &[])).await.unwrap();
    let checks = report["checks"].as_array().unwrap();
    let warning = checks
        .iter()
        .find(|c| c["check"] == "root bundle" && c["status"] == "warn")
        .unwrap_or_else(|| panic!("no warning: {report}"));
    assert!(warning["detail"].as_str().unwrap().contains("not self-signed"), "{warning}");
    assert!(warning["detail"].as_str().unwrap().contains("Class 2"), "{warning}");
    assert!(
        checks.iter().any(|c| c["check"] == "root bundle" && c["status"] == "pass"),
        "the bundle itself loads: {report}"
    );
}
