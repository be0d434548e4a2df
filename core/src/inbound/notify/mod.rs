//! Asynchronous notifications (`notify_url`) and other signed form messages from Alipay.
//!
//! Verification follows [the protocol](crate::protocol#notifications): the raw form body is decoded exactly once, values in
//! the form's charset; `sign` (and for payment notifications, [`Rule::V1`], also `sign_type`)
//! is left out, empty values are kept, the rest sorted by key and joined `k=v&…`; the
//! signature type is the configured one, never the message's; the certificate is chosen by
//! `alipay_cert_sn` when the message names one.
//!
//! ```
//! use alipay_core::notify::{NotificationVerifier, Rule};
//! use alipay_core::key::PublicKey;
//! # let key_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki/ca/alipay_public.pem");
//! let verifier = NotificationVerifier::public_key(PublicKey::from_path(key_path)?);
//! let forged = b"out_trade_no=1&trade_status=TRADE_SUCCESS&sign_type=RSA2&sign=AAAA";
//! assert!(verifier.verify((forged, None), Rule::V1).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::cert::CertificateChain;
use crate::charset::{Charset, CharsetError};
use crate::key::{KeyError, PublicKey, SignType};
use crate::lifecycle::AlipayCertStore;
use crate::model::Amount;
use crate::model::trade::TradeStatus;

/// The body Alipay needs to stop redelivering a notification.
pub const ACK: &str = "success";

/// Which parameters a message's signature leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Payment notifications: `sign` and `sign_type` are not signed.
    V1,
    /// Life-account, app-gateway and open-platform messages: only `sign` is not signed.
    V2,
}

/// Why a notification was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyErrorKind {
    /// The body is not a form.
    #[error("the notification body is not a form: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// A parameter appears twice (parameter pollution).
    #[error("parameter {name:?} appears more than once: rejected")]
    DuplicateParameter {
        /// The parameter.
        name: String,
    },
    /// The charset named in the form is unusable, or values are not in it.
    #[error(transparent)]
    Charset(#[from] CharsetError),
    /// There is no `sign`.
    #[error("the notification has no 'sign': rejected")]
    MissingSign,
    /// `sign_type` differs from the configured signature type.
    #[error("the notification says sign_type={found:?} but {expected} is configured: rejected")]
    SignTypeMismatch {
        /// Configured.
        expected: SignType,
        /// In the message.
        found: String,
    },
    /// `alipay_cert_sn` names a certificate we do not have.
    #[error("the notification names Alipay certificate {alipay_cert_sn}, which is not configured (known: {known:?})")]
    UnknownCertSn {
        /// The SN in the message.
        alipay_cert_sn: String,
        /// The SNs we have.
        known: Vec<String>,
    },
    /// The signature does not verify.
    #[error(
        "the notification signature does not verify; the signed content is {sign_content_len} bytes: {sign_content}"
    )]
    InvalidSignature {
        /// The exact content that was checked: its first
        /// [`SIGN_CONTENT_EXCERPT_BYTES`](crate::excerpt::SIGN_CONTENT_EXCERPT_BYTES) bytes.
        sign_content: String,
        /// Its whole length in bytes.
        sign_content_len: usize,
    },
    /// A field needed for the typed notification is missing or malformed.
    #[error(
        "verified notification field {field}: {detail}{}",
        .source.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    )]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
        /// The parser's error, when the value is there but unreadable.
        #[source]
        source: Option<crate::model::AmountError>,
    },
    /// The notification is for another app, seller or amount than the merchant's records.
    #[error("verified notification does not match the merchant's records: {field} is {found:?}, expected {expected:?}")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// The merchant's value.
        expected: String,
        /// The notification's value.
        found: String,
    },
}

crate::layer_error!(
    /// Why a notification was not accepted; see [`NotifyErrorKind`].
    ///
    /// One pointer wide; [`NotifyError::kind`] says what went wrong.
    NotifyError => NotifyErrorKind
);

pub(crate) mod form;
pub use form::{Form, IntoForm};

