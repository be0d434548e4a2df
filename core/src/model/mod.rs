//! Typed request and response models.
//!
//! Every API type knows its method name and response type ([`AlipayApi`]), so
//! `client.call(&TradeQuery::by_out_trade_no("o-1"))` returns a verified `TradeQueryResponse`.

pub mod amount;
pub mod auth;
pub mod fund;
pub mod settle;
mod traced;
pub mod trade;

pub use amount::{Amount, AmountError};
pub use traced::Traced;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::request::Request;

/// A gateway API called server to server.
pub trait AlipayApi: Serialize {
    /// The method name, e.g. `alipay.trade.query`.
    const METHOD: &'static str;
    /// The response node's business type.
    type Response: DeserializeOwned;

    /// A request for this API with this value as `biz_content`; add `notify_url` and the like
    /// to it before executing.
    fn to_request(&self) -> Request {
        Request::new(Self::METHOD).biz(self)
    }
}

/// An API whose request the buyer's browser or app sends (page, wap and app pay).
pub trait EntryPointApi: Serialize {
    /// The method name.
    const METHOD: &'static str;

    /// A request for this API with this value as `biz_content`.
    fn to_request(&self) -> Request {
        Request::new(Self::METHOD).biz(self)
    }
}
