//! Parity with Alipay's Java SDK on the edges a live gateway exercises (issue: Java parity).

use std::collections::BTreeSet;

use alipay_sdk::Request;
use alipay_sdk::primitives::gateway::is_java_whitespace;

use crate::common::wire::{cert_config, openssl_verifies};
use crate::common::{pki, root};

/// The BMP code points `Character.isWhitespace` accepts, from the JDK itself.
fn jdk_whitespace() -> BTreeSet<u32> {
    let output = std::process::Command::new("java")
        .arg(root().join("testdata/oracle/Whitespace.java"))
        .output()
        .expect("a JDK is installed (java runs single source files)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(|l| u32::from_str_radix(l, 16).unwrap()).collect()
}

#[test]
fn java_whitespace_is_the_jdks_on_every_bmp_character() {
    let jdk = jdk_whitespace();
    assert!(jdk.contains(&0x1c) && !jdk.contains(&0xa0), "the oracle ran");
    for code in 0..=0xffffu32 {
        let Some(c) = char::from_u32(code) else { continue };
        assert_eq!(is_java_whitespace(c), jdk.contains(&code), "U+{code:04X}");
    }
    // Where Rust and Java disagree, Java wins.
    for (c, java) in [('\u{a0}', false), ('\u{2007}', false), ('\u{202f}', false), ('\u{85}', false), ('\u{1c}', true)]
    {
        assert_eq!(is_java_whitespace(c), java, "{c:?}");
        assert_ne!(c.is_whitespace(), java, "{c:?} is one of the characters Rust sees differently");
    }
}

#[test]
fn blank_values_are_neither_signed_nor_sent_like_java() {
    let config = cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let request = Request::new("alipay.trade.query")
        .biz_json(r#"{"out_trade_no":"j-1"}"#)
        .param("blank_space", " ")
        .param("blank_ideographic", "\u{3000}\t")
        .param("separator", "\u{1c}")
        .param("nbsp", "\u{a0}")
        .param("kept", " x ");
    let signed = config.sign_request(&request).unwrap();
    let sent: Vec<&str> = signed.all_params().map(|(k, _)| k).collect();
    for blank in ["blank_space", "blank_ideographic", "separator"] {
        assert!(!sent.contains(&blank), "{blank} is not sent");
        assert!(!signed.sign_content.contains(blank), "{blank} is not signed");
    }
    assert!(signed.sign_content.contains("&nbsp=\u{a0}&"), "U+00A0 is not blank in Java: sent and signed");
    assert!(signed.sign_content.contains("kept= x "), "other values are signed verbatim");
    // The content the test computes itself from what is sent verifies the signature.
    let jdk = jdk_whitespace();
    let mut expected: Vec<(&str, &str)> =
        signed.all_params().filter(|(k, v)| *k != "sign" && !v.chars().all(|c| jdk.contains(&(c as u32)))).collect();
    expected.sort();
    let content: Vec<String> = expected.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert!(openssl_verifies(&pki("keys/app_public.pem"), content.join("&").as_bytes(), signed.sign()));
}

mod notifications {
    use alipay_sdk::key::{PublicKey, SignType};
    use alipay_sdk::notify::{NotificationVerifier, NotifyErrorKind, Rule};

    use crate::common::pki;
    use crate::common::wire::alipay_key;

    const PARAMS: &[(&str, &str)] = &[
        ("app_id", "2021000000000001"),
        ("notify_id", "jv-1"),
        ("out_trade_no", "o-1"),
        ("trade_no", "t-1"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "9.90"),
        ("gmt_refund", ""),
        ("body", " "),
        ("sign_type", "RSA2"),
    ];

    /// The V1 content written out here: sorted, `sign_type` left out, with or without the blank
    /// values.
    fn content(keep_blank: bool) -> String {
        let mut kept: Vec<&(&str, &str)> =
            PARAMS.iter().filter(|(k, v)| *k != "sign_type" && (keep_blank || !v.trim().is_empty())).collect();
        kept.sort();
        kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    fn form(sign: &str, tamper: bool) -> Vec<u8> {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in PARAMS {
            serializer.append_pair(k, if tamper && *k == "total_amount" { "0.01" } else { v });
        }
        serializer.append_pair("sign", sign).finish().into_bytes()
    }

    #[test]
    fn trade_notifications_carry_open_ids_and_typed_times() {
        let verifier = NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap());
        let sign_form = |extra: &[(&str, &str)]| {
            let mut params: Vec<(String, String)> = PARAMS
                .iter()
                .filter(|(k, _)| !["gmt_refund", "body"].contains(k))
                .chain(extra)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let sign = alipay_sdk::primitives::notification::sign_params(
                &params,
                Rule::V1,
                &alipay_key(),
                SignType::Rsa2,
                Default::default(),
            )
            .unwrap();
            params.push(("sign".into(), sign));
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
        };
        let body = sign_form(&[
            ("notify_time", "2026-03-01 12:00:05"),
            ("gmt_payment", "2026-03-01 11:59:58"),
            ("buyer_open_id", "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"),
            ("merchant_app_id", "2021000000000002"),
        ]);
        let trade = verifier.verify((body.as_bytes(), None), Rule::V1).unwrap().trade().unwrap();
        // 12:00:05 in UTC+8 is 04:00:05 UTC.
        let utc = chrono::DateTime::parse_from_rfc3339("2026-03-01T04:00:05Z").unwrap();
        assert_eq!(trade.notify_time.unwrap(), utc);
        assert_eq!(trade.notify_time.unwrap().offset().local_minus_utc(), 8 * 3600);
        assert_eq!(trade.gmt_payment.unwrap().to_rfc3339(), "2026-03-01T11:59:58+08:00");
        assert_eq!(trade.buyer_open_id.as_deref(), Some("074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"));
        assert_eq!(trade.merchant_app_id.as_deref(), Some("2021000000000002"));

        let bad = sign_form(&[("gmt_payment", "2026/03/01 11:59")]);
        let error = verifier.verify((bad.as_bytes(), None), Rule::V1).unwrap().trade().unwrap_err();
        assert!(matches!(error.kind(), NotifyErrorKind::Field { field: "gmt_payment", .. }), "{error}");
    }

    #[test]
    fn signed_with_or_without_empty_values_both_verify_and_tampering_fails_both() {
        let verifier = NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap());
        for keep_blank in [true, false] {
            let sign = alipay_key().sign(content(keep_blank).as_bytes(), SignType::Rsa2).unwrap();
            let verified = verifier.verify((&form(&sign, false), None), Rule::V1);
            assert!(
                verified.is_ok(),
                "signed with blank values {}: {verified:?}",
                if keep_blank { "kept" } else { "left out" }
            );
            let tampered = verifier.verify((&form(&sign, true), None), Rule::V1).unwrap_err();
            assert!(matches!(tampered.kind(), NotifyErrorKind::InvalidSignature { .. }), "{tampered}");
        }
    }
}

#[test]
fn the_apps_own_public_key_given_as_alipays_is_refused() {
    let error = alipay_sdk::Config::builder("2021000000000001")
        .app_private_key_file(pki("keys/app_pkcs8.pem"))
        .alipay_public_key_file(pki("keys/app_public.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), alipay_sdk::ConfigErrorKind::AlipayKeyIsAppKey { .. }), "{error}");
    assert!(error.to_string().contains("app's own public key"), "{error}");
    // The real Alipay public key builds.
    crate::common::wire::public_key_config("http://127.0.0.1:9/gateway.do").build().unwrap();
}

#[test]
fn gb18030_and_gb2312_are_accepted_wherever_gbk_is() {
    use alipay_sdk::charset::Charset;
    use alipay_sdk::key::{PublicKey, SignType};
    use alipay_sdk::notify::{NotificationVerifier, Rule};

    assert_eq!("gb2312".parse::<Charset>().unwrap(), Charset::Gbk);
    assert_eq!("GB18030".parse::<Charset>().unwrap(), Charset::Gb18030);
    // U+20000 is outside GBK: GB18030 carries it in four bytes.
    let subject = "\u{20000} 商品";
    assert!(Charset::Gbk.encode(subject, "subject").is_err());
    let gb18030 = |text: &str| encoding_rs::GB18030.encode(text).0.into_owned();
    assert_eq!(Charset::Gb18030.encode(subject, "subject").unwrap().as_ref(), gb18030(subject).as_slice());

    // A request signed in GB18030: the signature covers the GB18030 bytes of the content.
    let config =
        crate::common::wire::cert_config("http://127.0.0.1:9/gateway.do").charset(Charset::Gb18030).build().unwrap();
    let signed = config.sign_request(&Request::new("alipay.trade.query").param("subject", subject)).unwrap();
    assert!(signed.all_params().any(|(k, v)| k == "charset" && v == "GB18030"));
    assert!(openssl_verifies(&pki("keys/app_public.pem"), &gb18030(&signed.sign_content), signed.sign()));

    // A notification in GB18030 (charset named in the form) verifies over those bytes.
    let params =
        [("app_id", "2021000000000001"), ("charset", "GB18030"), ("notify_id", "g-18030"), ("subject", subject)];
    let content: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sign = crate::common::wire::alipay_key().sign(&gb18030(&content.join("&")), SignType::Rsa2).unwrap();
    let mut body: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", url::form_urlencoded::byte_serialize(&gb18030(v)).collect::<String>()))
        .collect();
    body.push(format!("sign={}", url::form_urlencoded::byte_serialize(sign.as_bytes()).collect::<String>()));
    let verifier = NotificationVerifier::public_key(PublicKey::from_path(pki("ca/alipay_public.pem")).unwrap());
    let verified = verifier.verify((body.join("&").as_bytes(), None), Rule::V1).unwrap();
    assert_eq!(verified.get("subject"), Some(subject));
}

/// What Java writes for each BMP character (`None`: it cannot encode it).
type JavaEncodes = Vec<(u32, Option<Vec<u8>>)>;
/// What Java reads from each byte sequence (`None`: malformed or unmappable).
type JavaDecodes = Vec<(Vec<u8>, Option<u32>)>;

/// Java's GBK / GB18030 per the JDK itself: `E <char> <bytes|->` and `D <bytes> <char|->`.
fn jdk_charset(name: &str) -> (JavaEncodes, JavaDecodes) {
    let output = std::process::Command::new("java")
        .arg(root().join("testdata/oracle/CharsetDump.java"))
        .arg(name)
        .output()
        .expect("a JDK is installed (java runs single source files)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<_>>();
    let (mut encode, mut decode) = (Vec::new(), Vec::new());
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let mut parts = line.split(' ');
        let (kind, key, value) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        match kind {
            "E" => encode.push((u32::from_str_radix(key, 16).unwrap(), (value != "-").then(|| hex(value)))),
            "D" => decode.push((hex(key), u32::from_str_radix(value, 16).ok())),
            // The test reads back Java's bytes expecting the character: Java must do so too.
            _ => panic!("the JDK does not read back U+{key} as it writes it"),
        }
    }
    (encode, decode)
}

/// GBK is Java's GBK (and GB18030 Java's GB18030) on every BMP character Java can encode, and
/// on every single byte and two-byte sequence it decodes: the gateway signs and checks these
/// bytes. What Java cannot encode is refused with an error naming the character.
#[test]
fn gbk_and_gb18030_are_javas_on_every_character() {
    use alipay_sdk::charset::{Charset, CharsetError};
    for (name, charset) in [("GBK", Charset::Gbk), ("GB18030", Charset::Gb18030)] {
        let (encode, decode) = jdk_charset(name);
        assert!(encode.len() > 60_000 && decode.len() > 20_000, "the oracle ran");
        let mut mismatches = Vec::new();
        for (code, java) in &encode {
            let c = char::from_u32(*code).unwrap();
            let mut buffer = [0; 4];
            let ours = charset.encode(c.encode_utf8(&mut buffer), "test").map(|b| b.into_owned());
            match (java, ours) {
                (Some(java), Ok(ours)) if *java == *ours => {}
                (None, Err(CharsetError::Unencodable { character, .. })) if character == c => {}
                (java, ours) => mismatches.push(format!("encode U+{code:04X}: Java {java:02x?}, ours {ours:02x?}")),
            }
            // What Java writes reads back (GB18030's four-byte sequences included).
            if let Some(java) = java
                && charset.decode(java, "test").ok().as_deref() != Some(c.encode_utf8(&mut [0; 4]) as &str)
            {
                mismatches.push(format!("decode {java:02x?}: not U+{code:04X}"));
            }
        }
        for (bytes, java) in &decode {
            let ours = charset.decode(bytes, "test").ok().map(|text| text.chars().map(u32::from).collect::<Vec<_>>());
            let ours_single = ours.as_ref().filter(|chars| chars.len() == 1).map(|chars| chars[0]);
            let agree = match java {
                Some(java) => ours_single == Some(*java),
                None => ours.is_none(),
            };
            if !agree {
                mismatches.push(format!("decode {bytes:02x?}: Java {java:x?}, ours {ours:x?}"));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{name}: {} differences, first: {:#?}",
            mismatches.len(),
            &mismatches[..mismatches.len().min(20)]
        );
    }
    // The one users meet: the euro sign.
    assert_eq!(&*Charset::Gbk.encode("€", "test").unwrap(), &[0xa2, 0xe3]);
    assert!(Charset::Gbk.decode(&[0x80], "test").is_err());
    // A four-byte sequence is GB18030's, not GBK's (Java's GBK refuses it).
    assert_eq!(Charset::Gb18030.decode(&[0x81, 0x30, 0x81, 0x30], "test").unwrap(), "\u{80}");
    assert!(Charset::Gbk.decode(&[b'a', 0x81, 0x30, 0x81, 0x30], "test").is_err());
    let error = Charset::Gbk.encode("a\u{1f9}b", "subject").unwrap_err();
    assert!(error.to_string().contains("subject"), "{error}");
    assert!(matches!(error, CharsetError::Unencodable { character: '\u{1f9}', .. }));
}