/// [`sign_content`] (or with `keep`, [`java_sign_content`]) of a form, whose parameters are
/// already sorted.
fn form_content(form: &Form, rule: Rule, keep: impl Fn(&str, &str) -> bool) -> String {
    let kept = form.sorted().filter(|(k, v)| *k != "sign" && !(rule == Rule::V1 && *k == "sign_type") && keep(k, v));
    crate::gateway::content::joined(kept, form.text_len() + 2 * form.len())
}

pub(crate) fn content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    rule: Rule,
    keep: impl Fn(&str) -> bool,
) -> String {
    crate::gateway::content::sorted_content(
        params
            .into_iter()
            .filter(|(k, v)| *k != "sign" && !(rule == Rule::V1 && *k == "sign_type") && keep(v))
            .collect(),
    )
}

/// The verified parameters of a return to `return_url` ([`NotificationVerifier::verify_return`]):
/// a hint for the page — the notification or a query is the proof of payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedReturn {
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// The amount.
    pub total_amount: Amount,
    /// The seller (`2088…`).
    pub seller_id: Option<String>,
    /// The app.
    pub app_id: String,
    /// `alipay.trade.page.pay.return` or `alipay.trade.wap.pay.return`.
    pub method: String,
    /// When Alipay made the return.
    pub timestamp: Option<String>,
}

/// Verifies notifications and other signed forms from Alipay.
#[derive(Clone, Debug)]
pub struct NotificationVerifier {
    store: Option<Arc<AlipayCertStore>>,
    public_key: Option<PublicKey>,
    sign_type: SignType,
}

impl NotificationVerifier {
    /// Certificate mode: the Alipay certificate(s).
    pub fn certificates(chains: impl IntoIterator<Item = CertificateChain>) -> Result<Self, KeyError> {
        Ok(Self::from_store(Arc::new(AlipayCertStore::new(chains)?)))
    }

    /// Certificate mode with a shared store (which may follow Alipay's rotation).
    pub fn from_store(store: Arc<AlipayCertStore>) -> Self {
        let sign_type = SignType::default_for(store.key_algorithm());
        NotificationVerifier { store: Some(store), public_key: None, sign_type }
    }

    /// Public-key mode: the Alipay public key.
    pub fn public_key(key: PublicKey) -> Self {
        NotificationVerifier { sign_type: SignType::default_for(key.algorithm()), store: None, public_key: Some(key) }
    }

    /// The certificate store (certificate mode).
    pub fn store(&self) -> Option<&Arc<AlipayCertStore>> {
        self.store.as_ref()
    }

