//! The sandbox's services beyond trade: payouts (a balance that goes down, idempotent by
//! `out_biz_no`), Alipay login (auth codes → tokens → user info), ISV app authorisation,
//! royalty relations and settlement, order information sync, and the bill's download URL.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::ledger::{BUYER_ID, BizError, Ledger};
use alipay_core::model::Amount;
use alipay_core::primitives::gateway::format_timestamp;

/// What a service answered: a node, or a failure with its own code (`40004` business,
/// `40002` invalid arguments, `20001` token).
pub(crate) type ServiceResult = Result<Map<String, Value>, ServiceFailure>;

/// A failure with its code and message.
#[derive(Debug)]
pub(crate) struct ServiceFailure {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
}

fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> ServiceFailure {
    ServiceFailure { code: "40004", msg: "Business Failed", sub_code, sub_msg: sub_msg.into() }
}

fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> ServiceFailure {
    ServiceFailure { code: "40002", msg: "Invalid Arguments", sub_code, sub_msg: sub_msg.into() }
}

impl From<BizError> for ServiceFailure {
    fn from(error: BizError) -> Self {
        business(error.sub_code, error.sub_msg)
    }
}

fn text<'a>(biz: &'a Value, field: &str) -> Option<&'a str> {
    biz.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(biz: &'a Value, field: &str) -> Result<&'a str, ServiceFailure> {
    text(biz, field).ok_or_else(|| invalid("isv.missing-parameter", format!("缺少必选参数 {field}")))
}

fn amount(biz: &Value, field: &str) -> Result<Amount, ServiceFailure> {
    let raw = match biz.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(invalid("isv.missing-parameter", format!("缺少必选参数 {field}"))),
    };
    let parsed: Amount =
        raw.parse().map_err(|_| invalid("isv.invalid-parameter", format!("{field} 格式错误: {raw}")))?;
    // Alipay's range for a trade or transfer amount: 0.01 to 100000000.00 yuan.
    if parsed.cents() > 10_000_000_000 {
        return Err(invalid("isv.invalid-parameter", format!("{field} 超出范围: {raw}")));
    }
    if parsed.cents() <= 0 {
        return Err(invalid("isv.invalid-parameter", format!("{field} 必须大于 0")));
    }
    Ok(parsed)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A payout.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    pub order_id: String,
    pub pay_fund_order_id: String,
    pub out_biz_no: String,
    pub cents: i64,
    pub payee: String,
    pub title: String,
    pub at: DateTime<Utc>,
    fingerprint: String,
}

/// A bill URL handed out: its content, made when asked for, and when it stops working.
#[derive(Debug, Clone)]
pub(crate) struct BillLink {
    pub zip: Vec<u8>,
    pub expires: DateTime<Utc>,
}

/// The starting payout balance of the sandbox merchant: 10 000.00.
pub(crate) const START_BALANCE_CENTS: i64 = 1_000_000;

/// The state behind the services.
#[derive(Debug)]
pub(crate) struct Services {
    pub balance_cents: i64,
    pub transfers: Vec<Transfer>,
    auth_codes: HashMap<String, bool>,
    access_tokens: HashMap<String, String>,
    refresh_tokens: HashMap<String, String>,
    app_auth_codes: HashMap<String, bool>,
    app_refresh_tokens: HashMap<String, String>,
    receivers: Vec<Value>,
    settles: HashMap<String, (String, String)>,
    pub bill_links: HashMap<String, BillLink>,
    pub bill_url_ttl: Duration,
    sequence: u64,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            balance_cents: START_BALANCE_CENTS,
            transfers: Vec::new(),
            auth_codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            app_auth_codes: HashMap::new(),
            app_refresh_tokens: HashMap::new(),
            receivers: Vec::new(),
            settles: HashMap::new(),
            bill_links: HashMap::new(),
            bill_url_ttl: Duration::from_secs(30),
            sequence: 0,
        }
    }
}

