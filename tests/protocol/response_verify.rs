//! Response verification rules (PROTOCOL.md §4), each with a case that must fail.

use crate::common::wire::*;
use crate::common::{pki, shared};
use alipay_sdk::charset::Charset;
use alipay_sdk::key::{PrivateKey, PublicKey, SignType};
use alipay_sdk::model::trade::{TradeQueryResponse, TradeStatus};
use alipay_sdk::response::{ResponseError, ResponseErrorKind};
use alipay_sdk::{Config, VerifiedResponse};

const METHOD: &str = "alipay.trade.query";
const NODE: &str = r#"{"code":"10000","msg":"Success","trade_no":"2026","out_trade_no":"o-1","trade_status":"WAIT_BUYER_PAY","total_amount":"1.00","notify":"https:\/\/example.com\/n"}"#;

fn config() -> Config {
    cert_config("http://127.0.0.1:9/gateway.do").build().unwrap()
}

fn verify(body: &str) -> Result<VerifiedResponse, ResponseError> {
    config().verify_response(METHOD, body.as_bytes())
}

fn sign(content: &str) -> String {
    alipay_key().sign(content.as_bytes(), SignType::Rsa2).unwrap()
}

#[test]
fn a_valid_response_verifies_and_parses_from_the_verified_bytes() {
    let body = signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &alipay_key());
    let response = verify(&body).unwrap();
    assert_eq!(response.node(), NODE, "the exact node text, not a re-serialization");
    let trade: TradeQueryResponse = response.parse().unwrap();
    assert_eq!(trade.trade_status, TradeStatus::WaitBuyerPay);
    // Order of members and white space around them do not matter; the node's bytes do.
    let sn = alipay_cert_sn();
    let reordered = format!(
        "{{ \"sign\" : \"{}\" ,\n \"alipay_cert_sn\":\"{sn}\", \"alipay_trade_query_response\" :{NODE} }}",
        sign(NODE)
    );
    assert_eq!(verify(&reordered).unwrap().node(), NODE);
}

#[test]
fn a_tampered_node_fails_with_the_sign_content() {
    let body = signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &alipay_key()).replace("1.00", "9.00");
    let error = verify(&body).unwrap_err();
    let ResponseErrorKind::InvalidSignature { sign_content, sign_content_len, alipay_cert_sn: sn, .. } = error.kind()
    else {
        panic!("{error:?}")
    };
    assert_eq!(sign_content, &NODE.replace("1.00", "9.00"));
    assert_eq!(*sign_content_len, NODE.len());
    assert_eq!(sn.as_deref(), Some(alipay_cert_sn().as_str()));
    assert!(error.to_string().contains(&format!("{} bytes", NODE.len())));
}

#[test]
fn a_response_signed_by_another_key_fails() {
    let other = PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap();
    let body = signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &other);
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. })));
}

#[test]
fn duplicated_node_sign_or_cert_sn_is_rejected() {
    let sn = alipay_cert_sn();
    let forged = NODE.replace("WAIT_BUYER_PAY", "TRADE_SUCCESS");
    let good = sign(NODE);
    let cases = [
        // A second node after the signed one (parsers that keep the last value would use it).
        format!(
            r#"{{"alipay_trade_query_response":{NODE},"alipay_trade_query_response":{forged},"alipay_cert_sn":"{sn}","sign":"{good}"}}"#
        ),
        // The same with an escaped key.
        format!(
            r#"{{"alipay_trade_query_response":{NODE},"alipay_trade_query\u005fresponse":{forged},"alipay_cert_sn":"{sn}","sign":"{good}"}}"#
        ),
        format!(r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{sn}","sign":"{good}","sign":"x"}}"#),
        format!(r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{sn}","\u0073ign":"x","sign":"{good}"}}"#),
        format!(
            r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{sn}","alipay_cert_sn":"other","sign":"{good}"}}"#
        ),
        format!(
            r#"{{"error_response":{{"code":"40004"}},"error_response":{{}},"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{sn}","sign":"{good}"}}"#
        ),
    ];
    for body in cases {
        let error = verify(&body).unwrap_err();
        assert!(matches!(error.kind(), ResponseErrorKind::Duplicate { .. }), "{body}\n{error:?}");
    }
}

#[test]
fn the_node_is_located_by_a_real_json_scan() {
    // A string value containing what looks like the node must not be mistaken for it.
    let sn = alipay_cert_sn();
    let decoy = r#"{"code":"10000","memo":"\"alipay_trade_query_response\":{\"code\":\"10000\"}"}"#;
    let body = format!(r#"{{"alipay_trade_query_response":{decoy},"alipay_cert_sn":"{sn}","sign":"{}"}}"#, sign(decoy));
    assert_eq!(verify(&body).unwrap().node(), decoy);
    // The node nested inside another member does not count.
    let body = format!(
        r#"{{"wrapper":{{"alipay_trade_query_response":{NODE}}},"alipay_cert_sn":"{sn}","sign":"{}"}}"#,
        sign(NODE)
    );
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::MissingNode { .. })));
}

