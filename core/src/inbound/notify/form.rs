//! Form bodies (`application/x-www-form-urlencoded`) as Alipay posts them to `notify_url`.
//!
//! A [`Form`] is decoded exactly once, in one pass over the body: every name and value is
//! percent-decoded (`+` is a space) into one buffer, then converted from the form's charset
//! (the `charset` parameter, else the `Content-Type` charset, else UTF-8) as a whole. The
//! parameters are ranges into that text, so a 26-field notification costs two allocations
//! instead of fifty-odd — it is on the path of every notification, beside one RSA verify.
//!
//! ```
//! use alipay_core::notify::Form;
//! let form = Form::parse(b"subject=%E4%B8%AD+1&total_amount=9.00", None)?;
//! assert_eq!(form.get("subject"), Some("中 1"));
//! assert_eq!(form.iter().count(), 2);
//! # Ok::<(), alipay_core::notify::NotifyError>(())
//! ```

use std::fmt;
use std::ops::Range;

use crate::charset::Charset;
use crate::notify::{NotifyError, NotifyErrorKind};

/// A decoded form: parameters in the order received, text in one buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct Form {
    text: String,
    fields: Vec<Field>,
    /// Indices into `fields` (with the name's first eight bytes as a number), sorted by name:
    /// duplicates are neighbours, and the signed content (sorted by name) needs no second sort.
    by_name: Vec<(u64, usize)>,
    charset: Charset,
}

/// One parameter: the name is `start..split`, the value `split..end` of the text.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Field {
    start: usize,
    split: usize,
    end: usize,
}

impl Field {
    fn name(self) -> Range<usize> {
        self.start..self.split
    }

    fn value(self) -> Range<usize> {
        self.split..self.end
    }
}

impl Form {
    /// Decodes a raw form body with its `Content-Type` header value: split on `&` (empty
    /// pieces skipped), each side percent-decoded exactly once, values in the form's charset.
    /// A parameter named twice is refused (parameter pollution), as is a `%` not followed by
    /// two hex digits, or bytes that are not valid in the charset.
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Form, NotifyError> {
        let (bytes, fields) = decode_bytes(body)?;
        let named = fields.iter().find(|f| &bytes[f.name()] == b"charset").map(|f| &bytes[f.value()]);
        let charset = match named.filter(|v| !v.is_empty()) {
            Some(name) => String::from_utf8_lossy(name).parse()?,
            None => match content_type.and_then(content_type_charset) {
                Some(name) if !name.is_empty() => name.parse()?,
                _ => Charset::Utf8,
            },
        };
        let text = match charset {
            // UTF-8 is checked once for the whole buffer; every boundary must then fall
            // between characters (a value may not end inside a character the next name ends).
            Charset::Utf8 => match String::from_utf8(bytes) {
                Ok(text) if fields.iter().all(|f| text.is_char_boundary(f.split) && text.is_char_boundary(f.end)) => {
                    return Form::checked(text, fields, charset);
                }
                Ok(text) => return Err(first_undecodable(charset, text.as_bytes(), &fields)),
                Err(error) => return Err(first_undecodable(charset, error.as_bytes(), &fields)),
            },
            _ => bytes,
        };
        // GBK and GB18030 are decoded piece by piece: a lead byte at the end of one value
        // must not swallow the start of the next name.
        let mut decoded = String::with_capacity(text.len() + text.len() / 2);
        let mut converted = Vec::with_capacity(fields.len());
        for field in &fields {
            let start = decoded.len();
            let mut split = start;
            for (piece, range) in [field.name(), field.value()].into_iter().enumerate() {
                match charset.decode(&text[range], "") {
                    Ok(decoded_piece) => decoded.push_str(&decoded_piece),
                    Err(_) => return Err(first_undecodable(charset, &text, &fields)),
                }
                if piece == 0 {
                    split = decoded.len();
                }
            }
            converted.push(Field { start, split, end: decoded.len() });
        }
        Form::checked(decoded, converted, charset)
    }