/// `N` random bytes as hex, for codes and tokens. The core's policy for a failing random
/// source applies: a secret is never made up from anything weaker, so the call fails as
/// Alipay's gateway does on an internal error (20000), and nothing is issued.
fn random_hex<const N: usize>(purpose: &'static str) -> Result<String, ServiceFailure> {
    alipay_core::random::hex::<N>(purpose).map_err(|error| ServiceFailure {
        code: "20000",
        msg: "Service Currently Unavailable",
        sub_code: "isp.unknow-error",
        sub_msg: format!("系统繁忙: {error}"),
    })
}

/// Who a service call is from and about.
pub(crate) struct Caller<'a> {
    pub app_id: &'a str,
    pub partner_id: &'a str,
    pub certificate_mode: bool,
    pub now: DateTime<Utc>,
    /// The top-level request parameters (login passes its fields flat).
    pub params: &'a [(String, String)],
}

impl Caller<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

impl Services {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// A fresh one-time user `auth_code` (what the user's authorisation page returns).
    pub(crate) fn issue_auth_code(&mut self) -> Result<String, ServiceFailure> {
        let code = format!("sandboxAuth{}", random_hex::<8>("a user auth_code")?);
        self.auth_codes.insert(code.clone(), false);
        Ok(code)
    }

    /// A fresh one-time merchant `app_auth_code` (what the ISV authorisation page returns).
    pub(crate) fn issue_app_auth_code(&mut self) -> Result<String, ServiceFailure> {
        let code = format!("sandboxAppAuth{}", random_hex::<8>("a merchant app_auth_code")?);
        self.app_auth_codes.insert(code.clone(), false);
        Ok(code)
    }

    /// Handles the service `method`, or `None` when it is not one of these.
    pub(crate) fn handle(
        &mut self,
        method: &str,
        biz: &Value,
        caller: &Caller<'_>,
        ledger: &Ledger,
    ) -> Option<ServiceResult> {
        Some(match method {
            "alipay.fund.trans.uni.transfer" => self.transfer(biz, caller),
            "alipay.fund.trans.common.query" => self.transfer_query(biz, caller),
            "alipay.fund.account.query" => self.account_query(biz, caller),
            "alipay.system.oauth.token" => self.oauth_token(caller),
            "alipay.user.info.share" => self.user_info(caller),
            "alipay.open.auth.token.app" => self.app_token(biz, caller),
            "alipay.trade.royalty.relation.bind" => self.bind(biz),
            "alipay.trade.royalty.relation.batchquery" => self.batchquery(biz),
            "alipay.trade.order.settle" => self.settle(biz, ledger),
            "alipay.trade.orderinfo.sync" => orderinfo_sync(biz, ledger),
            _ => return None,
        })
    }

    fn certificate_mode_only(caller: &Caller<'_>) -> Result<(), ServiceFailure> {
        if caller.certificate_mode {
            Ok(())
        } else {
            // What the gateway answers a certificate-only API called without certificates.
            Err(ServiceFailure {
                code: "40002",
                msg: "Invalid Arguments",
                sub_code: "isv.missing-app-cert-sn",
                sub_msg: "缺少应用公钥证书序列号".into(),
            })
        }
    }