#[test]
fn success_without_sign_or_cert_sn_is_rejected() {
    let body = format!(r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{}"}}"#, alipay_cert_sn());
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::MissingSign { .. })));
    let body = format!(r#"{{"alipay_trade_query_response":{NODE},"sign":"{}"}}"#, sign(NODE));
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::MissingCertSn { .. })));
    // Public-key mode has no SN to check.
    let public = public_key_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    assert!(public.verify_response(METHOD, body.as_bytes()).is_ok());
}

#[test]
fn an_unknown_cert_sn_is_named() {
    let body = signed_body(METHOD, NODE, Some("0123456789abcdef0123456789abcdef"), &alipay_key());
    let error = verify(&body).unwrap_err();
    let ResponseErrorKind::UnknownCertSn { alipay_cert_sn: sn, known, .. } = error.kind() else { panic!("{error:?}") };
    assert_eq!(sn, "0123456789abcdef0123456789abcdef");
    assert_eq!(known, &vec![alipay_cert_sn()]);
}

#[test]
fn escaped_slash_retry_like_java() {
    // Alipay signed the node with plain '/', the body escapes them as '\/'.
    let with_slashes = NODE.replace("\\/", "/");
    let body = format!(
        r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{}","sign":"{}"}}"#,
        alipay_cert_sn(),
        sign(&with_slashes)
    );
    assert_eq!(verify(&body).unwrap().node(), NODE);
    // The retry is only about '\/': another difference still fails.
    let body = body.replace("o-1", "o-2");
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. })));
}

#[test]
fn signed_and_unsigned_failures_are_different_errors() {
    let failure = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#;
    let body = signed_body(METHOD, failure, Some(&alipay_cert_sn()), &alipay_key());
    let ResponseErrorKind::Business(business) = verify(&body).unwrap_err().into_kind() else {
        panic!("expected verified")
    };
    assert_eq!(business.failure.code, "40004");
    assert_eq!(business.failure.sub_code.as_deref(), Some("ACQ.TRADE_NOT_EXIST"));
    assert_eq!(business.failure.sub_msg.as_deref(), Some("交易不存在"));
    assert_eq!(business.failure.body, body);

    let unsigned = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-cert-sn","sub_msg":"应用公钥证书序列号不正确"}}"#;
    let error = verify(unsigned).unwrap_err();
    let ResponseErrorKind::Unverified(unverified) = error.kind() else { panic!("{error:?}") };
    assert_eq!(unverified.failure.sub_code.as_deref(), Some("isv.invalid-app-cert-sn"));
    assert!(error.to_string().starts_with("UNVERIFIED"));

    // An error_response with a signature that does not verify is not promoted to verified.
    let body = format!(r#"{{"error_response":{failure},"sign":"{}"}}"#, sign("something else"));
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::Unverified(_))));
    // A signed error_response without SN is verified if one of our certificates checks it.
    let body = format!(r#"{{"error_response":{failure},"sign":"{}"}}"#, sign(failure));
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::Business(_))));
    // A "failure" signed by a forger with a claimed SN is an invalid signature.
    let other = PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap();
    let body = signed_body(METHOD, failure, Some(&alipay_cert_sn()), &other);
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. })));
}