    /// A form from parameters decoded elsewhere (exactly once), whose values were in
    /// `charset`. A parameter named twice is refused.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
        charset: Charset,
    ) -> Result<Form, NotifyError> {
        let mut text = String::new();
        let mut fields = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            let start = text.len();
            text.push_str(name);
            let split = text.len();
            text.push_str(value);
            fields.push(Field { start, split, end: text.len() });
        }
        Form::checked(text, fields, charset)
    }

    /// A form from parameters decoded elsewhere (exactly once), in the charset their
    /// `charset` parameter names (UTF-8 without one): what a web framework's form extractor
    /// gives. When the charset came from the `Content-Type` instead, use [`Self::from_pairs`].
    pub fn from_params<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Form, NotifyError> {
        let pairs: Vec<(N, V)> = pairs.into_iter().collect();
        let named = pairs.iter().find(|(k, _)| k.as_ref() == "charset").map(|(_, v)| v.as_ref());
        let charset: Charset = named.filter(|c| !c.is_empty()).unwrap_or("UTF-8").parse()?;
        Form::from_pairs(pairs, charset)
    }

    /// Sorts the parameters by name and refuses a parameter named twice (O(n log n)).
    fn checked(text: String, fields: Vec<Field>, charset: Charset) -> Result<Form, NotifyError> {
        // Keyed by the name's first eight bytes as a number, so that most comparisons of the
        // sort are one integer comparison.
        let prefix = |name: &[u8]| {
            let mut first = [0u8; 8];
            let n = name.len().min(8);
            first[..n].copy_from_slice(&name[..n]);
            u64::from_be_bytes(first)
        };
        let name = |i: usize| &text.as_bytes()[fields[i].name()];
        let mut by_name: Vec<(u64, usize)> = (0..fields.len()).map(|i| (prefix(name(i)), i)).collect();
        by_name.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| name(a.1).cmp(name(b.1))));
        if let Some(pair) = by_name.windows(2).find(|w| w[0].0 == w[1].0 && name(w[0].1) == name(w[1].1)) {
            let name = String::from_utf8_lossy(name(pair[0].1));
            return Err(NotifyErrorKind::DuplicateParameter { name: crate::excerpt::capped(&name, 256) }.into());
        }
        Ok(Form { text, fields, by_name, charset })
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every parameter, in the order received.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.fields.iter().map(|f| (&self.text[f.name()], &self.text[f.value()]))
    }

    /// Every parameter, sorted by name (byte order, as signed contents are).
    pub fn sorted(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.by_name.iter().map(|&(_, i)| {
            let field = self.fields[i];
            (&self.text[field.name()], &self.text[field.value()])
        })
    }

    /// The length of all names and values together.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The charset the values were decoded in (the signed content is encoded in it).
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The parameters as owned pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
}

/// What a [`Form`] is made from, for the one verification entry point
/// ([`crate::notify::NotificationVerifier::verify`] and the drivers' `verify_notification`):
/// a `Form`, a raw body with its `Content-Type` (`(body, content_type)`, [`Form::parse`]),
/// decoded parameters (`Vec<(String, String)>`, [`Form::from_params`]), or decoded
/// parameters with their charset (`(pairs, charset)`, [`Form::from_pairs`]).
pub trait IntoForm {
    /// The form, or why these are not a form's contents.
    fn into_form(self) -> Result<Form, NotifyError>;
}

impl IntoForm for Form {
    fn into_form(self) -> Result<Form, NotifyError> {
        Ok(self)
    }
}

impl<B: AsRef<[u8]>> IntoForm for (B, Option<&str>) {
    fn into_form(self) -> Result<Form, NotifyError> {
        Form::parse(self.0.as_ref(), self.1)
    }
}

impl IntoForm for Vec<(String, String)> {
    fn into_form(self) -> Result<Form, NotifyError> {
        Form::from_params(self)
    }
}

impl IntoForm for (Vec<(String, String)>, Charset) {
    fn into_form(self) -> Result<Form, NotifyError> {
        Form::from_pairs(self.0, self.1)
    }
}

impl fmt::Debug for Form {
    /// Parameters in order; `app_auth_token` and `auth_token` values are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.iter() {
            let shown = if crate::excerpt::is_secret_parameter(name) { "<redacted>" } else { value };
            list.entry(&(name, shown));
        }
        list.finish()?;
        write!(f, " ({})", self.charset)
    }
}