    fn transfer(&mut self, biz: &Value, caller: &Caller<'_>) -> ServiceResult {
        Self::certificate_mode_only(caller)?;
        let out_biz_no = required(biz, "out_biz_no")?.to_string();
        let trans_amount = amount(biz, "trans_amount")?;
        if text(biz, "product_code") != Some("TRANS_ACCOUNT_NO_PWD")
            || text(biz, "biz_scene") != Some("DIRECT_TRANSFER")
        {
            return Err(invalid(
                "isv.invalid-parameter",
                "product_code 须为 TRANS_ACCOUNT_NO_PWD, biz_scene 须为 DIRECT_TRANSFER",
            ));
        }
        let title = required(biz, "order_title")?.to_string();
        let payee = biz.get("payee_info").cloned().unwrap_or(Value::Null);
        let identity = required(&payee, "identity")?.to_string();
        match text(&payee, "identity_type") {
            Some("ALIPAY_USER_ID") if identity.starts_with("2088") && identity.len() == 16 => {}
            Some("ALIPAY_USER_ID") => return Err(business("PAYEE_NOT_EXIST", "收款账号不存在")),
            Some("ALIPAY_LOGON_ID") if text(&payee, "name").is_some() => {}
            Some("ALIPAY_LOGON_ID") => {
                return Err(business("PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确"));
            }
            _ => return Err(invalid("isv.invalid-parameter", "identity_type 须为 ALIPAY_USER_ID 或 ALIPAY_LOGON_ID")),
        }
        let fingerprint = format!("{trans_amount}|{identity}|{title}");
        let answer = |t: &Transfer| {
            object(json!({
                "out_biz_no": t.out_biz_no,
                "order_id": t.order_id,
                "pay_fund_order_id": t.pay_fund_order_id,
                "status": "SUCCESS",
                "trans_date": format_timestamp(t.at),
            }))
        };
        if let Some(existing) = self.transfers.iter().find(|t| t.out_biz_no == out_biz_no) {
            if existing.fingerprint != fingerprint {
                return Err(business("PAYMENT_INFO_INCONSISTENCY", "两次请求商户单号一样，但是参数不一致"));
            }
            return Ok(answer(existing));
        }
        let cents = trans_amount.cents();
        if cents > self.balance_cents {
            return Err(business("PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足"));
        }
        self.balance_cents -= cents;
        let n = self.next();
        let day = caller.now.format("%Y%m%d");
        let transfer = Transfer {
            order_id: format!("{day}110070000{n:010}"),
            pay_fund_order_id: format!("{day}110070001{n:010}"),
            out_biz_no,
            cents,
            payee: identity,
            title,
            at: caller.now,
            fingerprint,
        };
        let node = answer(&transfer);
        self.transfers.push(transfer);
        Ok(node)
    }

    fn transfer_query(&self, biz: &Value, caller: &Caller<'_>) -> ServiceResult {
        Self::certificate_mode_only(caller)?;
        let found = match (text(biz, "out_biz_no"), text(biz, "order_id")) {
            (Some(out), _) => self.transfers.iter().find(|t| t.out_biz_no == out),
            (None, Some(order)) => self.transfers.iter().find(|t| t.order_id == order),
            (None, None) => return Err(invalid("isv.missing-parameter", "out_biz_no 和 order_id 不能同时为空")),
        };
        let transfer = found.ok_or_else(|| business("ORDER_NOT_EXIST", "转账订单不存在"))?;
        Ok(object(json!({
            "order_id": transfer.order_id,
            "out_biz_no": transfer.out_biz_no,
            "pay_fund_order_id": transfer.pay_fund_order_id,
            "status": "SUCCESS",
            "trans_amount": Amount::from_cents(transfer.cents).to_string(),
            "pay_date": format_timestamp(transfer.at),
        })))
    }

    fn account_query(&self, biz: &Value, caller: &Caller<'_>) -> ServiceResult {
        let user = required(biz, "alipay_user_id")?;
        if user != caller.partner_id {
            return Err(business("ACCOUNT_NOT_EXIST", format!("账户不存在或不属于当前商户: {user}")));
        }
        let balance = Amount::from_cents(self.balance_cents.max(0)).to_string();
        Ok(object(json!({ "available_amount": balance, "freeze_amount": "0.00" })))
    }

    fn tokens(&mut self, user_id: &str, now: DateTime<Utc>) -> ServiceResult {
        let access = format!("authusrB{}", random_hex::<16>("a user access_token")?);
        let refresh = format!("authusrR{}", random_hex::<16>("a user refresh_token")?);
        self.access_tokens.insert(access.clone(), user_id.to_string());
        self.refresh_tokens.insert(refresh.clone(), user_id.to_string());
        Ok(object(json!({
            "user_id": user_id,
            "access_token": access,
            "expires_in": 1_296_000,
            "refresh_token": refresh,
            "re_expires_in": 2_592_000,
            "auth_start": format_timestamp(now),
        })))
    }

