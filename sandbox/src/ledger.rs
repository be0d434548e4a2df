//! The sandbox's trade ledger: the state behind the trade APIs.
//!
//! Requests are idempotent by `out_trade_no` (and `out_request_no` for refunds): the same
//! parameters give the same result, different ones Alipay's `ACQ.CONTEXT_INCONSISTENT`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use alipay_core::model::Amount;
use alipay_core::model::trade::TradeStatus;
use alipay_core::primitives::gateway::format_timestamp;

/// A business failure (`code` 40004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BizError {
    pub sub_code: &'static str,
    pub sub_msg: String,
}

fn fail(sub_code: &'static str, sub_msg: impl Into<String>) -> BizError {
    BizError { sub_code, sub_msg: sub_msg.into() }
}

pub(crate) type BizResult = Result<Map<String, Value>, BizError>;

/// Where and how to notify the merchant about a trade.
#[derive(Debug, Clone)]
pub(crate) struct NotifyTarget {
    pub url: String,
    pub charset: alipay_core::charset::Charset,
}

#[derive(Debug, Clone)]
struct Refund {
    out_request_no: String,
    amount: Amount,
    at: DateTime<Utc>,
}

/// One trade.
#[derive(Debug, Clone)]
pub(crate) struct Trade {
    pub out_trade_no: String,
    pub trade_no: String,
    pub total_amount: Amount,
    pub subject: String,
    pub status: TradeStatus,
    fingerprint: String,
    pub notify: Option<NotifyTarget>,
    pub created: DateTime<Utc>,
    pub paid: Option<DateTime<Utc>>,
    /// The QR code precreate handed out (the buyer scans it to pay).
    pub qr_code: Option<String>,
    refunds: Vec<Refund>,
}

impl Trade {
    fn refunded_cents(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount.cents()).sum()
    }

    /// What is left to refund.
    pub(crate) fn refundable(&self) -> Amount {
        Amount::from_cents(if self.status.is_paid() { self.total_amount.cents() - self.refunded_cents() } else { 0 })
    }

    /// How much was refunded.
    pub(crate) fn refunded(&self) -> Amount {
        Amount::from_cents(self.refunded_cents())
    }
}

/// The sandbox buyer.
pub(crate) const BUYER_ID: &str = "2088102177846880";
const BUYER_LOGON_ID: &str = "sandbox***@alipay-sdk.test";

/// All trades.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    trades: HashMap<String, Trade>,
    by_trade_no: HashMap<String, String>,
    sequence: u64,
}

fn text<'a>(biz: &'a Value, field: &str) -> Option<&'a str> {
    biz.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(biz: &'a Value, field: &str) -> Result<&'a str, BizError> {
    text(biz, field).ok_or_else(|| fail("isv.missing-parameter", format!("缺少必选参数 {field}")))
}

fn amount(biz: &Value, field: &str) -> Result<Amount, BizError> {
    let raw = match biz.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(fail("isv.missing-parameter", format!("缺少必选参数 {field}"))),
    };
    let parsed: Amount = raw.parse().map_err(|_| fail("ACQ.INVALID_PARAMETER", format!("{field} 格式错误: {raw}")))?;
    // Alipay's range for a trade or transfer amount: 0.01 to 100000000.00 yuan.
    if parsed.cents() > 10_000_000_000 {
        return Err(fail("ACQ.INVALID_PARAMETER", format!("{field} 超出范围: {raw}")));
    }
    if parsed.cents() <= 0 {
        return Err(fail("ACQ.INVALID_PARAMETER", format!("{field} 必须大于 0")));
    }
    Ok(parsed)
}

