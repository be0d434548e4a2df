//! Certificates and SNs: known answers from real Alipay certificates and from the JDK oracle.

use crate::common::{oracle, oracle_for, pki, shared};
use alipay_sdk::cert::{CertErrorKind, CertRole, Certificate, CertificateChain, RootBundle};
use alipay_sdk::key::KeyAlgorithm;
use alipay_sdk::kind::FileKind;
use base64::Engine as _;

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(shared("alipay/expected.json")).unwrap()).unwrap()
}

#[test]
fn every_real_alipay_certificate_gives_its_known_sn() {
    let expected = expected();
    let answers = expected["cert_sn"].as_object().unwrap();
    assert!(answers.len() >= 11);
    for (file, sn) in answers {
        let chain = CertificateChain::from_path(shared(&format!("alipay/{file}"))).unwrap();
        assert_eq!(chain.sn(), sn.as_str().unwrap(), "{file}");
    }
}

#[test]
fn every_real_root_bundle_gives_its_known_root_sn() {
    let expected = expected();
    let answers = expected["root_cert_sn"].as_object().unwrap();
    assert!(answers.len() >= 4);
    for (file, sn) in answers {
        let bundle = RootBundle::from_path(shared(&format!("alipay/{file}"))).unwrap();
        assert_eq!(bundle.sn(), sn.as_str().unwrap(), "{file}");
    }
}

#[test]
fn production_bundle_counts_rsa_roots_for_rsa_apps_and_the_sm2_root_for_sm2_apps() {
    let expected = expected();
    let bundle = RootBundle::from_path(shared("alipay/prod_alipayRootCert.crt")).unwrap();
    let mut all: Vec<(String, String)> = bundle
        .rsa_roots()
        .iter()
        .chain(bundle.sm2_roots())
        .map(|c| (c.signature_algorithm_oid().to_string(), c.sn().to_string()))
        .collect();
    for skipped in bundle.skipped() {
        let sn = skipped.certificate.as_ref().map(|c| c.sn().to_string()).unwrap_or_default();
        all.push((skipped.signature_algorithm_oid.clone(), sn));
    }
    for entry in expected["per_cert_sn_in_prod_root_bundle"].as_array().unwrap() {
        let pair = (entry["sig_alg_oid"].as_str().unwrap().to_string(), entry["sn"].as_str().unwrap().to_string());
        assert!(all.contains(&pair), "missing {pair:?} in {all:?}");
        let counted = bundle.rsa_roots().iter().any(|c| c.sn() == pair.1);
        assert_eq!(counted, entry["in_root_sn"].as_bool().unwrap(), "{pair:?}");
    }
    // The ECDSA root counts for nobody; the SM2 root (first in the file) for SM2 apps only.
    assert_eq!(bundle.skipped().len(), 1);
    assert_eq!(bundle.skipped()[0].index, 3);
    assert_eq!(bundle.skipped()[0].signature_algorithm_oid, "1.2.840.10045.4.3.3");
    assert_eq!(bundle.sm2_roots().len(), 1);
    assert_eq!(bundle.sm2_roots()[0].signature_algorithm_oid(), "1.2.156.10197.1.501");
    // PROTOCOL.md §11: the production bundle's SM2 root SN.
    assert_eq!(bundle.sn_for(KeyAlgorithm::Sm2), Some("9e64d67d36446de33aae13a33a89e5a7"));
    assert_eq!(
        bundle.sn_for(KeyAlgorithm::Rsa),
        Some(expected["root_cert_sn"]["prod_alipayRootCert.crt"].as_str().unwrap())
    );
}

#[test]
fn generated_certificates_match_the_jdk_for_every_rfc2253_rule() {
    let answers = oracle();
    let dn_files =
        ["escapes.pem", "multi_rdn.pem", "email_oid.pem", "cjk_utf8.pem", "bmp.pem", "cn_first.pem", "md5_00.pem"];
    for file in dn_files {
        let answer = answers.iter().find(|v| v["file"] == file).unwrap_or_else(|| panic!("oracle lacks {file}"));
        let chain = CertificateChain::from_path(pki(&format!("dn/{file}"))).unwrap();
        let cert = chain.leaf();
        assert_eq!(cert.issuer(), answer["issuer"].as_str().unwrap(), "{file}: issuer");
        assert_eq!(cert.serial_decimal(), answer["serial"].as_str().unwrap(), "{file}: serial");
        assert_eq!(cert.sn(), answer["sn"].as_str().unwrap(), "{file}: sn");
    }
}

