//! `alipay`: the command-line tool of alipay-sdk.
//!
//! Exit status: 0 success, 1 a check failed (signature, key mismatch, …), 2 bad input or usage.

mod cert;
mod key;

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
    /// Keys: check a key against a certificate.
    #[command(subcommand)]
    Key(key::KeyCommand),
}

/// How a command failed, and so which exit status it gets.
pub enum Failure {
    /// A check ran and failed (exit 1).
    Check(String),
    /// The input could not be used (exit 2).
    Input(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Input(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cert(command) => cert::run(command),
        Command::Key(command) => key::run(command),
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
    }
}