    /// `alipay.system.oauth.token`: flat parameters; a success answer without `code`.
    fn oauth_token(&mut self, caller: &Caller<'_>) -> ServiceResult {
        match caller.param("grant_type") {
            Some("authorization_code") => {
                let code = caller.param("code").ok_or_else(|| invalid("isv.code-invalid", "缺少授权码 code"))?;
                match self.auth_codes.get_mut(code) {
                    Some(used) if !*used => *used = true,
                    _ => return Err(invalid("isv.code-invalid", "授权码code无效")),
                }
                self.tokens(BUYER_ID, caller.now)
            }
            Some("refresh_token") => {
                let token = caller.param("refresh_token").unwrap_or_default();
                let user = self
                    .refresh_tokens
                    .get(token)
                    .cloned()
                    .ok_or_else(|| invalid("isv.refresh-token-invalid", "刷新令牌refresh_token无效"))?;
                self.tokens(&user, caller.now)
            }
            _ => Err(invalid("isv.grant-type-invalid", "grant_type参数不正确")),
        }
    }

    fn user_info(&self, caller: &Caller<'_>) -> ServiceResult {
        let token = caller.param("auth_token").unwrap_or_default();
        let user = self.access_tokens.get(token).ok_or_else(|| ServiceFailure {
            code: "20001",
            msg: "Insufficient Token Permissions",
            sub_code: "aop.invalid-auth-token",
            sub_msg: "无效的访问令牌".into(),
        })?;
        Ok(object(json!({
            "user_id": user,
            "nick_name": "沙箱买家",
            "avatar": "https://sandbox.alipay-sdk.test/avatar.png",
            "gender": "F",
            "province": "浙江省",
            "city": "杭州市",
        })))
    }

    fn app_token(&mut self, biz: &Value, caller: &Caller<'_>) -> ServiceResult {
        let merchant = "2088000000000002";
        match text(biz, "grant_type") {
            Some("authorization_code") => {
                let code = required(biz, "code")?;
                match self.app_auth_codes.get_mut(code) {
                    Some(used) if !*used => *used = true,
                    _ => return Err(invalid("isv.code-invalid", "授权码code无效")),
                }
            }
            Some("refresh_token") => {
                let token = required(biz, "refresh_token")?;
                if self.app_refresh_tokens.remove(token).is_none() {
                    return Err(invalid("isv.refresh-token-invalid", "刷新令牌refresh_token无效"));
                }
            }
            _ => return Err(invalid("isv.grant-type-invalid", "grant_type参数不正确")),
        }
        let token = format!("202612BB{}", random_hex::<16>("an app_auth_token")?);
        let refresh = format!("202612BR{}", random_hex::<16>("an app_refresh_token")?);
        self.app_refresh_tokens.insert(refresh.clone(), merchant.into());
        Ok(object(json!({
            "user_id": merchant,
            "auth_app_id": caller.app_id,
            "app_auth_token": token,
            "app_refresh_token": refresh,
            "expires_in": 31_536_000,
            "re_expires_in": 32_140_800,
        })))
    }

    fn bind(&mut self, biz: &Value) -> ServiceResult {
        required(biz, "out_request_no")?;
        let list = biz.get("receiver_list").and_then(Value::as_array).filter(|l| !l.is_empty());
        let list = list.ok_or_else(|| invalid("isv.missing-parameter", "缺少必选参数 receiver_list"))?;
        for receiver in list {
            let account = required(receiver, "account")?;
            if !self.receivers.iter().any(|r| text(r, "account") == Some(account)) {
                self.receivers.push(receiver.clone());
            }
        }
        Ok(object(json!({ "result_code": "SUCCESS" })))
    }

