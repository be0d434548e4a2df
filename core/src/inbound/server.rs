//! Answering Alipay: the signed responses an ISV / SPI / app-gateway server sends back
//! ([protocol](crate::protocol#answering-alipay)).
//!
//! Alipay calls the ISV's server with signed form parameters (verify them with
//! [`crate::notify::NotificationVerifier`], usually [`crate::notify::Rule::V2`]); the server
//! answers `{"response":{…},"sign":"…","app_cert_sn":"…"}` where `sign` covers the exact text
//! of the `response` value as emitted and `app_cert_sn` (not signed) names the app certificate
//! in certificate mode. The XML form signs the exact `<response>…</response>` element.
//!
//! ```
//! use alipay_core::server::Responder;
//! use alipay_core::key::PrivateKey;
//! # let key = PrivateKey::from_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki/keys/app_pkcs8.pem"))?;
//! let responder = Responder::new(key, Some("0c5821860a334665d4530cd426ccb391".into()));
//! let body = responder.json(&serde_json::json!({"code": "10000", "msg": "Success"}))?;
//! assert!(body.starts_with(r#"{"response":{"code":"10000","msg":"Success"},"sign":""#));
//! assert!(body.ends_with(r#","app_cert_sn":"0c5821860a334665d4530cd426ccb391"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::charset::{Charset, CharsetError};
use crate::key::{KeyError, SignType};

