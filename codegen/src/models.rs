//! The typed models: one request and one response type per operation, the shared types, and
//! per-operation error-code enums, one module per API family (`alipay.trade`, `ant.merchant`,
//! …) behind a feature of that family's name, and the shared types each behind the features
//! of the families that use them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Rust's keywords (strict and reserved): a field of that name gets a trailing `_`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names from Rust's prelude a model may not take (it would shadow the prelude's in the
/// generated code): such a model gets `Model` appended.
const PRELUDE: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "Send",
    "Sync",
    "Sized",
    "Drop",
    "Fn",
    "Iterator",
    "ToString",
    "From",
    "Into",
    "PartialEq",
    "Eq",
    "Ord",
];

/// A model's Rust name: its name in the facts, unless that clashes with the prelude.
fn type_name(model: &str) -> String {
    if PRELUDE.contains(&model) { format!("{model}Model") } else { model.to_string() }
}

/// Field names whose values are secrets: shown as `<redacted>` by `Debug`.
const SECRETS: &[&str] = &["auth_token", "app_auth_token", "access_token", "refresh_token", "auth_code"];

/// The map of fields a model does not know, kept so nothing Alipay adds is lost.
const OTHER_FIELDS: &str = "other_fields";

/// One generated file: its path under `core/src/api/` and its text.
pub(crate) struct File {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// What the generator writes: the files, and the features (family name → feature).
pub(crate) struct Output {
    pub(crate) files: Vec<File>,
    /// `tests/protocol/api_models/operations.rs`: every operation's check, instantiated.
    pub(crate) test_list: String,
    pub(crate) features: Vec<String>,
}

/// `alipay.trade.query` → `alipay.trade`.
fn family(method: &str) -> String {
    method.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// `alipay.trade` → `api-alipay-trade`.
fn feature(family: &str) -> String {
    format!("api-{}", family.replace('.', "-"))
}

/// `alipay.trade` → `alipay_trade`.
fn module(family: &str) -> String {
    family.replace('.', "_")
}

/// The names of an operation's generated types, in its family module.
pub(crate) struct TypeNames {
    /// `alipay.trade.query` → `AlipayTradeQuery`.
    pub(crate) request: String,
    /// `AlipayTradeQueryResponse` (generated when the description types the answer).
    pub(crate) response: String,
    /// `AlipayTradeQueryErrorCode`.
    pub(crate) error_code: String,
}

pub(crate) fn type_names(method: &str) -> TypeNames {
    let request = camel(method);
    TypeNames { response: format!("{request}Response"), error_code: format!("{request}ErrorCode"), request }
}

/// Where `method`'s generated types live as a user names them (`alipay_sdk::api::alipay_trade::`)
/// and the feature that compiles them (`api-alipay-trade`).
pub(crate) fn module_path_and_feature(method: &str) -> (String, String) {
    let family = family(method);
    (format!("alipay_sdk::api::{}::", module(&family)), feature(&family))
}

/// `alipay.trade.query` → `AlipayTradeQuery`; `ACQ.SYSTEM_ERROR` → `AcqSystemError`.
fn camel(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, 'E');
    }
    out
}

/// A wire name as a Rust field name: snake case, keywords and clashes suffixed with `_`.
fn field_name(wire: &str) -> String {
    let mut out = String::new();
    for (i, c) in wire.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || out == OTHER_FIELDS {
        out.push('_');
    }
    out
}

fn is_amount_name(name: &str) -> bool {
    name == "amount" || name.ends_with("_amount")
}

fn is_money_like(name: &str) -> bool {
    is_amount_name(name) || name == "price" || name.ends_with("_price") || name.ends_with("_amt")
}

/// The model a type refers to directly (not through a list or map: those break a size cycle).
fn direct_ref(ty: &Value) -> Option<&str> {
    ty.get("ref").and_then(Value::as_str)
}

/// Every model a type refers to, at any depth of lists and maps.
fn all_refs(ty: &Value, out: &mut BTreeSet<String>) {
    if let Some(name) = ty.get("ref").and_then(Value::as_str) {
        out.insert(name.to_string());
    }
    for key in ["list", "map"] {
        if let Some(inner) = ty.get(key) {
            all_refs(inner, out);
        }
    }
}

struct Facts<'a> {
    models: &'a Map<String, Value>,
}

