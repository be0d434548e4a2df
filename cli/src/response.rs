//! `alipay response verify`: check a raw gateway response body read on stdin.

use std::io::Read;
use std::path::PathBuf;

use alipay_sdk::aes::{AesKey, EncryptType};
use alipay_sdk::charset::Charset;
use alipay_sdk::key::{PublicKey, SignType};
use alipay_sdk::response::{ResponseError, ResponseErrorKind, ResponseVerifier};
use clap::{ArgGroup, Subcommand};

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum ResponseCommand {
    /// Verify a raw response body (stdin) for a method.
    #[command(group(ArgGroup::new("keys").required(true).args(["alipay_cert", "alipay_public_key"])))]
    Verify {
        /// The method, e.g. alipay.trade.query.
        #[arg(long)]
        method: String,
        /// Alipay certificate file(s) (certificate mode); the one named by alipay_cert_sn is used.
        #[arg(long, num_args = 1..)]
        alipay_cert: Vec<PathBuf>,
        /// The Alipay public key (public-key mode).
        #[arg(allow_hyphen_values = true, long)]
        alipay_public_key: Option<PathBuf>,
        /// The AES key (base64) for encrypted responses.
        #[arg(long)]
        aes_key: Option<String>,
        /// The key's scheme: AES, AES_V2 or SM4.
        #[arg(long, default_value = "AES", requires = "aes_key")]
        encrypt_type: EncryptType,
        /// The response charset.
        #[arg(long, default_value = "UTF-8")]
        charset: Charset,
        /// RSA2, SM2 or RSA.
        #[arg(long, default_value = "RSA2")]
        sign_type: SignType,
        /// Print JSON: the outcome, the certificate that verified it and the node.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: ResponseCommand) -> Result<(), Failure> {
    let ResponseCommand::Verify {
        method,
        alipay_cert,
        alipay_public_key,
        aes_key,
        encrypt_type,
        charset,
        sign_type,
        json,
    } = command;
    let verifier = match alipay_public_key {
        Some(path) => ResponseVerifier::public_key(PublicKey::from_path(path)?),
        None => ResponseVerifier::certificates(crate::alipay_certificates(&alipay_cert)?)?,
    };
    let aes = aes_key
        .as_deref()
        .map(AesKey::from_base64)
        .transpose()?
        .map(|k| k.with_encrypt_type(encrypt_type))
        .transpose()?;
    let verifier = verifier.with_charset(charset).with_sign_type(sign_type).with_aes_key(aes);
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    // stdout holds the verified node (or JSON with --json); what it was goes to stderr.
    let report = |outcome: &str, alipay_cert_sn: Option<&str>, node: &str| {
        if json {
            let node: serde_json::Value = serde_json::from_str(node).unwrap_or_else(|_| node.into());
            let value = serde_json::json!({ "verified": true, "outcome": outcome, "alipay_cert_sn": alipay_cert_sn, "node": node });
            println!("{value}");
        } else {
            println!("{node}");
        }
    };
    match verifier.verify(&method, &body) {
        Ok(response) => {
            let by = response.alipay_cert_sn().map(|sn| format!(" by Alipay certificate {sn}")).unwrap_or_default();
            eprintln!("verified{by}: success");
            report("success", response.alipay_cert_sn(), response.node());
            Ok(())
        }
        Err(error) => match error.into_kind() {
            ResponseErrorKind::Business(error) => {
                let failure = error.failure();
                let kind =
                    if failure.body.contains("\"error_response\"") { "error_response" } else { "business failure" };
                eprintln!("verified: {kind}: {failure}");
                report(kind, None, &failure.node);
                Ok(())
            }
            kind @ (ResponseErrorKind::Malformed { .. } | ResponseErrorKind::Charset(_)) => {
                Err(Failure::Input(ResponseError::from(kind).to_string()))
            }
            kind => Err(Failure::Check(format!("NOT verified: {}", ResponseError::from(kind)))),
        },
    }
}