    fn batchquery(&self, biz: &Value) -> ServiceResult {
        let page = biz.get("page_num").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
        let size = biz.get("page_size").and_then(Value::as_u64).unwrap_or(20).clamp(1, 100) as usize;
        let pages = self.receivers.len().div_ceil(size).max(1);
        let list: Vec<Value> = self.receivers.iter().skip((page - 1) * size).take(size).cloned().collect();
        Ok(object(json!({
            "result_code": "SUCCESS",
            "receiver_list": list,
            "total_page_num": pages,
            "total_record_num": self.receivers.len(),
            "current_page_num": page,
            "current_page_size": size,
        })))
    }

    fn settle(&mut self, biz: &Value, ledger: &Ledger) -> ServiceResult {
        let out_request_no = required(biz, "out_request_no")?.to_string();
        let trade_no = required(biz, "trade_no")?.to_string();
        if let Some((settled_trade, settle_no)) = self.settles.get(&out_request_no) {
            if *settled_trade != trade_no {
                return Err(business("ACQ.CONTEXT_INCONSISTENT", "同一 out_request_no 的分账参数不一致"));
            }
            return Ok(object(json!({ "trade_no": trade_no, "settle_no": settle_no })));
        }
        let trade =
            ledger.paid_trade(&trade_no).ok_or_else(|| business("ACQ.TRADE_NOT_EXIST", "交易不存在或未支付"))?;
        let shares = biz.get("royalty_parameters").and_then(Value::as_array).filter(|l| !l.is_empty());
        let shares = shares.ok_or_else(|| invalid("isv.missing-parameter", "缺少必选参数 royalty_parameters"))?;
        let mut total = 0i64;
        for share in shares {
            let account = required(share, "trans_in")?;
            if !self.receivers.iter().any(|r| text(r, "account") == Some(account)) {
                return Err(business("ACQ.TRANS_IN_NOT_BIND", format!("分账收入方未绑定分账关系: {account}")));
            }
            total += amount(share, "amount")?.cents();
        }
        if total > trade.total_amount.cents() {
            return Err(business("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", "分账金额超过可分账金额"));
        }
        let settle_no = format!("{}2006{:010}", Utc::now().format("%Y%m%d"), self.next());
        self.settles.insert(out_request_no, (trade_no.clone(), settle_no.clone()));
        Ok(object(json!({ "trade_no": trade_no, "settle_no": settle_no })))
    }

    /// `alipay.data.dataservice.bill.downloadurl.query`: checks the request and keeps the
    /// zip for a short-lived URL under a random token; returns the token.
    pub(crate) fn bill_link(
        &mut self,
        biz: &Value,
        now: DateTime<Utc>,
        make: impl FnOnce(&str, NaiveDate) -> Vec<u8>,
    ) -> Result<String, ServiceFailure> {
        let bill_type = required(biz, "bill_type")?;
        if !matches!(bill_type, "trade" | "signcustomer") {
            return Err(invalid("isv.invalid-parameter", format!("bill_type 无效: {bill_type}")));
        }
        let date = required(biz, "bill_date")?;
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| invalid("isv.invalid-parameter", format!("bill_date 格式错误: {date}")))?;
        let today = (now + chrono::Duration::hours(8)).date_naive();
        // A day's bill exists once the day has ended (China time).
        if day >= today {
            return Err(business("isp.bill_not_exist", "账单不存在"));
        }
        self.bill_links.retain(|_, link| link.expires > now);
        let token = random_hex::<16>("a bill download link")?;
        let expires = now + chrono::Duration::from_std(self.bill_url_ttl).unwrap_or(chrono::Duration::seconds(30));
        self.bill_links.insert(token.clone(), BillLink { zip: make(bill_type, day), expires });
        Ok(token)
    }
}

fn orderinfo_sync(biz: &Value, ledger: &Ledger) -> ServiceResult {
    let trade_no = required(biz, "trade_no")?;
    required(biz, "out_request_no")?;
    required(biz, "biz_type")?;
    let trade = ledger.by_trade_no(trade_no).ok_or_else(|| business("ACQ.TRADE_NOT_EXIST", "交易不存在"))?;
    Ok(object(json!({ "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_user_id": BUYER_ID })))
}