#[test]
fn oracle_covers_the_rules_it_is_meant_to_cover() {
    // Guards the fixtures themselves: if gen.sh stopped producing a case, this fails.
    let issuer = |file: &str| oracle_for(file)["issuer"].as_str().unwrap().to_string();
    let serial = |file: &str| oracle_for(file)["serial"].as_str().unwrap().to_string();
    let escapes = issuer("escapes.pem");
    for needle in ["\\,", "\\+", "\\=", "\\#hash", "\\\"", "\\\\", "\\<", "\\>", "\\;", "\\ leading", "space\\ "] {
        assert!(escapes.contains(needle), "escapes.pem issuer lacks {needle}: {escapes}");
    }
    assert!(issuer("multi_rdn.pem").contains('+'));
    assert!(issuer("email_oid.pem").contains("1.2.840.113549.1.9.1=#16"));
    assert!(issuer("email_oid.pem").contains("1.3.6.1.4.1.55555.1=#0c"));
    assert!(issuer("cjk_utf8.pem").contains("支付宝"));
    assert!(issuer("cn_first.pem").starts_with("C=CN,"));
    assert_eq!(issuer("cn_first.pem").matches("OU=").count(), 2);
    assert!(oracle_for("md5_00.pem")["sn"].as_str().unwrap().starts_with("00"));
    assert_eq!(serial("escapes.pem"), "1");
    assert_eq!(serial("multi_rdn.pem"), "9223372036854775808");
    assert!(serial("bmp.pem").starts_with('-'));
    assert_eq!(serial("email_oid.pem").len(), 39); // 128-bit
    assert_eq!(serial("cjk_utf8.pem").len(), 48); // 160-bit
}

#[test]
fn project_pki_matches_the_jdk() {
    for (file, path) in [
        ("app_cert.pem", "ca/app_cert.pem"),
        ("alipay_cert.pem", "ca/alipay_cert.pem"),
        ("root_rsa.pem", "ca/root_rsa.pem"),
    ] {
        let chain = CertificateChain::from_path(pki(path)).unwrap();
        assert_eq!(chain.sn(), oracle_for(file)["sn"].as_str().unwrap(), "{file}");
    }
    let bundle = RootBundle::from_path(pki("ca/root_bundle.pem")).unwrap();
    let expected = format!(
        "{}_{}",
        oracle_for("root_rsa.pem")["sn"].as_str().unwrap(),
        oracle_for("root_rsa_sha1.pem")["sn"].as_str().unwrap()
    );
    assert_eq!(bundle.sn(), expected);
    assert!(!bundle.sn().contains(oracle_for("root_ec.pem")["sn"].as_str().unwrap()));
}

#[test]
fn chain_file_is_identified_by_its_first_certificate() {
    let chain = CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk.crt")).unwrap();
    assert_eq!(chain.certificates().len(), 2);
    assert_eq!(chain.sn(), chain.certificates()[0].sn());
    assert_ne!(chain.sn(), chain.certificates()[1].sn());
    assert!(chain.certificates()[0].is_signed_by(&chain.certificates()[1]));
    let roots = RootBundle::from_path(shared("alipay/prod_alipayRootCert.crt")).unwrap();
    assert!(roots.rsa_roots().iter().any(|root| chain.certificates()[1].is_signed_by(root)));
    assert!(!chain.certificates()[1].is_signed_by(&chain.certificates()[0]));
}

