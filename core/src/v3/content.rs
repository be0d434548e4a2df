//! OpenAPI v3's text formats: auth strings, the `Authorization` header, request and answer
//! sign contents. Public through [`crate::primitives::v3`].

/// The content an answer's signature covers: `timestamp\nnonce\nbody\n`.
pub fn answer_sign_content(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for piece in [timestamp.as_bytes(), b"\n", nonce.as_bytes(), b"\n", body, b"\n"] {
        content.extend_from_slice(piece);
    }
    content
}

/// The auth string: `app_id=…[,app_cert_sn=…],nonce=…,timestamp=…` (certificate mode adds
/// `app_cert_sn`; the timestamp is in milliseconds).
pub fn auth_string(app_id: &str, app_cert_sn: Option<&str>, nonce: &str, timestamp_ms: i64) -> String {
    let mut auth = format!("app_id={app_id}");
    if let Some(sn) = app_cert_sn {
        auth.push_str(",app_cert_sn=");
        auth.push_str(sn);
    }
    auth.push_str(&format!(",nonce={nonce},timestamp={timestamp_ms}"));
    auth
}

/// The `Authorization` header value for an auth string and its base64 signature.
pub fn authorization(auth_string: &str, signature: &str) -> String {
    format!("ALIPAY-SHA256withRSA {auth_string},sign={signature}")
}

/// The content a request's signature covers: `authString\nMETHOD\nURI\nBODY\n`, then
/// `app_auth_token\n` when one is sent.
pub fn request_sign_content(
    auth_string: &str,
    method: crate::wire::Method,
    uri: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> String {
    let mut content = format!("{auth_string}\n{method}\n{uri}\n{body}\n");
    if let Some(token) = app_auth_token {
        content.push_str(token);
        content.push('\n');
    }
    content
}
