//! Notification verification (PROTOCOL.md §6): real Alipay-signed vectors and every rule.

use crate::common::shared;
use alipay_sdk::key::PublicKey;
use alipay_sdk::notify::{NotificationVerifier, NotifyErrorKind, Rule};

fn real(file: &str) -> Vec<u8> {
    std::fs::read(shared(&format!("nodesdk-real/{file}"))).unwrap()
}

fn verifier(key: &str) -> NotificationVerifier {
    NotificationVerifier::public_key(PublicKey::from_path(shared(&format!("nodesdk-real/{key}"))).unwrap())
}

#[test]
fn real_trade_notification_v1() {
    let v1 = verifier("alipay-notify-sign-public-key-v1.pem");
    let body = real("vn-real-trade-v1.txt");
    let verified = v1.verify((&body, Some("application/x-www-form-urlencoded")), Rule::V1).unwrap();
    let trade = verified.trade().unwrap();
    assert!(!trade.out_trade_no.is_empty());
    assert!(verified.get("fund_bill_list").unwrap().starts_with('['));
    assert_eq!(verified.ack(), "success");
    let tampered = real("vn-real-trade-v1-tampered.txt");
    assert!(
        matches!(v1.verify((&tampered, None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
    );
    // The same message checked with the V2 rule fails: sign_type is then part of the content.
    assert!(
        matches!(v1.verify((&body, None), Rule::V2), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
    );
}

#[test]
fn real_servicemarket_message_v2() {
    let v2 = verifier("alipay-notify-sign-public-key-v2.pem");
    let body = real("vn-real-servicemarket-v2.txt");
    v2.verify((&body, None), Rule::V2).unwrap();
    assert!(
        matches!(v2.verify((&body, None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
    );
    let tampered = real("vn-real-servicemarket-v2-tampered.txt");
    assert!(
        matches!(v2.verify((&tampered, None), Rule::V2), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
    );
}

mod rules {
    use alipay_sdk::cert::CertificateChain;
    use alipay_sdk::charset::Charset;
    use alipay_sdk::key::{PrivateKey, PublicKey, SignType};
    use alipay_sdk::model::trade::TradeStatus;
    use alipay_sdk::notify::{Expected, NotificationVerifier, NotifyErrorKind, Rule};
    use alipay_sdk::primitives::notification::sign_params;

    use crate::common::pki;
    use crate::common::wire::{alipay_cert_sn, alipay_key};

    fn params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("notify_id", "n-1"),
            ("notify_type", "trade_status_sync"),
            ("app_id", "2021000000000001"),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("trade_no", "2026000001"),
            ("out_trade_no", "order-1"),
            ("seller_id", "2088000000000001"),
            ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", "66.60"),
            ("subject", "测试 subject+plus %percent& amp=eq"),
            ("body", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            params.push((k.to_string(), v.to_string()));
        }
        params
    }

    fn signed(params: &[(String, String)], rule: Rule, key: &PrivateKey, charset: Charset) -> Vec<(String, String)> {
        let mut all = params.to_vec();
        all.push(("sign".into(), sign_params(params, rule, key, SignType::Rsa2, charset).unwrap()));
        all
    }

    /// Form-encodes with the url crate (UTF-8) or by hand for GBK.
    fn form(params: &[(String, String)], charset: Charset) -> Vec<u8> {
        match charset {
            Charset::Gbk => params
                .iter()
                .map(|(k, v)| {
                    let (bytes, _, _) = encoding_rs::GBK.encode(v);
                    format!("{k}={}", url::form_urlencoded::byte_serialize(&bytes).collect::<String>())
                })
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            _ => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (k, v)))
                .finish()
                .into_bytes(),
        }
    }

    fn public() -> NotificationVerifier {
        NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap())
    }

    #[test]
    fn valid_notification_gives_a_typed_trade() {
        let body = form(&signed(&params(&[]), Rule::V1, &alipay_key(), Charset::Utf8), Charset::Utf8);
        let verified =
            public().verify((&body, Some("application/x-www-form-urlencoded; charset=utf-8")), Rule::V1).unwrap();
        assert_eq!(verified.get("subject"), Some("测试 subject+plus %percent& amp=eq"), "decoded exactly once");
        assert_eq!(verified.get("body"), Some(""));
        let trade = verified.trade().unwrap();
        assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
        assert_eq!(trade.total_amount.to_string(), "66.60");
        let ok = Expected {
            app_id: "2021000000000001",
            seller_id: Some("2088000000000001"),
            total_amount: Some("66.60".parse().unwrap()),
        };
        trade.check(&ok).unwrap();
        for (bad, field) in [
            (Expected { app_id: "2021000000000002", ..ok.clone() }, "app_id"),
            (Expected { seller_id: Some("2088999"), ..ok.clone() }, "seller_id"),
            (Expected { total_amount: Some("66.61".parse().unwrap()), ..ok.clone() }, "total_amount"),
        ] {
            let error = trade.check(&bad).unwrap_err();
            assert!(matches!(error.kind(), NotifyErrorKind::Mismatch { field: f, .. } if *f == field), "{error}");
        }
    }

    #[test]
    fn every_tampering_is_caught() {
        let good = signed(&params(&[]), Rule::V1, &alipay_key(), Charset::Utf8);
        let verify = |p: &[(String, String)]| public().verify((&form(p, Charset::Utf8), None), Rule::V1);
        verify(&good).unwrap();

        let mut value = good.clone();
        value.iter_mut().find(|(k, _)| k == "total_amount").unwrap().1 = "0.01".into();
        assert!(matches!(verify(&value), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. })));

        let mut sign = good.clone();
        let s = &mut sign.last_mut().unwrap().1;
        let flipped = if s.starts_with('A') { "B" } else { "A" };
        s.replace_range(0..1, flipped);
        assert!(matches!(verify(&sign), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. })));

        let other = PrivateKey::from_path(pki("keys/other_pkcs8.pem")).unwrap();
        assert!(matches!(
            verify(&signed(&params(&[]), Rule::V1, &other, Charset::Utf8)),
            Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. })
        ));

        let unsigned: Vec<(String, String)> = good.iter().filter(|(k, _)| k != "sign").cloned().collect();
        assert!(matches!(verify(&unsigned), Err(e) if matches!(e.kind(), NotifyErrorKind::MissingSign)));

        // The message cannot choose the algorithm.
        let mut rsa = params(&[]);
        rsa.iter_mut().find(|(k, _)| k == "sign_type").unwrap().1 = "RSA".into();
        let rsa = signed(&rsa, Rule::V1, &alipay_key(), Charset::Utf8);
        assert!(matches!(verify(&rsa), Err(e) if matches!(e.kind(), NotifyErrorKind::SignTypeMismatch { .. })));

        // Parameter pollution: a second trade_status.
        let mut body = form(&good, Charset::Utf8);
        body.extend_from_slice(b"&trade_status=TRADE_CLOSED");
        assert!(
            matches!(public().verify((&body, None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::DuplicateParameter { .. }))
        );

        // Dropping the empty value changes the content: empty values are signed.
        let without_empty: Vec<(String, String)> = good.iter().filter(|(k, _)| k != "body").cloned().collect();
        assert!(
            matches!(verify(&without_empty), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
        );
    }

    #[test]
    fn values_are_decoded_exactly_once() {
        // "%41" must stay "%41" (a second decoding would make it "A" and break the signature).
        let p = params(&[("memo", "%41 + %2B")]);
        let body = form(&signed(&p, Rule::V1, &alipay_key(), Charset::Utf8), Charset::Utf8);
        let verified = public().verify((&body, None), Rule::V1).unwrap();
        assert_eq!(verified.get("memo"), Some("%41 + %2B"));
    }

    #[test]
    fn gbk_notification() {
        let mut p = params(&[]);
        p.iter_mut().find(|(k, _)| k == "charset").unwrap().1 = "GBK".into();
        let body = form(&signed(&p, Rule::V1, &alipay_key(), Charset::Gbk), Charset::Gbk);
        assert!(std::str::from_utf8(&body).unwrap().contains("%B2%E2%CA%D4"), "测试 in GBK");
        let verified = public().verify((&body, None), Rule::V1).unwrap();
        assert_eq!(verified.get("subject"), Some("测试 subject+plus %percent& amp=eq"));
    }

    #[test]
    fn v1_and_v2_are_not_interchangeable() {
        let v1 = form(&signed(&params(&[]), Rule::V1, &alipay_key(), Charset::Utf8), Charset::Utf8);
        let v2 = form(&signed(&params(&[]), Rule::V2, &alipay_key(), Charset::Utf8), Charset::Utf8);
        public().verify((&v1, None), Rule::V1).unwrap();
        public().verify((&v2, None), Rule::V2).unwrap();
        assert!(
            matches!(public().verify((&v1, None), Rule::V2), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
        );
        assert!(
            matches!(public().verify((&v2, None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::InvalidSignature { .. }))
        );
    }

    #[test]
    fn certificate_chosen_by_alipay_cert_sn() {
        let verifier =
            NotificationVerifier::certificates([CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap()])
                .unwrap();
        let sn = alipay_cert_sn();
        let with_sn =
            form(&signed(&params(&[("alipay_cert_sn", &sn)]), Rule::V1, &alipay_key(), Charset::Utf8), Charset::Utf8);
        verifier.verify((&with_sn, None), Rule::V1).unwrap();
        let unknown = form(
            &signed(
                &params(&[("alipay_cert_sn", "ffffffffffffffffffffffffffffffff")]),
                Rule::V1,
                &alipay_key(),
                Charset::Utf8,
            ),
            Charset::Utf8,
        );
        assert!(
            matches!(verifier.verify((&unknown, None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::UnknownCertSn { .. }))
        );
        let without_sn = form(&signed(&params(&[]), Rule::V1, &alipay_key(), Charset::Utf8), Charset::Utf8);
        verifier.verify((&without_sn, None), Rule::V1).unwrap();
    }

    #[test]
    fn malformed_forms_are_rejected() {
        assert!(
            matches!(public().verify((b"a=%zz&sign=x", None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::Malformed { .. }))
        );
        assert!(
            matches!(public().verify((b"charset=latin9&sign=x", None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::Charset(_)))
        );
        assert!(
            matches!(public().verify((b"a=%FF&sign=x", None), Rule::V1), Err(e) if matches!(e.kind(), NotifyErrorKind::Charset(_)))
        );
    }
}

mod answers {
    use alipay_sdk::charset::Charset;
    use alipay_sdk::key::PrivateKey;
    use alipay_sdk::server::Responder;

    use crate::common::pki;
    use crate::common::wire::openssl_verifies;

    fn responder(sn: Option<&str>) -> Responder {
        Responder::new(PrivateKey::from_path(pki("keys/app_pkcs8.pem")).unwrap(), sn.map(str::to_string))
    }

    #[test]
    fn json_answer_signs_the_exact_response_text() {
        let text = r#"{"code":"10000","msg":"Success","note":"a\/b 中"}"#;
        let body = responder(Some("abc")).json_text(text).unwrap();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["app_cert_sn"], "abc");
        assert!(body.starts_with(&format!(r#"{{"response":{text},"sign":""#)));
        assert!(openssl_verifies(&pki("ca/app_cert.pem"), text.as_bytes(), value["sign"].as_str().unwrap()));
        let no_sn = responder(None).json(&serde_json::json!({"code": "10000"})).unwrap();
        assert!(!no_sn.contains("app_cert_sn"));
        assert!(responder(None).json_text("[1]").is_err());
    }

    #[test]
    fn xml_answer_signs_the_text_inside_the_response_element() {
        let body = responder(Some("abc")).xml(&[("success", "true"), ("note", "<a&b>")]).unwrap();
        let element = "<response><success>true</success><note>&lt;a&amp;b&gt;</note></response>";
        assert!(
            body.starts_with(&format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><alipay>{element}<app_cert_sn>abc</app_cert_sn><sign>"#
            )),
            "{body}"
        );
        assert!(body.ends_with("</sign><sign_type>RSA2</sign_type></alipay>"));
        let sign = body.split("<sign>").nth(1).unwrap().split("</sign>").next().unwrap();
        // Java's encryptAndSign signs what is between <response> and </response>, as emitted.
        let inner = "<success>true</success><note>&lt;a&amp;b&gt;</note>";
        assert!(openssl_verifies(&pki("ca/app_cert.pem"), inner.as_bytes(), sign));
        assert!(!openssl_verifies(&pki("ca/app_cert.pem"), element.as_bytes(), sign), "not the element with its tags");
        // Element names are checked; xml_element needs one <response> element.
        for bad in ["bad name", "1x", "a<b", "xmlns", ""] {
            assert!(responder(None).xml(&[(bad, "v")]).is_err(), "{bad:?}");
        }
        assert!(responder(None).xml_element("<other>x</other>").is_err());
        let same = responder(Some("abc")).xml_element(element).unwrap();
        let same_sign = same.split("<sign>").nth(1).unwrap().split("</sign>").next().unwrap();
        assert!(openssl_verifies(&pki("ca/app_cert.pem"), inner.as_bytes(), same_sign));

        let gbk = responder(None).with_charset(Charset::Gbk).xml(&[("msg", "成功")]).unwrap();
        assert!(gbk.contains(r#"encoding="GBK""#));
        let sign = gbk.split("<sign>").nth(1).unwrap().split("</sign>").next().unwrap();
        let (bytes, _, _) = encoding_rs::GBK.encode("<msg>成功</msg>");
        assert!(openssl_verifies(&pki("ca/app_cert.pem"), &bytes, sign));
    }
}

/// A certificate-mode notification whose signature leaves `alipay_cert_sn` out of the content
/// (as real callbacks are signed: smartwalle/alipay and pay-java-parent had to leave it out)
/// verifies, the certificate still chosen by it; the content with it verifies too (Java's generic
/// check); a changed value fails both ways. The signatures are made here with OpenSSL over text
/// built from the protocol, not by the SDK. `fund_bill_list` keeps its `&quot;` as signed.
#[test]
fn a_notification_signed_without_its_alipay_cert_sn_verifies() {
    use alipay_sdk::cert::CertificateChain;
    use base64::Engine as _;
    let chain = CertificateChain::from_path(crate::common::pki("ca/alipay_cert.pem")).unwrap();
    let key_pem = std::fs::read(crate::common::pki("ca/alipay.key")).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&key_pem).unwrap();
    let sign = |content: &str| {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        base64::engine::general_purpose::STANDARD.encode(signer.sign_oneshot_to_vec(content.as_bytes()).unwrap())
    };
    let fund_bill_list = "[{&quot;amount&quot;:&quot;88.88&quot;,&quot;fundChannel&quot;:&quot;ALIPAYACCOUNT&quot;}]";
    let mut params = vec![
        ("app_id", "2021000000000001".to_string()),
        ("fund_bill_list", fund_bill_list.to_string()),
        ("gmt_payment", "".to_string()),
        ("notify_id", "cert-sn-1".to_string()),
        ("out_trade_no", "o-1".to_string()),
        ("total_amount", "88.88".to_string()),
        ("trade_no", "t-1".to_string()),
        ("trade_status", "TRADE_SUCCESS".to_string()),
    ];
    params.sort();
    let joined = |params: &[(&str, String)], keep_empty: bool| {
        params
            .iter()
            .filter(|(_, v)| keep_empty || !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let form = |params: &[(&str, String)], signature: &str| {
        let mut all: Vec<(&str, String)> = params.to_vec();
        all.push(("alipay_cert_sn", chain.sn().to_string()));
        all.push(("sign", signature.to_string()));
        all.push(("sign_type", "RSA2".to_string()));
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish()
    };
    let verifier = NotificationVerifier::certificates([chain.clone()]).unwrap();
    // Signed without alipay_cert_sn: with the empty value kept, and without it (current Java).
    for keep_empty in [true, false] {
        let body = form(&params, &sign(&joined(&params, keep_empty)));
        let verified = verifier.verify((body.as_bytes(), None), Rule::V1).unwrap();
        assert_eq!(verified.get("fund_bill_list"), Some(fund_bill_list), "never HTML-unescaped");
        assert_eq!(verified.get("alipay_cert_sn"), Some(chain.sn()));
        let tampered = body.replace("total_amount=88.88", "total_amount=0.01");
        assert!(verifier.verify((tampered.as_bytes(), None), Rule::V1).is_err());
    }
    // Signed with it (Java's generic check): still verifies.
    let mut with_sn = params.clone();
    with_sn.push(("alipay_cert_sn", chain.sn().to_string()));
    with_sn.sort();
    let body = form(&params, &sign(&joined(&with_sn, true)));
    verifier.verify((body.as_bytes(), None), Rule::V1).unwrap();
    // An HTML-unescaped fund_bill_list is other content: it does not verify.
    let unescaped = body.replace("%26quot%3B", "%22");
    assert_ne!(unescaped, body);
    assert!(verifier.verify((unescaped.as_bytes(), None), Rule::V1).is_err());
}

/// A return to `return_url` signed without its `alipay_cert_sn` verifies too (returns are
/// checked like notifications), and a changed amount does not.
#[test]
fn a_return_signed_without_its_alipay_cert_sn_verifies() {
    use alipay_sdk::cert::CertificateChain;
    use base64::Engine as _;
    let chain = CertificateChain::from_path(crate::common::pki("ca/alipay_cert.pem")).unwrap();
    let key_pem = std::fs::read(crate::common::pki("ca/alipay.key")).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&key_pem).unwrap();
    let mut params = vec![
        ("app_id", "2021000000000001"),
        ("auth_app_id", "2021000000000001"),
        ("charset", "utf-8"),
        ("method", "alipay.trade.page.pay.return"),
        ("out_trade_no", "r-1"),
        ("seller_id", "2088000000000001"),
        ("timestamp", "2024-01-01 12:00:00"),
        ("total_amount", "9.99"),
        ("trade_no", "t-r-1"),
        ("version", "1.0"),
    ];
    params.sort();
    let content = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    let sign =
        base64::engine::general_purpose::STANDARD.encode(signer.sign_oneshot_to_vec(content.as_bytes()).unwrap());
    let sn = chain.sn().to_string();
    let mut all: Vec<(&str, &str)> = params.clone();
    all.extend([("alipay_cert_sn", sn.as_str()), ("sign", sign.as_str()), ("sign_type", "RSA2")]);
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
    let verifier = NotificationVerifier::certificates([chain]).unwrap();
    let verified = verifier.verify_return(&query).unwrap();
    assert_eq!((verified.out_trade_no.as_str(), verified.total_amount.to_string()), ("r-1", "9.99".to_string()));
    assert!(verifier.verify_return(&query.replace("total_amount=9.99", "total_amount=0.01")).is_err());
}
