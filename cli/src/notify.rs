//! `alipay notify verify`: check a raw notification body read on stdin.

use std::io::Read;
use std::path::PathBuf;

use alipay_sdk::key::{PublicKey, SignType};
use alipay_sdk::notify::{NotificationVerifier, NotifyErrorKind, Rule};
use clap::{ArgGroup, Subcommand};

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum NotifyCommand {
    /// Verify a raw form body (stdin): a payment notification, or with --v2 an app-gateway message.
    #[command(group(ArgGroup::new("keys").required(true).args(["alipay_cert", "alipay_public_key"])))]
    Verify {
        /// Alipay certificate file(s) (certificate mode).
        #[arg(long, num_args = 1..)]
        alipay_cert: Vec<PathBuf>,
        /// The Alipay public key (public-key mode).
        #[arg(allow_hyphen_values = true, long)]
        alipay_public_key: Option<PathBuf>,
        /// V2 rule: only `sign` is left out of the signed content (life-account / app-gateway
        /// messages); by default payment notifications' V1 rule leaves out `sign_type` too.
        #[arg(long)]
        v2: bool,
        /// The configured signature type: RSA2, SM2 or RSA.
        #[arg(long, default_value = "RSA2")]
        sign_type: SignType,
        /// Print JSON: `verified`, the `alipay_cert_sn` it names, and its `params` (or the
        /// `error`).
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: NotifyCommand) -> Result<(), Failure> {
    let NotifyCommand::Verify { alipay_cert, alipay_public_key, v2, sign_type, json } = command;
    let verifier = match alipay_public_key {
        Some(path) => NotificationVerifier::public_key(PublicKey::from_path(path)?),
        None => NotificationVerifier::certificates(crate::alipay_certificates(&alipay_cert)?)?,
    }
    .with_sign_type(sign_type);
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    let trimmed = body.trim_ascii_end();
    let rule = if v2 { Rule::V2 } else { Rule::V1 };
    match verifier.verify((trimmed, None), rule) {
        Ok(verified) => {
            let fields: serde_json::Map<String, serde_json::Value> =
                verified.params().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
            let shown = if json {
                serde_json::json!({
                    "verified": true,
                    "alipay_cert_sn": verified.get("alipay_cert_sn"),
                    "params": fields,
                })
            } else {
                serde_json::Value::Object(fields)
            };
            println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
            Ok(())
        }
        Err(error) => {
            if json {
                println!("{}", serde_json::json!({ "verified": false, "error": error.to_string() }));
            }
            if matches!(error.kind(), NotifyErrorKind::Malformed { .. } | NotifyErrorKind::Charset(_)) {
                Err(Failure::Input(error.to_string()))
            } else {
                Err(Failure::Check(format!("NOT verified: {error}")))
            }
        }
    }
}