/// Why an answer could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// The response value is not a JSON object.
    #[error("the response must be a JSON object: {detail}")]
    NotAnObject {
        /// What it was.
        detail: String,
        /// The JSON error, when it was not JSON at all.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// An element name is not an XML name.
    #[error("{name:?} is not an XML element name (a letter or '_', then letters, digits, '_', '-', '.')")]
    BadElementName {
        /// The name given.
        name: String,
    },
    /// The element given to `xml_element` is not `<response>…</response>`.
    #[error("the XML answer must be one <response>…</response> element")]
    NotAResponseElement,
    /// The text cannot be carried in the charset.
    #[error(transparent)]
    Charset(#[from] CharsetError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] KeyError),
}

crate::layer_error!(
    /// Why an answer to Alipay could not be signed; see [`ServerErrorKind`].
    ///
    /// One pointer wide; [`ServerError::kind`] says what went wrong.
    ServerError => ServerErrorKind
);

/// Signs answers to Alipay's calls with the app private key.
#[derive(Debug, Clone)]
pub struct Responder {
    signer: AnswerSigner,
    sign_type: SignType,
    charset: Charset,
}

/// Where the key and `app_cert_sn` come from.
#[derive(Debug, Clone)]
enum AnswerSigner {
    Fixed {
        signer: std::sync::Arc<dyn crate::key::Signer>,
        app_cert_sn: Option<String>,
    },
    /// A configuration's identity: follows hot reloads, key and SN from one snapshot.
    Live(std::sync::Arc<crate::lifecycle::IdentityCell>),
}

impl Responder {
    /// A responder for a key (or any [`crate::key::Signer`]); `app_cert_sn` is required when
    /// the app is in certificate mode.
    pub fn new(key: impl crate::key::Signer + 'static, app_cert_sn: Option<String>) -> Responder {
        let sign_type = SignType::default_for(key.algorithm());
        let signer = std::sync::Arc::new(key);
        Responder { signer: AnswerSigner::Fixed { signer, app_cert_sn }, sign_type, charset: Charset::Utf8 }
    }

    /// A responder signing with the live app identity (it follows key reloads); what
    /// `Responder::from_config` builds.
    pub(crate) fn live(
        identity: std::sync::Arc<crate::lifecycle::IdentityCell>,
        sign_type: SignType,
        charset: Charset,
    ) -> Responder {
        Responder { signer: AnswerSigner::Live(identity), sign_type, charset }
    }

    /// The charset the answer is signed in.
    pub fn with_charset(mut self, charset: Charset) -> Self {
        self.charset = charset;
        self
    }

    /// The JSON answer for a serializable response object.
    pub fn json<T: Serialize + ?Sized>(&self, response: &T) -> Result<String, ServerError> {
        let text = serde_json::to_string(response)
            .map_err(|e| ServerErrorKind::NotAnObject { detail: "not serializable".into(), source: Some(e) })?;
        self.json_text(&text)
    }

    /// The JSON answer for response text given as is (it is emitted and signed byte for byte).
    pub fn json_text(&self, response: &str) -> Result<String, ServerError> {
        match serde_json::from_str::<serde_json::Value>(response) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(other) => {
                return Err(ServerErrorKind::NotAnObject { detail: format!("found {other}"), source: None }.into());
            }
            Err(e) => return Err(ServerErrorKind::NotAnObject { detail: "not JSON".into(), source: Some(e) }.into()),
        }
        let (sign, app_cert_sn) = self.sign(response)?;
        let mut out = format!(r#"{{"response":{response},"sign":"{sign}""#);
        if let Some(sn) = &app_cert_sn {
            out.push_str(&format!(r#","app_cert_sn":"{sn}""#));
        }
        out.push('}');
        Ok(out)
    }

    /// The XML answer: `fields` become `<name>escaped value</name>` inside `<response>`. Names
    /// must be XML names (a letter or `_`, then letters, digits, `_`, `-`, `.`); values are
    /// escaped.
    pub fn xml(&self, fields: &[(&str, &str)]) -> Result<String, ServerError> {
        let mut inner = String::new();
        for (name, value) in fields {
            if !is_xml_name(name) {
                return Err(ServerErrorKind::BadElementName { name: crate::excerpt::capped(name, 64) }.into());
            }
            inner.push_str(&format!("<{name}>{}</{name}>", crate::encoding::escape::xml_escape(value)));
        }
        self.xml_inner(&inner)
    }

    /// The XML answer around a `<response>…</response>` element given as is.
    pub fn xml_element(&self, response_element: &str) -> Result<String, ServerError> {
        let inner = response_element
            .strip_prefix("<response>")
            .and_then(|rest| rest.strip_suffix("</response>"))
            .ok_or(ServerErrorKind::NotAResponseElement)?;
        self.xml_inner(inner)
    }

    /// The XML answer with `inner` (already escaped XML) between `<response>` and
    /// `</response>`. Like Alipay's Java SDK (`AlipaySignature.encryptAndSign`), the signature
    /// covers exactly that inner text as emitted, not the element's tags.
    pub fn xml_inner(&self, inner: &str) -> Result<String, ServerError> {
        let (sign, app_cert_sn) = self.sign(inner)?;
        let mut out = format!(
            r#"<?xml version="1.0" encoding="{}"?><alipay><response>{inner}</response>"#,
            self.charset.as_str()
        );
        if let Some(sn) = &app_cert_sn {
            out.push_str(&format!("<app_cert_sn>{sn}</app_cert_sn>"));
        }
        out.push_str(&format!("<sign>{sign}</sign><sign_type>{}</sign_type></alipay>", self.sign_type.as_str()));
        Ok(out)
    }

    /// The signature and the `app_cert_sn` that goes with it.
    fn sign(&self, content: &str) -> Result<(String, Option<String>), ServerError> {
        let bytes = self.charset.encode(content, "response")?;
        match &self.signer {
            AnswerSigner::Fixed { signer, app_cert_sn } => {
                Ok((signer.sign(&bytes, self.sign_type)?, app_cert_sn.clone()))
            }
            AnswerSigner::Live(cell) => {
                let identity = cell.current();
                let sign = identity.signer().sign(&bytes, self.sign_type)?;
                Ok((sign, identity.app_cert_sn().map(str::to_string)))
            }
        }
    }
}

/// An XML element name this crate emits: ASCII letter or `_`, then letters, digits, `_`, `-`, `.`
/// (no `:` namespaces, no `xml` prefix games).
fn is_xml_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.to_ascii_lowercase().starts_with("xml")
}