impl Facts<'_> {
    fn fields(&self, model: &str) -> Result<&Vec<Value>, String> {
        self.models
            .get(model)
            .and_then(|m| m["fields"].as_array())
            .ok_or_else(|| format!("model {model} is referred to but not described"))
    }

    /// Whether `from` reaches `to` through direct (unboxed) references.
    fn reaches(&self, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        if from == to {
            return true;
        }
        if !seen.insert(from.to_string()) {
            return false;
        }
        let Ok(fields) = self.fields(from) else { return false };
        fields.iter().any(|f| direct_ref(&f["type"]).is_some_and(|r| self.reaches(r, to, seen)))
    }

    /// The Rust type of the field `name` of model `owner` (a file part is an `Upload`).
    fn rust_type(&self, owner: &str, name: &str, ty: &Value) -> Result<String, String> {
        Ok(match ty {
            Value::String(scalar) => match scalar.as_str() {
                "string" if is_amount_name(name) => "crate::model::Amount".into(),
                "string" => "String".into(),
                "integer" => "i64".into(),
                "number" => "serde_json::Number".into(),
                "boolean" => "bool".into(),
                "object" => "serde_json::Map<String, serde_json::Value>".into(),
                "binary" => "super::Upload".into(),
                other => return Err(format!("{owner}.{name}: unknown type {other:?}")),
            },
            Value::Object(composite) => {
                if let Some(item) = composite.get("list") {
                    format!("Vec<{}>", self.rust_type(owner, name, item)?)
                } else if let Some(item) = composite.get("map") {
                    format!("std::collections::BTreeMap<String, {}>", self.rust_type(owner, name, item)?)
                } else if let Some(model) = composite.get("ref").and_then(Value::as_str) {
                    self.fields(model)?;
                    let path = format!("{SHARED}{}", type_name(model));
                    if self.reaches(model, owner, &mut BTreeSet::new()) { format!("Box<{path}>") } else { path }
                } else {
                    return Err(format!("{owner}.{name}: unknown composite type {ty}"));
                }
            }
            other => return Err(format!("{owner}.{name}: unknown type {other}")),
        })
    }
}

/// Where the shared models live, seen from a family module (and from `shared.rs` itself).
const SHARED: &str = "super::shared::";

/// One struct field to write.
struct FieldOut {
    wire: String,
    rust: String,
    ty: String,
    optional: bool,
    deprecated: bool,
    note: Option<&'static str>,
    skip: bool,
}

