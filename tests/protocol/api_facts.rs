//! The hand-written typed APIs against Alipay's own interface facts (`codegen/alipay-api/
//! v3-api.json`, read from the v3 OpenAPI description): each one's v3 verb and path, the wire
//! names its `biz_content` sends, and that its response type reads an answer carrying every
//! field Alipay documents, typed as documented.

use std::collections::HashMap;

use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::auth::{OauthToken, OpenAuthTokenApp, UserInfoShare};
use alipay_sdk::model::fund::{FundAccountQuery, FundTransfer, FundTransferQuery, Payee};
use alipay_sdk::model::settle::{
    BillDownloadUrlQuery, BillType, RoyaltyReceiver, RoyaltyRelationBatchQuery, RoyaltyRelationBind, RoyaltyShare,
    TradeOrderInfoSync, TradeOrderSettle,
};
use alipay_sdk::model::trade::*;
use alipay_sdk::v3::V3Api;
use serde_json::{Value, json};

pub(super) struct Facts {
    pub(super) operations: HashMap<String, Value>,
    models: serde_json::Map<String, Value>,
    /// The gateway-wide error codes (read by the generated models' check, feature `api-all`).
    #[cfg_attr(not(feature = "api-all"), allow(dead_code))]
    pub(super) common_error_codes: Vec<String>,
}