    /// The configured signature type (by default the keys' algorithm's: RSA2 or SM2; RSA for an
    /// old RSA app).
    pub fn with_sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Verifies the parameters Alipay appends to `return_url` when the cashier sends the
    /// buyer back after page or wap pay: `query` is the URL's query string as received (after
    /// `?`). Same rules and certificate choice as notifications (V1: `sign` and `sign_type`
    /// left out; `alipay_cert_sn` names the certificate in certificate mode), and `method`
    /// must be a `….return`.
    ///
    /// **A return is a hint for the page, never proof of payment**: the buyer's browser
    /// carries it, it can be replayed, and the buyer may close the page before it happens.
    /// Ship goods on the verified notification or a verified `alipay.trade.query`.
    ///
    /// Give `return_url` no query parameters of your own: they arrive beside Alipay's, are not
    /// signed, and make the return fail verification (Alipay's documentation asks for a bare `return_url`).
    pub fn verify_return(&self, query: &str) -> Result<VerifiedReturn, NotifyError> {
        let verified = self.verify((query.as_bytes(), None), Rule::V1)?;
        let field = |name: &'static str| {
            verified.get(name).filter(|v| !crate::gateway::content::is_java_blank(v)).map(str::to_string).ok_or_else(
                || NotifyError::from(NotifyErrorKind::Field { field: name, detail: "missing".into(), source: None }),
            )
        };
        let method = field("method")?;
        if !method.ends_with(".return") {
            return Err(NotifyErrorKind::Field {
                field: "method",
                detail: format!(
                    "{method:?} is not a return (alipay.trade.page.pay.return, alipay.trade.wap.pay.return)"
                ),
                source: None,
            }
            .into());
        }
        let total = field("total_amount")?;
        let total_amount = Amount::parse_non_negative(&total).map_err(|e| NotifyErrorKind::Field {
            field: "total_amount",
            detail: "not an amount".into(),
            source: Some(e),
        })?;
        Ok(VerifiedReturn {
            out_trade_no: field("out_trade_no")?,
            trade_no: field("trade_no")?,
            total_amount,
            seller_id: verified.get("seller_id").map(str::to_string),
            app_id: field("app_id")?,
            method,
            timestamp: verified.get("timestamp").map(str::to_string),
        })
    }

    /// Verifies a notification (or Alipay's call): the one entry point, for a [`Form`] or
    /// anything a form is made from ([`IntoForm`]: `(body, content_type)` as received,
    /// decoded parameters, a `Form`).
    ///
    /// The content is checked with empty values kept and, if that fails, without them (what
    /// Alipay's current Java SDKs sign). Under the second rule, parameters whose value is empty
    /// or blank are not covered by the signature: do not act on them.
    pub fn verify(&self, form: impl IntoForm, rule: Rule) -> Result<VerifiedNotification, NotifyError> {
        let form = form.into_form()?;
        self.check(&form, rule)?;
        Ok(VerifiedNotification { form, rule })
    }

    fn check(&self, form: &Form, rule: Rule) -> Result<(), NotifyError> {
        let charset = form.charset();
        let mut get_charset = None;
        let mut sign = None;
        let mut sign_type = None;
        let mut cert_sn = None;
        let mut has_blank = false;
        for (name, value) in form.iter() {
            match name {
                "charset" => get_charset = Some(value),
                "sign" => sign = Some(value),
                "sign_type" => sign_type = Some(value),
                "alipay_cert_sn" => cert_sn = Some(value),
                _ => {}
            }
            has_blank |= name != "sign" && crate::gateway::content::is_java_blank(value);
        }
        if let Some(named) = get_charset.filter(|c| !c.is_empty())
            && named.parse::<Charset>()? != charset
        {
            return Err(NotifyErrorKind::Malformed {
                detail: format!("the charset parameter says {named} but the values were decoded as {charset}"),
            }
            .into());
        }
        let sign = sign.filter(|s| !s.is_empty()).ok_or(NotifyErrorKind::MissingSign)?;
        if let Some(found) = sign_type
            && found != self.sign_type.as_str()
        {
            return Err(NotifyErrorKind::SignTypeMismatch {
                expected: self.sign_type,
                found: crate::excerpt::capped(found, 64),
            }
            .into());
        }
        let content = form_content(form, rule, |_, _| true);
        let bytes = charset.encode(&content, "notification sign content")?;
        // Empty values kept first (older Java, Node, EasySDK); if that fails, the current Java
        // SDKs' content without them; then, for a message carrying `alipay_cert_sn`, both again
        // without it (real certificate-mode callbacks are signed without it: smartwalle/alipay
        // leaves it out since 2019, pay-java-parent issue 66, while Java's generic check keeps
        // it). All come from the same received parameters, each built only when the ones before
        // failed and it differs from them.
        let candidate = |without_cert_sn: bool, drop_blank: bool| -> Option<Vec<u8>> {
            let content = form_content(form, rule, |name, value| {
                let dropped_sn = without_cert_sn && name == "alipay_cert_sn";
                let dropped_blank = drop_blank && crate::gateway::content::is_java_blank(value);
                !(dropped_sn || dropped_blank)
            });
            charset.encode(&content, "notification sign content").ok().map(|b| b.into_owned())
        };
        // Found by the same pass that found `sign` (even when empty).
        let has_cert_sn = cert_sn.is_some();
        let checks = |key: &PublicKey| {
            let verifies = |bytes: Option<Vec<u8>>| bytes.is_some_and(|b| key.verify(&b, sign, self.sign_type));
            key.verify(&bytes, sign, self.sign_type)
                || (has_blank && verifies(candidate(false, true)))
                || (has_cert_sn && verifies(candidate(true, false)))
                || (has_cert_sn && has_blank && verifies(candidate(true, true)))
        };
        let cert_sn = cert_sn.filter(|s| !s.is_empty());
        let verified = match (cert_sn, &self.public_key, &self.store) {
            (_, Some(key), _) => checks(key),
            (Some(sn), None, Some(store)) => match store.get(sn) {
                Some(key) => checks(&key),
                None => {
                    return Err(NotifyErrorKind::UnknownCertSn {
                        alipay_cert_sn: crate::excerpt::capped(sn, 64),
                        known: store.sns(),
                    }
                    .into());
                }
            },
            (None, None, Some(store)) => store.public_keys().iter().any(checks),
            (_, None, None) => false,
        };
        if !verified {
            return Err(NotifyErrorKind::InvalidSignature {
                sign_content_len: bytes.len(),
                sign_content: crate::excerpt::sign_content(&content),
            }
            .into());
        }
        // A value holding `&name=` is not refused: the signed content `k=v&…` is not escaped,
        // so such a value cannot be told from two parameters (Alipay signs it that way, and
        // genuine `passback_params` hold it). Alipay's Java SDK verifies it; so do we. The
        // typed notification parses its fields strictly instead.
        Ok(())
    }
}