/// The bytes that end a run of plain text in a form body.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'=' as usize] = true;
    table[b'%' as usize] = true;
    table[b'+' as usize] = true;
    table
};

/// A hex digit's value, or [`NOT_HEX`].
const HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

/// Every name and value percent-decoded into one buffer, with their ranges in it: one pass
/// over the body, plain runs copied whole.
fn decode_bytes(body: &[u8]) -> Result<(Vec<u8>, Vec<Field>), NotifyError> {
    let mut out = Vec::with_capacity(body.len());
    let mut fields = Vec::with_capacity(32);
    // The current pair: where it starts in `out`, where its value starts (after the first
    // `=`), and whether it has any byte at all (`&&` is skipped; `=` alone is a pair).
    let mut start = 0;
    let mut split = None;
    let mut empty = true;
    let mut at = 0;
    while at < body.len() {
        let run = at;
        at = next_special(body, at);
        if at > run {
            out.extend_from_slice(&body[run..at]);
            empty = false;
        }
        let Some(&byte) = body.get(at) else { break };
        match byte {
            b'&' => {
                if !empty {
                    fields.push(Field { start, split: split.unwrap_or(out.len()), end: out.len() });
                }
                (start, split, empty) = (out.len(), None, true);
                at += 1;
                continue;
            }
            b'=' if split.is_none() => split = Some(out.len()),
            b'=' => out.push(b'='),
            b'+' => out.push(b' '),
            _ => {
                // Exactly two hex digits (`from_str_radix` alone would take a sign: `%+1`).
                let digit = |skip: usize| body.get(at + skip).map_or(NOT_HEX, |&b| HEX[usize::from(b)]);
                let (high, low) = (digit(1), digit(2));
                if high == NOT_HEX || low == NOT_HEX {
                    return Err(bad_escape(at));
                }
                let decoded = high << 4 | low;
                out.push(decoded);
                at += 2;
            }
        }
        empty = false;
        at += 1;
    }
    if !empty {
        fields.push(Field { start, split: split.unwrap_or(out.len()), end: out.len() });
    }
    Ok((out, fields))
}