fn object(entries: Value) -> Map<String, Value> {
    match entries {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Ledger {
    fn find(&self, biz: &Value) -> Result<&Trade, BizError> {
        let key = match (text(biz, "out_trade_no"), text(biz, "trade_no")) {
            (Some(out), _) => out.to_string(),
            (None, Some(trade_no)) => self.by_trade_no.get(trade_no).cloned().unwrap_or_default(),
            (None, None) => return Err(fail("isv.missing-parameter", "out_trade_no 和 trade_no 不能同时为空")),
        };
        self.trades.get(&key).ok_or_else(|| fail("ACQ.TRADE_NOT_EXIST", "交易不存在"))
    }

    fn find_mut(&mut self, biz: &Value) -> Result<&mut Trade, BizError> {
        let out = self.find(biz)?.out_trade_no.clone();
        Ok(self.trades.get_mut(&out).expect("found above"))
    }

    /// Opens a trade or returns the existing one when the request repeats it exactly.
    fn open(&mut self, biz: &Value, notify: Option<NotifyTarget>, now: DateTime<Utc>) -> Result<&mut Trade, BizError> {
        let out_trade_no = required(biz, "out_trade_no")?.to_string();
        let total_amount = amount(biz, "total_amount")?;
        let subject = required(biz, "subject")?.to_string();
        let fingerprint = format!("{total_amount}|{subject}");
        if let Some(existing) = self.trades.get(&out_trade_no) {
            if existing.fingerprint != fingerprint {
                return Err(fail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: 同一 out_trade_no 的参数不一致"));
            }
            return Ok(self.trades.get_mut(&out_trade_no).expect("exists"));
        }
        self.sequence += 1;
        let trade_no = format!("{}22001{:010}", now.format("%Y%m%d"), self.sequence);
        self.by_trade_no.insert(trade_no.clone(), out_trade_no.clone());
        let trade = Trade {
            out_trade_no: out_trade_no.clone(),
            trade_no,
            total_amount,
            subject,
            status: TradeStatus::WaitBuyerPay,
            fingerprint,
            notify,
            created: now,
            paid: None,
            qr_code: None,
            refunds: Vec::new(),
        };
        Ok(self.trades.entry(out_trade_no).or_insert(trade))
    }

    /// `alipay.trade.precreate`.
    pub(crate) fn precreate(&mut self, biz: &Value, notify: Option<NotifyTarget>, now: DateTime<Utc>) -> BizResult {
        let trade = self.open(biz, notify, now)?;
        if trade.status.is_paid() {
            return Err(fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"));
        }
        if trade.status == TradeStatus::TradeClosed {
            return Err(fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"));
        }
        let qr_code = format!("https://qr.sandbox.alipay-sdk.test/{}", trade.trade_no);
        trade.qr_code = Some(qr_code.clone());
        Ok(object(json!({ "out_trade_no": trade.out_trade_no, "qr_code": qr_code })))
    }

    /// `alipay.trade.create`.
    pub(crate) fn create(&mut self, biz: &Value, notify: Option<NotifyTarget>, now: DateTime<Utc>) -> BizResult {
        let trade = self.open(biz, notify, now)?;
        if trade.status == TradeStatus::TradeClosed {
            return Err(fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"));
        }
        Ok(object(json!({ "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no })))
    }

    /// `alipay.trade.pay`: the buyer's payment code is charged at once.
    pub(crate) fn pay(
        &mut self,
        biz: &Value,
        notify: Option<NotifyTarget>,
        now: DateTime<Utc>,
    ) -> Result<(BizResult, bool), BizError> {
        let auth_code = required(biz, "auth_code")?;
        let valid_code = auth_code.len() == 18
            && auth_code.bytes().all(|b| b.is_ascii_digit())
            && (25..=30).contains(&auth_code[..2].parse::<u32>().unwrap_or(0));
        if !valid_code {
            return Err(fail(
                "ACQ.PAYMENT_AUTH_CODE_INVALID",
                "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
            ));
        }
        let trade = self.open(biz, notify, now)?;
        if trade.status == TradeStatus::TradeClosed {
            return Err(fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"));
        }
        let newly_paid = !trade.status.is_paid();
        if newly_paid {
            trade.status = TradeStatus::TradeSuccess;
            trade.paid = Some(now);
        }
        let paid = trade.paid.unwrap_or(now);
        Ok((
            Ok(object(json!({
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": BUYER_LOGON_ID,
                "buyer_user_id": BUYER_ID,
                "total_amount": trade.total_amount,
                "receipt_amount": trade.total_amount,
                "buyer_pay_amount": trade.total_amount,
                "gmt_payment": format_timestamp(paid),
            }))),
            newly_paid,
        ))
    }

    /// `alipay.trade.query`.
    pub(crate) fn query(&self, biz: &Value) -> BizResult {
        let trade = self.find(biz)?;
        let mut node = object(json!({
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status.as_str(),
            "total_amount": trade.total_amount,
            "subject": trade.subject,
        }));
        if let Some(paid) = trade.paid {
            node.insert("buyer_logon_id".into(), BUYER_LOGON_ID.into());
            node.insert("buyer_user_id".into(), BUYER_ID.into());
            node.insert("buyer_pay_amount".into(), json!(trade.total_amount));
            node.insert("receipt_amount".into(), json!(trade.total_amount));
            node.insert("send_pay_date".into(), format_timestamp(paid).into());
        }
        Ok(node)
    }

    /// `alipay.trade.refund`.
    pub(crate) fn refund(&mut self, biz: &Value, now: DateTime<Utc>) -> BizResult {
        let refund_amount = amount(biz, "refund_amount")?;
        let trade = self.find_mut(biz)?;
        let out_request_no = text(biz, "out_request_no").unwrap_or(&trade.out_trade_no).to_string();
        let answer = |trade: &Trade, fund_change: &str, at: DateTime<Utc>| {
            object(json!({
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": BUYER_LOGON_ID,
                "fund_change": fund_change,
                "refund_fee": trade.refunded(),
                "gmt_refund_pay": format_timestamp(at),
            }))
        };
        if let Some(existing) = trade.refunds.iter().find(|r| r.out_request_no == out_request_no) {
            if existing.amount != refund_amount {
                return Err(fail("ACQ.CONTEXT_INCONSISTENT", "同一 out_request_no 的退款金额不一致"));
            }
            let at = existing.at;
            return Ok(answer(trade, "N", at));
        }
        if !trade.status.is_paid() && trade.refunds.is_empty() {
            return Err(fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: 未支付的交易不能退款"));
        }
        if trade.refunded_cents() + refund_amount.cents() > trade.total_amount.cents() {
            return Err(fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
        }
        trade.refunds.push(Refund { out_request_no, amount: refund_amount, at: now });
        if trade.refunded_cents() == trade.total_amount.cents() {
            trade.status = TradeStatus::TradeClosed;
        }
        Ok(answer(trade, "Y", now))
    }

    /// `alipay.trade.fastpay.refund.query`.
    pub(crate) fn refund_query(&self, biz: &Value) -> BizResult {
        let out_request_no = required(biz, "out_request_no")?;
        let trade = self.find(biz)?;
        let mut node = object(json!({ "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no }));
        if let Some(refund) = trade.refunds.iter().find(|r| r.out_request_no == out_request_no) {
            node.insert("out_request_no".into(), refund.out_request_no.clone().into());
            node.insert("refund_amount".into(), json!(refund.amount));
            node.insert("total_amount".into(), json!(trade.total_amount));
            node.insert("refund_status".into(), "REFUND_SUCCESS".into());
        }
        Ok(node)
    }

    /// `alipay.trade.close`.
    pub(crate) fn close(&mut self, biz: &Value) -> BizResult {
        let trade = self.find_mut(biz)?;
        match trade.status {
            TradeStatus::WaitBuyerPay | TradeStatus::TradeClosed if trade.refunds.is_empty() => {
                trade.status = TradeStatus::TradeClosed;
                Ok(object(json!({ "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no })))
            }
            _ => Err(fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: 已支付的交易不能关闭")),
        }
    }

    /// `alipay.trade.cancel`: closes an unpaid trade, refunds a paid one in full.
    pub(crate) fn cancel(&mut self, biz: &Value, now: DateTime<Utc>) -> BizResult {
        let trade = self.find_mut(biz)?;
        let action = if trade.paid.is_some() { "refund" } else { "close" };
        if trade.paid.is_some() && trade.refunded_cents() < trade.total_amount.cents() {
            let remaining = Amount::from_cents(trade.total_amount.cents() - trade.refunded_cents());
            trade.refunds.push(Refund {
                out_request_no: format!("cancel-{}", trade.out_trade_no),
                amount: remaining,
                at: now,
            });
        }
        trade.status = TradeStatus::TradeClosed;
        Ok(object(json!({
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "retry_flag": "N",
            "action": action,
        })))
    }

    /// The buyer pays a waiting trade. Returns the trade when this changed its state.
    pub(crate) fn buyer_pays(&mut self, out_trade_no: &str, now: DateTime<Utc>) -> Result<Option<Trade>, BizError> {
        let trade = self.trades.get_mut(out_trade_no).ok_or_else(|| fail("ACQ.TRADE_NOT_EXIST", "交易不存在"))?;
        match trade.status {
            TradeStatus::WaitBuyerPay => {
                trade.status = TradeStatus::TradeSuccess;
                trade.paid = Some(now);
                Ok(Some(trade.clone()))
            }
            TradeStatus::TradeClosed => Err(fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
            _ => Ok(None),
        }
    }

    /// The trade whose precreate QR code is `qr_code` (what the buyer's scan finds).
    pub(crate) fn by_qr_code(&self, qr_code: &str) -> Option<Trade> {
        self.trades.values().find(|t| t.qr_code.as_deref() == Some(qr_code)).cloned()
    }

    /// A copy of one trade.
    pub(crate) fn get(&self, out_trade_no: &str) -> Option<Trade> {
        self.trades.get(out_trade_no).cloned()
    }

    /// A copy of every trade.
    pub(crate) fn all(&self) -> Vec<Trade> {
        self.trades.values().cloned().collect()
    }

    /// Every payment and refund, in time order: what the bills are made of.
    pub(crate) fn movements(&self) -> Vec<Movement> {
        let mut out = Vec::new();
        for trade in self.trades.values() {
            if let Some(paid) = trade.paid {
                out.push(Movement {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: trade.out_trade_no.clone(),
                    subject: trade.subject.clone(),
                    created: trade.created,
                    at: paid,
                    cents: trade.total_amount.cents(),
                    refund_request_no: None,
                });
            }
            for refund in &trade.refunds {
                out.push(Movement {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: trade.out_trade_no.clone(),
                    subject: trade.subject.clone(),
                    created: trade.created,
                    at: refund.at,
                    cents: -refund.amount.cents(),
                    refund_request_no: Some(refund.out_request_no.clone()),
                });
            }
        }
        out.sort_by(|a, b| (a.at, &a.trade_no, a.cents).cmp(&(b.at, &b.trade_no, b.cents)));
        out
    }

    /// Whether a trade with this Alipay trade number is paid.
    pub(crate) fn paid_trade(&self, trade_no: &str) -> Option<Trade> {
        let out = self.by_trade_no.get(trade_no)?;
        self.trades.get(out).filter(|t| t.status.is_paid()).cloned()
    }

    /// A trade by Alipay trade number.
    pub(crate) fn by_trade_no(&self, trade_no: &str) -> Option<Trade> {
        self.by_trade_no.get(trade_no).and_then(|out| self.trades.get(out)).cloned()
    }
}

/// A payment (positive) or refund (negative) of a trade.
#[derive(Debug, Clone)]
pub(crate) struct Movement {
    pub trade_no: String,
    pub out_trade_no: String,
    pub subject: String,
    pub created: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub cents: i64,
    pub refund_request_no: Option<String>,
}