/// A notification whose signature checked out.
#[derive(Debug, Clone)]
pub struct VerifiedNotification {
    form: Form,
    rule: Rule,
}

impl VerifiedNotification {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }

    /// Every parameter, in the order received.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.form.iter()
    }

    /// The decoded form.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// The rule it was verified with.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The body to answer once the notification is processed: `success`.
    pub fn ack(&self) -> &'static str {
        ACK
    }

    /// The typed payment notification, parsed strictly: a blank value (empty or whitespace
    /// only) is absent, amounts must be amounts and times `yyyy-MM-dd HH:mm:ss`, so that a
    /// parameter merged into another's value (which the signature cannot reveal, see
    /// [`crate::protocol`]) cannot pass as a valid field.
    pub fn trade(&self) -> Result<TradeNotification, NotifyError> {
        let required = |field: &'static str| {
            self.get(field)
                .filter(|v| !crate::gateway::content::is_java_blank(v))
                .map(str::to_string)
                .ok_or(NotifyErrorKind::Field { field, detail: "missing".into(), source: None })
        };
        let amount = |field: &'static str| -> Result<Option<Amount>, NotifyError> {
            match self.get(field).filter(|v| !crate::gateway::content::is_java_blank(v)) {
                Some(text) => Amount::parse_non_negative(text).map(Some).map_err(|e| {
                    NotifyErrorKind::Field { field, detail: "not an amount".into(), source: Some(e) }.into()
                }),
                None => Ok(None),
            }
        };
        let optional =
            |field: &str| self.get(field).filter(|v| !crate::gateway::content::is_java_blank(v)).map(str::to_string);
        let time = |field: &'static str| -> Result<Option<DateTime<FixedOffset>>, NotifyError> {
            match self.get(field).filter(|v| !crate::gateway::content::is_java_blank(v)) {
                None => Ok(None),
                Some(text) => parse_china_time(text).map(Some).ok_or_else(|| {
                    NotifyErrorKind::Field {
                        field,
                        detail: format!("{text:?} is not a yyyy-MM-dd HH:mm:ss time"),
                        source: None,
                    }
                    .into()
                }),
            }
        };
        Ok(TradeNotification {
            notify_id: required("notify_id")?,
            notify_type: optional("notify_type"),
            notify_time: time("notify_time")?,
            app_id: required("app_id")?,
            trade_no: required("trade_no")?,
            out_trade_no: required("out_trade_no")?,
            trade_status: TradeStatus::from(required("trade_status")?),
            total_amount: amount("total_amount")?.ok_or(NotifyErrorKind::Field {
                field: "total_amount",
                detail: "missing".into(),
                source: None,
            })?,
            receipt_amount: amount("receipt_amount")?,
            buyer_pay_amount: amount("buyer_pay_amount")?,
            refund_fee: amount("refund_fee")?,
            seller_id: optional("seller_id"),
            buyer_id: optional("buyer_id"),
            gmt_create: time("gmt_create")?,
            gmt_payment: time("gmt_payment")?,
            gmt_refund: time("gmt_refund")?,
            gmt_close: time("gmt_close")?,
            buyer_open_id: optional("buyer_open_id"),
            merchant_app_id: optional("merchant_app_id"),
            out_biz_no: optional("out_biz_no"),
        })
    }
}

