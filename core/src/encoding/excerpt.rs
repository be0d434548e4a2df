//! Bounded excerpts of large or untrusted text for error messages.
//!
//! A sign content goes into an error so a person can diff it against the gateway's, but a
//! hostile peer chooses its size: a 50 MB notification must not become a 50 MB error string.
//! Errors keep the first [`SIGN_CONTENT_EXCERPT_BYTES`] bytes and always give the full length.

/// How much of a sign content an error keeps, in bytes.
pub const SIGN_CONTENT_EXCERPT_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, with a marker when cut.
pub(crate) fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cut at {end} of {} bytes]", &text[..end], text.len())
}

/// A sign content as errors keep it: capped, with token values redacted (in `k=v&…` forms
/// and in JSON nodes).
pub(crate) fn sign_content(text: &str) -> String {
    capped(&redact_json_secrets(&redact_tokens(text)), SIGN_CONTENT_EXCERPT_BYTES)
}

/// JSON members whose string values are secrets: the tokens of login and ISV authorisation
/// answers.
const SECRET_JSON_MEMBERS: [&str; 5] =
    ["access_token", "refresh_token", "app_auth_token", "app_refresh_token", "auth_token"];

/// JSON text with the string values of [`SECRET_JSON_MEMBERS`] replaced by their length. A
/// linear scan (no parse): an answer whose signature failed may not even be valid JSON.
pub(crate) fn redact_json_secrets(text: &str) -> String {
    if !SECRET_JSON_MEMBERS.iter().any(|name| text.contains(name)) {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        // A string: find its end.
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        let name = &text[start..end];
        i = end + 1;
        if !SECRET_JSON_MEMBERS.contains(&name) {
            continue;
        }
        // `"name" : "value"`: redact the value.
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes.get(j) != Some(&b':') {
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes.get(j) != Some(&b'"') {
            continue;
        }
        let value_start = j + 1;
        let mut value_end = value_start;
        while value_end < bytes.len() && bytes[value_end] != b'"' {
            value_end += if bytes[value_end] == b'\\' { 2 } else { 1 };
        }
        let value_end = value_end.min(bytes.len());
        out.push_str(&text[copied..value_start]);
        out.push_str(&format!("<redacted: {} characters>", text[value_start..value_end].chars().count()));
        copied = value_end;
        i = value_end + 1;
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

/// The parameters whose values are secrets even inside a sign content.
const SECRET_PARAMETERS: [&str; 3] = ["app_auth_token", "auth_token", "refresh_token"];

/// Whether a parameter's value is a secret (`app_auth_token`, `auth_token`, `refresh_token`).
pub(crate) fn is_secret_parameter(name: &str) -> bool {
    SECRET_PARAMETERS.contains(&name)
}

/// `k=v&…` with the values of `app_auth_token` and `auth_token` replaced by their length.
pub(crate) fn redact_tokens(content: &str) -> String {
    if !SECRET_PARAMETERS.iter().any(|name| content.contains(name)) {
        return content.to_string();
    }
    content
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if SECRET_PARAMETERS.contains(&name) => {
                format!("{name}=<redacted: {} characters>", value.chars().count())
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes the HTML entities the gateway uses when it echoes a sign content in `sub_msg`
/// (`&amp;`, `&quot;`, `&lt;`, `&gt;`, `&#39;`, `&apos;` and numeric ones). Linear; an unknown
/// entity is kept as it is.
pub(crate) fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest.get(1..rest.len().min(12)).and_then(|s| s.find(';').map(|end| &s[..end]));
        let decoded = entity.and_then(|name| match name {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" | "#39" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        });
        match (entity, decoded) {
            (Some(name), Some(c)) => {
                out.push(c);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The error and its causes, one after the other, joined by `": "` ("connection refused" is
/// usually a cause): what a log line or a CLI message shows.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_secrets_are_redacted_wherever_they_sit() {
        let node = r#"{"access_token":"composeB6d1e3","user_id":"2088","refresh_token" : "r\"x","alipay_user_id":"a"}"#;
        let redacted = redact_json_secrets(node);
        assert!(!redacted.contains("composeB6d1e3") && !redacted.contains("r\\\"x"), "{redacted}");
        assert!(redacted.contains(r#""access_token":"<redacted: 13 characters>""#), "{redacted}");
        assert!(redacted.contains(r#""user_id":"2088""#) && redacted.contains(r#""alipay_user_id":"a""#));
        // Truncated or odd text does not panic.
        for cut in 0..node.len() {
            if node.is_char_boundary(cut) {
                let _ = redact_json_secrets(&node[..cut]);
            }
        }
        assert_eq!(redact_json_secrets(r#"{"a":"b"}"#), r#"{"a":"b"}"#);
    }

    #[test]
    fn cuts_on_a_character_boundary_and_says_so() {
        assert_eq!(capped("short", 10), "short");
        let cut = capped("ééé", 3); // é is two bytes: the cut falls back to byte 2
        assert!(cut.starts_with('é') && cut.contains("cut at 2 of 6 bytes"), "{cut}");
        assert!(sign_content(&"a".repeat(50_000)).len() < SIGN_CONTENT_EXCERPT_BYTES + 64);
    }

    #[test]
    fn tokens_are_redacted_and_entities_decoded() {
        assert_eq!(
            sign_content("app_auth_token=secret123&app_id=1&auth_token=t"),
            "app_auth_token=<redacted: 9 characters>&app_id=1&auth_token=<redacted: 1 characters>"
        );
        assert_eq!(html_unescape("a=&quot;x&quot;&amp;b=&lt;1&gt;&#39;&#x4e2d;&bogus;&"), "a=\"x\"&b=<1>'中&bogus;&");
    }
}
