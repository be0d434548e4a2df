//! Royalty settlement (`alipay.trade.order.settle`, `alipay.trade.royalty.relation.bind` /
//! `.batchquery`), order information sync (`alipay.trade.orderinfo.sync`) and the bill's
//! download URL (`alipay.data.dataservice.bill.downloadurl.query`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AlipayApi, Amount};

/// One share of a settled trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoyaltyShare {
    /// `transfer` (default) or `replenish`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub royalty_type: Option<String>,
    /// Who receives it: `userId` or `loginName`.
    pub trans_in_type: String,
    /// The receiver's account.
    pub trans_in: String,
    /// The amount.
    pub amount: Amount,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

impl RoyaltyShare {
    /// A share to an Alipay user id.
    pub fn to_user(user_id: impl Into<String>, amount: Amount) -> RoyaltyShare {
        RoyaltyShare {
            royalty_type: None,
            trans_in_type: "userId".into(),
            trans_in: user_id.into(),
            amount,
            desc: None,
        }
    }
}

/// `alipay.trade.order.settle`: splits a paid trade among bound receivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeOrderSettle {
    /// The settlement's request number (unique per trade; repeats are idempotent).
    pub out_request_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// The shares.
    pub royalty_parameters: Vec<RoyaltyShare>,
    /// Other documented fields (`extend_params`, `royalty_mode`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to [`TradeOrderSettle`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TradeOrderSettleResponse {
    /// Alipay's trade number.
    pub trade_no: String,
    /// Alipay's settlement number.
    #[serde(default)]
    pub settle_no: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for TradeOrderSettle {
    const METHOD: &'static str = "alipay.trade.order.settle";
    type Response = TradeOrderSettleResponse;
}

/// A royalty receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoyaltyReceiver {
    /// `userId` or `loginName`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The account.
    pub account: String,
    /// The holder's name (required with `loginName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the relation is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// `alipay.trade.royalty.relation.bind`: binds receivers to the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoyaltyRelationBind {
    /// The receivers.
    pub receiver_list: Vec<RoyaltyReceiver>,
    /// The request number.
    pub out_request_no: String,
}

/// The answer to [`RoyaltyRelationBind`] (`result_code` `SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoyaltyRelationBindResponse {
    /// `SUCCESS` or `FAIL`.
    pub result_code: String,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for RoyaltyRelationBind {
    const METHOD: &'static str = "alipay.trade.royalty.relation.bind";
    type Response = RoyaltyRelationBindResponse;
}

/// `alipay.trade.royalty.relation.batchquery`: the bound receivers, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoyaltyRelationBatchQuery {
    /// The page (from 1).
    pub page_num: u32,
    /// Receivers per page (at most 100).
    pub page_size: u32,
    /// The request number.
    pub out_request_no: String,
}

/// The answer to [`RoyaltyRelationBatchQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoyaltyRelationBatchQueryResponse {
    /// `SUCCESS`.
    pub result_code: String,
    /// The receivers of this page.
    #[serde(default)]
    pub receiver_list: Vec<RoyaltyReceiver>,
    /// Pages in all.
    #[serde(default)]
    pub total_page_num: Option<u32>,
    /// Receivers in all.
    #[serde(default)]
    pub total_record_num: Option<u32>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for RoyaltyRelationBatchQuery {
    const METHOD: &'static str = "alipay.trade.royalty.relation.batchquery";
    type Response = RoyaltyRelationBatchQueryResponse;
}

/// `alipay.trade.orderinfo.sync`: tells Alipay about a trade's order (credit, fulfilment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeOrderInfoSync {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The sync's request number.
    pub out_request_no: String,
    /// `CREDIT_AUTH`, `CREDIT_DEDUCT`, …
    pub biz_type: String,
    /// Other documented fields (`order_biz_info`, `orig_request_no`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to [`TradeOrderInfoSync`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TradeOrderInfoSyncResponse {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// The buyer.
    #[serde(default)]
    pub buyer_user_id: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for TradeOrderInfoSync {
    const METHOD: &'static str = "alipay.trade.orderinfo.sync";
    type Response = TradeOrderInfoSyncResponse;
}

/// Which daily bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BillType {
    /// `trade`: the trade bill (业务明细), one row per payment or refund.
    #[serde(rename = "trade")]
    Trade,
    /// `signcustomer`: the account bill (账务明细), one row per balance movement.
    #[serde(rename = "signcustomer")]
    SignCustomer,
}

impl BillType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            BillType::Trade => "trade",
            BillType::SignCustomer => "signcustomer",
        }
    }
}

impl std::str::FromStr for BillType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trade" => Ok(BillType::Trade),
            "signcustomer" => Ok(BillType::SignCustomer),
            other => Err(format!("unknown bill type {other:?}: expected trade or signcustomer")),
        }
    }
}

/// `alipay.data.dataservice.bill.downloadurl.query`: the short-lived URL of a day's (or a
/// month's) bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDownloadUrlQuery {
    /// Which bill.
    pub bill_type: BillType,
    /// `YYYY-MM-DD` (a day) or `YYYY-MM` (a month).
    pub bill_date: String,
}

/// The answer to [`BillDownloadUrlQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BillDownloadUrl {
    /// Where the zip is, for a short while (about 30 seconds).
    pub bill_download_url: String,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for BillDownloadUrlQuery {
    const METHOD: &'static str = "alipay.data.dataservice.bill.downloadurl.query";
    type Response = BillDownloadUrl;
}