#[test]
fn loads_crlf_long_lines_text_around_no_blank_lines_and_der() {
    let original = std::fs::read(shared("alipay/prod_alipayRootCert.crt")).unwrap();
    let sn = RootBundle::from_bytes(&original).unwrap().sn().to_string();
    let text = String::from_utf8(original.clone()).unwrap();

    let crlf = text.replace('\n', "\r\n");
    assert_eq!(RootBundle::from_bytes(crlf.as_bytes()).unwrap().sn(), sn);

    let packed = text.replace("-----\n\n-----", "-----\n-----").replace("\n\n", "\n");
    assert_eq!(RootBundle::from_bytes(packed.as_bytes()).unwrap().sn(), sn);

    let chatty = format!(
        "Alipay root certificates\n{}\ntrailing notes",
        text.replace("-----END CERTIFICATE-----\n", "-----END CERTIFICATE-----\nsome text between blocks\n")
    );
    assert_eq!(RootBundle::from_bytes(chatty.as_bytes()).unwrap().sn(), sn);

    // One very long base64 line per certificate (what the C# SDK's fixture holds).
    let long = CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk_csharp_longline.crt"))
        .unwrap();
    assert_eq!(long.certificates().len(), 2);

    // DER: a single certificate, and its bytes kept exactly.
    let pem_chain = CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_nodesdk.crt")).unwrap();
    let der = pem_chain.leaf().der().to_vec();
    let from_der = CertificateChain::from_bytes(&der).unwrap();
    assert_eq!(from_der.sn(), pem_chain.sn());
    assert_eq!(from_der.leaf().der(), &der[..]);
    assert_eq!(Certificate::from_der(&der).unwrap().sn(), pem_chain.sn());

    // Concatenated DER certificates and a bare base64 body.
    let two = CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_easysdk.crt")).unwrap();
    let concatenated: Vec<u8> = two.certificates().iter().flat_map(|c| c.der().to_vec()).collect();
    assert_eq!(CertificateChain::from_bytes(&concatenated).unwrap().certificates().len(), 2);
    let bare = base64::engine::general_purpose::STANDARD.encode(&der);
    assert_eq!(CertificateChain::from_bytes(bare.as_bytes()).unwrap().sn(), pem_chain.sn());
}

#[test]
fn facts_about_a_certificate() {
    let chain = CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_nodesdk.crt")).unwrap();
    let cert = chain.leaf();
    let at = cert.not_before() + chrono::Duration::days(10);
    let info = cert.info(at);
    assert_eq!(info.sn, "7513daaaa48aa3ba2e4018d84402479c");
    assert_eq!(info.key_type, "RSA");
    assert_eq!(info.key_bits, Some(2048));
    assert_eq!(info.signature_algorithm, "sha256WithRSAEncryption");
    assert!(info.subject.starts_with("CN=支付宝(中国)网络技术有限公司-2088831204659217"));
    assert_eq!(
        info.issuer,
        "CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN"
    );
    assert_eq!(info.days_left, (cert.not_after() - at).num_days());
    assert!(matches!(info.role, CertRole::Alipay { ref partner_id } if partner_id == "2088831204659217"));
    assert!(cert.is_valid_at(at));
    assert!(!cert.is_valid_at(cert.not_after() + chrono::Duration::seconds(1)));
    // Hex and decimal serials agree.
    let hex = info.serial_hex.clone();
    let from_hex = u128::from_str_radix(&hex, 16).unwrap();
    assert_eq!(from_hex.to_string(), info.serial_decimal);

    let app = CertificateChain::from_path(shared("alipay/prod_appCertPublicKey_2021001161683774_nodesdk.crt")).unwrap();
    assert!(matches!(app.leaf().role(), CertRole::App { ref app_id, .. } if app_id == "2021001161683774"));
    let roots = RootBundle::from_path(shared("alipay/prod_alipayRootCert.crt")).unwrap();
    let sm2 = &roots.sm2_roots()[0];
    assert_eq!(sm2.info(at).key_type, "SM2");
    assert_eq!(roots.rsa_roots()[0].role(), CertRole::Authority);
}

