//! Payouts: transfers to Alipay accounts and the merchant's balance.
//!
//! Alipay serves `alipay.fund.trans.uni.transfer` (and its query) to apps in certificate mode
//! only: the requests here are marked so ([`crate::Request::certificate_mode_only`]), and a
//! public-key-mode configuration refuses them before sending, saying why.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AlipayApi, Amount};
use crate::request::Request;

/// Who receives a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payee {
    /// The account: an Alipay user id (`2088…`) or a login name (email, phone).
    pub identity: String,
    /// `ALIPAY_USER_ID` or `ALIPAY_LOGON_ID`.
    pub identity_type: String,
    /// The account holder's real name (required with `ALIPAY_LOGON_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Payee {
    /// By Alipay user id.
    pub fn user_id(user_id: impl Into<String>) -> Payee {
        Payee { identity: user_id.into(), identity_type: "ALIPAY_USER_ID".into(), name: None }
    }

    /// By login name, with the holder's real name (Alipay checks it).
    pub fn logon_id(logon_id: impl Into<String>, name: impl Into<String>) -> Payee {
        Payee { identity: logon_id.into(), identity_type: "ALIPAY_LOGON_ID".into(), name: Some(name.into()) }
    }
}

/// `alipay.fund.trans.uni.transfer`: a transfer to an Alipay account, idempotent by
/// `out_biz_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundTransfer {
    /// The merchant's transfer number (unique per app; repeating it repeats the transfer's result).
    pub out_biz_no: String,
    /// The amount.
    pub trans_amount: Amount,
    /// `TRANS_ACCOUNT_NO_PWD`.
    pub product_code: String,
    /// `DIRECT_TRANSFER`.
    pub biz_scene: String,
    /// The transfer's title, shown to the payee.
    pub order_title: String,
    /// The payee.
    pub payee_info: Payee,
    /// Other documented fields (`remark`, `business_params`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FundTransfer {
    /// A transfer to an Alipay account.
    pub fn to_account(
        out_biz_no: impl Into<String>,
        trans_amount: Amount,
        payee: Payee,
        order_title: impl Into<String>,
    ) -> FundTransfer {
        FundTransfer {
            out_biz_no: out_biz_no.into(),
            trans_amount,
            product_code: "TRANS_ACCOUNT_NO_PWD".into(),
            biz_scene: "DIRECT_TRANSFER".into(),
            order_title: order_title.into(),
            payee_info: payee,
            extra: Map::new(),
        }
    }
}

/// The answer to [`FundTransfer`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FundTransferResponse {
    /// The merchant's transfer number.
    pub out_biz_no: String,
    /// Alipay's transfer order number.
    pub order_id: String,
    /// Alipay's fund flow number.
    #[serde(default)]
    pub pay_fund_order_id: Option<String>,
    /// `SUCCESS` (or `DEALING`, `FAIL`, …).
    pub status: String,
    /// When the transfer was made.
    #[serde(default)]
    pub trans_date: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for FundTransfer {
    const METHOD: &'static str = "alipay.fund.trans.uni.transfer";
    type Response = FundTransferResponse;

    fn to_request(&self) -> Request {
        Request::new(Self::METHOD).biz(self).certificate_mode_only()
    }
}

/// `alipay.fund.trans.common.query`: a transfer's state, by the merchant's or Alipay's number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundTransferQuery {
    /// `TRANS_ACCOUNT_NO_PWD`.
    pub product_code: String,
    /// `DIRECT_TRANSFER`.
    pub biz_scene: String,
    /// The merchant's transfer number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_biz_no: Option<String>,
    /// Alipay's transfer order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

impl FundTransferQuery {
    /// By the merchant's transfer number.
    pub fn by_out_biz_no(out_biz_no: impl Into<String>) -> FundTransferQuery {
        FundTransferQuery {
            product_code: "TRANS_ACCOUNT_NO_PWD".into(),
            biz_scene: "DIRECT_TRANSFER".into(),
            out_biz_no: Some(out_biz_no.into()),
            order_id: None,
        }
    }

    /// By Alipay's order number.
    pub fn by_order_id(order_id: impl Into<String>) -> FundTransferQuery {
        FundTransferQuery { order_id: Some(order_id.into()), out_biz_no: None, ..Self::by_out_biz_no("") }
    }
}

/// The answer to [`FundTransferQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FundTransferQueryResponse {
    /// Alipay's transfer order number.
    pub order_id: String,
    /// The merchant's transfer number.
    #[serde(default)]
    pub out_biz_no: Option<String>,
    /// Alipay's fund flow number.
    #[serde(default)]
    pub pay_fund_order_id: Option<String>,
    /// `SUCCESS`, `DEALING`, `FAIL`, `REFUND`, …
    pub status: String,
    /// The amount.
    #[serde(default)]
    pub trans_amount: Option<Amount>,
    /// When it was paid.
    #[serde(default)]
    pub pay_date: Option<String>,
    /// Why it failed, when it did.
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for FundTransferQuery {
    const METHOD: &'static str = "alipay.fund.trans.common.query";
    type Response = FundTransferQueryResponse;

    fn to_request(&self) -> Request {
        Request::new(Self::METHOD).biz(self).certificate_mode_only()
    }
}

/// `alipay.fund.account.query`: an account's available balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundAccountQuery {
    /// The account's Alipay user id (`2088…`, the merchant's own for its balance).
    pub alipay_user_id: String,
    /// `ACCTRANS_ACCOUNT`: the balance transfers are paid from.
    pub account_type: String,
}

impl FundAccountQuery {
    /// The transfer balance of `alipay_user_id`.
    pub fn balance_of(alipay_user_id: impl Into<String>) -> FundAccountQuery {
        FundAccountQuery { alipay_user_id: alipay_user_id.into(), account_type: "ACCTRANS_ACCOUNT".into() }
    }
}

/// The answer to [`FundAccountQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FundAccountQueryResponse {
    /// What can be transferred now.
    pub available_amount: Amount,
    /// What is frozen.
    #[serde(default)]
    pub freeze_amount: Option<Amount>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for FundAccountQuery {
    const METHOD: &'static str = "alipay.fund.account.query";
    type Response = FundAccountQueryResponse;
}
