//! Every generated operation (`alipay_sdk::api`, feature `api-all`) against Alipay's interface
//! facts, read here independently of the generator: the method; a request carrying every
//! documented field reads and writes back unchanged (so each field has its wire name and a type
//! that holds the documented value); on the gateway each field goes into `biz_content`, the
//! top-level parameters or (for an upload) the text parameters, and file parts are sent; on v3
//! the verb, the filled path, the query and the body are each where the facts say; a field newer
//! than the description, set in `other_fields`, is sent too; the answer
//! type reads Alipay's full documented answer with nothing left over and keeps a field it does
//! not know; every documented error code is its own variant.

use std::collections::BTreeSet;

use alipay_sdk::Config;
use alipay_sdk::api::Operation;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::api_facts::{Facts, facts};
use crate::common::wire::cert_config;

#[path = "api_models/operations.rs"]
mod operations;

/// One operation's check, instantiated for its generated type.
type Check = fn(&Facts, &Config, &str) -> Result<(), String>;

const GATEWAY_TOP_LEVEL: [&str; 4] = ["notify_url", "return_url", "app_auth_token", "auth_token"];

/// The names in a list of parameters (objects with a `name`) or of file parts (names).
fn names(list: &Value) -> Vec<String> {
    list.as_array().into_iter().flatten().map(|p| p.as_str().or(p["name"].as_str()).unwrap().to_string()).collect()
}

/// A request value for `op` with every documented field: path and query parameters, the body
/// model's fields; file parts are not JSON (checked through the wire forms).
fn full_request(facts: &Facts, op: &Value) -> Map<String, Value> {
    let mut object = Map::new();
    let params = op["path_params"].as_array().into_iter().chain(op["query_params"].as_array()).flatten();
    let body = op["body"].as_str().map(|body| facts.fields(body).as_slice()).unwrap_or_default();
    for field in params.chain(body) {
        let name = field["name"].as_str().unwrap();
        if field["type"] != "binary" {
            object.insert(name.to_string(), facts.sample(name, &field["type"], 0));
        }
    }
    object
}