#[test]
fn encrypted_node_is_verified_with_quotes_then_decrypted() {
    let aes = alipay_sdk::aes::AesKey::from_base64("aGVsbG8gd29ybGQgMTIzNA==").unwrap();
    let config = cert_config("http://127.0.0.1:9/gateway.do").aes_key(aes.clone()).build().unwrap();
    let encrypted = format!("\"{}\"", aes.encrypt(NODE.as_bytes()).unwrap());
    let body = signed_body(METHOD, &encrypted, Some(&alipay_cert_sn()), &alipay_key());
    assert_eq!(config.verify_response(METHOD, body.as_bytes()).unwrap().node(), NODE);

    // Signed without the quotes: must fail.
    let body = format!(
        r#"{{"alipay_trade_query_response":{encrypted},"alipay_cert_sn":"{}","sign":"{}"}}"#,
        alipay_cert_sn(),
        sign(encrypted.trim_matches('"'))
    );
    assert!(
        matches!(config.verify_response(METHOD, body.as_bytes()), Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. }))
    );
    // Without an AES key: a clear error after verification.
    let body = signed_body(METHOD, &encrypted, Some(&alipay_cert_sn()), &alipay_key());
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::NoAesKey { .. })));
    // An encrypted failure is a business error once decrypted.
    let failure =
        format!("\"{}\"", aes.encrypt(br#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.X"}"#).unwrap());
    let body = signed_body(METHOD, &failure, Some(&alipay_cert_sn()), &alipay_key());
    assert!(
        matches!(config.verify_response(METHOD, body.as_bytes()), Err(e) if matches!(e.kind(), ResponseErrorKind::Business(_)))
    );
}

#[test]
fn malformed_bodies_are_rejected() {
    let body = signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &alipay_key());
    for bad in [&body[..body.len() / 2], "", "<html>502 Bad Gateway</html>", "[]", &format!("{body}trailing")] {
        assert!(matches!(verify(bad), Err(e) if matches!(e.kind(), ResponseErrorKind::Malformed { .. })), "{bad}");
    }
    let other_method = signed_body("alipay.trade.pay", NODE, Some(&alipay_cert_sn()), &alipay_key());
    assert!(matches!(verify(&other_method), Err(e) if matches!(e.kind(), ResponseErrorKind::MissingNode { .. })));
    assert!(
        matches!(config().verify_response(METHOD, &[0xff, 0xfe]), Err(e) if matches!(e.kind(), ResponseErrorKind::Charset(_)))
    );
}

#[test]
fn gbk_response_is_verified_over_gbk_bytes() {
    let config = cert_config("http://127.0.0.1:9/gateway.do").charset(Charset::Gbk).build().unwrap();
    let node = r#"{"code":"10000","msg":"处理成功","out_trade_no":"g","qr_code":"q"}"#;
    let (gbk_node, _, _) = encoding_rs::GBK.encode(node);
    use base64::Engine as _;
    let sign =
        base64::engine::general_purpose::STANDARD.encode(alipay_key().sign_raw(&gbk_node, SignType::Rsa2).unwrap());
    let mut body = b"{\"alipay_trade_precreate_response\":".to_vec();
    body.extend_from_slice(&gbk_node);
    body.extend_from_slice(format!(r#","alipay_cert_sn":"{}","sign":"{sign}"}}"#, alipay_cert_sn()).as_bytes());
    assert_eq!(config.verify_response("alipay.trade.precreate", &body).unwrap().node(), node);
    // The UTF-8 signature of the same text does not verify in GBK.
    let utf8_signed = signed_body("alipay.trade.precreate", node, Some(&alipay_cert_sn()), &alipay_key());
    let (gbk_body, _, _) = encoding_rs::GBK.encode(&utf8_signed);
    assert!(config.verify_response("alipay.trade.precreate", &gbk_body).is_err());
}

#[test]
fn real_alipay_signed_response_verifies_in_public_key_mode() {
    let config = Config::builder("2021000000000001")
        .gateway("http://127.0.0.1:9/gateway.do")
        .app_private_key_file(pki("keys/app_pkcs8.pem"))
        .alipay_public_key(PublicKey::from_path(shared("nodesdk-real/alipay-public-key.pem")).unwrap())
        .build()
        .unwrap();
    let body = std::fs::read(shared("nodesdk-real/vr-real-file-upload.json")).unwrap();
    let response = config.verify_response("alipay.open.file.upload", &body).unwrap();
    assert!(response.node().contains("\"code\":\"10000\""));
    let tampered = std::fs::read(shared("nodesdk-real/vr-real-file-upload-tampered.json")).unwrap();
    assert!(matches!(
        config.verify_response("alipay.open.file.upload", &tampered),
        Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. })
    ));
}

