//! What the client puts on the wire, checked on a loopback server.

use std::sync::Arc;

use crate::common::wire::*;
use crate::common::{oracle_for, pki};
use alipay_sdk::charset::Charset;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};
use alipay_sdk::model::{AlipayApi, Amount};
use alipay_sdk::{Client, ErrorKind, Request};
use chrono::{DateTime, Utc};

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T18:04:05Z").unwrap().with_timezone(&Utc)
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Rebuilds the sign content from what reached the wire, independently of the SDK.
fn wire_sign_content(params: &[(String, String)]) -> String {
    let mut kept: Vec<&(String, String)> = params.iter().filter(|(k, v)| k != "sign" && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn query_node(out_trade_no: &str) -> String {
    format!(
        r#"{{"code":"10000","msg":"Success","trade_no":"2026030122001","out_trade_no":"{out_trade_no}","trade_status":"TRADE_SUCCESS","total_amount":"88.88","buyer_logon_id":"abc***@example.com"}}"#
    )
}

#[tokio::test]
async fn certificate_mode_request_on_the_wire() {
    let server = CaptureServer::start(|_| {
        (
            200,
            signed_body("alipay.trade.query", &query_node("o-1"), Some(&alipay_cert_sn()), &alipay_key()).into_bytes(),
        )
    })
    .await;
    let config = cert_config(&server.url).clock(Arc::new(FixedClock(at()))).build().unwrap();
    let client = Client::new(config).unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("o-1")).await.unwrap();
    assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(trade.total_amount, "88.88".parse::<Amount>().unwrap());

    let wire = server.last();
    assert_eq!(wire.method, "POST");
    assert_eq!(wire.uri.path(), "/gateway.do");
    assert!(wire.content_type().starts_with("application/x-www-form-urlencoded"), "{}", wire.content_type());
    let query = wire.query(Charset::Utf8);
    let form = wire.form(Charset::Utf8);
    let expected_root = format!(
        "{}_{}",
        oracle_for("root_rsa.pem")["sn"].as_str().unwrap(),
        oracle_for("root_rsa_sha1.pem")["sn"].as_str().unwrap()
    );
    let app_cert_sn = oracle_for("app_cert.pem")["sn"].as_str().unwrap().to_string();
    for (name, value) in [
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.query"),
        ("format", "JSON"),
        ("charset", "UTF-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2026-03-02 02:04:05"),
        ("version", "1.0"),
        ("app_cert_sn", app_cert_sn.as_str()),
        ("alipay_root_cert_sn", expected_root.as_str()),
    ] {
        assert_eq!(get(&query, name), Some(value), "query parameter {name}");
    }
    assert_eq!(get(&form, "biz_content"), Some(r#"{"out_trade_no":"o-1"}"#));
    assert_eq!(form.len(), 1, "only application parameters in the body: {form:?}");
    assert!(get(&query, "biz_content").is_none());

    let all: Vec<(String, String)> = query.iter().chain(form.iter()).cloned().collect();
    let content = wire_sign_content(&all);
    assert!(content.contains("app_cert_sn=") && content.contains("alipay_root_cert_sn="));
    assert!(openssl_verifies(&pki("ca/app_cert.pem"), content.as_bytes(), get(&query, "sign").unwrap()));
}

#[tokio::test]
async fn public_key_mode_sends_no_sns() {
    let server = CaptureServer::start(|_| {
        (200, signed_body("alipay.trade.query", &query_node("o-2"), None, &alipay_key()).into_bytes())
    })
    .await;
    let client = Client::new(public_key_config(&server.url).build().unwrap()).unwrap();
    let response = client.send(&TradeQuery::by_out_trade_no("o-2").to_request()).await.unwrap();
    assert!(response.node().contains("\"o-2\""));
    let wire = server.last();
    let query = wire.query(Charset::Utf8);
    assert!(get(&query, "app_cert_sn").is_none() && get(&query, "alipay_root_cert_sn").is_none());
    let all: Vec<(String, String)> = query.iter().chain(wire.form(Charset::Utf8).iter()).cloned().collect();
    assert!(openssl_verifies(
        &pki("keys/app_public.pem"),
        wire_sign_content(&all).as_bytes(),
        get(&query, "sign").unwrap()
    ));
}

#[tokio::test]
async fn gbk_both_ways() {
    // The server decodes the GBK request, checks the signature over GBK bytes, and answers in
    // GBK with a signature over the GBK bytes of its node.
    let server = CaptureServer::start(|captured| {
        let all: Vec<(String, String)> =
            captured.query(Charset::Gbk).into_iter().chain(captured.form(Charset::Gbk)).collect();
        let content = wire_sign_content(&all);
        let (gbk_content, _, _) = encoding_rs::GBK.encode(&content);
        let sign = get(&all, "sign").unwrap().to_string();
        assert!(openssl_verifies(&pki("ca/app_cert.pem"), &gbk_content, &sign), "request signature over GBK bytes");
        let node = r#"{"code":"10000","msg":"Success","out_trade_no":"gbk-1","qr_code":"https://qr.alipay.com/支付"}"#;
        let (gbk_node, _, _) = encoding_rs::GBK.encode(node);
        let sign = alipay_key().sign_raw(&gbk_node, alipay_sdk::key::SignType::Rsa2).unwrap();
        use base64::Engine as _;
        let sign = base64::engine::general_purpose::STANDARD.encode(sign);
        let mut body = b"{\"alipay_trade_precreate_response\":".to_vec();
        body.extend_from_slice(&gbk_node);
        body.extend_from_slice(format!(r#","alipay_cert_sn":"{}","sign":"{sign}"}}"#, alipay_cert_sn()).as_bytes());
        (200, body)
    })
    .await;
    let client = Client::new(cert_config(&server.url).charset(Charset::Gbk).build().unwrap()).unwrap();
    let order = TradePrecreate::new("gbk-1", "0.01".parse().unwrap(), "支付宝测试商品");
    let response = client.call(&order).await.unwrap();
    assert_eq!(response.qr_code, "https://qr.alipay.com/支付");
    let wire = server.last();
    // On the wire the subject is GBK percent-encoded: 支 = D6 A7.
    let body = String::from_utf8(wire.body.clone()).unwrap();
    assert!(body.contains("%D6%A7%B8%B6%B1%A6"), "{body}");
    assert_eq!(get(&wire.query(Charset::Gbk), "charset"), Some("GBK"));
    assert!(wire.content_type().contains("charset=gbk"));
}

#[tokio::test]
async fn gbk_rejects_text_it_cannot_carry() {
    let config = cert_config("http://127.0.0.1:9/gateway.do").charset(Charset::Gbk).build().unwrap();
    let error = config.sign_request(&Request::new("alipay.trade.query").biz_json(r#"{"subject":"😀"}"#)).unwrap_err();
    assert!(error.to_string().contains("GBK cannot encode"), "{error}");
}

#[tokio::test]
async fn aes_encrypts_the_request_and_decrypts_the_response() {
    let aes = alipay_sdk::aes::AesKey::from_base64("aGVsbG8gd29ybGQgMTIzNA==").unwrap();
    let server_aes = aes.clone();
    let server = CaptureServer::start(move |captured| {
        let form = captured.form(Charset::Utf8);
        let plain = server_aes.decrypt(get(&form, "biz_content").unwrap()).unwrap();
        assert_eq!(plain, br#"{"out_trade_no":"aes-1"}"#);
        let node = format!("\"{}\"", server_aes.encrypt(query_node("aes-1").as_bytes()).unwrap());
        (200, signed_body("alipay.trade.query", &node, Some(&alipay_cert_sn()), &alipay_key()).into_bytes())
    })
    .await;
    let client = Client::new(cert_config(&server.url).aes_key(aes).build().unwrap()).unwrap();
    let response = client.send(&TradeQuery::by_out_trade_no("aes-1").to_request().encrypt(true)).await.unwrap();
    assert_eq!(response.node(), query_node("aes-1"));
    let query = server.last().query(Charset::Utf8);
    assert_eq!(get(&query, "encrypt_type"), Some("AES"));
}

#[tokio::test]
async fn optional_and_extra_parameters_are_placed_and_signed() {
    let server = CaptureServer::start(|_| {
        (200, signed_body("alipay.trade.query", &query_node("x"), Some(&alipay_cert_sn()), &alipay_key()).into_bytes())
    })
    .await;
    let client = Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let request = Request::new("alipay.trade.query")
        .biz_json(r#"{"out_trade_no":"x"}"#)
        .notify_url("https://merchant.example/notify?a=1&b=2")
        .return_url("https://merchant.example/return")
        .app_auth_token("201510BBaabdb44d8fd04607abf8d5931ec75D84")
        .auth_token("kuaijieBb2")
        .system_param("prod_code", "CYCLE_PAY")
        .param("empty_value", "")
        .param("extra", "a b&c=d");
    client.send(&request).await.unwrap();
    let wire = server.last();
    let query = wire.query(Charset::Utf8);
    let form = wire.form(Charset::Utf8);
    assert_eq!(get(&query, "notify_url"), Some("https://merchant.example/notify?a=1&b=2"));
    assert_eq!(get(&query, "return_url"), Some("https://merchant.example/return"));
    assert_eq!(get(&query, "app_auth_token"), Some("201510BBaabdb44d8fd04607abf8d5931ec75D84"));
    assert_eq!(get(&query, "auth_token"), Some("kuaijieBb2"));
    assert_eq!(get(&query, "prod_code"), Some("CYCLE_PAY"));
    assert_eq!(get(&form, "extra"), Some("a b&c=d"));
    let all: Vec<(String, String)> = query.iter().chain(form.iter()).cloned().collect();
    let content = wire_sign_content(&all);
    assert!(!content.contains("empty_value"));
    assert!(content.contains("extra=a b&c=d"), "values are signed raw, not URL-encoded: {content}");
    assert!(openssl_verifies(&pki("ca/app_cert.pem"), content.as_bytes(), get(&query, "sign").unwrap()));

    let error = client.config().sign_request(&Request::new("m").param("sign_type", "RSA")).unwrap_err();
    assert!(matches!(error.kind(), alipay_sdk::request::RequestErrorKind::ReservedParameter { .. }), "{error}");
    let error = client.config().sign_request(&Request::new("m").param("x", "1").system_param("x", "2")).unwrap_err();
    assert!(matches!(error.kind(), alipay_sdk::request::RequestErrorKind::DuplicateParameter { .. }), "{error}");
    let error = client.config().sign_request(&Request::new("m").biz_json("[1]")).unwrap_err();
    assert!(error.to_string().contains("JSON object"), "{error}");
    let error = client.config().sign_request(&Request::new("m").biz_json(r#"{"a":1}"#).encrypt(true)).unwrap_err();
    assert!(matches!(error.kind(), alipay_sdk::request::RequestErrorKind::NoAesKey { .. }), "{error}");
}

#[tokio::test]
async fn multipart_upload_signs_text_parts_only() {
    let server = CaptureServer::start(|_| {
        let node = r#"{"code":"10000","msg":"Success","image_id":"img-1"}"#;
        (
            200,
            signed_body("alipay.offline.material.image.upload", node, Some(&alipay_cert_sn()), &alipay_key())
                .into_bytes(),
        )
    })
    .await;
    let client = Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let request = Request::new("alipay.offline.material.image.upload")
        .param("image_type", "png")
        .param("image_name", "logo")
        .file("image_content", "logo.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3]);
    let signed = client.config().sign_request(&request).unwrap();
    assert!(!signed.sign_content.contains("image_content"));
    assert!(signed.sign_content.contains("image_type=png"));
    client.send(&request).await.unwrap();
    let wire = server.last();
    assert!(wire.content_type().starts_with("multipart/form-data"), "{}", wire.content_type());
    let body = String::from_utf8_lossy(&wire.body);
    assert!(
        body.contains("name=\"image_content\"; filename=\"logo.png\"") && body.contains("name=\"image_type\""),
        "{body}"
    );
    // The text parts and the query carry exactly what was signed.
    let query = wire.query(Charset::Utf8);
    let mut all = query.clone();
    all.push(("image_type".into(), "png".into()));
    all.push(("image_name".into(), "logo".into()));
    assert!(openssl_verifies(
        &pki("ca/app_cert.pem"),
        wire_sign_content(&all).as_bytes(),
        get(&query, "sign").unwrap()
    ));
}

#[tokio::test]
async fn invalid_signature_answer_carries_our_sign_content() {
    let server = CaptureServer::start(|_| {
        let body = r#"{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}"#;
        (200, body.as_bytes().to_vec())
    })
    .await;
    let client = Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let error = client.call(&TradeQuery::by_out_trade_no("sig-1")).await.unwrap_err();
    let Some(unverified) = error.unverified() else { panic!("expected an unverified failure: {error:?}") };
    let content = unverified.request_sign_content.as_deref().unwrap();
    assert_eq!(unverified.request_sign_content_len, Some(content.len()), "UTF-8: bytes = text length");
    assert!(
        content.starts_with("alipay_root_cert_sn=") && content.contains("biz_content={\"out_trade_no\":\"sig-1\"}")
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("we signed {} bytes", content.len())) && message.contains("UNVERIFIED"),
        "{message}"
    );
    assert!(!message.contains("BEGIN") && !message.contains("PRIVATE"));
}

#[tokio::test]
async fn transport_failures_are_typed() {
    let server = CaptureServer::start(|_| (502, b"<html><body>Bad Gateway</body></html>".to_vec())).await;
    let client = Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let error = client.call(&TradeQuery::by_out_trade_no("t")).await.unwrap_err();
    assert!(error.kind() == ErrorKind::Status && error.status_code() == Some(502), "{error:?}");
    assert!(error.to_string().contains("Bad Gateway"));

    // Nothing listens on a freshly closed port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::new(cert_config(&format!("http://127.0.0.1:{port}/gateway.do")).build().unwrap()).unwrap();
    let error = client.call(&TradeQuery::by_out_trade_no("t")).await.unwrap_err();
    assert!(error.kind() == ErrorKind::Transport && !error.is_timeout(), "{error:?}");
    assert!(!error.to_string().contains("sign="), "the signed query stays out of messages: {error}");

    // A server that never answers in time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    });
    let config = cert_config(&url).build().unwrap();
    let client = Client::builder(config).timeout(std::time::Duration::from_millis(300)).build().unwrap();
    let error = client.call(&TradeQuery::by_out_trade_no("t")).await.unwrap_err();
    assert!(error.kind() == ErrorKind::Transport && error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn a_callers_reqwest_client_is_used_and_one_call_can_override_the_timeout() {
    // The caller's client adds a header (as a proxy setting or middleware would change the
    // exchange): the gateway sees it, so the SDK sent through that client.
    let key = alipay_key();
    let sn = alipay_cert_sn();
    let server = CaptureServer::start(move |request| {
        if request.uri.path() == "/slow/gateway.do" {
            std::thread::sleep(std::time::Duration::from_millis(700));
        }
        let node = r#"{"code":"10000","msg":"Success","out_trade_no":"t","trade_no":"1","trade_status":"WAIT_BUYER_PAY","total_amount":"1.00"}"#;
        (200, signed_body("alipay.trade.query", node, Some(&sn), &key).into_bytes())
    })
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-corporate-proxy", reqwest::header::HeaderValue::from_static("yes"));
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let client = Client::builder(cert_config(&server.url).build().unwrap()).http_client(http).build().unwrap();
    client.call(&TradeQuery::by_out_trade_no("t")).await.unwrap();
    assert_eq!(server.last().headers.get("x-corporate-proxy").unwrap(), "yes");

    // One slow call gets a shorter timeout than the client's default (15 s); the client
    // itself keeps its default.
    let slow_url = server.url.replace("/gateway.do", "/slow/gateway.do");
    let slow = Client::builder(cert_config(&slow_url).build().unwrap()).build().unwrap();
    let error = slow
        .with_timeout(std::time::Duration::from_millis(200))
        .call(&TradeQuery::by_out_trade_no("t"))
        .await
        .unwrap_err();
    assert!(error.kind() == ErrorKind::Transport && error.is_timeout(), "{error:?}");
    slow.call(&TradeQuery::by_out_trade_no("t")).await.unwrap();
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_client_has_the_same_calls() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(CaptureServer::start(|_| {
        (
            200,
            signed_body("alipay.trade.query", &query_node("b-1"), Some(&alipay_cert_sn()), &alipay_key()).into_bytes(),
        )
    }));
    let client = alipay_sdk::blocking::Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let trade = client.call(&TradeQuery::by_out_trade_no("b-1")).unwrap();
    assert_eq!(trade.out_trade_no, "b-1");
    let response = client.send(&TradeQuery::by_out_trade_no("b-1").to_request()).unwrap();
    assert_eq!(response.alipay_cert_sn(), Some(alipay_cert_sn().as_str()));
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_signature_length_is_counted_in_the_request_charset() {
    let server = CaptureServer::start(|_| {
        let body = r#"{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}"#;
        (200, body.as_bytes().to_vec())
    })
    .await;
    let client = Client::new(cert_config(&server.url).charset(Charset::Gbk).build().unwrap()).unwrap();
    let request = Request::new("alipay.trade.query").biz_json(r#"{"out_trade_no":"订单-1"}"#);
    let error = client.send(&request).await.unwrap_err();
    let Some(error) = error.unverified() else { panic!("expected unverified") };
    let content = error.request_sign_content.as_deref().unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode(content);
    assert_eq!(error.request_sign_content_len, Some(gbk.len()));
    assert_ne!(gbk.len(), content.len(), "CJK text: GBK and UTF-8 lengths differ");
    assert!(error.to_string().contains(&format!("we signed {} bytes", gbk.len())));
}

#[tokio::test]
async fn multipart_text_parts_are_in_the_request_charset_and_files_carry_a_content_type() {
    let server = CaptureServer::start(|_| (502, b"stop here".to_vec())).await;
    let config = cert_config(&server.url).charset(Charset::Gbk).build().unwrap();
    let request = Request::new("alipay.offline.material.image.upload")
        .param("image_name", "门店照片")
        .file("image_content", "shop.PNG", vec![0x89, b'P', b'N', b'G'])
        .file_with_type("doc", "notes", "text/markdown", b"# hi".to_vec());
    let signed = config.sign_request(&request).unwrap();
    let _ = Client::new(config).unwrap().send(&request).await;
    let captured = server.last();
    let content_type = captured.content_type();
    let boundary = content_type.split("boundary=").nth(1).expect("a multipart boundary");
    let body = captured.body;
    let marker = format!("--{boundary}");
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut rest = body.as_slice();
    while let Some(at) = rest.windows(marker.len()).position(|w| w == marker.as_bytes()) {
        if at > 0 {
            parts.push(&rest[..at]);
        }
        rest = &rest[at + marker.len()..];
    }
    let find = |needle: &str| {
        parts
            .iter()
            .find(|p| p.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .copied()
            .unwrap_or_else(|| panic!("{needle}"))
    };
    // The text part carries exactly the GBK bytes that were signed.
    let (gbk, _, _) = encoding_rs::GBK.encode("门店照片");
    let text = find("name=\"image_name\"");
    assert!(text.windows(gbk.len()).any(|w| w == gbk.as_ref()), "GBK bytes in the text part");
    let sign_content = encoding_rs::GBK.encode(&signed.sign_content).0;
    assert!(signed.sign_content.contains("image_name=门店照片"));
    assert!(openssl_verifies(&pki("keys/app_public.pem"), &sign_content, signed.sign()));
    // File parts: guessed from the extension, or as given.
    assert!(String::from_utf8_lossy(find("name=\"image_content\"")).contains("Content-Type: image/png"));
    assert!(String::from_utf8_lossy(find("name=\"doc\"")).contains("Content-Type: text/markdown"));
}

#[tokio::test]
async fn typed_calls_take_the_same_per_request_options_as_raw_ones() {
    let key = alipay_key();
    let sn = alipay_cert_sn();
    let server = CaptureServer::start(move |_| {
        let node = r#"{"code":"10000","msg":"Success","out_trade_no":"opt-1","qr_code":"https://qr.example/x"}"#;
        (200, signed_body("alipay.trade.precreate", node, Some(&sn), &key).into_bytes())
    })
    .await;
    let client = Client::new(cert_config(&server.url).build().unwrap()).unwrap();
    let order = TradePrecreate::new("opt-1", "1.00".parse().unwrap(), "Tea");
    let created = client
        .call_with(&order, |request| {
            request
                .notify_url("https://shop.example/notify")
                .return_url("https://shop.example/return")
                .app_auth_token("app-token")
                .auth_token("user-token")
                .param("extend_param", "x")
        })
        .await
        .unwrap();
    assert_eq!(created.qr_code, "https://qr.example/x");
    let captured = server.last();
    let sent: Vec<(String, String)> =
        captured.query(Charset::Utf8).into_iter().chain(captured.form(Charset::Utf8)).collect();
    for (name, value) in [
        ("notify_url", "https://shop.example/notify"),
        ("return_url", "https://shop.example/return"),
        ("app_auth_token", "app-token"),
        ("auth_token", "user-token"),
        ("extend_param", "x"),
    ] {
        assert!(sent.iter().any(|(k, v)| k == name && v == value), "{name} sent: {sent:?}");
    }
    assert!(sent.iter().any(|(k, v)| k == "biz_content" && v.contains("opt-1")), "the typed biz_content is kept");
}