/// Checks the generated type `A` for `method`.
fn check<A>(facts: &Facts, config: &Config, method: &str) -> Result<(), String>
where
    A: Operation + WithFiles + Serialize + DeserializeOwned + std::fmt::Debug,
    A::Response: Serialize + DeserializeOwned + std::fmt::Debug,
{
    let op = &facts.operations[method];
    if A::METHOD != method {
        return Err(format!("METHOD is {}", A::METHOD));
    }
    let sent = full_request(facts, op);
    let value: A = serde_json::from_value(Value::Object(sent.clone())).map_err(|e| format!("request: {e}"))?;
    let written = serde_json::to_value(&value).map_err(|e| format!("request: {e}"))?;
    if written != Value::Object(sent.clone()) {
        return Err(format!("the request does not write back what it read:\n{written:#}\n{:#}", Value::Object(sent)));
    }
    if format!("{value:?}").contains("other_fields: {\"") {
        return Err(format!("request: a documented field was not typed: {value:?}"));
    }
    let files = names(&op["files"]);
    // File parts are not JSON: set through the type's public `Upload` fields.
    let value = value.with_files();

    // The gateway.
    let request = config.sign_request(&value.to_request()).map_err(|e| format!("gateway: {e}"))?;
    let params: Map<String, Value> =
        request.all_params().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
    let mut expected_biz = sent.clone();
    for name in GATEWAY_TOP_LEVEL {
        if let Some(value) = expected_biz.remove(name)
            && params.get(name) != Some(&value)
        {
            return Err(format!("gateway: {name} is not the top-level parameter {value}"));
        }
    }
    if files.is_empty() {
        let biz: Value = serde_json::from_str(params["biz_content"].as_str().unwrap()).unwrap();
        if biz != Value::Object(expected_biz) {
            return Err(format!("gateway: biz_content is {biz:#}"));
        }
    } else {
        for (name, value) in &expected_biz {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            if params.get(name) != Some(&Value::String(text)) {
                return Err(format!("gateway upload: {name} is not a text parameter"));
            }
        }
        let body = request.http_request("http://127.0.0.1:9/gateway.do").map_err(|e| e.to_string())?.body;
        for file in &files {
            let part = format!("name=\"{file}\"; filename=\"{file}.png\"");
            if !body.windows(part.len()).any(|w| w == part.as_bytes()) {
                return Err(format!("gateway upload: no file part {file}"));
            }
        }
    }

    // OpenAPI v3.
    let signed = config.sign_v3(&value.to_v3_request()).map_err(|e| format!("v3: {e}"))?;
    if signed.method().as_str() != op["http_method"].as_str().unwrap() {
        return Err(format!("v3: verb {}", signed.method().as_str()));
    }
    let mut path = op["path"].as_str().unwrap().to_string();
    let mut expected_body = sent.clone();
    for name in names(&op["path_params"]) {
        let value = expected_body.remove(&name).unwrap();
        path = path.replace(&format!("{{{name}}}"), &query_text(&value));
    }
    let (uri_path, query) = signed.uri().split_once('?').unwrap_or((signed.uri(), ""));
    if uri_path != path {
        return Err(format!("v3: path {uri_path}, expected {path}"));
    }
    let query: BTreeSet<String> = query.split('&').filter(|p| !p.is_empty()).map(String::from).collect();
    for name in names(&op["query_params"]) {
        let value = expected_body.remove(&name).unwrap();
        let pair = format!("{name}={}", query_text(&value));
        if !query.contains(&pair) {
            return Err(format!("v3: no query {pair} in {query:?}"));
        }
    }
    if let Some(token) = expected_body.remove("app_auth_token") {
        let header = signed.headers().iter().find(|(name, _)| name == "alipay-app-auth-token");
        if header.map(|(_, v)| v.as_str()) != token.as_str() {
            return Err("v3: app_auth_token is not its header".into());
        }
    }
    let body: Value =
        if signed.body().is_empty() { Value::Object(Map::new()) } else { serde_json::from_str(signed.body()).unwrap() };
    if body != Value::Object(expected_body) {
        return Err(format!("v3: body {body:#}"));
    }

    // A field newer than the description, set by hand, is sent where a field of its kind goes.
    let mut newer = sent.clone();
    newer.insert("a_field_added_later".into(), json!("x"));
    let newer: A = serde_json::from_value(Value::Object(newer)).map_err(|e| format!("request: {e}"))?;
    let gateway = config.sign_request(&newer.to_request()).map_err(|e| format!("gateway: {e}"))?;
    let sent_on_gateway = gateway.all_params().any(|(name, value)| {
        (name == "a_field_added_later" && value == "x")
            || (name == "biz_content"
                && serde_json::from_str::<Value>(value).is_ok_and(|b| b["a_field_added_later"] == "x"))
    });
    let v3 = config.sign_v3(&newer.to_v3_request()).map_err(|e| format!("v3: {e}"))?;
    let sent_on_v3 = v3.uri().contains("a_field_added_later=x")
        || serde_json::from_str::<Value>(v3.body()).is_ok_and(|b| b["a_field_added_later"] == "x");
    if !sent_on_gateway || !sent_on_v3 {
        return Err(format!("a newer field was not sent: gateway {sent_on_gateway}, v3 {sent_on_v3}"));
    }

    // The answer.
    if let Some(response) = op["response"].as_str() {
        let Value::Object(mut answer) = facts.full(response, 0) else { unreachable!() };
        let read: A::Response =
            serde_json::from_value(Value::Object(answer.clone())).map_err(|e| format!("answer: {e}"))?;
        let shown = format!("{read:?}");
        if shown.contains("other_fields: {\"") {
            return Err(format!("answer: a documented field was not typed: {shown}"));
        }
        if serde_json::to_value(&read).unwrap() != Value::Object(answer.clone()) {
            return Err("answer: does not write back what it read".into());
        }
        answer.insert("a_field_added_later".into(), json!({ "x": 1 }));
        let read: A::Response =
            serde_json::from_value(Value::Object(answer.clone())).map_err(|e| format!("answer: {e}"))?;
        if serde_json::to_value(&read).unwrap() != Value::Object(answer) {
            return Err("answer: a field it does not know was lost".into());
        }
    }

    // The error codes.
    for code in op["error_codes"].as_array().into_iter().flatten() {
        let code = code.as_str().unwrap();
        let typed = A::ErrorCode::from(code);
        let shown = format!("{typed:?}");
        let gateway_wide = facts.common_error_codes.iter().any(|c| c == code);
        if shown.starts_with("Other(") || (shown.starts_with("Common(") && !gateway_wide) {
            return Err(format!("error code {code} is {shown}"));
        }
        if typed.as_ref() != code {
            return Err(format!("error code {code} reads back as {}", typed.as_ref()));
        }
    }
    let newer = A::ErrorCode::from("X.A_CODE_ADDED_LATER");
    if format!("{newer:?}") != "Other(\"X.A_CODE_ADDED_LATER\")" {
        return Err(format!("an unknown code is {newer:?}"));
    }
    let common = A::ErrorCode::from("invalid-parameter");
    if !format!("{common:?}").starts_with("Common(")
        && !op["error_codes"].as_array().unwrap().contains(&json!("invalid-parameter"))
    {
        return Err(format!("a gateway-wide code is {common:?}"));
    }
    Ok(())
}

/// A query or path value as the SDK encodes it (RFC 3986; the samples need only `%20` and `:`).
fn query_text(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.replace(' ', "%20").replace(':', "%3A")
}

/// A request with each of its file parts set (`<part>.png` holding a few bytes); implemented
/// for every generated type in `operations.rs`, by hand-free generated code.
trait WithFiles: Sized {
    fn with_files(self) -> Self {
        self
    }
}

#[test]
fn every_generated_operation_matches_alipays_interface_facts_on_both_protocols() {
    let facts = facts();
    let config = cert_config("http://127.0.0.1:9/gateway.do").build().unwrap();
    assert_eq!(operations::ALL.len(), facts.operations.len(), "one generated type per operation");
    let mut failures = Vec::new();
    for (method, check) in operations::ALL {
        if let Err(error) = check(&facts, &config, method) {
            failures.push(format!("{method}: {error}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} operations:\n{}",
        failures.len(),
        facts.operations.len(),
        failures.join("\n")
    );
}
