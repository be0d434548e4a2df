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

/// A sign content as errors keep it.
pub(crate) fn sign_content(text: &str) -> String {
    capped(text, SIGN_CONTENT_EXCERPT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_a_character_boundary_and_says_so() {
        assert_eq!(capped("short", 10), "short");
        let cut = capped("ééé", 3); // é is two bytes: the cut falls back to byte 2
        assert!(cut.starts_with('é') && cut.contains("cut at 2 of 6 bytes"), "{cut}");
        assert!(sign_content(&"a".repeat(50_000)).len() < SIGN_CONTENT_EXCERPT_BYTES + 64);
    }
}