/// A verified payment notification. Only [`VerifiedNotification::trade`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TradeNotification {
    /// Unique per notification (redeliveries repeat it).
    pub notify_id: String,
    /// `trade_status_sync` for payment notifications.
    pub notify_type: Option<String>,
    /// When it was sent (Alipay's UTC+8 local time, with its offset).
    pub notify_time: Option<DateTime<FixedOffset>>,
    /// The app it is for.
    pub app_id: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The trade status.
    pub trade_status: TradeStatus,
    /// The order amount.
    pub total_amount: Amount,
    /// What the merchant receives.
    pub receipt_amount: Option<Amount>,
    /// What the buyer paid.
    pub buyer_pay_amount: Option<Amount>,
    /// Total refunded (refund notifications).
    pub refund_fee: Option<Amount>,
    /// The seller's partner id.
    pub seller_id: Option<String>,
    /// The buyer's user id.
    pub buyer_id: Option<String>,
    /// When the trade was created (UTC+8).
    pub gmt_create: Option<DateTime<FixedOffset>>,
    /// When it was paid (UTC+8).
    pub gmt_payment: Option<DateTime<FixedOffset>>,
    /// When it was refunded (refund notifications, UTC+8).
    pub gmt_refund: Option<DateTime<FixedOffset>>,
    /// When it was closed (UTC+8).
    pub gmt_close: Option<DateTime<FixedOffset>>,
    /// The buyer's OpenID (apps on the OpenID scheme, which replaces `buyer_id`).
    pub buyer_open_id: Option<String>,
    /// The app that made the trade, when it differs from `app_id` (ISV and service-provider
    /// trades).
    pub merchant_app_id: Option<String>,
    /// The refund request number (refund notifications).
    pub out_biz_no: Option<String>,
}

/// A `yyyy-MM-dd HH:mm:ss` time in UTC+8, as Alipay writes its times.
fn parse_china_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let china = FixedOffset::east_opt(8 * 3600)?;
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    naive.and_local_timezone(china).single()
}

/// The merchant's own records a notification must match.
#[derive(Debug, Clone, Default)]
pub struct Expected<'a> {
    /// The merchant's app id (always checked).
    pub app_id: &'a str,
    /// The merchant's partner id, when known.
    pub seller_id: Option<&'a str>,
    /// The order's amount, from the merchant's database.
    pub total_amount: Option<Amount>,
}

impl TradeNotification {
    /// Checks `app_id`, `seller_id` and `total_amount` against the merchant's own records.
    pub fn check(&self, expected: &Expected<'_>) -> Result<(), NotifyError> {
        let mismatch =
            |field, expected: String, found: String| NotifyErrorKind::Mismatch { field, expected, found }.into();
        if self.app_id != expected.app_id {
            return Err(mismatch("app_id", expected.app_id.to_string(), self.app_id.clone()));
        }
        if let Some(seller) = expected.seller_id
            && self.seller_id.as_deref() != Some(seller)
        {
            return Err(mismatch("seller_id", seller.to_string(), self.seller_id.clone().unwrap_or_default()));
        }
        if let Some(amount) = expected.total_amount
            && self.total_amount != amount
        {
            return Err(mismatch("total_amount", amount.to_string(), self.total_amount.to_string()));
        }
        Ok(())
    }
}