#[test]
fn bmp_subject_is_readable_while_issuer_follows_the_jdk() {
    let cert = CertificateChain::from_path(pki("dn/bmp.pem")).unwrap();
    assert_eq!(cert.leaf().subject(), "CN=证书 BMP,O=支付宝测试");
    assert_ne!(cert.leaf().issuer(), cert.leaf().subject());
}

#[test]
fn root_bundle_without_rsa_root_is_an_error_at_load_time() {
    let error = RootBundle::from_path(pki("ca/root_bundle_no_rsa.pem")).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::NoRsaRoot { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("root_bundle_no_rsa.pem") && message.contains("1.2.840.10045.4.3"), "{message}");
}

#[test]
fn wrong_roles_are_named() {
    let error = CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap().require_app_certificate().unwrap_err();
    let message = error.to_string();
    assert!(matches!(error.kind(), CertErrorKind::WrongRole { .. }));
    assert!(message.contains("expected the app certificate") && message.contains("an Alipay certificate"), "{message}");

    let error = CertificateChain::from_path(pki("ca/app_cert.pem")).unwrap().require_alipay_certificate().unwrap_err();
    assert!(error.to_string().contains("an app certificate (app id 2021000000000001)"), "{error}");

    let error = CertificateChain::from_path(pki("ca/root_rsa.pem")).unwrap().require_alipay_certificate().unwrap_err();
    assert!(error.to_string().contains("CA certificate"), "{error}");

    // Real files in the right roles pass.
    CertificateChain::from_path(shared("alipay/prod_alipayCertPublicKey_RSA2_nodesdk.crt"))
        .unwrap()
        .require_alipay_certificate()
        .unwrap();
    CertificateChain::from_path(shared("alipay/prod_appCertPublicKey_2021001161683774_nodesdk.crt"))
        .unwrap()
        .require_app_certificate()
        .unwrap();
}

#[test]
fn malformed_input_gives_typed_errors() {
    let cert_text = std::fs::read_to_string(pki("ca/app_cert.pem")).unwrap();

    let error = CertificateChain::from_bytes_named(b"  \n", "empty.crt").unwrap_err();
    assert!(
        matches!(error.kind(), CertErrorKind::Empty { .. }) && error.to_string().starts_with("empty.crt:"),
        "{error}"
    );

    let truncated = &cert_text[..cert_text.len() / 2];
    let error = CertificateChain::from_bytes_named(truncated.as_bytes(), "half.crt").unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Truncated { index: 1, .. }), "{error:?}");

    let bad_base64 = cert_text.replacen("MII", "M!I", 1);
    let error = CertificateChain::from_bytes(bad_base64.as_bytes()).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Base64 { index: 1, .. }), "{error:?}");

    // Valid base64 of damaged DER.
    let mut der = CertificateChain::from_bytes(cert_text.as_bytes()).unwrap().leaf().der().to_vec();
    der.truncate(der.len() - 40);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&der);
    let damaged = format!("-----BEGIN CERTIFICATE-----\n{encoded}\n-----END CERTIFICATE-----\n");
    let error = CertificateChain::from_bytes(damaged.as_bytes()).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Malformed { index: 1, .. }), "{error:?}");

    let error = CertificateChain::from_bytes(&[0x30, 0x03, 0x02, 0x01, 0x01, 0xff, 0x00]).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Malformed { .. } | CertErrorKind::NoCertificate { .. }), "{error:?}");

    let error = CertificateChain::from_bytes(b"\x00\x01garbage\xff").unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Malformed { .. } | CertErrorKind::NoCertificate { .. }), "{error:?}");

    let error = CertificateChain::from_path(pki("keys/app_pkcs8.pem")).unwrap_err();
    assert!(
        matches!(error.kind(), CertErrorKind::NotACertificate { found: FileKind::Pkcs8PrivateKey, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("a private key was given where a certificate belongs"), "{error}");

    let error = CertificateChain::from_path(pki("keys/app_public.pem")).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::NotACertificate { found: FileKind::PublicKey, .. }), "{error:?}");

    let error = CertificateChain::from_path(pki("keys/app_pkcs1_base64.txt")).unwrap_err();
    assert!(
        matches!(error.kind(), CertErrorKind::NotACertificate { found: FileKind::Pkcs1PrivateKey, .. }),
        "{error:?}"
    );

    let error = CertificateChain::from_path(pki("does-not-exist.crt")).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::Read { .. }) && error.to_string().contains("does-not-exist.crt"));

    let error = RootBundle::from_path(pki("keys/app_pkcs8.pem")).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::NotACertificate { .. }), "{error:?}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = CertificateChain::from_bytes(&bytes);
            let _ = RootBundle::from_bytes(&bytes);
            let _ = alipay_sdk::key::PrivateKey::from_bytes(&bytes);
            let _ = alipay_sdk::key::PublicKey::from_bytes(&bytes);
        }

        #[test]
        fn on_mutated_certificates(position in 0usize..1300, value in any::<u8>()) {
            let chain = CertificateChain::from_path(pki("ca/app_cert.pem")).unwrap();
            let mut der = chain.leaf().der().to_vec();
            let index = position % der.len();
            der[index] = value;
            let _ = CertificateChain::from_bytes(&der);
            der.truncate(index);
            let _ = CertificateChain::from_bytes(&der);
        }
    }
}

