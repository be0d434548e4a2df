//! Private and public keys: every format Alipay users have, wrong files named, key/cert matching.

use crate::common::{pki, shared};
use alipay_sdk::cert::CertificateChain;
use alipay_sdk::key::{KeyErrorKind, PrivateKey, PublicKey, SignType};
use alipay_sdk::kind::FileKind;

const CONTENT: &[u8] = b"alipay_root_cert_sn=x&app_cert_sn=y&app_id=2021000000000001";

#[test]
fn every_private_key_format_loads_to_the_same_key() {
    let reference = PublicKey::from_path(pki("keys/app_public.pem")).unwrap();
    for file in ["keys/app_pkcs1.pem", "keys/app_pkcs8.pem", "keys/app_pkcs8_base64.txt", "keys/app_pkcs1_base64.txt"] {
        let key = PrivateKey::from_path(pki(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.bits(), 2048);
        let signature = key.sign(CONTENT, SignType::Rsa2).unwrap();
        assert!(reference.verify(CONTENT, &signature, SignType::Rsa2), "{file}");
        assert!(!reference.verify(b"other content", &signature, SignType::Rsa2), "{file}");
        // RSA (SHA1) and RSA2 (SHA256) are different signatures.
        assert!(!reference.verify(CONTENT, &signature, SignType::Rsa), "{file}");
    }
    // The base64 text with CRLF line breaks, as Windows editors save it.
    let text = std::fs::read_to_string(pki("keys/app_pkcs8_base64.txt")).unwrap();
    let wrapped: String =
        text.as_bytes().chunks(64).map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap())).collect();
    PrivateKey::from_bytes(wrapped.as_bytes()).unwrap();
}

#[test]
fn signatures_match_openssl_for_known_content() {
    // Sign with our code, verify with the openssl command (an independent implementation).
    let key = PrivateKey::from_path(pki("keys/app_pkcs1.pem")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    let signature = dir.path().join("sig");
    std::fs::write(&content, "a=1&b=中文").unwrap();
    let encoded = key.sign("a=1&b=中文".as_bytes(), SignType::Rsa2).unwrap();
    use base64::Engine as _;
    std::fs::write(&signature, base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    let status = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(pki("keys/app_public.pem"))
        .arg("-signature")
        .arg(&signature)
        .arg(&content)
        .output()
        .expect("openssl is installed");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stdout));
}

#[test]
fn key_checks_against_a_certificate() {
    let key = PrivateKey::from_path(pki("keys/app_pkcs8.pem")).unwrap();
    let app_cert = CertificateChain::from_path(pki("ca/app_cert.pem")).unwrap();
    key.check_matches(&app_cert).unwrap();
    assert!(key.matches(app_cert.leaf()));

    let other = PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap();
    let error = other.check_matches(&app_cert).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::Mismatch { .. }));
    let message = error.to_string();
    assert!(
        message.contains("other_pkcs8.pem") && message.contains("app_cert.pem") && message.contains(app_cert.sn()),
        "{message}"
    );

    let real =
        CertificateChain::from_path(shared("alipay/prod_appCertPublicKey_2021001161683774_nodesdk.crt")).unwrap();
    assert!(!key.matches(real.leaf()));
}

#[test]
fn wrong_files_are_named_for_what_they_are() {
    let error = PrivateKey::from_path(pki("ca/app_cert.pem")).unwrap_err();
    assert!(
        matches!(error.kind(), KeyErrorKind::WrongKind { found: FileKind::Certificates { count: 1 }, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("this is a certificate") && error.to_string().contains("app_cert.pem"),
        "{error}"
    );

    let error = PrivateKey::from_path(pki("keys/app_public.pem")).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::WrongKind { found: FileKind::PublicKey, .. }), "{error:?}");
    assert!(error.to_string().contains("app public key"), "{error}");

    let error = PrivateKey::from_path(pki("keys/app_encrypted.pem")).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::Encrypted { .. }), "{error:?}");

    let error = PublicKey::from_path(pki("ca/alipay_cert.pem")).unwrap_err();
    assert!(
        matches!(error.kind(), KeyErrorKind::WrongKind { found: FileKind::Certificates { count: 2 }, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Alipay certificate"), "{error}");

    let error = PublicKey::from_path(pki("keys/app_pkcs8.pem")).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::WrongKind { found: FileKind::Pkcs8PrivateKey, .. }), "{error:?}");

    let error = PrivateKey::from_bytes_named(b"", "app_private_key.txt").unwrap_err();
    assert!(
        matches!(error.kind(), KeyErrorKind::Empty { .. }) && error.to_string().starts_with("app_private_key.txt:")
    );

    let error = PrivateKey::from_bytes(b"this is not base64 at all!").unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::Invalid { .. }), "{error:?}");

    let text = std::fs::read_to_string(pki("keys/app_pkcs8.pem")).unwrap();
    let error = PrivateKey::from_bytes(&text.as_bytes()[..text.len() / 2]).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::Invalid { .. }) && error.to_string().contains("truncated"), "{error}");

    let error = PrivateKey::from_path(pki("missing.pem")).unwrap_err();
    assert!(matches!(error.kind(), KeyErrorKind::Read { .. }));
}

#[test]
fn alipay_public_key_from_the_console_loads_in_every_form() {
    let pem = PublicKey::from_path(shared("nodesdk-real/alipay-public-key.pem")).unwrap();
    assert_eq!(pem.bits(), 2048);
    let bare: String = std::fs::read_to_string(shared("nodesdk-real/alipay-public-key.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let from_bare = PublicKey::from_bytes(bare.as_bytes()).unwrap();
    assert_eq!(from_bare.to_der(), pem.to_der());
}

#[test]
fn secrets_never_show_in_debug() {
    let key = PrivateKey::from_path(pki("keys/app_pkcs1.pem")).unwrap();
    let debug = format!("{key:?}");
    let body: String = std::fs::read_to_string(pki("keys/app_pkcs1_base64.txt")).unwrap();
    assert!(debug.contains("2048") && !debug.contains(&body[..40]) && !debug.contains("MII"), "{debug}");
    assert!(debug.len() < 200);
}

#[test]
fn sign_type_comes_from_a_closed_set() {
    assert_eq!("RSA2".parse::<SignType>().unwrap(), SignType::Rsa2);
    assert_eq!("RSA".parse::<SignType>().unwrap(), SignType::Rsa);
    assert!(matches!("rsa256".parse::<SignType>(), Err(e) if matches!(e.kind(), KeyErrorKind::UnknownSignType { .. })));
}

#[test]
fn a_damaged_key_whose_parts_disagree_is_refused_at_load() {
    // Found by fuzzing: the test app key with a few base64 characters of its modulus changed.
    // It parses, and OpenSSL signs with it (by CRT from p and q), but n is not p·q: nothing it
    // signs verifies, and such signatures can reveal the factors.
    let path = crate::common::root().join("fuzz/regressions/key/rsa_n_not_p_times_q.pem");
    let error = PrivateKey::from_path(&path).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error.kind(), KeyErrorKind::Invalid { .. }), "{message}");
    assert!(message.contains("rsa_n_not_p_times_q.pem") && message.contains("do not agree"), "{message}");
    assert!(!message.contains("MIIE"), "no key material: {message}");
}
