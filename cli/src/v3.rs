//! `alipay v3 sign | verify | call`: OpenAPI v3 by hand.

use std::io::Read;
use std::path::PathBuf;

use alipay_sdk::cert::CertificateChain;
use alipay_sdk::config_file::ConfigFile;
use alipay_sdk::flow::Method;
use alipay_sdk::key::{PrivateKey, PublicKey, SignType};
use alipay_sdk::primitives::v3;
use alipay_sdk::v3::V3Request;
use clap::{ArgGroup, Args, Subcommand};

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum V3Command {
    /// Sign a v3 request and print its Authorization header value (on the last line).
    Sign(SignArgs),
    /// Verify a v3 answer: the body on stdin, the signature headers as options.
    Verify(VerifyArgs),
    /// Make a verified v3 call and print the verified body.
    Call(CallArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("sn").args(["app_cert_sn", "app_cert"])))]
pub(crate) struct SignArgs {
    /// The app's private key file.
    #[arg(allow_hyphen_values = true, long)]
    key: PathBuf,
    /// The app id.
    #[arg(long)]
    app_id: String,
    /// The app certificate's SN (certificate mode).
    #[arg(long)]
    app_cert_sn: Option<String>,
    /// The app certificate, whose SN is computed (certificate mode).
    #[arg(allow_hyphen_values = true, long)]
    app_cert: Option<PathBuf>,
    /// The HTTP method.
    #[arg(long)]
    method: Method,
    /// The path and query exactly as sent, e.g. /v3/alipay/trade/query.
    #[arg(long)]
    uri: String,
    /// The body exactly as sent (default: none, which still signs an empty line).
    #[arg(allow_hyphen_values = true, long)]
    body_file: Option<PathBuf>,
    /// The app_auth_token of an ISV call (or ALIPAY_APP_AUTH_TOKEN).
    #[arg(long, env = "ALIPAY_APP_AUTH_TOKEN", hide_env_values = true)]
    app_auth_token: Option<String>,
    /// The nonce (default: a random UUID).
    #[arg(long)]
    nonce: Option<String>,
    /// The timestamp in milliseconds (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Print the exact content signed and its byte length first.
    #[arg(long)]
    explain: bool,
    /// Print JSON: `authorization`, `nonce`, `timestamp` (with --explain also `sign_content`
    /// and `sign_content_len`).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("keys").required(true).args(["alipay_cert", "alipay_public_key"])))]
pub(crate) struct VerifyArgs {
    /// Alipay certificate file(s) (certificate mode); the one --sn names, or each in turn.
    #[arg(long, num_args = 1..)]
    alipay_cert: Vec<PathBuf>,
    /// The Alipay public key (public-key mode).
    #[arg(allow_hyphen_values = true, long)]
    alipay_public_key: Option<PathBuf>,
    /// The alipay-timestamp header.
    #[arg(long)]
    timestamp: String,
    /// The alipay-nonce header.
    #[arg(long)]
    nonce: String,
    /// The alipay-signature header.
    #[arg(long)]
    signature: String,
    /// The alipay-sn header (certificate mode).
    #[arg(long)]
    sn: Option<String>,
    /// Print JSON: `verified`, the `alipay_cert_sn` that verified it, the signed content's
    /// length.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct CallArgs {
    /// The HTTP method.
    method: Method,
    /// The path, e.g. /v3/alipay/trade/query.
    path: String,
    /// The JSON body.
    #[arg(long)]
    body: Option<String>,
    /// A query parameter, NAME=VALUE (repeatable).
    #[arg(long = "query", value_name = "NAME=VALUE")]
    query: Vec<String>,
    /// The app_auth_token of an ISV call (or ALIPAY_APP_AUTH_TOKEN).
    #[arg(long, env = "ALIPAY_APP_AUTH_TOKEN", hide_env_values = true)]
    app_auth_token: Option<String>,
    /// The app's alipay.toml.
    #[arg(allow_hyphen_values = true, long)]
    config: PathBuf,
    /// Print JSON: `verified`, `status`, `alipay_sn`, `trace_id` and the verified `body` (or
    /// the failure answer's `error`).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: V3Command) -> Result<(), Failure> {
    match command {
        V3Command::Sign(args) => sign(args),
        V3Command::Verify(args) => verify(args),
        V3Command::Call(args) => call(args),
    }
}

fn sign(args: SignArgs) -> Result<(), Failure> {
    let key = PrivateKey::from_path(&args.key)?;
    let app_cert_sn = match (args.app_cert_sn, &args.app_cert) {
        (Some(sn), _) => Some(sn),
        (None, Some(path)) => Some(CertificateChain::from_path(path)?.require_app_certificate()?.sn().to_string()),
        (None, None) => None,
    };
    let body = match &args.body_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::Input(format!("--body-file {}: {e} (expected UTF-8 text)", path.display())))?,
        None => String::new(),
    };
    if !args.uri.starts_with('/') {
        return Err(Failure::Input(format!("--uri {:?}: expected the path and query, starting with '/'", args.uri)));
    }
    let nonce = match args.nonce {
        Some(nonce) => nonce,
        None => alipay_core_random_nonce()?,
    };
    let timestamp = args.timestamp.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let auth = v3::auth_string(&args.app_id, app_cert_sn.as_deref(), &nonce, timestamp);
    let token = args.app_auth_token.as_deref().filter(|t| !t.is_empty());
    let content = v3::request_sign_content(&auth, args.method, &args.uri, &body, token);
    let signature = key.sign(content.as_bytes(), SignType::Rsa2)?;
    if args.json {
        let mut shown = serde_json::json!({
            "authorization": v3::authorization(&auth, &signature),
            "nonce": nonce,
            "timestamp": timestamp,
        });
        if args.explain {
            shown["sign_content"] = content.clone().into();
            shown["sign_content_len"] = content.len().into();
        }
        println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
        return Ok(());
    }
    if args.explain {
        println!("signed content ({} bytes, between the lines):", content.len());
        println!("----");
        print!("{content}");
        println!("----");
    }
    println!("{}", v3::authorization(&auth, &signature));
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let keys: Vec<(Option<String>, PublicKey)> = match &args.alipay_public_key {
        Some(path) => vec![(None, PublicKey::from_path(path)?)],
        None => crate::alipay_certificates(&args.alipay_cert)?
            .iter()
            .map(|chain| Ok((Some(chain.sn().to_string()), PublicKey::from_certificate(chain.leaf())?)))
            .collect::<Result<_, alipay_sdk::key::KeyError>>()?,
    };
    let chosen: Vec<&(Option<String>, PublicKey)> = match &args.sn {
        Some(sn) if args.alipay_public_key.is_none() => {
            let found: Vec<_> = keys.iter().filter(|(k, _)| k.as_deref() == Some(sn.as_str())).collect();
            if found.is_empty() {
                let known: Vec<_> = keys.iter().filter_map(|(k, _)| k.clone()).collect();
                return Err(Failure::Input(format!(
                    "--sn {sn}: none of the --alipay-cert files has this SN (they have {known:?})"
                )));
            }
            found
        }
        _ => keys.iter().collect(),
    };
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    let content = v3::answer_sign_content(&args.timestamp, &args.nonce, &body);
    let found = chosen.iter().find(|(_, key)| key.verify(&content, &args.signature, SignType::Rsa2));
    if args.json {
        let shown = serde_json::json!({
            "verified": found.is_some(),
            "alipay_cert_sn": found.and_then(|(sn, _)| sn.clone()),
            "sign_content_len": content.len(),
        });
        println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
    }
    match found {
        Some((sn, _)) => {
            eprintln!("verified{}", sn.as_ref().map(|sn| format!(" with Alipay certificate {sn}")).unwrap_or_default());
            Ok(())
        }
        None => Err(Failure::Check(format!(
            "the signature does not verify over timestamp\\nnonce\\nbody\\n ({} bytes)",
            content.len()
        ))),
    }
}