/// Root bundles as root migrations ship them — a root with an intermediate, a root beside a
/// cross-signed root — count every RSA-signed CA certificate in file order, as Alipay's Java,
/// Node and Python SDKs do; the expected SNs come from the JDK (`testdata/oracle/SnOracle.java`).
/// A file of intermediates only, or holding an end-entity certificate, is refused, saying what
/// it is.
#[test]
fn bundles_with_intermediate_or_cross_signed_cas_count_like_java() {
    use openssl::pkey::PKey;
    use openssl::x509::X509;
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| std::fs::read(pki(&format!("ca/{name}"))).unwrap();
    // The G3 root's key, cross-signed by the R1 root (same subject and key as G3, issuer R1).
    let root = X509::from_pem(&read("root_rsa.pem")).unwrap();
    let root_key = PKey::private_key_from_pem(&read("root_rsa.key")).unwrap();
    let g3 = X509::from_pem(&read("root_rsa_sha1.pem")).unwrap();
    let mut cross = X509::builder().unwrap();
    cross.set_version(2).unwrap();
    cross.set_serial_number(&openssl::bn::BigNum::from_u32(0xC0055).unwrap().to_asn1_integer().unwrap()).unwrap();
    cross.set_subject_name(g3.subject_name()).unwrap();
    cross.set_issuer_name(root.subject_name()).unwrap();
    cross.set_pubkey(&g3.public_key().unwrap()).unwrap();
    cross.set_not_before(root.not_before()).unwrap();
    cross.set_not_after(root.not_after()).unwrap();
    let ca = openssl::x509::extension::BasicConstraints::new().critical().ca().build().unwrap();
    cross.append_extension(ca).unwrap();
    cross.sign(&root_key, openssl::hash::MessageDigest::sha256()).unwrap();
    let cross_path = dir.path().join("cross.pem");
    std::fs::write(&cross_path, cross.build().to_pem().unwrap()).unwrap();

    // The JDK's SN of each certificate.
    let files = [pki("ca/root_rsa.pem"), pki("ca/class1.pem"), cross_path.clone(), pki("ca/root_ec.pem")];
    let output = std::process::Command::new("java")
        .arg(crate::common::root().join("testdata/oracle/SnOracle.java"))
        .args(&files)
        .output()
        .expect("java runs (a JDK is installed by .ci/test)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let sns: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["sn"].as_str().unwrap().to_string())
        .collect();
    let bundle = |parts: &[usize]| {
        let path = dir.path().join(format!("bundle-{parts:?}.pem"));
        let text: Vec<u8> = parts.iter().flat_map(|&i| std::fs::read(&files[i]).unwrap()).collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    // Root + intermediate; EC root + root + cross-signed root (the EC one counts for nobody).
    let with_intermediate = RootBundle::from_path(bundle(&[0, 1])).unwrap();
    assert_eq!(with_intermediate.sn(), format!("{}_{}", sns[0], sns[1]));
    assert_eq!(with_intermediate.not_self_signed().len(), 1);
    let migrating = RootBundle::from_path(bundle(&[3, 0, 2])).unwrap();
    assert_eq!(migrating.sn_for(KeyAlgorithm::Rsa), Some(format!("{}_{}", sns[0], sns[2]).as_str()));
    assert_eq!(
        migrating.not_self_signed()[0].subject(),
        CertificateChain::from_path(&cross_path).unwrap().leaf().subject()
    );
    // Chains still anchor: the Alipay certificate (issued by Class 2, under R1) checks out.
    let alipay = CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap();
    assert!(alipay.certificates()[1].is_signed_by(&with_intermediate.rsa_roots()[0]));

    // Intermediates only: not a root bundle, and the message says so.
    let error = RootBundle::from_path(bundle(&[1])).unwrap_err();
    assert!(matches!(error.kind(), CertErrorKind::NotARootBundle { .. }), "{error}");
    assert!(error.to_string().contains("without a self-signed root"), "{error}");
    // The Alipay certificate file (leaf + intermediate) given as the bundle is named as such.
    let error = RootBundle::from_path(pki("ca/alipay_cert.pem")).unwrap_err();
    assert!(error.to_string().contains("leaf + intermediate"), "{error}");
    // Root + a real end-entity certificate: refused, naming the app certificate.
    let with_leaf = dir.path().join("root-and-app.pem");
    std::fs::write(&with_leaf, [read("root_rsa.pem"), read("app_cert.pem")].concat()).unwrap();
    let error = RootBundle::from_path(&with_leaf).unwrap_err();
    assert!(error.to_string().contains("the app certificate"), "{error}");
}

/// The same rule for SM2 apps: an SM2-signed intermediate beside the SM2 root counts in the SM2
/// root SN in file order (the JDK's SNs, BouncyCastle reading the SM2 certificates), warned,
/// while the RSA roots of the bundle keep their own SN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sm2_bundle_with_an_intermediate_counts_like_java() {
    let sandbox = alipay_sandbox::Sandbox::builder().sign_type(alipay_sdk::key::SignType::Sm2).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle_text = std::fs::read_to_string(sandbox.dir().join("alipayRootCert.crt")).unwrap();
    // The sandbox's bundle starts with its SM2 root, as Alipay's does.
    let end = "-----END CERTIFICATE-----";
    let sm2_root = &bundle_text[..bundle_text.find(end).unwrap() + end.len()];
    let root_path = dir.path().join("sm2_root.pem");
    std::fs::write(&root_path, format!("{sm2_root}\n")).unwrap();
    let intermediate_path = sandbox.dir().join("sandbox-private/class2.crt");
    // BouncyCastle reads the SM2 keys the JDK's own provider cannot (.ci/test installs it).
    let output = std::process::Command::new("java")
        .args(["-cp", "/usr/share/java/bcprov.jar", "-Dprovider=BC"])
        .arg(crate::common::root().join("testdata/oracle/SnOracle.java"))
        .args([&root_path, &intermediate_path])
        .output()
        .expect("java runs (a JDK is installed by .ci/test)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let sns: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["sn"].as_str().unwrap().to_string())
        .collect();
    let with_intermediate = dir.path().join("bundle.pem");
    std::fs::write(
        &with_intermediate,
        format!("{bundle_text}{}", std::fs::read_to_string(&intermediate_path).unwrap()),
    )
    .unwrap();
    let bundle = RootBundle::from_path(&with_intermediate).unwrap();
    assert_eq!(bundle.sn_for(KeyAlgorithm::Sm2), Some(format!("{}_{}", sns[0], sns[1]).as_str()));
    assert_eq!(bundle.not_self_signed().len(), 1);
    let plain = RootBundle::from_path(sandbox.dir().join("alipayRootCert.crt")).unwrap();
    assert_eq!(bundle.sn_for(KeyAlgorithm::Rsa), plain.sn_for(KeyAlgorithm::Rsa), "the RSA SN is unchanged");
}
