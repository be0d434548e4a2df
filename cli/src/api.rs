//! `alipay api list|show`: Alipay's v3 operations as its interface description lists them.

use clap::Subcommand;

use crate::Failure;
use crate::api_models::{MODELS, OPERATION_MODELS};

/// A field type of Alipay's v3 description (the generated tables use it).
#[derive(Debug, Clone, Copy)]
#[allow(
    dead_code,
    reason = "the description's whole type vocabulary; number, object and map occur in none of today's fields"
)]
pub(crate) enum Ty {
    Str,
    Int,
    Num,
    Bool,
    Object,
    Binary,
    List(&'static Ty),
    Map(&'static Ty),
    Ref(&'static str),
}

/// A model's field: its wire name, its type, whether it is deprecated.
pub(crate) type Field = (&'static str, Ty, bool);

/// An operation's models in the description and its generated Rust types.
pub(crate) struct OperationModels {
    pub(crate) method: &'static str,
    /// The body (or multipart `data`) model.
    pub(crate) body: Option<&'static str>,
    /// The answer model.
    pub(crate) answer: Option<&'static str>,
    /// The generated request type, as a user names it.
    pub(crate) request_type: &'static str,
    /// The generated answer type (`None`: the answer is a `serde_json::Map`).
    pub(crate) answer_type: Option<&'static str>,
    /// The generated error-code enum.
    pub(crate) error_type: &'static str,
    /// The feature that compiles them.
    pub(crate) feature: &'static str,
}

fn fields_of(model: &str) -> Option<&'static [Field]> {
    let found = MODELS.binary_search_by(|(name, _)| (*name).cmp(model)).ok()?;
    Some(MODELS[found].1)
}

/// A placeholder of `ty` for a request skeleton: models expanded three levels deep (and never
/// into themselves), deprecated fields left out.
fn skeleton(ty: Ty, field: &str, seen: &mut Vec<&'static str>) -> serde_json::Value {
    match ty {
        Ty::Str if field.ends_with("amount") || field.ends_with("_fee") => "0.00".into(),
        Ty::Str => "".into(),
        Ty::Int => 0.into(),
        Ty::Num => 0.0.into(),
        Ty::Bool => false.into(),
        Ty::Object | Ty::Map(_) => serde_json::json!({}),
        Ty::Binary => "<file>".into(),
        Ty::List(item) => serde_json::json!([skeleton(*item, field, seen)]),
        Ty::Ref(model) if seen.len() < 3 && !seen.contains(&model) => {
            seen.push(model);
            let value = model_skeleton(model, seen);
            seen.pop();
            value
        }
        Ty::Ref(_) => serde_json::json!({}),
    }
}

fn model_skeleton(model: &'static str, seen: &mut Vec<&'static str>) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (name, ty, deprecated) in fields_of(model).unwrap_or_default() {
        if !deprecated {
            object.insert((*name).to_string(), skeleton(*ty, name, seen));
        }
    }
    serde_json::Value::Object(object)
}

fn type_name(ty: Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Int => "integer".into(),
        Ty::Num => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Object => "object".into(),
        Ty::Binary => "file".into(),
        Ty::List(item) => format!("list of {}", type_name(*item)),
        Ty::Map(item) => format!("map of {}", type_name(*item)),
        Ty::Ref(model) => model.to_string(),
    }
}

#[derive(Subcommand)]
pub(crate) enum ApiCommand {
    /// Every operation: method, HTTP verb and path (filter by a part of the method name).
    List {
        /// Only methods containing this text, e.g. `trade` or `alipay.fund`.
        filter: Option<String>,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// One operation: verb, path, parameters, and the `alipay v3 call` that sends it.
    Show {
        /// The method name, e.g. alipay.trade.query.
        method: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn to_json(op: &alipay_sdk::v3::V3Operation) -> serde_json::Value {
    serde_json::json!({
        "method": op.method,
        "http_method": op.http_method.as_str(),
        "path": op.path,
        "path_params": op.path_params,
        "query_params": op.query_params,
        "multipart": op.multipart,
    })
}

/// The operation's models and generated Rust type (every operation of the table has them).
fn models_of(method: &str) -> Option<&'static OperationModels> {
    let found = OPERATION_MODELS.binary_search_by(|models| models.method.cmp(method)).ok()?;
    OPERATION_MODELS.get(found)
}

pub(crate) fn run(command: ApiCommand) -> Result<(), Failure> {
    match command {
        ApiCommand::List { filter, json } => {
            let filter = filter.unwrap_or_default();
            for op in alipay_sdk::v3::operations().iter().filter(|op| op.method.contains(filter.as_str())) {
                if json {
                    println!("{}", to_json(op));
                } else {
                    println!("{:<56} {:<6} {}", op.method, op.http_method.as_str(), op.path);
                }
            }
            Ok(())
        }
        ApiCommand::Show { method, json } => {
            let Some(op) = alipay_sdk::v3::operation(&method) else {
                // Suggest the methods sharing the most name parts (past the vendor prefix).
                let parts: Vec<&str> = method.split('.').skip(1).collect();
                let shared = |m: &str| m.split('.').skip(1).filter(|p| parts.contains(p)).count();
                let mut close: Vec<(usize, &str)> = alipay_sdk::v3::operations()
                    .iter()
                    .map(|op| (shared(op.method), op.method))
                    .filter(|(n, _)| *n >= parts.len().saturating_sub(1).max(1))
                    .collect();
                close.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                let close: Vec<&str> = close.into_iter().take(5).map(|(_, m)| m).collect();
                let hint = if close.is_empty() { String::new() } else { format!("; similar: {}", close.join(", ")) };
                return Err(Failure::Input(format!(
                    "{method:?} is not one of Alipay's v3 operations (its description of 2025-08-05 lists 767: \
                     `alipay api list`){hint}"
                )));
            };
            let models = models_of(op.method);
            let (body_model, answer_model) = models.map_or((None, None), |m| (m.body, m.answer));
            let body = body_model.map(|model| model_skeleton(model, &mut vec![model]));
            let answer: Vec<(String, String)> = answer_model
                .and_then(fields_of)
                .unwrap_or_default()
                .iter()
                .map(|(name, ty, _)| ((*name).to_string(), type_name(*ty)))
                .collect();
            if json {
                let mut shown = to_json(op);
                shown["body_model"] = body_model.into();
                shown["body"] = body.clone().unwrap_or(serde_json::Value::Null);
                shown["answer_model"] = answer_model.into();
                shown["rust_type"] = models.map(|m| m.request_type).into();
                shown["feature"] = models.map(|m| m.feature).into();
                shown["answer_fields"] =
                    answer.iter().map(|(name, ty)| serde_json::json!({ "name": name, "type": ty })).collect();
                println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
                return Ok(());
            }
            println!("{}", op.method);
            println!("  {} {}", op.http_method.as_str(), op.path);
            if !op.path_params.is_empty() {
                println!("  path parameters:  {}", op.path_params.join(", "));
            }
            if !op.query_params.is_empty() {
                println!("  query parameters: {}", op.query_params.join(", "));
            }
            if op.multipart {
                println!("  a multipart upload (a `data` JSON part and file parts)");
            }
            if let Some(models) = models {
                println!("  Rust (feature `{}`): {}", models.feature, models.request_type);
                println!(
                    "    answer: {}",
                    models.answer_type.unwrap_or("serde_json::Map (no typed answer in the description)")
                );
                println!("    error codes: {}", models.error_type);
            }
            let mut path = op.path.to_string();
            for name in op.path_params {
                path = path.replace(&format!("{{{name}}}"), &name.to_ascii_uppercase());
            }
            let query: String = op.query_params.iter().map(|q| format!(" --query {q}=…")).collect();
            let body_arg = match &body {
                Some(value) if !op.multipart => format!(" --body '{value}'"),
                _ => String::new(),
            };
            if let (Some(model), Some(value)) = (body_model, &body) {
                println!("  body ({model}):");
                for line in serde_json::to_string_pretty(value).unwrap_or_default().lines() {
                    println!("    {line}");
                }
            }
            if !answer.is_empty() {
                println!("  answer ({}):", answer_model.unwrap_or_default());
                for (name, ty) in &answer {
                    println!("    {name}: {ty}");
                }
            }
            println!("  call: alipay v3 call {} {path}{query}{body_arg} --config alipay.toml", op.http_method.as_str());
            Ok(())
        }
    }
}