pub(super) fn facts() -> Facts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("codegen/alipay-api/v3-api.json");
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let operations = file["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| (op["method"].as_str().unwrap().to_string(), op.clone()))
        .collect();
    let common_error_codes =
        file["common_error_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    Facts { operations, models: file["models"].as_object().unwrap().clone(), common_error_codes }
}

impl Facts {
    pub(super) fn fields(&self, model: &str) -> &Vec<Value> {
        self.models[model]["fields"].as_array().unwrap_or_else(|| panic!("no model {model}"))
    }

    /// A value of `ty` as Alipay sends it: strings that also read as amounts and as dates are
    /// not possible at once, so a string field named like an amount gets an amount.
    pub(super) fn sample(&self, name: &str, ty: &Value, depth: usize) -> Value {
        match ty {
            Value::String(scalar) => match scalar.as_str() {
                "string" if is_amount_name(name) => json!("12.34"),
                // Lifetimes in seconds, documented as strings.
                "string" if name.ends_with("expires_in") => json!("31536000"),
                "string" => json!("2026-12-05 10:00:00"),
                "integer" => json!(7),
                "number" => json!(1.5),
                "boolean" => json!(true),
                _ => json!({}),
            },
            Value::Object(composite) => {
                if let Some(item) = composite.get("list") {
                    json!([self.sample(name, item, depth)])
                } else if let Some(item) = composite.get("map") {
                    json!({ "k": self.sample(name, item, depth) })
                } else if let (Some(model), true) = (composite.get("ref").and_then(Value::as_str), depth < 4) {
                    self.full(model, depth + 1)
                } else {
                    json!({})
                }
            }
            _ => Value::Null,
        }
    }

    /// Every field of `model`, each with a sample value.
    pub(super) fn full(&self, model: &str, depth: usize) -> Value {
        let mut object = serde_json::Map::new();
        for field in self.fields(model) {
            let name = field["name"].as_str().unwrap();
            object.insert(name.to_string(), self.sample(name, &field["type"], depth));
        }
        Value::Object(object)
    }
}

fn is_amount_name(name: &str) -> bool {
    name.ends_with("amount") || name.ends_with("_fee") || name == "amount" || name.ends_with("_amt")
}

/// `api` sends only wire names Alipay's body model has (or the top-level parameters the
/// gateway takes beside `biz_content`), and its response type reads Alipay's full answer.
fn check<A: AlipayApi>(facts: &Facts, api: &A) {
    let op = facts.operations.get(A::METHOD).unwrap_or_else(|| panic!("{} is not in the facts", A::METHOD));
    let sent = serde_json::to_value(api).unwrap();
    if let (Some(body), Some(sent)) = (op["body"].as_str(), sent.as_object()) {
        let known: Vec<&str> = facts.fields(body).iter().map(|f| f["name"].as_str().unwrap()).collect();
        for name in sent.keys() {
            assert!(known.contains(&name.as_str()), "{}: {name:?} is not a field of {body}: {known:?}", A::METHOD);
        }
    }
    if let Some(response) = op["response"].as_str() {
        let answer = facts.full(response, 0);
        if let Err(error) = serde_json::from_value::<A::Response>(answer.clone()) {
            panic!("{}: the response type does not read Alipay's documented answer: {error}\n{answer:#}", A::METHOD);
        }
    }
}

/// The v3 form of `api` uses Alipay's documented verb and path.
fn check_v3<A: V3Api>(facts: &Facts, api: &A) {
    let op = &facts.operations[A::METHOD];
    let request = api.to_v3_request();
    assert_eq!(request.path(), op["path"].as_str().unwrap(), "{}", A::METHOD);
    assert_eq!(request.method().as_str(), op["http_method"].as_str().unwrap(), "{}", A::METHOD);
}

fn amount(text: &str) -> alipay_sdk::model::Amount {
    text.parse().unwrap()
}

#[test]
fn the_typed_trade_apis_match_alipays_interface_facts_on_both_protocols() {
    let facts = facts();
    let trade = || TradeRef::out_trade_no("facts-1");
    check(&facts, &TradePrecreate::new("facts-1", amount("1.00"), "S"));
    check_v3(&facts, &TradePrecreate::new("facts-1", amount("1.00"), "S"));
    check(&facts, &TradeCreate::new("facts-1", amount("1.00"), "S"));
    check_v3(&facts, &TradeCreate::new("facts-1", amount("1.00"), "S"));
    check(&facts, &TradePay::bar_code("facts-1", "281234567890123456", amount("1.00"), "S"));
    check_v3(&facts, &TradePay::bar_code("facts-1", "281234567890123456", amount("1.00"), "S"));
    check(&facts, &TradeQuery::by_out_trade_no("facts-1"));
    check_v3(&facts, &TradeQuery::by_trade_no("2026"));
    check(&facts, &TradeRefund::new(trade(), amount("1.00"), "r-1"));
    check_v3(&facts, &TradeRefund::new(trade(), amount("1.00"), "r-1"));
    let refund_query = TradeRefundQuery { trade: trade(), out_request_no: "r-1".into() };
    check(&facts, &refund_query);
    check_v3(&facts, &refund_query);
    let close = TradeClose { trade: trade(), operator_id: Some("op".into()) };
    check(&facts, &close);
    check_v3(&facts, &close);
    check(&facts, &TradeCancel { trade: trade() });
    check_v3(&facts, &TradeCancel { trade: trade() });
}

#[test]
fn the_other_typed_apis_match_alipays_interface_facts() {
    let facts = facts();
    check(&facts, &FundTransfer::to_account("p-1", amount("1.00"), Payee::logon_id("a@b.c", "N"), "T"));
    check(&facts, &FundTransferQuery::by_out_biz_no("p-1"));
    check(&facts, &FundAccountQuery::balance_of("2088102177846880"));
    let receiver = RoyaltyReceiver {
        kind: "userId".into(),
        account: "2088".into(),
        name: Some("N".into()),
        memo: Some("M".into()),
    };
    check(&facts, &RoyaltyRelationBind { receiver_list: vec![receiver], out_request_no: "b-1".into() });
    check(&facts, &RoyaltyRelationBatchQuery { page_num: 1, page_size: 20, out_request_no: "q-1".into() });
    let settle = TradeOrderSettle {
        out_request_no: "s-1".into(),
        trade_no: "2026".into(),
        royalty_parameters: vec![RoyaltyShare::to_user("2088", amount("1.00"))],
        extra: Default::default(),
    };
    check(&facts, &settle);
    let sync = TradeOrderInfoSync {
        trade_no: "2026".into(),
        out_request_no: "y-1".into(),
        biz_type: "CREDIT_AUTH".into(),
        extra: Default::default(),
    };
    check(&facts, &sync);
    check(&facts, &BillDownloadUrlQuery { bill_type: BillType::Trade, bill_date: "2026-12-04".into() });
    check(&facts, &UserInfoShare::new("token"));
    check(&facts, &OpenAuthTokenApp::authorization_code("code"));
    check(&facts, &OauthToken::authorization_code("code"));
}

/// A lifetime Alipay sends blank does not cost the tokens beside it.
#[test]
fn a_blank_lifetime_reads_as_absent() {
    let answer = json!({ "app_auth_token": "t", "expires_in": "", "re_expires_in": " 86400 " });
    let token: <OpenAuthTokenApp as AlipayApi>::Response = serde_json::from_value(answer).unwrap();
    assert_eq!((token.expires_in, token.re_expires_in), (None, Some(86400)));
    let wrong = json!({ "app_auth_token": "t", "expires_in": "soon" });
    assert!(serde_json::from_value::<<OpenAuthTokenApp as AlipayApi>::Response>(wrong).is_err());
}

/// The generated operation table (`cargo run -p alipay-codegen`) is the facts, operation by
/// operation; `V3Request::for_api` sends each method where Alipay's description says, also for
/// the 50 whose path is not their method's dots as slashes.
#[test]
fn every_v3_operation_has_its_documented_verb_path_and_parameters() {
    let facts = facts();
    assert_eq!(alipay_sdk::v3::operations().len(), facts.operations.len());
    let names = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    let mut not_derived = 0;
    for (method, op) in &facts.operations {
        let ours = alipay_sdk::v3::operation(method).unwrap_or_else(|| panic!("{method} missing"));
        assert_eq!(ours.method, method);
        assert_eq!(ours.http_method.as_str(), op["http_method"].as_str().unwrap(), "{method}");
        assert_eq!(ours.path, op["path"].as_str().unwrap(), "{method}");
        assert_eq!(ours.path_params, names(&op["path_params"]), "{method}");
        assert_eq!(ours.query_params, names(&op["query_params"]), "{method}");
        assert_eq!(ours.multipart, op["multipart"].as_bool().unwrap(), "{method}");
        let request = alipay_sdk::v3::V3Request::for_api(method);
        assert_eq!((request.method(), request.path()), (ours.http_method, ours.path), "{method}");
        not_derived += usize::from(ours.path != format!("/v3/{}", method.replace('.', "/")));
    }
    assert_eq!(not_derived, 50, "the operations a path derived from the method would miss");
    let department = alipay_sdk::v3::V3Request::for_api("alipay.commerce.ec.department.info.modify");
    assert_eq!((department.method().as_str(), department.path()), ("PUT", "/v3/alipay/commerce/ec/department"));
    // A method newer than the description: the form most operations have.
    let newer = alipay_sdk::v3::V3Request::for_api("alipay.example.newer.query");
    assert_eq!((newer.method().as_str(), newer.path()), ("POST", "/v3/alipay/example/newer/query"));
    assert!(alipay_sdk::v3::operation("alipay.example.newer.query").is_none());
}