/// The position of the first `&`, `=`, `%` or `+` at or after `from`, or the length. Eight
/// bytes at a time (a notification body is a kilobyte of mostly plain text).
fn next_special(body: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` that equals `byte`; exact for the lowest one (the
    // borrow of the classic "has zero byte" test only marks bytes above a real match).
    let matches = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = from;
    while let Some(chunk) = body.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = matches(word, b'&') | matches(word, b'=') | matches(word, b'%') | matches(word, b'+');
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < body.len() && !SPECIAL[usize::from(body[at])] {
        at += 1;
    }
    at
}

fn bad_escape(position: usize) -> NotifyError {
    NotifyErrorKind::Malformed {
        detail: format!("bad percent-escape at byte {position}: '%' must be followed by two hex digits"),
    }
    .into()
}

/// Appends the decoded `input` to `out`; `offset` is where `input` starts in the body, for
/// the error. Runs without escapes are copied whole.
pub(crate) fn decode_component(input: &[u8], offset: usize, out: &mut Vec<u8>) -> Result<(), NotifyError> {
    let mut rest = input;
    while let Some(at) = rest.iter().position(|b| matches!(b, b'%' | b'+')) {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        // Exactly two hex digits (`from_str_radix` alone would take a sign: `%+1`).
        let digit = |skip: usize| rest.get(at + skip).and_then(|&b| char::from(b).to_digit(16));
        let (Some(high), Some(low)) = (digit(1), digit(2)) else {
            return Err(bad_escape(offset + input.len() - rest.len() + at));
        };
        out.push((high * 16 + low) as u8);
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// The error for the first name or value that is not valid in `charset`, naming it.
fn first_undecodable(charset: Charset, bytes: &[u8], fields: &[Field]) -> NotifyError {
    for field in fields {
        if let Err(error) = charset.decode(&bytes[field.name()], "notification parameter name") {
            return error.into();
        }
        let name = String::from_utf8_lossy(&bytes[field.name()]);
        let context = format!("notification parameter {}", crate::excerpt::capped(&name, 64));
        if let Err(error) = charset.decode(&bytes[field.value()], &context) {
            return error.into();
        }
    }
    NotifyErrorKind::Malformed { detail: format!("the form is not valid {charset}") }.into()
}

/// The `charset` parameter of a `Content-Type` header value.
fn content_type_charset(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn kind(result: Result<Form, NotifyError>) -> NotifyErrorKind {
        result.expect_err("refused").into_kind()
    }

    #[test]
    fn a_character_split_across_two_parameters_is_refused() {
        // "a" E4 | B8 AD "1" is "a中1" as a whole, but neither piece is UTF-8 on its own.
        assert!(matches!(kind(Form::parse(b"a=%E4&%B8%AD=1", None)), NotifyErrorKind::Charset(_)));
        // GBK: D6 D0 is 中; a value ending in D6 must not swallow the next name's D0.
        let gbk = Some("application/x-www-form-urlencoded; charset=GBK");
        assert!(matches!(kind(Form::parse(b"a=%D6&%D0b=1", gbk)), NotifyErrorKind::Charset(_)));
        assert_eq!(Form::parse(b"a=%D6%D0&b=1", gbk).unwrap().get("a"), Some("中"));
    }

    #[test]
    fn a_bad_escape_is_named_by_its_position_in_the_body() {
        match kind(Form::parse(b"a=1&b=%zz", None)) {
            NotifyErrorKind::Malformed { detail } => assert!(detail.contains("at byte 6"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_charset_parameter_wins_over_the_content_type_and_an_empty_one_does_not() {
        let form = Form::parse(b"charset=GBK&s=%D6%D0", Some("text/plain; charset=utf-8")).unwrap();
        assert_eq!((form.charset(), form.get("s")), (Charset::Gbk, Some("中")));
        let form =
            Form::parse(b"charset=&s=%D6%D0", Some("application/x-www-form-urlencoded; charset=\"gbk\"")).unwrap();
        assert_eq!((form.charset(), form.get("s")), (Charset::Gbk, Some("中")));
    }

    #[test]
    fn sorted_is_byte_order_and_duplicates_are_refused_at_any_size() {
        let form = Form::parse("b=2&a_b=3&a=1&ab=4&中=5".as_bytes(), None).unwrap();
        let names: Vec<&str> = form.sorted().map(|(k, _)| k).collect();
        assert_eq!(names, ["a", "a_b", "ab", "b", "中"]);
        assert!(
            matches!(kind(Form::parse(b"x=1&y=2&x=3", None)), NotifyErrorKind::DuplicateParameter { name } if name == "x")
        );
        // Same first eight bytes, different names: not duplicates.
        assert_eq!(Form::parse(b"gmt_create_x=1&gmt_create_y=2", None).unwrap().len(), 2);
    }

    #[test]
    fn debug_hides_tokens() {
        let form = Form::parse(b"app_auth_token=201208134b203fe6c11548bcabd8da5bb087a83b&a=1", None).unwrap();
        let shown = format!("{form:?}");
        assert!(!shown.contains("201208134b"), "{shown}");
        assert!(shown.contains("\"a\", \"1\""), "{shown}");
    }

    proptest! {
        /// The one-pass decoder (eight bytes at a time) agrees with the `url` crate's form
        /// parser on every well-formed body, whatever lands on a word boundary.
        #[test]
        fn agrees_with_the_url_crate(pieces in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                4 => "[a-z0-9_.]{1,11}",
                1 => Just("%26".to_string()), 1 => Just("%3D".to_string()), 1 => Just("%E4%B8%AD".to_string()),
                1 => Just("+".to_string()), 1 => Just("=".to_string()), 1 => Just("%7e".to_string()),
            ], 0..6).prop_map(|parts| parts.concat()),
            0..12,
        )) {
            let body: String = pieces.iter().enumerate().map(|(i, p)| format!("n{i}:{p}")).collect::<Vec<_>>().join("&");
            let ours: Vec<(String, String)> = Form::parse(body.as_bytes(), None).unwrap().to_pairs();
            let theirs: Vec<(String, String)> =
                url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            prop_assert_eq!(ours, theirs);
        }
    }
}
