//! The trade APIs merchants use most.
//!
//! Request types serialize to `biz_content`; response types deserialize from the verified
//! response node. Unknown response fields are kept in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AlipayApi, Amount, EntryPointApi};

/// `trade_status` of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TradeStatus {
    /// Created, waiting for the buyer to pay.
    WaitBuyerPay,
    /// Closed unpaid, or fully refunded.
    TradeClosed,
    /// Paid; refunds still possible.
    TradeSuccess,
    /// Finished; no more refunds.
    TradeFinished,
    /// A status this SDK does not know yet.
    Other(String),
}

impl TradeStatus {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::TradeClosed => "TRADE_CLOSED",
            TradeStatus::TradeSuccess => "TRADE_SUCCESS",
            TradeStatus::TradeFinished => "TRADE_FINISHED",
            TradeStatus::Other(other) => other,
        }
    }

    /// Whether the buyer has paid (`TRADE_SUCCESS` or `TRADE_FINISHED`).
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeStatus::TradeSuccess | TradeStatus::TradeFinished)
    }
}

impl From<String> for TradeStatus {
    fn from(text: String) -> Self {
        match text.as_str() {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_CLOSED" => TradeStatus::TradeClosed,
            "TRADE_SUCCESS" => TradeStatus::TradeSuccess,
            "TRADE_FINISHED" => TradeStatus::TradeFinished,
            _ => TradeStatus::Other(text),
        }
    }
}

impl From<TradeStatus> for String {
    fn from(status: TradeStatus) -> Self {
        status.as_str().to_string()
    }
}

/// Identifies a trade by the merchant's order number or Alipay's trade number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRef {
    /// The merchant's order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay's trade number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

impl TradeRef {
    /// By the merchant's order number.
    pub fn out_trade_no(out_trade_no: impl Into<String>) -> TradeRef {
        TradeRef { out_trade_no: Some(out_trade_no.into()), trade_no: None }
    }

    /// By Alipay's trade number.
    pub fn trade_no(trade_no: impl Into<String>) -> TradeRef {
        TradeRef { out_trade_no: None, trade_no: Some(trade_no.into()) }
    }
}

macro_rules! order {
    ($(#[$doc:meta])* $name:ident, $method:literal, $product:literal, $trait:ident $(, $response:ty)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// The merchant's order number (unique per app).
            pub out_trade_no: String,
            /// The amount to pay.
            pub total_amount: Amount,
            /// The order title shown to the buyer.
            pub subject: String,
            /// The product code.
            pub product_code: String,
            /// Any other documented field (e.g. `timeout_express`, `store_id`, `body`).
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl $name {
            /// An order with the required fields.
            pub fn new(out_trade_no: impl Into<String>, total_amount: Amount, subject: impl Into<String>) -> Self {
                $name {
                    out_trade_no: out_trade_no.into(),
                    total_amount,
                    subject: subject.into(),
                    product_code: $product.to_string(),
                    extra: Map::new(),
                }
            }

            /// Adds a documented optional field.
            pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
                self.extra.insert(name.into(), value.into());
                self
            }
        }

        order!(@impl $name, $method, $trait $(, $response)?);
    };
    (@impl $name:ident, $method:literal, AlipayApi, $response:ty) => {
        impl AlipayApi for $name {
            const METHOD: &'static str = $method;
            type Response = $response;
        }
    };
    (@impl $name:ident, $method:literal, EntryPointApi) => {
        impl EntryPointApi for $name {
            const METHOD: &'static str = $method;
        }
    };
}

order!(
    /// `alipay.trade.precreate`: a QR code the buyer scans.
    TradePrecreate, "alipay.trade.precreate", "FACE_TO_FACE_PAYMENT", AlipayApi, TradePrecreateResponse
);
order!(
    /// `alipay.trade.create`: a trade for a known buyer (mini-programs, JSAPI).
    TradeCreate, "alipay.trade.create", "JSAPI_PAY", AlipayApi, TradeCreateResponse
);
order!(
    /// `alipay.trade.page.pay`: desktop-browser checkout (use `page_execute`).
    TradePagePay, "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY", EntryPointApi
);
order!(
    /// `alipay.trade.wap.pay`: mobile-browser checkout (use `page_execute`).
    TradeWapPay, "alipay.trade.wap.pay", "QUICK_WAP_WAY", EntryPointApi
);
order!(
    /// `alipay.trade.app.pay`: in-app checkout (use `sdk_execute` for the order string).
    TradeAppPay, "alipay.trade.app.pay", "QUICK_MSECURITY_PAY", EntryPointApi
);

/// `alipay.trade.pay`: charge the buyer's payment code (barcode scanned at the till).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePay {
    /// The merchant's order number.
    pub out_trade_no: String,
    /// `bar_code` or `security_code`.
    pub scene: String,
    /// The code scanned from the buyer's app.
    pub auth_code: String,
    /// The amount.
    pub total_amount: Amount,
    /// The order title.
    pub subject: String,
    /// Any other documented field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TradePay {
    /// A barcode payment.
    pub fn bar_code(
        out_trade_no: impl Into<String>,
        auth_code: impl Into<String>,
        total_amount: Amount,
        subject: impl Into<String>,
    ) -> TradePay {
        TradePay {
            out_trade_no: out_trade_no.into(),
            scene: "bar_code".into(),
            auth_code: auth_code.into(),
            total_amount,
            subject: subject.into(),
            extra: Map::new(),
        }
    }
}

