//! The gateway's text formats: request sign contents, form encoding, timestamps, response
//! node names. Public through [`crate::primitives::gateway`].

use chrono::{DateTime, FixedOffset, Utc};

use crate::charset::{Charset, CharsetError};

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

/// Whether Alipay's Java SDK counts `value` as empty (`StringUtils.isEmpty`): no characters, or
/// only characters `java.lang.Character.isWhitespace` accepts. Such parameters are left out of
/// the sign content and off the wire.
///
/// Java's whitespace is not Rust's: U+00A0, U+2007 and U+202F (non-breaking spaces) and U+0085
/// are not whitespace in Java, while U+001C–U+001F (the information separators) are.
pub fn is_java_blank(value: &str) -> bool {
    value.chars().all(is_java_whitespace)
}

/// `k=v` pairs sorted by key in byte order and joined with `&`, unescaped: the shape of every
/// sign content of the gateway protocol (requests and notifications).
pub(crate) fn sorted_content(mut kept: Vec<(&str, &str)>) -> String {
    kept.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let capacity = kept.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    joined(kept.into_iter(), capacity)
}

/// `k=v` joined with `&`, in the order given.
pub(crate) fn joined<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `java.lang.Character.isWhitespace` (current JDKs, Unicode 6.3 and later): a space, line or
/// paragraph separator other than the non-breaking ones, or one of `\t \n \u{b} \u{c} \r` and
/// U+001C–U+001F.
pub fn is_java_whitespace(c: char) -> bool {
    matches!(c, '\u{9}'..='\u{d}' | '\u{1c}'..='\u{1f}')
        || matches!(
            c,
            ' ' | '\u{1680}' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200a}' | '\u{205f}' | '\u{3000}'
        )
        || matches!(c, '\u{2028}' | '\u{2029}')
}
