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
    pub use crate::gateway::content::{
        encode_pairs, format_timestamp, is_java_blank, is_java_whitespace, node_name, sign_content,
    };
    pub use crate::response::scan::{Member, ScanError, decode_string, find_member, top_level_members};

    /// The gateway's own parameters (`app_id`, `method`, `sign`, `biz_content`, `notify_url`,
    /// the SNs, …): in an upload, every other text parameter is the operation's.
    pub const SYSTEM_PARAMS: &[&str] = crate::gateway::request::RESERVED;
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
    /// [`is_java_blank`](crate::primitives::gateway::is_java_blank)) are left out.
    pub fn java_sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, rule: Rule) -> String {
        crate::notify::content(params, rule, |value| !crate::gateway::content::is_java_blank(value))
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
        crate::notify::form::decode_component(input, 0, &mut out)?;
        Ok(out)
    }
}

/// OpenAPI v3: auth strings, the `Authorization` header, request and answer sign contents
/// ([protocol](crate::protocol#openapi-v3)).
pub mod v3 {
    pub use crate::v3::content::{answer_sign_content, auth_string, authorization, request_sign_content};
}

/// Escaping for the HTML pages and XML answers the SDK writes.
pub mod escape {
    pub use crate::encoding::escape::{html_escape, xml_escape};
}
