//! The protocol's building blocks, public for code that reproduces or plays Alipay's side:
//! tools that explain a signature (the `alipay` CLI prints sign contents), servers that answer
//! as Alipay does (the `alipay-sandbox` gateway signs notifications and answers with these),
//! and tests. Calling Alipay needs none of it: [`crate::Config`] and [`crate::flow`] use them
//! inside.
//!
//! Each function is exactly what the SDK itself signs and checks, so a sign content printed
//! here is the one the SDK signed.

/// The gateway protocol: request sign contents, form encoding, timestamps, response nodes
/// ([protocol](crate::protocol#signing-a-request)).
pub mod gateway {
    use chrono::{DateTime, FixedOffset, Utc};

    use crate::charset::{Charset, CharsetError};
    use crate::request::{is_java_blank, sorted_content};

    pub use crate::response::scan::{Member, ScanError, decode_string, find_member, top_level_members};

    /// `name=value&…` with names and values form-encoded in `charset` (`+` for spaces), as sent
    /// in the query string and the form body.
    pub fn encode_pairs<'a>(
        pairs: impl Iterator<Item = &'a (String, String)>,
        charset: Charset,
    ) -> Result<String, CharsetError> {
        let mut out = String::new();
        for (name, value) in pairs {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&charset.form_encode(name, name)?);
            out.push('=');
            out.push_str(&charset.form_encode(value, name)?);
        }
        Ok(out)
    }

    /// The sign content of request parameters ([protocol](crate::protocol#signing-a-request)): `sign` and empty values dropped,
    /// sorted by key in byte order, `key=value` joined with `&`, no URL-encoding.
    pub fn sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        sorted_content(params.into_iter().filter(|(k, v)| *k != "sign" && !is_java_blank(v)).collect())
    }

    /// The `timestamp` parameter: `yyyy-MM-dd HH:mm:ss` in UTC+8, whatever the host's time zone.
    pub fn format_timestamp(at: DateTime<Utc>) -> String {
        let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        at.with_timezone(&china).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// `alipay.trade.query` → `alipay_trade_query_response`.
    pub fn node_name(method: &str) -> String {
        format!("{}_response", method.replace('.', "_"))
    }
}

/// Notifications and Alipay's calls: what their signatures cover, and signing one as Alipay
/// does ([protocol](crate::protocol#notifications)).
pub mod notification {
    use crate::charset::Charset;
    use crate::key::{KeyError, PrivateKey, SignType};
    use crate::notify::{NotifyError, Rule};

    /// The content a notification's signature covers: `sign` (and for V1 `sign_type`) left out,
    /// empty values kept, sorted by key, `k=v` joined with `&`.
    pub fn sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, rule: Rule) -> String {
        crate::notify::content(params, rule, |_| true)
    }

    /// The content Alipay's current Java SDKs check (`getSignCheckContentV1/V2`): like
    /// [`sign_content`], but parameters with an empty or blank value (Java's
    /// [`is_java_blank`](crate::request::is_java_blank)) are left out.
    pub fn java_sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, rule: Rule) -> String {
        crate::notify::content(params, rule, |value| !crate::request::is_java_blank(value))
    }

    /// Signs form parameters as Alipay does for notifications (used by the sandbox and tests) and
    /// returns the base64 signature.
    pub fn sign_params(
        params: &[(String, String)],
        rule: Rule,
        key: &PrivateKey,
        sign_type: SignType,
        charset: Charset,
    ) -> Result<String, KeyError> {
        let content = sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())), rule);
        let bytes = charset.encode(&content, "notification")?;
        key.sign(&bytes, sign_type)
    }

    /// Decodes one `application/x-www-form-urlencoded` component (`+` is a space), exactly once;
    /// `%` must be followed by two hex digits.
    pub fn percent_decode(input: &[u8]) -> Result<Vec<u8>, NotifyError> {
        let mut out = Vec::with_capacity(input.len());
        crate::form::decode_component(input, 0, &mut out)?;
        Ok(out)
    }
}

/// OpenAPI v3: auth strings, the `Authorization` header, request and answer sign contents
/// ([protocol](crate::protocol#openapi-v3)).
pub mod v3 {
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
        method: crate::flow::Method,
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
}

/// Escaping for the HTML pages and XML answers the SDK writes.
pub mod escape {
    /// Escapes text for an HTML attribute or body: every character with meaning in HTML.
    pub fn html_escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                '`' => out.push_str("&#96;"),
                '=' => out.push_str("&#61;"),
                other => out.push(other),
            }
        }
        out
    }

    /// Escapes text for an XML element.
    pub fn xml_escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                other => out.push(other),
            }
        }
        out
    }
}
