//! `alipay`: the command-line tool of alipay-sdk.
//!
//! Exit status: 0 success, 1 a check failed (signature, key mismatch, …), 2 bad input or usage.

mod aes;
mod api;
mod api_models;
mod bill;
mod cert;
mod doctor;
mod key;
mod notify;
mod response;
mod sandbox;
mod sign;
mod tools;
mod v3;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Alipay open platform tool: certificates, keys, signatures (certificate mode).
#[derive(Parser)]
#[command(name = "alipay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Certificates: SNs, root SN, inspection.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Keys: generate an app key pair, check a key against a certificate.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Sign parameters (a JSON object of strings on stdin) like a gateway request.
    Sign(sign::SignArgs),
    /// Gateway responses: verify a raw body.
    #[command(subcommand)]
    Response(response::ResponseCommand),
    /// Notifications: verify a raw form body.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Content encryption (encrypt_type AES, AES_V2, SM4).
    #[command(subcommand)]
    Aes(aes::AesCommand),
    /// Run a local gateway that behaves like Alipay's.
    Sandbox(sandbox::SandboxArgs),
    /// Run a whole certificate-mode payment against an in-process sandbox.
    Demo(sandbox::DemoArgs),
    /// Check a deployment: files, key, chains, SNs, expiry, TLS trust store, clock.
    Doctor(doctor::DoctorArgs),
    /// Make a verified gateway call and print the verified response.
    Call(tools::CallArgs),
    /// Create a certificate signing request for the open-platform console.
    Csr(tools::CsrArgs),
    /// The daily bill: download, verify, parse.
    #[command(subcommand)]
    Bill(bill::BillCommand),
    /// OpenAPI v3: sign a request, verify an answer, make a call.
    #[command(subcommand)]
    V3(v3::V3Command),
    /// Alipay's v3 operations: list them, show one's verb, path and parameters.
    #[command(subcommand)]
    Api(api::ApiCommand),
}

/// Reads a JSON object whose values are all strings, keeping the order given.
pub fn read_string_object(text: &str, origin: &str) -> Result<Vec<(String, String)>, Failure> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Failure::Input(format!("{origin}: expected a JSON object of string parameters: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Failure::Input(format!("{origin}: expected a JSON object of string parameters")));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(Failure::Input(format!("{origin}: parameter {k:?} must be a string, found {other}"))),
        })
        .collect()
}

/// How a command failed, and so which exit status it gets.
#[derive(Debug)]
pub enum Failure {
    /// A check ran and failed (exit 1).
    Check(String),
    /// The input could not be used (exit 2).
    Input(String),
    /// The network or the gateway's transport failed (exit 3).
    Network(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Input(error.to_string())
    }
}

/// A reader that stops early (`alipay api list | head`) closes the pipe; `println!` then
/// panics. Like any Unix tool, end quietly with the status a SIGPIPE death has, not a panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // The parser quotes the argument it could not place: a key pasted where a path
            // belongs would be printed whole. Name it instead.
            let text = redact_key_material(&error.render().to_string());
            if error.use_stderr() {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let result = match cli.command {
        Command::Cert(command) => cert::run(command),
        Command::Key(command) => key::run(command),
        Command::Sign(args) => sign::run(args),
        Command::Response(command) => response::run(command),
        Command::Aes(command) => aes::run(command),
        Command::Notify(command) => notify::run(command),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Demo(args) => sandbox::demo(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Call(args) => tools::call(args),
        Command::Csr(args) => tools::csr(args),
        Command::Bill(command) => bill::run(command),
        Command::V3(command) => v3::run(command),
        Command::Api(command) => api::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Check(message)) => {
            eprintln!("alipay: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Input(message)) => {
            eprintln!("alipay: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Network(message)) => {
            eprintln!("alipay: {message}");
            ExitCode::from(3)
        }
    }
}

/// The blocking client for an alipay.toml, with its timeouts.
fn blocking_client(
    file: &alipay_sdk::config_file::ConfigFile,
    config: alipay_sdk::Config,
) -> Result<alipay_sdk::blocking::Client, alipay_sdk::Error> {
    let mut builder = alipay_sdk::blocking::Client::builder(config);
    if let Some(timeout) = file.connect_timeout() {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = file.timeout() {
        builder = builder.timeout(timeout);
    }
    builder.build()
}

/// Alipay certificate files, each checked to be an Alipay certificate (not a root, not the
/// app's own), for the commands that verify.
fn alipay_certificates(
    paths: &[std::path::PathBuf],
) -> Result<Vec<alipay_sdk::cert::CertificateChain>, alipay_sdk::cert::CertError> {
    use alipay_sdk::cert::CertificateChain;
    paths
        .iter()
        .map(|path| CertificateChain::from_path(path).and_then(CertificateChain::require_alipay_certificate))
        .collect()
}

/// `text` with key-looking content replaced by a description of it: PEM blocks (`-----BEGIN …`
/// to the end of its `-----END …-----` line, or to the end of the text) and runs of base64 of
/// 100 characters or more (a bare key as Alipay's key tool writes it).
pub fn redact_key_material(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        out.push_str(&redact_base64_runs(&rest[..start]));
        let block = &rest[start..];
        let end = block
            .find("-----END")
            .and_then(|at| block[at + 8..].find("-----").map(|close| at + 8 + close + 5))
            .unwrap_or(block.len());
        out.push_str(&format!("<PEM content, {} characters, not shown>", block[..end].chars().count()));
        rest = &block[end..];
    }
    out.push_str(&redact_base64_runs(rest));
    out
}

fn redact_base64_runs(text: &str) -> String {
    const MIN_RUN: usize = 100;
    let is_base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= MIN_RUN {
            out.push_str(&format!("<base64 content, {} characters, not shown>", run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_base64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}