impl AlipayApi for TradePay {
    const METHOD: &'static str = "alipay.trade.pay";
    type Response = TradePayResponse;
}

/// `alipay.trade.query`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeQuery {
    /// Which trade.
    #[serde(flatten)]
    pub trade: TradeRef,
    /// Extra response fields to ask for (`query_options`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub query_options: Vec<String>,
}

impl TradeQuery {
    /// Query by the merchant's order number.
    pub fn by_out_trade_no(out_trade_no: impl Into<String>) -> TradeQuery {
        TradeQuery { trade: TradeRef::out_trade_no(out_trade_no), query_options: Vec::new() }
    }

    /// Query by Alipay's trade number.
    pub fn by_trade_no(trade_no: impl Into<String>) -> TradeQuery {
        TradeQuery { trade: TradeRef::trade_no(trade_no), query_options: Vec::new() }
    }
}

impl AlipayApi for TradeQuery {
    const METHOD: &'static str = "alipay.trade.query";
    type Response = TradeQueryResponse;
}

/// `alipay.trade.refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRefund {
    /// Which trade.
    #[serde(flatten)]
    pub trade: TradeRef,
    /// The amount to refund.
    pub refund_amount: Amount,
    /// The merchant's refund request number (needed for partial refunds; idempotency key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    /// The reason shown to the buyer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

impl TradeRefund {
    /// A refund of `refund_amount` with request number `out_request_no`.
    pub fn new(trade: TradeRef, refund_amount: Amount, out_request_no: impl Into<String>) -> TradeRefund {
        TradeRefund { trade, refund_amount, out_request_no: Some(out_request_no.into()), refund_reason: None }
    }
}

impl AlipayApi for TradeRefund {
    const METHOD: &'static str = "alipay.trade.refund";
    type Response = TradeRefundResponse;
}

/// `alipay.trade.fastpay.refund.query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRefundQuery {
    /// Which trade.
    #[serde(flatten)]
    pub trade: TradeRef,
    /// The refund request number.
    pub out_request_no: String,
}

impl AlipayApi for TradeRefundQuery {
    const METHOD: &'static str = "alipay.trade.fastpay.refund.query";
    type Response = TradeRefundQueryResponse;
}

/// `alipay.trade.close`: close an unpaid trade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeClose {
    /// Which trade.
    #[serde(flatten)]
    pub trade: TradeRef,
    /// The operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
}

impl AlipayApi for TradeClose {
    const METHOD: &'static str = "alipay.trade.close";
    type Response = TradeCloseResponse;
}

/// `alipay.trade.cancel`: cancel (close, or refund if paid) a trade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCancel {
    /// Which trade.
    #[serde(flatten)]
    pub trade: TradeRef,
}

impl AlipayApi for TradeCancel {
    const METHOD: &'static str = "alipay.trade.cancel";
    type Response = TradeCancelResponse;
}

/// Response of `alipay.trade.precreate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePrecreateResponse {
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The QR code content.
    pub qr_code: String,
    /// Other fields (`code`, `msg`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCreateResponse {
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.pay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePayResponse {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The amount.
    pub total_amount: Amount,
    /// The buyer's masked login.
    #[serde(default)]
    pub buyer_logon_id: Option<String>,
    /// The amount the merchant receives.
    #[serde(default)]
    pub receipt_amount: Option<Amount>,
    /// When it was paid (UTC+8).
    #[serde(default)]
    pub gmt_payment: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeQueryResponse {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The status.
    pub trade_status: TradeStatus,
    /// The amount.
    pub total_amount: Amount,
    /// The buyer's masked login.
    #[serde(default)]
    pub buyer_logon_id: Option<String>,
    /// What the buyer paid.
    #[serde(default)]
    pub buyer_pay_amount: Option<Amount>,
    /// What the merchant receives.
    #[serde(default)]
    pub receipt_amount: Option<Amount>,
    /// When the payment was sent (UTC+8).
    #[serde(default)]
    pub send_pay_date: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRefundResponse {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// `Y` when this call moved money (a repeated request answers `N`).
    pub fund_change: String,
    /// Total refunded on this trade so far.
    pub refund_fee: Amount,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.fastpay.refund.query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRefundQueryResponse {
    /// Alipay's trade number.
    #[serde(default)]
    pub trade_no: Option<String>,
    /// The merchant's order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// The refund request number.
    #[serde(default)]
    pub out_request_no: Option<String>,
    /// The refunded amount (absent when no such refund exists).
    #[serde(default)]
    pub refund_amount: Option<Amount>,
    /// `REFUND_SUCCESS` when the refund went through.
    #[serde(default)]
    pub refund_status: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCloseResponse {
    /// Alipay's trade number.
    #[serde(default)]
    pub trade_no: Option<String>,
    /// The merchant's order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `alipay.trade.cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCancelResponse {
    /// Alipay's trade number.
    #[serde(default)]
    pub trade_no: Option<String>,
    /// The merchant's order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// `Y` when the cancel should be retried.
    #[serde(default)]
    pub retry_flag: Option<String>,
    /// `close` or `refund`.
    #[serde(default)]
    pub action: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
