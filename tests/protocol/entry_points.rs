//! Page pay (POST form, GET URL) and the app / mini-program order string.

use crate::common::pki;
use crate::common::wire::*;
use alipay_sdk::Client;
use alipay_sdk::charset::Charset;
use alipay_sdk::model::EntryPointApi;
use alipay_sdk::model::trade::{TradeAppPay, TradePagePay, TradeWapPay};
use alipay_sdk::page::PageMethod;

const GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

fn client() -> Client {
    Client::new(cert_config(GATEWAY).build().unwrap()).unwrap()
}

fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#96;", "`")
        .replace("&#61;", "=")
        .replace("&amp;", "&")
}

#[test]
fn post_form_escapes_every_value() {
    let hostile = r#"</form><script>alert('x')</script>" onfocus="alert(1)"#;
    let order = TradePagePay::new("p-1", "10.00".parse().unwrap(), hostile);
    let request = order.to_request().return_url("https://merchant.example/r?a=1&b=\"2\"");
    let html = client().page_execute(&request, PageMethod::Post).unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("onfocus=\"alert"), "{html}");
    assert_eq!(html.matches("<form").count(), 1);
    assert_eq!(html.matches("<script>").count(), 1, "only the auto-submit script");
    assert!(html.contains("document.forms"));
    // The hidden input carries exactly the signed biz_content.
    let start = html.find("name=\"biz_content\" value=\"").unwrap() + "name=\"biz_content\" value=\"".len();
    let end = start + html[start..].find('"').unwrap();
    let biz: serde_json::Value = serde_json::from_str(&unescape_html(&html[start..end])).unwrap();
    assert_eq!(biz["subject"], hostile);
    assert_eq!(biz["product_code"], "FAST_INSTANT_TRADE_PAY");
    // The action is the gateway with the signed system parameters.
    let action_start = html.find("action=\"").unwrap() + 8;
    let action = unescape_html(&html[action_start..action_start + html[action_start..].find('"').unwrap()]);
    assert!(action.starts_with(GATEWAY) && action.contains("sign=") && action.contains("return_url="));
    let query = decode_form(action.split_once('?').unwrap().1.as_bytes(), Charset::Utf8);
    let mut all = query.clone();
    all.push(("biz_content".into(), unescape_html(&html[start..end])));
    assert!(verifies(&all));
}

fn verifies(all: &[(String, String)]) -> bool {
    let mut kept: Vec<&(String, String)> = all.iter().filter(|(k, v)| k != "sign" && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let content = kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let sign = &all.iter().find(|(k, _)| k == "sign").unwrap().1;
    openssl_verifies(&pki("ca/app_cert.pem"), content.as_bytes(), sign)
}

#[test]
fn get_url_carries_every_signed_parameter() {
    let order =
        TradeWapPay::new("w-1", "0.01".parse().unwrap(), "手机网站 & test").with("quit_url", "https://m.example/q");
    let url = client().page_execute(&order.to_request(), PageMethod::Get).unwrap();
    let (gateway, query) = url.split_once('?').unwrap();
    assert_eq!(gateway, GATEWAY);
    assert!(!query.contains(' ') && !query.contains("手"), "values are URL-encoded: {query}");
    let params = decode_form(query.as_bytes(), Charset::Utf8);
    assert!(params.iter().any(|(k, v)| k == "biz_content" && v.contains("手机网站 & test")));
    assert!(verifies(&params));
}

#[test]
fn app_order_string_is_sorted_encoded_and_signed() {
    let order = TradeAppPay::new("a-1", "99.99".parse().unwrap(), "App order");
    let text = client().sdk_execute(&order.to_request().notify_url("https://merchant.example/notify")).unwrap();
    let params = decode_form(text.as_bytes(), Charset::Utf8);
    let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by key");
    assert!(keys.contains(&"sign") && keys.contains(&"app_cert_sn") && keys.contains(&"biz_content"));
    assert!(text.contains("notify_url=https%3A%2F%2Fmerchant.example%2Fnotify"), "{text}");
    assert!(verifies(&params));
}
