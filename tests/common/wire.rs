//! A loopback HTTP server that records what reached the wire and answers as told, plus
//! helpers that play Alipay's side (signing responses with the test PKI's Alipay key).

use std::sync::{Arc, Mutex};

use alipay_sdk::cert::CertificateChain;
use alipay_sdk::charset::Charset;
use alipay_sdk::config::{CertificateMode, Clock, Config, ConfigBuilder, PublicKeyMode};
use alipay_sdk::key::{PrivateKey, SignType};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use chrono::{DateTime, Utc};

use super::pki;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Captured {
    /// Query parameters, decoded as `charset`.
    pub(crate) fn query(&self, charset: Charset) -> Vec<(String, String)> {
        decode_form(self.uri.query().unwrap_or("").as_bytes(), charset)
    }

    /// Form-body parameters, decoded as `charset`.
    pub(crate) fn form(&self, charset: Charset) -> Vec<(String, String)> {
        decode_form(&self.body, charset)
    }

    pub(crate) fn content_type(&self) -> String {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

/// Decodes `a=b&c=d` where the percent-encoded bytes are in `charset` (written independently
/// of the SDK's encoder).
pub(crate) fn decode_form(bytes: &[u8], charset: Charset) -> Vec<(String, String)> {
    let decode = |part: &[u8]| -> String {
        let mut raw = Vec::new();
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => raw.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&part[i + 1..i + 3]).unwrap();
                    raw.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => raw.push(other),
            }
            i += 1;
        }
        match charset {
            Charset::Utf8 => String::from_utf8(raw).unwrap(),
            Charset::Gbk => encoding_rs::GBK.decode_without_bom_handling(&raw).0.into_owned(),
            Charset::Gb18030 => encoding_rs::GB18030.decode_without_bom_handling(&raw).0.into_owned(),
            other => panic!("no decoder for {other} in the tests"),
        }
    };
    bytes
        .split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            (decode(it.next().unwrap()), decode(it.next().unwrap_or(b"")))
        })
        .collect()
}

type Responder = dyn Fn(&Captured) -> (u16, Vec<u8>) + Send + Sync;

/// A running capture server.
pub(crate) struct CaptureServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Captured>>>,
}

impl CaptureServer {
    /// Starts a server on a free loopback port (call inside a tokio runtime).
    pub(crate) async fn start(
        responder: impl Fn(&Captured) -> (u16, Vec<u8>) + Send + Sync + 'static,
    ) -> CaptureServer {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Responder> = Arc::new(responder);
        let log = requests.clone();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let responder = responder.clone();
            async move {
                let captured = Captured { method, uri, headers, body: body.to_vec() };
                let (status, answer) = responder(&captured);
                log.lock().unwrap().push(captured);
                (axum::http::StatusCode::from_u16(status).unwrap(), answer)
            }
        };
        let app = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CaptureServer { url, requests }
    }

    pub(crate) fn last(&self) -> Captured {
        self.requests.lock().unwrap().last().cloned().expect("a request reached the server")
    }
}

/// The real clock plus an offset the test moves (to make "today" yesterday).
#[derive(Debug, Default)]
pub(crate) struct ShiftedClock(std::sync::Mutex<chrono::Duration>);

impl ShiftedClock {
    /// Moves the clock `by` further.
    pub(crate) fn shift(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }
}

/// A sandbox on a [`ShiftedClock`], its timestamp window wide enough for clients on the real
/// clock once the test moves it on a day (a day's bill exists once the day is over).
pub(crate) async fn sandbox_with_movable_clock() -> (alipay_sandbox::SandboxHandle, Arc<ShiftedClock>) {
    let clock = Arc::new(ShiftedClock::default());
    let sandbox = alipay_sandbox::Sandbox::builder()
        .clock(clock.clone())
        .timestamp_window(std::time::Duration::from_secs(3 * 86_400))
        .start()
        .await
        .unwrap();
    (sandbox, clock)
}

/// A clock stopped at one instant.
#[derive(Debug)]
pub(crate) struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Certificate mode with the project's test PKI.
pub(crate) fn cert_config(gateway: &str) -> ConfigBuilder<CertificateMode> {
    Config::builder("2021000000000001")
        .gateway(gateway)
        .app_private_key_file(pki("keys/app_pkcs8.pem"))
        .app_cert_file(pki("ca/app_cert.pem"))
        .alipay_cert_file(pki("ca/alipay_cert.pem"))
        .alipay_root_cert_file(pki("ca/root_bundle.pem"))
}

/// Public-key mode with the project's test PKI.
pub(crate) fn public_key_config(gateway: &str) -> ConfigBuilder<PublicKeyMode> {
    Config::builder("2021000000000001")
        .gateway(gateway)
        .app_private_key_file(pki("keys/app_pkcs1.pem"))
        .alipay_public_key_file(pki("ca/alipay_public.pem"))
}

/// Alipay's private key in the test PKI.
pub(crate) fn alipay_key() -> PrivateKey {
    PrivateKey::from_path(pki("ca/alipay.key")).unwrap()
}

pub(crate) fn alipay_cert_sn() -> String {
    CertificateChain::from_path(pki("ca/alipay_cert.pem")).unwrap().sn().to_string()
}

/// A response body as Alipay builds it: the node's exact text signed, then
/// `{"<node>":<node>,"alipay_cert_sn":"…","sign":"…"}` (cert SN left out when `None`).
pub(crate) fn signed_body(method: &str, node: &str, cert_sn: Option<&str>, key: &PrivateKey) -> String {
    let sign = key.sign(node.as_bytes(), SignType::Rsa2).unwrap();
    let name = format!("{}_response", method.replace('.', "_"));
    match cert_sn {
        Some(sn) => format!(r#"{{"{name}":{node},"alipay_cert_sn":"{sn}","sign":"{sign}"}}"#),
        None => format!(r#"{{"{name}":{node},"sign":"{sign}"}}"#),
    }
}

/// Checks a signature with the openssl crate directly (not the SDK's verifier).
pub(crate) fn openssl_verifies(cert_or_key_pem: &std::path::Path, content: &[u8], signature_b64: &str) -> bool {
    use base64::Engine as _;
    let pem = std::fs::read(cert_or_key_pem).unwrap();
    let key = match openssl::x509::X509::from_pem(&pem) {
        Ok(cert) => cert.public_key().unwrap(),
        Err(_) => openssl::pkey::PKey::public_key_from_pem(&pem).unwrap(),
    };
    let signature = base64::engine::general_purpose::STANDARD.decode(signature_b64).unwrap();
    let mut verifier = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    verifier.verify_oneshot(&signature, content).unwrap()
}
