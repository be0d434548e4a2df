//! A configuration that cannot work fails at build, naming the setting at fault.

use crate::common::pki;
use alipay_sdk::{Config, ConfigErrorKind};

#[test]
fn each_mistake_names_its_setting() {
    let base = || Config::builder("2021000000000001").app_private_key_file(pki("keys/app_pkcs8.pem"));

    let error = Config::builder(" ").build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::Missing { field: "app_id", .. }), "{error}");

    let error = Config::builder("1").alipay_public_key_file(pki("ca/alipay_public.pem")).build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::Missing { field: "app_private_key", .. }), "{error}");

    let error = base().build().unwrap_err();
    assert!(error.to_string().contains("alipay_public_key"), "{error}");

    let error = base().app_cert_file(pki("ca/app_cert.pem")).build().unwrap_err();
    let ConfigErrorKind::IncompleteCertificateMode { missing } = error.kind() else { panic!("{error}") };
    assert_eq!(missing, &vec!["alipay_cert", "alipay_root_cert"]);

    let full = || {
        base()
            .app_cert_file(pki("ca/app_cert.pem"))
            .alipay_cert_file(pki("ca/alipay_cert.pem"))
            .alipay_root_cert_file(pki("ca/root_bundle.pem"))
    };
    full().build().unwrap();

    // Mixing certificate mode and public-key mode no longer compiles (a `compile_fail` doctest
    // in `alipay_sdk::config` keeps it so); a mode chosen at run time is one or the other.

    let error = full().sign_type(alipay_sdk::key::SignType::Rsa).build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::CertificateModeNeedsRsa2), "{error}");

    // The app and Alipay certificates swapped.
    let error = base()
        .app_cert_file(pki("ca/alipay_cert.pem"))
        .alipay_cert_file(pki("ca/app_cert.pem"))
        .alipay_root_cert_file(pki("ca/root_bundle.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::Cert { field: "app_cert", .. }), "{error}");
    assert!(error.to_string().contains("an Alipay certificate"), "{error}");

    let error = Config::builder("1")
        .app_private_key_file(pki("keys/other_pkcs8.pem"))
        .app_cert_file(pki("ca/app_cert.pem"))
        .alipay_cert_file(pki("ca/alipay_cert.pem"))
        .alipay_root_cert_file(pki("ca/root_bundle.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::KeyMismatch(_)), "{error}");

    let error = full().alipay_root_cert_file(pki("ca/root_bundle_no_rsa.pem")).build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::Cert { field: "alipay_root_cert", .. }), "{error}");

    let error = Config::builder("1")
        .app_private_key_file(pki("ca/app_cert.pem"))
        .alipay_public_key_file(pki("ca/alipay_public.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::Key { field: "app_private_key", .. }), "{error}");
    assert!(error.to_string().contains("this is a certificate"), "{error}");

    let error = full().gateway("ftp://example.com").build().unwrap_err();
    assert!(matches!(error.kind(), ConfigErrorKind::InvalidGateway { .. }), "{error}");
}

#[test]
fn sns_are_computed_once_at_build() {
    let config = Config::builder("2021000000000001")
        .app_private_key_file(pki("keys/app_pkcs8.pem"))
        .app_cert_file(pki("ca/app_cert.pem"))
        .alipay_cert_file(pki("ca/alipay_cert.pem"))
        .alipay_root_cert_file(pki("ca/root_bundle.pem"))
        .build()
        .unwrap();
    assert_eq!(
        config.app_cert_sn().as_deref(),
        Some(crate::common::oracle_for("app_cert.pem")["sn"].as_str().unwrap())
    );
    assert!(config.alipay_root_cert_sn().unwrap().contains('_'));
    assert!(!format!("{config:?}").contains("MII"), "no key material in Debug");
}
