//! `alipay api list|show`: Alipay's v3 operations as its interface description lists them.

use clap::Subcommand;

use crate::Failure;

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
            if json {
                println!("{}", serde_json::to_string_pretty(&to_json(op)).unwrap_or_default());
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
            let mut path = op.path.to_string();
            for name in op.path_params {
                path = path.replace(&format!("{{{name}}}"), &name.to_ascii_uppercase());
            }
            let query: String = op.query_params.iter().map(|q| format!(" --query {q}=…")).collect();
            let body = if op.http_method == alipay_sdk::flow::Method::Get { "" } else { " --body '{…}'" };
            println!("  call: alipay v3 call {} {path}{query}{body} --config alipay.toml", op.http_method.as_str());
            Ok(())
        }
    }
}
