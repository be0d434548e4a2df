//! Beyond trade, against the sandbox: payouts, login, ISV authorisation, royalty settlement,
//! order information sync, and the daily bill.

use alipay_sandbox::{AppMode, Sandbox, SandboxHandle};
use alipay_sdk::model::auth::{OauthToken, OpenAuthTokenApp, UserInfoShare};
use alipay_sdk::model::fund::{FundAccountQuery, FundTransfer, FundTransferQuery, Payee};
use alipay_sdk::model::settle::*;
use alipay_sdk::model::trade::TradePrecreate;
use alipay_sdk::model::{AlipayApi, Amount};
use alipay_sdk::request::RequestErrorKind;
use alipay_sdk::{Client, ErrorKind};

use crate::sandbox::sub_code;

fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

fn client(sandbox: &SandboxHandle) -> Client {
    Client::new(sandbox.client_config().build().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn payouts_take_from_the_balance_once_per_out_biz_no() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = client(&sandbox);
    let partner = sandbox.partner_id();
    let before = client.call(&FundAccountQuery::balance_of(&partner)).await.unwrap().available_amount;
    assert_eq!(before, sandbox.payout_balance());

    let transfer = FundTransfer::to_account("payout-1", amount("100.50"), Payee::user_id("2088102177846880"), "佣金");
    let done = client.call(&transfer).await.unwrap();
    assert_eq!((done.status.as_str(), done.out_biz_no.as_str()), ("SUCCESS", "payout-1"));
    let after = client.call(&FundAccountQuery::balance_of(&partner)).await.unwrap().available_amount;
    assert_eq!(before.cents() - after.cents(), 10_050);
    // The same transfer again: the same order, no second payment.
    let again = client.call(&transfer).await.unwrap();
    assert_eq!(again.order_id, done.order_id);
    assert_eq!(client.call(&FundAccountQuery::balance_of(&partner)).await.unwrap().available_amount, after);
    // The same number with other parameters, too much money, a login id without its name.
    let changed = FundTransfer::to_account("payout-1", amount("1.00"), Payee::user_id("2088102177846880"), "佣金");
    // Alipay's own code and words (confirmed from captured answers).
    assert_eq!(
        failure(&client.call(&changed).await.unwrap_err()),
        ("40004".into(), "PAYMENT_INFO_INCONSISTENCY".into(), "两次请求商户单号一样，但是参数不一致".into())
    );
    let too_much = FundTransfer::to_account("payout-2", amount("99999.00"), Payee::user_id("2088102177846880"), "x");
    assert_eq!(sub_code(&client.call(&too_much).await.unwrap_err()), "PAYER_BALANCE_NOT_ENOUGH");
    let mut nameless = Payee::logon_id("buyer@example.com", "x");
    nameless.name = None;
    let bad_payee = FundTransfer::to_account("payout-3", amount("1.00"), nameless, "x");
    assert_eq!(
        failure(&client.call(&bad_payee).await.unwrap_err()),
        ("40004".into(), "PAYEE_USER_INFO_ERROR".into(), "支付宝账号和姓名不匹配，请确认姓名是否正确".into())
    );
    let nobody = FundTransfer::to_account("payout-4", amount("1.00"), Payee::user_id("2088123"), "x");
    assert_eq!(
        failure(&client.call(&nobody).await.unwrap_err()),
        ("40004".into(), "PAYEE_NOT_EXIST".into(), "收款账号不存在".into())
    );

    let by_out = client.call(&FundTransferQuery::by_out_biz_no("payout-1")).await.unwrap();
    assert_eq!((by_out.order_id.as_str(), by_out.trans_amount), (done.order_id.as_str(), Some(amount("100.50"))));
    let by_order = client.call(&FundTransferQuery::by_order_id(&done.order_id)).await.unwrap();
    assert_eq!(by_order.out_biz_no.as_deref(), Some("payout-1"));
    assert_eq!(sub_code(&client.call(&FundTransferQuery::by_out_biz_no("nope")).await.unwrap_err()), "ORDER_NOT_EXIST");
    let stranger = FundAccountQuery::balance_of("2088999999999999");
    assert_eq!(sub_code(&client.call(&stranger).await.unwrap_err()), "ACCOUNT_NOT_EXIST");
}

#[tokio::test(flavor = "multi_thread")]
async fn transfers_need_certificate_mode_and_say_so_before_sending() {
    let sandbox = Sandbox::builder().mode(AppMode::PublicKey).start().await.unwrap();
    let client = client(&sandbox);
    let transfer = FundTransfer::to_account("pk-1", amount("1.00"), Payee::user_id("2088102177846880"), "x");
    let error = client.call(&transfer).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Request);
    let message = error.to_string();
    assert!(message.contains("alipay.fund.trans.uni.transfer") && message.contains("certificate mode"), "{message}");
    assert!(
        matches!(error.request().map(|e| e.kind()), Some(RequestErrorKind::CertificateModeRequired { .. })),
        "{error:?}"
    );
    assert_eq!(sandbox.request_count("alipay.fund.trans.uni.transfer"), 0, "nothing was sent");
    // Sent anyway, as an untyped request: the gateway's answer for a missing app_cert_sn.
    let raw = alipay_sdk::Request::new("alipay.fund.trans.uni.transfer").biz(&serde_json::json!({
        "out_biz_no": "pk-2", "trans_amount": "1.00", "product_code": "TRANS_ACCOUNT_NO_PWD",
        "biz_scene": "DIRECT_TRANSFER", "order_title": "x",
        "payee_info": {"identity": "2088102177846880", "identity_type": "ALIPAY_USER_ID"}
    }));
    let error = client.send(&raw).await.unwrap_err();
    assert_eq!(failure(&error), ("40002".into(), "isv.missing-app-cert-sn".into(), "缺少应用公钥证书序列号".into()));
    // The balance query is open to both modes.
    client.call(&FundAccountQuery::balance_of(sandbox.partner_id())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn login_exchanges_a_code_for_tokens_and_reads_the_user() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = client(&sandbox);
    let code = sandbox.issue_auth_code().unwrap();
    // Flat parameters, no biz_content; the refresh token never shows in Debug.
    let signed = client.config().sign_request(&OauthToken::authorization_code(&code).to_request()).unwrap();
    let params: Vec<(&str, &str)> = signed.all_params().collect();
    assert!(params.contains(&("grant_type", "authorization_code")) && params.contains(&("code", code.as_str())));
    assert!(params.iter().all(|(k, _)| *k != "biz_content"));
    let refresh_request = OauthToken::refresh("authusrRsecretsecret").to_request();
    assert!(!format!("{refresh_request:?}").contains("secretsecret"), "{refresh_request:?}");

    let tokens = client.call(&OauthToken::authorization_code(&code)).await.unwrap();
    assert_eq!(tokens.user_id.as_deref(), Some("2088102177846880"));
    assert_eq!(tokens.expires_in, Some(1_296_000));
    let shown = format!("{tokens:?}");
    assert!(!shown.contains(&tokens.access_token), "{shown}");
    // The code is one-time.
    let error = client.call(&OauthToken::authorization_code(&code)).await.unwrap_err();
    assert_eq!(sub_code(&error), "isv.code-invalid");
    assert!(!error.to_string().contains(&tokens.access_token));

    let user = client.call(&UserInfoShare::new(&tokens.access_token)).await.unwrap();
    assert_eq!((user.user_id.as_deref(), user.nick_name.as_deref()), (Some("2088102177846880"), Some("沙箱买家")));
    let error = client.call(&UserInfoShare::new("authusrBnot-a-token")).await.unwrap_err();
    assert_eq!(sub_code(&error), "aop.invalid-auth-token");

    let refreshed = client.call(&OauthToken::refresh(tokens.refresh_token.clone().unwrap())).await.unwrap();
    assert_ne!(refreshed.access_token, tokens.access_token);
    client.call(&UserInfoShare::new(&refreshed.access_token)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_isv_gets_and_refreshes_an_app_auth_token() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = client(&sandbox);
    let code = sandbox.issue_app_auth_code().unwrap();
    let token = client.call(&OpenAuthTokenApp::authorization_code(&code)).await.unwrap();
    assert_eq!(token.auth_app_id.as_deref(), Some(sandbox.app_id()));
    assert!(!format!("{token:?}").contains(&token.app_auth_token));
    let error = client.call(&OpenAuthTokenApp::authorization_code(&code)).await.unwrap_err();
    assert_eq!(failure(&error), ("40002".into(), "isv.code-invalid".into(), "授权码code无效".into()));
    let refresh = token.app_refresh_token.clone().unwrap();
    let renewed = client.call(&OpenAuthTokenApp::refresh(&refresh)).await.unwrap();
    assert_ne!(renewed.app_auth_token, token.app_auth_token);
    // A refresh token works once.
    assert_eq!(
        failure(&client.call(&OpenAuthTokenApp::refresh(&refresh)).await.unwrap_err()),
        ("40002".into(), "isv.refresh-token-invalid".into(), "刷新令牌refresh_token无效".into())
    );
    // Calling on the merchant's behalf with the token.
    let on_behalf =
        TradePrecreate::new("isv-1", amount("1.00"), "ISV").to_request().app_auth_token(&renewed.app_auth_token);
    client.send(&on_behalf).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn royalty_relations_settlement_and_order_sync() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = client(&sandbox);
    let receiver = RoyaltyReceiver {
        kind: "userId".into(),
        account: "2088102177846881".into(),
        name: None,
        memo: Some("合作方".into()),
    };
    let bind = RoyaltyRelationBind { receiver_list: vec![receiver.clone()], out_request_no: "bind-1".into() };
    assert_eq!(client.call(&bind).await.unwrap().result_code, "SUCCESS");
    let page = client
        .call(&RoyaltyRelationBatchQuery { page_num: 1, page_size: 20, out_request_no: "q-1".into() })
        .await
        .unwrap();
    assert_eq!(page.receiver_list, vec![receiver]);
    assert_eq!(page.total_record_num, Some(1));

    client.call(&TradePrecreate::new("royalty-1", amount("50.00"), "分账单")).await.unwrap();
    sandbox.buyer_pays("royalty-1").unwrap();
    let trade_no = client
        .call(&alipay_sdk::model::trade::TradeQuery::by_out_trade_no("royalty-1"))
        .await
        .unwrap()
        .into_inner()
        .trade_no;
    let settle = |no: &str, account: &str, value: &str| TradeOrderSettle {
        out_request_no: no.into(),
        trade_no: trade_no.clone(),
        royalty_parameters: vec![RoyaltyShare::to_user(account, amount(value))],
        extra: Default::default(),
    };
    let settled = client.call(&settle("settle-1", "2088102177846881", "10.00")).await.unwrap();
    assert!(settled.settle_no.is_some());
    let again = client.call(&settle("settle-1", "2088102177846881", "10.00")).await.unwrap();
    assert_eq!(again.settle_no, settled.settle_no, "idempotent by out_request_no");
    assert_eq!(
        sub_code(&client.call(&settle("settle-2", "2088000000009999", "1.00")).await.unwrap_err()),
        "ACQ.TRANS_IN_NOT_BIND"
    );
    assert_eq!(
        sub_code(&client.call(&settle("settle-3", "2088102177846881", "60.00")).await.unwrap_err()),
        "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR"
    );

    let sync = TradeOrderInfoSync {
        trade_no: trade_no.clone(),
        out_request_no: "sync-1".into(),
        biz_type: "CREDIT_AUTH".into(),
        extra: Default::default(),
    };
    let synced = client.call(&sync).await.unwrap();
    assert_eq!(synced.out_trade_no.as_deref(), Some("royalty-1"));
}

#[cfg(feature = "bill")]
#[tokio::test(flavor = "multi_thread")]
async fn pay_refund_transfer_then_find_them_in_the_bills() {
    use alipay_sdk::bill::{BillDetails, BillErrorKind};
    // A day's bill exists once the day is over: the sandbox's clock moves on a day before the
    // download (its timestamp window lets the client's real-time requests through).
    let (sandbox, clock) = crate::common::wire::sandbox_with_movable_clock().await;
    let client = client(&sandbox);
    client.call(&TradePrecreate::new("bill-1", amount("66.66"), "账单测试, 一")).await.unwrap();
    sandbox.buyer_pays("bill-1").unwrap();
    client
        .call(&alipay_sdk::model::trade::TradeRefund::new(
            alipay_sdk::model::trade::TradeRef::out_trade_no("bill-1"),
            amount("6.66"),
            "bill-refund-1",
        ))
        .await
        .unwrap();
    let transfer =
        FundTransfer::to_account("bill-payout-1", amount("12.34"), Payee::user_id("2088102177846880"), "佣金");
    client.call(&transfer).await.unwrap();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
    // Today's bill does not exist yet, as at Alipay.
    let early = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: today.clone() };
    let error = client.download_bill(&early, |_, _| {}).await.unwrap_err();
    assert!(error.to_string().contains("isp.bill_not_exist"), "{error}");
    clock.shift(chrono::Duration::days(1));

    let mut reports = Vec::new();
    let query = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: today.clone() };
    let bill = client.download_bill(&query, |done, total| reports.push((done, total))).await.unwrap();
    let BillDetails::Trade(rows) = &bill.details else { panic!("trade rows") };
    let payment = rows.iter().find(|r| r.out_trade_no == "bill-1" && r.business_type == "交易").unwrap();
    assert_eq!((payment.total_amount.cents(), payment.subject.as_str()), (6666, "账单测试, 一"));
    let refund = rows.iter().find(|r| r.business_type == "退款").unwrap();
    assert_eq!((refund.total_amount.cents(), refund.refund_request_no.as_str()), (-666, "bill-refund-1"));
    let alipay_sdk::bill::BillSummary::Trade(summary) = &bill.summary else { panic!("trade summary") };
    let total = summary.last().unwrap();
    assert_eq!((total.store_id.as_str(), total.received_amount.cents(), total.trade_count), ("合计", 6000, 1));
    // The footers state what the rows hold; the entry names are GBK, read back as written.
    let trades = bill.totals.trades.unwrap();
    assert_eq!((trades.count, trades.amount.cents()), (1, 6666));
    let refunds = bill.totals.refunds.unwrap();
    assert_eq!((refunds.count, refunds.amount.cents()), (1, -666));
    assert!(bill.files.iter().any(|f| f.ends_with("_业务明细.csv")), "{:?}", bill.files);
    assert!(bill.notes.iter().any(|n| n.contains("终止日期：[") && n.contains("00:00:00]")), "{:?}", bill.notes);
    let (last_done, last_total) = *reports.last().unwrap();
    assert!(last_total.is_some_and(|total| total == last_done) && last_done > 0, "{reports:?}");

    let query = BillDownloadUrlQuery { bill_type: BillType::SignCustomer, bill_date: today.clone() };
    let account = client.download_bill(&query, |_, _| {}).await.unwrap();
    let BillDetails::Account(rows) = &account.details else { panic!("account rows") };
    let payout = rows.iter().find(|r| r.out_trade_no == "bill-payout-1").unwrap();
    assert_eq!(payout.outgo.cents(), -1234);
    assert_eq!(rows.iter().find(|r| r.out_trade_no == "bill-1" && r.income.cents() > 0).unwrap().income.cents(), 6666);
    assert_eq!(rows.last().unwrap().balance.cents(), 1_000_000 + 6666 - 666 - 1234);
    let (income, outgo) = (account.totals.income.unwrap(), account.totals.outgo.unwrap());
    assert_eq!((income.count, income.amount.cents()), (1, 6666));
    assert_eq!((outgo.count, outgo.amount.cents()), (2, -666 - 1234));
    let alipay_sdk::bill::BillSummary::Account(summary) = &account.summary else { panic!("account summary") };
    let total = summary.last().unwrap();
    assert_eq!((total.business_type.as_str(), total.count, total.income.cents()), ("合计", 3, 6666));
    assert!(summary.iter().any(|r| r.business_type == "转账"), "类型 read as the type: {summary:?}");

    // An expired URL is named as such; a future day is refused by the gateway.
    sandbox.set_bill_url_ttl(std::time::Duration::ZERO);
    let query = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: today };
    let error = client.download_bill(&query, |_, _| {}).await.unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::UrlExpired { status: 403 }), "{error}");
    let future = BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: "2999-01-01".into() };
    let error = client.download_bill(&future, |_, _| {}).await.unwrap_err();
    assert!(matches!(error.kind(), BillErrorKind::Query(_)), "{error}");
}

/// A verified failure's `code`, `sub_code` and `sub_msg`.
fn failure(error: &alipay_sdk::Error) -> (String, String, String) {
    let business = error.business().unwrap_or_else(|| panic!("expected a verified business error, got {error:?}"));
    let failure = &business.failure;
    (failure.code.clone(), failure.sub_code.clone().unwrap_or_default(), failure.sub_msg.clone().unwrap_or_default())
}
