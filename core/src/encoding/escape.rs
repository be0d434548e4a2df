//! Escaping for the HTML pages and XML answers the SDK writes. Public through
//! [`crate::primitives::escape`].

/// `text` with each character `entity` names replaced by that entity.
fn escape(text: &str, entity: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match entity(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    out
}

/// Escapes text for an HTML attribute or body: every character with meaning in HTML.
pub fn html_escape(text: &str) -> String {
    escape(text, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '`' => Some("&#96;"),
        '=' => Some("&#61;"),
        _ => None,
    })
}

/// Escapes text for an XML element.
pub fn xml_escape(text: &str) -> String {
    escape(text, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        _ => None,
    })
}
