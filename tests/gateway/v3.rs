//! OpenAPI v3: our client against the sandbox's v3 side (both modes, the shared ledger,
//! Alipay's refusals, forged answers, rotation), our requests checked by the `openssl`
//! command line, and the official Node SDK's `curl()` against the sandbox.

use std::sync::Arc;

use crate::common::{node, wire};
use alipay_sandbox::{AppMode, Fault, FaultRule, Sandbox, SandboxHandle};
use alipay_sdk::flow::{HttpResponse, Method, Step, TransportError};
use alipay_sdk::model::trade::*;
use alipay_sdk::v3::{V3ErrorKind, V3Request};
use alipay_sdk::{Client, Config, Error, ErrorKind};
use serde_json::json;

fn amount(text: &str) -> alipay_sdk::model::Amount {
    text.parse().unwrap()
}

fn v3_code(error: &Error) -> (u16, String, bool) {
    match error.v3_failure() {
        Some(failure) => (failure.status, failure.code.clone(), failure.signed),
        None => panic!("expected a v3 error answer, got {error:?}"),
    }
}

/// A clock `offset` away from the real one.
#[derive(Debug)]
struct Offset(chrono::Duration);

impl alipay_sdk::config::Clock for Offset {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.0
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trade_made_over_v3_is_the_gateways_trade_and_back() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let created =
        client.call_v3(&TradePrecreate::new("v3-1", amount("12.34"), "v3 order")).await.expect("precreate over v3");
    assert_eq!(created.out_trade_no, "v3-1");
    assert!(created.qr_code.starts_with("https://"), "{created:?}");
    // The gateway sees it, and a v3 query sees the payment made through the sandbox.
    let over_gateway = client.call(&TradeQuery::by_out_trade_no("v3-1")).await.unwrap();
    assert_eq!(over_gateway.trade_status, TradeStatus::WaitBuyerPay);
    sandbox.buyer_pays("v3-1").unwrap();
    let queried = client.call_v3(&TradeQuery::by_out_trade_no("v3-1")).await.unwrap().into_inner();
    assert_eq!((queried.trade_status, queried.total_amount), (TradeStatus::TradeSuccess, amount("12.34")));
    let refunded =
        client.call_v3(&TradeRefund::new(TradeRef::out_trade_no("v3-1"), amount("2.34"), "r-1")).await.unwrap();
    assert_eq!(refunded.refund_fee, amount("2.34"));
    // Made over the gateway, closed over v3.
    client.call(&TradePrecreate::new("v3-2", amount("1.00"), "gateway order")).await.unwrap();
    client.call_v3(&TradeClose { trade: TradeRef::out_trade_no("v3-2"), operator_id: None }).await.unwrap();
    assert_eq!(sandbox.trade_status("v3-2"), Some(TradeStatus::TradeClosed));
    // A business failure is a signed, typed v3 error answer.
    let missing = client.call_v3(&TradeQuery::by_out_trade_no("nope")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Business);
    assert_eq!(v3_code(&missing), (400, "ACQ.TRADE_NOT_EXIST".into(), true));
    assert!(missing.trace_id().is_some(), "alipay-trace-id is kept: {missing:?}");
    // Raw requests: path parameters and a query are filled, encoded and signed as sent.
    let raw =
        V3Request::post("/v3/alipay/trade/{what}").path_param("what", "query").body(&json!({"out_trade_no": "v3-1"}));
    let answer = client.send_v3(&raw).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.alipay_sn(), Some(sandbox.info().alipay_cert_sn.as_str()));
    assert!(answer.text().unwrap().contains("\"trade_status\":\"TRADE_SUCCESS\""), "{}", answer.text().unwrap());
    assert!(
        !answer.text().unwrap().contains("\"code\""),
        "v3 answers are the bare business JSON: {}",
        answer.text().unwrap()
    );
}