#[test]
fn sign_type_comes_from_configuration_not_the_message() {
    // A response claiming sign_type RSA changes nothing: RSA2 is checked.
    let sha1 = alipay_key().sign(NODE.as_bytes(), SignType::Rsa).unwrap();
    let body = format!(
        r#"{{"alipay_trade_query_response":{NODE},"alipay_cert_sn":"{}","sign":"{sha1}","sign_type":"RSA"}}"#,
        alipay_cert_sn()
    );
    assert!(matches!(verify(&body), Err(e) if matches!(e.kind(), ResponseErrorKind::InvalidSignature { .. })));
}

/// `verify_response_owned` (what the flows use: the body read from the wire, not copied) gives
/// every body the verdict `verify_response` gives it, in UTF-8 and in GBK.
#[test]
fn the_owned_path_judges_every_body_as_the_borrowed_one() {
    let body = signed_body(METHOD, NODE, Some(&alipay_cert_sn()), &alipay_key());
    let tampered = body.replace("o-1", "o-2");
    let duplicated = body.replacen(r#""sign":"#, r#""sign":"x","sign":"#, 1);
    let mut invalid_utf8 = body.clone().into_bytes();
    invalid_utf8[10] = 0xff;
    let utf8 = config();
    let gbk = cert_config("http://127.0.0.1:9/gateway.do").charset(Charset::Gbk).build().unwrap();
    let (gbk_node, _, _) = encoding_rs::GBK.encode(r#"{"code":"10000","msg":"处理成功"}"#);
    use base64::Engine as _;
    let gbk_sign =
        base64::engine::general_purpose::STANDARD.encode(alipay_key().sign_raw(&gbk_node, SignType::Rsa2).unwrap());
    let mut gbk_body = b"{\"alipay_trade_query_response\":".to_vec();
    gbk_body.extend_from_slice(&gbk_node);
    gbk_body.extend_from_slice(format!(r#","alipay_cert_sn":"{}","sign":"{gbk_sign}"}}"#, alipay_cert_sn()).as_bytes());
    // The SN written with an escape reads as the SN (it names the same certificate).
    let sn = alipay_cert_sn();
    let escaped_sn = body.replace(&format!(r#""{sn}""#), &format!(r#""\u{:04x}{}""#, sn.as_bytes()[0], &sn[1..]));
    assert_ne!(escaped_sn, body);
    let verified = utf8.verify_response_owned(METHOD, escaped_sn.clone().into_bytes()).unwrap();
    assert_eq!(verified.alipay_cert_sn(), Some(sn.as_str()));
    assert_eq!(
        utf8.verify_response_owned(METHOD, body.clone().into_bytes()).unwrap().alipay_cert_sn(),
        Some(sn.as_str())
    );
    let mut invalid_gbk = gbk_body.clone();
    invalid_gbk.insert(40, 0x80);
    let cases: Vec<(&Config, Vec<u8>, bool)> = vec![
        (&gbk, invalid_gbk, false),
        (&utf8, body.clone().into_bytes(), true),
        (&utf8, escaped_sn.into_bytes(), true),
        (&utf8, tampered.into_bytes(), false),
        (&utf8, duplicated.into_bytes(), false),
        (&utf8, body.as_bytes()[..body.len() / 2].to_vec(), false),
        (&utf8, invalid_utf8, false),
        (&utf8, Vec::new(), false),
        (&gbk, gbk_body.clone(), true),
        // Bytes are what is signed: UTF-8 bytes read as GBK verify too (the text is mojibake,
        // the same on both paths).
        (&gbk, body.clone().into_bytes(), true),
        (
            &gbk,
            signed_body(METHOD, r#"{"code":"10000","msg":"处理成功"}"#, Some(&alipay_cert_sn()), &alipay_key())
                .into_bytes(),
            true,
        ),
    ];
    for (config, bytes, verifies) in cases {
        let borrowed = config.verify_response(METHOD, &bytes);
        let owned = config.verify_response_owned(METHOD, bytes.clone());
        assert_eq!(borrowed.is_ok(), verifies, "{:?}", String::from_utf8_lossy(&bytes));
        match (borrowed, owned) {
            (Ok(a), Ok(b)) => {
                assert_eq!((a.node(), a.body(), a.alipay_cert_sn()), (b.node(), b.body(), b.alipay_cert_sn()));
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("the two paths disagree: {a:?} / {b:?}"),
        }
    }
}