/// Writes a model. Every model keeps the fields it does not know in `other_fields`: an answer's
/// fields newer than this version are not lost, and a request can send fields newer than it.
fn write_struct(out: &mut String, name: &str, doc: &str, cfg: &str, fields: &[FieldOut]) {
    let has_secret = fields.iter().any(|f| SECRETS.contains(&f.wire.as_str()));
    let derives = "serde::Serialize, serde::Deserialize";
    let debug = if has_secret { "" } else { "Debug, " };
    let _ = writeln!(out, "{doc}{cfg}#[derive({debug}Clone, Default, PartialEq, {derives})]");
    let _ = writeln!(out, "pub struct {name} {{");
    for field in fields {
        let _ = writeln!(out, "    /// `{}`{}", field.wire, field.note.map(|n| format!(" ({n})")).unwrap_or_default());
        if field.deprecated {
            out.push_str("    #[deprecated = \"deprecated in Alipay's interface description\"]\n");
        }
        if field.skip {
            out.push_str("    #[serde(skip)]\n");
        } else if field.optional {
            if field.rust == field.wire {
                out.push_str("    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
            } else {
                let _ = writeln!(
                    out,
                    "    #[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\")]",
                    field.wire
                );
            }
        } else if field.rust != field.wire {
            let _ = writeln!(out, "    #[serde(rename = \"{}\")]", field.wire);
        }
        let ty = if field.optional { format!("Option<{}>", field.ty) } else { field.ty.clone() };
        let _ = writeln!(out, "    pub {}: {ty},", field.rust);
    }
    {
        out.push_str("    /// Fields this version does not know: kept as they came in an answer, sent as they are\n    /// in a request (forward compatible).\n");
        out.push_str("    #[serde(flatten)]\n");
        let _ = writeln!(out, "    pub {OTHER_FIELDS}: serde_json::Map<String, serde_json::Value>,");
    }
    out.push_str("}\n\n");
    if !has_secret {
        return;
    }
    // Debug by hand where a field is a secret: shown as redacted.
    let _ = writeln!(out, "{cfg}impl std::fmt::Debug for {name} {{");
    out.push_str("    #[allow(deprecated)]\n");
    out.push_str("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n");
    let _ = writeln!(out, "        let mut s = f.debug_struct({name:?});");
    for field in fields {
        if SECRETS.contains(&field.wire.as_str()) {
            let _ = writeln!(
                out,
                "        s.field({:?}, &self.{}.as_ref().map(|_| \"<redacted>\"));",
                field.rust, field.rust
            );
        } else {
            let _ = writeln!(out, "        s.field({:?}, &self.{});", field.rust, field.rust);
        }
    }
    let _ = writeln!(out, "        s.field({OTHER_FIELDS:?}, &self.{OTHER_FIELDS});");
    out.push_str("        s.finish()\n    }\n}\n\n");
}

fn model_fields(facts: &Facts<'_>, model: &str) -> Result<Vec<FieldOut>, String> {
    facts
        .fields(model)?
        .iter()
        .map(|f| {
            let wire = f["name"].as_str().ok_or_else(|| format!("{model}: a field without a name"))?.to_string();
            let ty = facts.rust_type(model, &wire, &f["type"])?;
            let integer_money = f["type"] == "integer" && is_money_like(&wire);
            Ok(FieldOut {
                rust: field_name(&wire),
                ty,
                optional: true,
                deprecated: f["deprecated"].as_bool().unwrap_or(false),
                note: integer_money.then_some(
                    "an integer in Alipay's description although money-like: probably fen or points, kept as the integer sent",
                ),
                skip: f["type"] == "binary",
                wire,
            })
        })
        .collect()
}

fn cfg_of(features: &BTreeSet<String>) -> String {
    let list: Vec<String> = features.iter().map(|f| format!("feature = \"{f}\"")).collect();
    match list.len() {
        1 => format!("#[cfg({})]\n", list[0]),
        _ => format!("#[cfg(any({}))]\n", list.join(", ")),
    }
}

const HEADER: &str = "// Generated by `cargo run -p alipay-codegen` from `codegen/alipay-api/v3-api.json` — do not\n// edit. API model data derived from alipay/alipay-sdk-net-all (Apache-2.0), generated from\n// Alipay's v3 OpenAPI spec.\n";
/// The module's documentation (written here: `mod.rs` is generated).
const MOD_DOCS: &str = r#"//! Every operation of Alipay's v3 interface description, typed: for each, a request type
//! that sends through the gateway ([`AlipayApi`](crate::model::AlipayApi)) and OpenAPI v3
//! ([`V3Api`](crate::v3::V3Api)), a response type, and an enum of the error codes Alipay
//! documents for it ([`Operation::ErrorCode`]).
//!
//! One module per API family, each behind a feature of its name: `api-alipay-trade` compiles
//! [`alipay_trade`], `api-ant-merchant` compiles `ant_merchant`, `api-all` compiles every family.
//! The types several families share are in [`shared`], each compiled with a family that uses it.
//!
//! Build a request from its `Default` and the fields you send — Alipay adds fields over time,
//! and a later version of this crate with them still compiles code written this way:
//!
//! ```
//! # #[cfg(feature = "api-alipay-trade")] {
//! use alipay_core::api::alipay_trade::AlipayTradeQuery;
//! use alipay_core::model::AlipayApi;
//! use alipay_core::v3::V3Api;
//!
//! let query = AlipayTradeQuery { out_trade_no: Some("20150320010101001".into()), ..Default::default() };
//! let gateway = query.to_request();
//! assert_eq!(gateway.method(), "alipay.trade.query");
//! let v3 = query.to_v3_request();
//! assert_eq!((v3.method().as_str(), v3.path()), ("POST", "/v3/alipay/trade/query"));
//! # }
//! ```
//!
//! The types follow the description: every field is an `Option` (it marks none as required;
//! path parameters it requires are plain values), amounts are [`Amount`](crate::model::Amount)
//! (never floats; the few money-like fields it types as integers stay `i64` and say so),
//! integers `i64`, deprecated fields are `#[deprecated]`. Every type has `other_fields`: an
//! answer keeps there the fields this version does not know, and a request sends what you put
//! there (a field newer than the description: in `biz_content` or the v3 body, or the query of
//! a GET or DELETE). Rust names replace keywords (`type_`), the wire names stay.
//!
//! Which protocol places a field where: on the gateway, `notify_url`, `return_url`,
//! `auth_token` and `app_auth_token` are top-level parameters and the rest is `biz_content` (for
//! an upload, text parameters beside the files); on v3, path and query parameters go where the
//! operation table ([`crate::v3::operation`]) says, `app_auth_token` in its header, the rest in
//! the JSON body (for an upload, the `data` part).
//!
//! Generated by `cargo run -p alipay-codegen` from `codegen/alipay-api/v3-api.json`.

"#;
const DOCS_HOME: &str = "https://opendocs.alipay.com/open-v3/";

/// The error-code enum of one operation.
fn error_enum(out: &mut String, name: &str, method: &str, codes: &[String]) {
    let mut seen = BTreeSet::new();
    let mut variants: Vec<(String, &str)> = Vec::new();
    for code in codes {
        if !seen.insert(code.as_str()) {
            continue;
        }
        let mut variant = camel(code);
        while variants.iter().any(|(v, _)| *v == variant) || variant == "Common" || variant == "Other" {
            variant.push('_');
        }
        variants.push((variant, code));
    }
    let _ = writeln!(out, "/// The error codes Alipay documents for `{method}`.");
    out.push_str("#[derive(Debug, Clone, PartialEq, Eq, Hash)]\n#[non_exhaustive]\n");
    let _ = writeln!(out, "pub enum {name} {{");
    for (variant, code) in &variants {
        let _ = writeln!(out, "    /// `{code}`\n    {variant},");
    }
    out.push_str("    /// A gateway-wide code.\n    Common(super::CommonErrorCode),\n");
    out.push_str("    /// A code this version does not know.\n    Other(String),\n}\n\n");
    let _ = writeln!(out, "impl From<&str> for {name} {{");
    out.push_str("    fn from(code: &str) -> Self {\n");
    let common = "match super::CommonErrorCode::known(code) {\n            Some(common) => Self::Common(common),\n            None => Self::Other(code.to_string()),\n        }";
    if variants.is_empty() {
        let _ = writeln!(out, "        {common}\n    }}\n}}\n");
    } else {
        out.push_str("        match code {\n");
        for (variant, code) in &variants {
            let _ = writeln!(out, "            {code:?} => Self::{variant},");
        }
        let _ = writeln!(out, "            _ => {}\n        }}\n    }}\n}}\n", common.replace("\n", "\n    "));
    }
    let _ = writeln!(out, "impl {name} {{");
    out.push_str("    /// The code as Alipay sends it.\n    pub fn as_str(&self) -> &str {\n        match self {\n");
    for (variant, code) in &variants {
        let _ = writeln!(out, "            Self::{variant} => {code:?},");
    }
    out.push_str("            Self::Common(common) => common.as_str(),\n            Self::Other(other) => other,\n        }\n    }\n}\n\n");
    let _ = writeln!(
        out,
        "impl AsRef<str> for {name} {{\n    fn as_ref(&self) -> &str {{\n        self.as_str()\n    }}\n}}\n"
    );
}

/// The gateway-wide codes, compiled with any family.
fn common_errors(codes: &[String]) -> String {
    let mut out = String::from(HEADER);
    out.push_str("\n//! The gateway-wide error codes.\n\n");
    let mut variants: Vec<(String, &str)> = Vec::new();
    for code in codes {
        let mut variant = camel(code);
        while variants.iter().any(|(v, _)| *v == variant) {
            variant.push('_');
        }
        variants.push((variant, code));
    }
    out.push_str("/// The error codes any operation may answer (Alipay's `CommonErrorType`).\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum CommonErrorCode {\n");
    for (variant, code) in &variants {
        let _ = writeln!(out, "    /// `{code}`\n    {variant},");
    }
    out.push_str("}\n\nimpl CommonErrorCode {\n    /// The gateway-wide code `code`, if it is one.\n    pub fn known(code: &str) -> Option<Self> {\n        Some(match code {\n");
    for (variant, code) in &variants {
        let _ = writeln!(out, "            {code:?} => Self::{variant},");
    }
    out.push_str("            _ => return None,\n        })\n    }\n\n    /// The code as Alipay sends it.\n    pub fn as_str(self) -> &'static str {\n        match self {\n");
    for (variant, code) in &variants {
        let _ = writeln!(out, "            Self::{variant} => {code:?},");
    }
    out.push_str("        }\n    }\n}\n");
    out
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

/// Generates the models from the facts.
pub(crate) fn generate(facts: &Value) -> Result<Output, String> {
    let models = facts["models"].as_object().ok_or("no \"models\" object")?;
    let facts_ref = Facts { models };
    let mut operations: Vec<&Value> = facts["operations"].as_array().ok_or("no \"operations\" list")?.iter().collect();
    operations.sort_by(|a, b| a["method"].as_str().cmp(&b["method"].as_str()));

    // Which families use each model (at any depth), to gate the shared types.
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for op in &operations {
        let method = op["method"].as_str().ok_or("an operation without a method")?;
        let feature = feature(&family(method));
        let mut pending: Vec<String> = Vec::new();
        for key in ["body", "response"] {
            if let Some(model) = op[key].as_str() {
                let mut refs = BTreeSet::new();
                for f in facts_ref.fields(model)? {
                    all_refs(&f["type"], &mut refs);
                }
                pending.extend(refs);
            }
        }
        while let Some(model) = pending.pop() {
            if users.entry(model.clone()).or_default().insert(feature.clone()) {
                let mut refs = BTreeSet::new();
                for f in facts_ref.fields(&model)? {
                    all_refs(&f["type"], &mut refs);
                }
                pending.extend(refs);
            }
        }
    }

    let mut files = Vec::new();
    // The shared types: every model another model or an operation's field refers to.
    let mut shared = String::from(HEADER);
    shared.push_str("\n//! The types operations share (each compiled with the families that use it).\n\n");
    shared.push_str("#![allow(deprecated)]\n\n");
    for (model, features) in &users {
        let fields = model_fields(&facts_ref, model)?;
        let doc = format!("/// Alipay's `{model}` (<{DOCS_HOME}>).\n");
        write_struct(&mut shared, &type_name(model), &doc, &cfg_of(features), &fields);
    }
    files.push(File { name: "shared.rs".into(), text: shared });
    files.push(File { name: "errors.rs".into(), text: common_errors(&strings(&facts["common_error_codes"])) });

    // One module per family.
    let mut by_family: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for op in &operations {
        by_family.entry(family(op["method"].as_str().unwrap_or_default())).or_default().push(op);
    }
    let mut mod_rs = String::from(MOD_DOCS);
    mod_rs.push_str(HEADER);
    mod_rs.push_str("\nmod errors;\npub mod shared;\nmod support;\n\npub use errors::CommonErrorCode;\npub use support::{Operation, Upload};\n\n");
    let mut features = Vec::new();
    let mut test_list = String::from(HEADER);
    test_list.push_str("\n//! Every generated operation with its check (`super::check`), and each request type's file\n//! parts set for the wire checks.\n\nuse alipay_sdk::api::{self, Upload};\n\n");
    let mut test_impls = String::new();
    test_list.push_str("pub(super) const ALL: &[(&str, super::Check)] = &[\n");
    for (family_name, ops) in &by_family {
        let feature = feature(family_name);
        features.push(feature.clone());
        let mut out = String::from(HEADER);
        let _ = writeln!(out, "\n//! The `{family_name}.*` operations (feature `{feature}`).\n");
        out.push_str("#![allow(deprecated)]\n\nuse super::Operation;\nuse crate::model::AlipayApi;\nuse crate::v3::{V3Api, V3Request};\nuse crate::request::Request;\n\n");
        for op in ops {
            let method = op["method"].as_str().unwrap_or_default();
            let TypeNames { request: name, response: response_name, error_code: error_name } = type_names(method);
            let path = op["path"].as_str().unwrap_or_default();
            let verb = op["http_method"].as_str().unwrap_or_default();
            let mut fields = Vec::new();
            for param in op["path_params"].as_array().into_iter().flatten() {
                let wire = param["name"].as_str().unwrap_or_default().to_string();
                let ty = facts_ref.rust_type(&name, &wire, &param["type"])?;
                let required = param["required"].as_bool().unwrap_or(false);
                fields.push(FieldOut {
                    rust: field_name(&wire),
                    ty,
                    optional: !required,
                    deprecated: false,
                    note: Some("path parameter"),
                    skip: false,
                    wire,
                });
            }
            for param in op["query_params"].as_array().into_iter().flatten() {
                let wire = param["name"].as_str().unwrap_or_default().to_string();
                let ty = facts_ref.rust_type(&name, &wire, &param["type"])?;
                fields.push(FieldOut {
                    rust: field_name(&wire),
                    ty,
                    optional: true,
                    deprecated: false,
                    note: Some("query parameter"),
                    skip: false,
                    wire,
                });
            }
            if let Some(body) = op["body"].as_str() {
                fields.extend(model_fields(&facts_ref, body)?);
            }
            let file_names = strings(&op["files"]);
            for file in &file_names {
                if !fields.iter().any(|f| f.wire == *file) {
                    fields.push(FieldOut {
                        rust: field_name(file),
                        ty: "super::Upload".into(),
                        optional: true,
                        deprecated: false,
                        note: Some("file part"),
                        skip: true,
                        wire: file.clone(),
                    });
                }
            }
            let mut rust_names = BTreeSet::new();
            for field in &fields {
                if !rust_names.insert(field.rust.clone()) {
                    return Err(format!("{method}: two fields are named {} in Rust", field.rust));
                }
            }
            let doc = format!(
                "/// `{method}`: the request.\n///\n/// - v3 (`V3Api`): `{verb} {path}`\n/// - gateway (`AlipayApi`): method `{method}`\n///\n/// Alipay's documentation: <{DOCS_HOME}>.\n"
            );
            write_struct(&mut out, &name, &doc, "", &fields);
            let response_ty = match op["response"].as_str() {
                Some(model) => {
                    let doc = format!(
                        "/// `{method}`: the answer (Alipay's `{model}`).\n///\n/// - v3: the body of `{verb} {path}`\n/// - gateway: the response node (its `code`, `msg` and the like land in `other_fields`)\n///\n/// Alipay's documentation: <{DOCS_HOME}>.\n"
                    );
                    write_struct(&mut out, &response_name, &doc, "", &model_fields(&facts_ref, model)?);
                    response_name
                }
                None => "serde_json::Map<String, serde_json::Value>".to_string(),
            };
            error_enum(&mut out, &error_name, method, &strings(&op["error_codes"]));
            let files: Vec<String> = fields
                .iter()
                .filter(|f| f.ty == "super::Upload")
                .map(|f| format!("self.{}.as_ref().map(|u| ({:?}, u))", f.rust, f.wire))
                .collect();
            let files_expr = if files.is_empty() {
                "[]".to_string()
            } else {
                format!("[{}].into_iter().flatten().collect::<Vec<_>>()", files.join(", "))
            };
            let _ = writeln!(
                out,
                "impl AlipayApi for {name} {{\n    const METHOD: &'static str = {method:?};\n    type Response = {response_ty};\n\n    fn to_request(&self) -> Request {{\n        super::support::gateway_request(Self::METHOD, self, &{files_expr})\n    }}\n}}\n"
            );
            let _ = writeln!(
                out,
                "impl V3Api for {name} {{\n    fn to_v3_request(&self) -> V3Request {{\n        super::support::v3_request(Self::METHOD, self, &{files_expr})\n    }}\n}}\n"
            );
            let _ = writeln!(out, "impl Operation for {name} {{\n    type ErrorCode = {error_name};\n}}\n");
            let path = format!("api::{}::{name}", module(family_name));
            let _ = writeln!(test_list, "    ({method:?}, super::check::<{path}>),");
            let uploads: Vec<&FieldOut> = fields.iter().filter(|f| f.ty == "super::Upload").collect();
            if uploads.is_empty() {
                let _ = writeln!(test_impls, "impl super::WithFiles for {path} {{}}");
            } else {
                let _ =
                    writeln!(test_impls, "impl super::WithFiles for {path} {{\n    fn with_files(mut self) -> Self {{");
                for upload in uploads {
                    let _ = writeln!(
                        test_impls,
                        "        self.{} = Some(Upload::new(\"{}.png\", b\"\\x89PNG\".to_vec()));",
                        upload.rust, upload.wire
                    );
                }
                test_impls.push_str("        self\n    }\n}\n");
            }
        }
        files.push(File { name: format!("{}.rs", module(family_name)), text: out });
        let _ = writeln!(
            mod_rs,
            "#[cfg(feature = \"{feature}\")]\n#[cfg_attr(docsrs, doc(cfg(feature = \"{feature}\")))]\npub mod {};",
            module(family_name)
        );
    }
    files.push(File { name: "mod.rs".into(), text: mod_rs });
    test_list.push_str("];\n\n");
    test_list.push_str(&test_impls);
    Ok(Output { files, test_list, features })
}