fn call(args: CallArgs) -> Result<(), Failure> {
    let file = ConfigFile::load(&args.config)?;
    let client = crate::blocking_client(&file, file.builder()?.build()?).map_err(|e| Failure::Input(e.to_string()))?;
    let mut request = V3Request::new(args.method, &args.path);
    if let Some(body) = &args.body {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| Failure::Input(format!("--body: not JSON: {e}")))?;
        request = request.body(&value);
    }
    for pair in &args.query {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| Failure::Input(format!("--query {pair:?}: expected NAME=VALUE")))?;
        request = request.query(name, value);
    }
    if let Some(token) = args.app_auth_token {
        request = request.app_auth_token(token);
    }
    match client.send_v3(&request) {
        Ok(answer) => {
            let by = answer.alipay_sn().map(|sn| format!(" with Alipay certificate {sn}")).unwrap_or_default();
            eprintln!("verified HTTP {}{by}{}", answer.status(), crate::tools::trace_note(answer.trace_id()));
            let body = serde_json::from_slice::<serde_json::Value>(answer.bytes());
            if args.json {
                let body = body.unwrap_or_else(|_| String::from_utf8_lossy(answer.bytes()).into_owned().into());
                let shown = serde_json::json!({
                    "verified": true,
                    "status": answer.status(),
                    "alipay_sn": answer.alipay_sn(),
                    "trace_id": answer.trace_id(),
                    "body": body,
                });
                println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
                return Ok(());
            }
            match body {
                Ok(value) => println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default()),
                // Not JSON: the verified bytes as they came.
                Err(_) => {
                    use std::io::Write as _;
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(answer.bytes()).and_then(|()| stdout.write_all(b"\n"));
                }
            }
            Ok(())
        }
        Err(error) if error.kind() == alipay_sdk::ErrorKind::Request => Err(Failure::Input(error.to_string())),
        Err(error) if error.kind() == alipay_sdk::ErrorKind::Transport => Err(Failure::Network(error.to_string())),
        Err(error) => {
            let shown = match (error.v3_failure(), args.json) {
                (Some(failure), false) => Some(serde_json::to_value(failure).unwrap_or_default()),
                (Some(failure), true) => Some(serde_json::json!({
                    "verified": failure.signed,
                    "trace_id": error.trace_id(),
                    "error": failure,
                })),
                (None, true) => Some(
                    serde_json::json!({ "verified": false, "trace_id": error.trace_id(), "error": error.to_string() }),
                ),
                (None, false) => None,
            };
            if let Some(shown) = shown {
                println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
            }
            Err(Failure::Check(error.to_string()))
        }
    }
}

/// A fresh nonce, or the random source's failure (never a predictable one).
fn alipay_core_random_nonce() -> Result<String, Failure> {
    alipay_sdk::alipay_core::random::hex::<16>("a v3 nonce").map_err(|e| Failure::Check(e.to_string()))
}