#[cfg(feature = "blocking")]
#[tokio::test(flavor = "multi_thread")]
async fn encrypted_bodies_and_the_blocking_client() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = sandbox.client_config().aes_key(sandbox.aes_key()).build().unwrap();
    let blocking = std::thread::spawn(move || {
        let client = alipay_sdk::blocking::Client::new(config).unwrap();
        client.call_v3(&TradePrecreate::new("v3-enc", amount("3.00"), "encrypted")).unwrap();
        let request = V3Request::for_api("alipay.trade.query").body(&json!({"out_trade_no": "v3-enc"})).encrypt(true);
        let signed = client.config().sign_v3(&request).unwrap();
        assert!(!signed.body().contains("v3-enc"), "the ciphertext is sent and signed");
        assert!(signed.sign_content().contains(signed.body()));
        client.send_v3(&request).unwrap()
    });
    let answer = tokio::task::spawn_blocking(move || blocking.join().unwrap()).await.unwrap();
    assert!(
        answer.text().unwrap().contains("\"out_trade_no\":\"v3-enc\""),
        "decrypted after verifying: {}",
        answer.text().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_signs_the_data_part_and_every_request_has_its_own_nonce() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call_v3(&TradePrecreate::new("mp-1", amount("1.00"), "multipart")).await.unwrap();
    let upload = V3Request::for_api("alipay.trade.query").body(&json!({"out_trade_no": "mp-1"})).file(
        "image_content",
        "receipt.png",
        vec![0x89, b'P', b'N', b'G', 0, 1, 2],
    );
    let signed = client.config().sign_v3(&upload).unwrap();
    assert!(signed.sign_content().ends_with("\n{\"out_trade_no\":\"mp-1\"}\n"), "only the data part is signed");
    let http = signed.http_request("http://x").unwrap();
    assert!(http.content_type.starts_with("multipart/form-data; boundary="));
    let answer = client.send_v3(&upload).await.expect("the sandbox verifies the data part");
    assert!(answer.text().unwrap().contains("mp-1"));
    let nonce = |s: &alipay_sdk::v3::SignedV3Request| {
        s.authorization().split(',').find_map(|p| p.strip_prefix("nonce=")).unwrap().to_string()
    };
    let again = client.config().sign_v3(&upload).unwrap();
    assert_ne!(nonce(&signed), nonce(&again));
    // An encrypted upload: the data part is the ciphertext, sent as text/plain and signed as
    // sent; the sandbox decrypts it and the answer is decrypted after it is verified.
    let encrypted = upload.clone().encrypt(true);
    let client = Client::new(sandbox.client_config().aes_key(sandbox.aes_key()).build().unwrap()).unwrap();
    let signed = client.config().sign_v3(&encrypted).unwrap();
    assert!(!signed.body().contains("mp-1"), "the ciphertext is sent");
    assert!(signed.sign_content().ends_with(&format!("\n{}\n", signed.body())), "the ciphertext is signed");
    let http = signed.http_request("http://x").unwrap();
    let body = String::from_utf8_lossy(&http.body).into_owned();
    let data_part = body.split("name=\"data\"").nth(1).unwrap();
    assert!(data_part.starts_with("\r\nContent-Type: text/plain\r\n\r\n"), "{data_part:.80}");
    assert!(data_part.contains(signed.body()));
    let plain = client.config().aes_key().unwrap().decrypt(signed.body()).unwrap();
    assert_eq!(plain, br#"{"out_trade_no":"mp-1"}"#);
    let answer = client.send_v3(&encrypted).await.expect("the sandbox decrypts the data part");
    assert!(answer.text().unwrap().contains("mp-1"));
    // A header the SDK owns, a placeholder without a value: refused before anything is sent.
    for bad in [
        V3Request::post("/v3/x").header("Authorization", "mine"),
        V3Request::post("/v3/{id}"),
        V3Request::post("/v3/x").path_param("id", "1"),
        V3Request::post("/v3/a b"),
        V3Request::post("/v3/x?already=query"),
    ] {
        let error = client.send_v3(&bad).await.unwrap_err();
        assert_eq!((error.kind(), error.outcome()), (ErrorKind::Request, alipay_sdk::Outcome::NotSent), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn public_key_mode_sends_no_certificate_serials() {
    let sandbox = Sandbox::builder().mode(AppMode::PublicKey).start().await.unwrap();
    let config = sandbox.client_config().build().unwrap();
    let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query").body(&json!({}))).unwrap();
    assert!(!signed.authorization().contains("app_cert_sn"), "{}", signed.authorization());
    assert!(signed.headers().iter().all(|(k, _)| k != "alipay-root-cert-sn"));
    let client = Client::new(config).unwrap();
    client.call_v3(&TradePrecreate::new("pk-1", amount("1.00"), "public key")).await.unwrap();
    let queried = client.call_v3(&TradeQuery::by_out_trade_no("pk-1")).await.unwrap();
    assert_eq!(queried.out_trade_no, "pk-1");
}

/// Drives a v3 call, letting `tamper` change the HTTP request before it is sent.
async fn send_tampered(
    config: &Config,
    request: &V3Request,
    tamper: impl Fn(&mut alipay_sdk::flow::HttpRequest),
) -> Result<alipay_sdk::v3::V3Response, Error> {
    let mut call = config.start_v3(request)?;
    let mut step = call.start();
    loop {
        step = match step {
            Step::Send(mut http) => {
                tamper(&mut http);
                let client = reqwest::Client::new();
                let method = reqwest::Method::from_bytes(http.method.as_str().as_bytes()).unwrap();
                let mut sent = client.request(method, &http.url).header("content-type", &http.content_type);
                for (name, value) in &http.headers {
                    sent = sent.header(name, value);
                }
                let response = sent.body(http.body).send().await.map_err(TransportError::new);
                let answer = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers: Vec<(String, String)> = response
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                            .collect();
                        let body = response.bytes().await.unwrap().to_vec();
                        Ok(headers.iter().fold(HttpResponse::new(status, body), |a, (k, v)| a.header(k, v)))
                    }
                    Err(e) => Err(e),
                };
                call.receive(answer)
            }
            Step::Sign(job) => call.signed(job.sign().await),
            Step::AwaitTurn(turn) => call.resume(turn.wait().await),
            Step::Done(result) => return result,
        };
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_what_alipay_refuses() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = sandbox.client_config().build().unwrap();
    let query = V3Request::for_api("alipay.trade.query").body(&json!({"out_trade_no": "x"}));
    let header = |http: &mut alipay_sdk::flow::HttpRequest, name: &str| {
        http.headers.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v).unwrap().clone()
    };

    let flipped = send_tampered(&config, &query, |http| http.body = br#"{"out_trade_no":"y"}"#.to_vec()).await;
    assert_eq!(v3_code(&flipped.unwrap_err()), (401, "invalid-signature".into(), true));

    let other_sn = send_tampered(&config, &query, |http| {
        let auth = header(http, "authorization");
        let sn = sandbox.info().app_cert_sn;
        let changed = auth.replace(&sn, "00000000000000000000000000000000");
        http.headers.retain(|(k, _)| k != "authorization");
        http.headers.push(("authorization".into(), changed));
    })
    .await;
    assert_eq!(v3_code(&other_sn.unwrap_err()), (401, "invalid-app-cert-sn".into(), true));

    let no_root = send_tampered(&config, &query, |http| http.headers.retain(|(k, _)| k != "alipay-root-cert-sn")).await;
    assert_eq!(v3_code(&no_root.unwrap_err()), (400, "missing-alipay-root-cert-sn".into(), true));

    let stale = sandbox.client_config().clock(Arc::new(Offset(chrono::Duration::minutes(-20)))).build().unwrap();
    let error = Client::new(stale).unwrap().send_v3(&query).await.unwrap_err();
    // The gateway's word is shown, but its signed answer is 20 minutes from this host's clock:
    // outside the answer window it is not taken as Alipay's (a replayed failure could be).
    assert_eq!(v3_code(&error), (401, "invalid-timestamp".into(), false));
    assert_eq!(error.outcome(), alipay_sdk::Outcome::Unknown);
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_or_forged_answers_never_pass() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call_v3(&TradePrecreate::new("f-1", amount("1.00"), "faults")).await.unwrap();
    let query = TradeQuery::by_out_trade_no("f-1");
    let set = |fault| sandbox.set_faults("alipay.trade.query", vec![FaultRule::times(fault, 1)]);

    set(Fault::Unsigned);
    let error = client.call_v3(&query).await.unwrap_err();
    assert!(matches!(error.v3().map(|e| e.kind()), Some(V3ErrorKind::Unsigned { status: 200 })), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Response);

    set(Fault::WrongKeySignature);
    let error = client.call_v3(&query).await.unwrap_err();
    assert!(matches!(error.v3().map(|e| e.kind()), Some(V3ErrorKind::InvalidSignature { .. })), "{error:?}");

    // An unsigned error answer is reported, flagged as not from Alipay.
    set(Fault::UnsignedErrorResponse);
    let error = client.call_v3(&TradeQuery::by_out_trade_no("nope")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unverified);
    assert_eq!(v3_code(&error), (400, "ACQ.TRADE_NOT_EXIST".into(), false));
    assert!(error.to_string().contains("unsigned"), "{error}");

    // Rotation: the next answer names a new certificate, which is fetched, checked and used.
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    let answer =
        client.send_v3(&V3Request::for_api("alipay.trade.query").body(&json!({"out_trade_no": "f-1"}))).await.unwrap();
    assert_eq!(answer.alipay_sn(), Some(new_sn.as_str()));
    assert_eq!(sandbox.request_count("alipay.open.app.alipaycert.download"), 1);
}

#[test]
fn a_signature_with_whitespace_verifies_as_the_peers_do() {
    // The answers below are stamped 1700000000000 ms: the clock says the same.
    let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
    let config =
        wire::cert_config("http://127.0.0.1:9/gateway.do").clock(Arc::new(wire::FixedClock(at))).build().unwrap();
    let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query").body(&json!({}))).unwrap();
    let body = br#"{"out_trade_no":"w"}"#.to_vec();
    let content = alipay_sdk::primitives::v3::answer_sign_content("1700000000000", "n-1", &body);
    let signature = wire::alipay_key().sign(&content, alipay_sdk::key::SignType::Rsa2).unwrap();
    let wrapped: String =
        signature.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n ");
    let answer = |signature: &str| {
        HttpResponse::new(200, body.clone())
            .header("alipay-timestamp", "1700000000000")
            .header("alipay-nonce", "n-1")
            .header("alipay-signature", signature)
            .header("alipay-sn", &wire::alipay_cert_sn())
    };
    assert!(config.verify_v3(&signed, &answer(&wrapped)).is_ok());
    // The same signature over other bytes, or an unsigned empty 2xx, never passes.
    let mut other = answer(&signature);
    other.body = br#"{"out_trade_no":"x"}"#.to_vec();
    assert!(config.verify_v3(&signed, &other).is_err());
    let empty = config.verify_v3(&signed, &HttpResponse::new(204, Vec::new())).unwrap_err();
    assert!(matches!(empty.kind(), V3ErrorKind::Unsigned { status: 204 }));
}

#[test]
fn an_echoed_app_auth_token_never_reaches_an_error_message() {
    let config = wire::cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let token = "202611BB0123456789abcdef0123456789abcd";
    let signed = config.sign_v3(&V3Request::for_api("alipay.trade.query").app_auth_token(token)).unwrap();
    assert!(!format!("{signed:?}").contains(token));
    assert!(!signed.redacted_sign_content().contains(token));
    let echoed = json!({"code": "invalid-signature", "message": format!("验签字符串为：{}", signed.sign_content())});
    let answer = HttpResponse::new(401, echoed.to_string().into_bytes());
    let error = alipay_sdk::Error::from(config.verify_v3(&signed, &answer).unwrap_err());
    assert_eq!(error.kind(), ErrorKind::Unverified);
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(token), "{shown}");
        assert!(shown.contains("invalid-signature"), "{shown}");
    }
}

/// Rebuilds the signed content from the HTTP request alone (not from our signing code) and
/// checks the signature with `openssl dgst -sha256 -verify` and the app's public key.
fn openssl_accepts(http: &alipay_sdk::flow::HttpRequest, app_public_pem: &std::path::Path) -> bool {
    let header = |name: &str| http.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let authorization = header("authorization").unwrap();
    let rest = authorization.strip_prefix("ALIPAY-SHA256withRSA ").unwrap();
    let (auth_string, sign) = rest.rsplit_once(",sign=").unwrap();
    let url = url::Url::parse(&http.url).unwrap();
    let uri = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let mut content = format!("{auth_string}\n{}\n{uri}\n{}\n", http.method, String::from_utf8_lossy(&http.body));
    if let Some(token) = header("alipay-app-auth-token") {
        content.push_str(&format!("{token}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("content"), content).unwrap();
    use base64::Engine as _;
    std::fs::write(dir.path().join("sig"), base64::engine::general_purpose::STANDARD.decode(sign).unwrap()).unwrap();
    std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(app_public_pem)
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("content"))
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn openssl_verifies_our_requests() {
    let config = wire::cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    let app_public = tempfile::NamedTempFile::new().unwrap();
    let key = alipay_sdk::key::PrivateKey::from_path(crate::common::pki("keys/app_pkcs8.pem")).unwrap();
    std::fs::write(app_public.path(), key.public_key().to_pem()).unwrap();
    let requests = [
        V3Request::post("/v3/alipay/trade/query").body(&json!({"out_trade_no": "中文 1"})),
        V3Request::get("/v3/alipay/user/{id}/info")
            .path_param("id", "a b/c")
            .query("q", "x y&z=1")
            .app_auth_token("tok"),
        V3Request::new(Method::Delete, "/v3/x"),
    ];
    for request in &requests {
        let mut call = config.start_v3(request).unwrap();
        let Step::Send(http) = call.start() else { panic!("a request to send") };
        assert!(openssl_accepts(&http, app_public.path()), "{request:?}");
        let mut tampered = http.clone();
        tampered.url.push_str(if tampered.url.contains('?') { "&a=1" } else { "?a=1" });
        assert!(!openssl_accepts(&tampered, app_public.path()), "the check itself can fail");
    }
    let Step::Send(http) = config.start_v3(&requests[1]).unwrap().start() else { panic!() };
    assert!(http.url.ends_with("/v3/alipay/user/a%20b%2Fc/info?q=x%20y%26z%3D1"), "{}", http.url);
    assert!(http.headers.iter().any(|(k, v)| k == "alipay-app-auth-token" && v == "tok"));
    assert!(http.headers.iter().any(|(k, _)| k == "alipay-root-cert-sn"));
}

const CURL: &str = r#"
const { AlipaySdk } = require('alipay-sdk');
const fs = require('fs');
const c = JSON.parse(process.argv[2]);
(async () => {
  const sdk = new AlipaySdk({
    appId: c.appId,
    privateKey: fs.readFileSync(c.privateKey, 'ascii'),
    keyType: 'PKCS8',
    alipayRootCertPath: c.root,
    appCertPath: c.appCert,
    alipayPublicCertPath: c.alipayCert,
    endpoint: c.endpoint,
    timeout: 10000,
  });
  const out = {};
  try {
    const r = await sdk.curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: c.out } });
    out.ok = { status: r.responseHttpStatus, data: r.data, traceId: r.traceId };
  } catch (e) { out.okError = String(e && e.message); }
  try {
    await sdk.curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: 'missing' } });
  } catch (e) { out.failure = { code: e.code, status: e.responseHttpStatus }; }
  console.log(JSON.stringify(out));
})();
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_node_sdks_curl_talks_to_the_sandboxs_v3_side() {
    let sandbox: SandboxHandle = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("node-v3", amount("8.88"), "Node v3")).await.unwrap();
    sandbox.buyer_pays("node-v3").unwrap();
    let info = sandbox.info();
    let input = json!({
        "appId": info.app_id,
        "privateKey": info.app_private_key,
        "appCert": info.app_cert,
        "alipayCert": info.alipay_cert,
        "root": info.alipay_root_cert,
        "endpoint": format!("http://{}", info.address),
        "out": "node-v3",
    });
    let result = tokio::task::spawn_blocking(move || node::run(CURL, &input, "UTC0")).await.unwrap();
    // Node verified the answer's signature (curl() throws otherwise) and read the trade.
    assert_eq!(result["ok"]["status"], 200, "{result}");
    assert_eq!(result["ok"]["data"]["trade_status"], "TRADE_SUCCESS", "{result}");
    assert_eq!(result["ok"]["data"]["total_amount"], "8.88", "{result}");
    assert!(result["ok"]["traceId"].as_str().is_some_and(|t| t.len() == 30), "{result}");
    assert_eq!(result["failure"], json!({"code": "ACQ.TRADE_NOT_EXIST", "status": 400}), "{result}");
    assert_eq!(sandbox.request_count("v3 alipay.trade.query"), 2);
}
