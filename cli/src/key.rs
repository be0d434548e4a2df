//! `alipay key …`

use std::path::PathBuf;

use alipay_sdk::cert::CertificateChain;
use alipay_sdk::key::PrivateKey;
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate an RSA-2048 app key pair.
    Gen(crate::tools::KeyGenArgs),
    /// Check that a private key belongs to a certificate.
    Check {
        /// The app private key (PKCS#1/PKCS#8 PEM or bare base64).
        #[arg(allow_hyphen_values = true, long)]
        key: PathBuf,
        /// The certificate (its first certificate is checked).
        #[arg(allow_hyphen_values = true, long)]
        cert: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: KeyCommand) -> Result<(), Failure> {
    match command {
        KeyCommand::Gen(args) => crate::tools::key_gen(args),
        KeyCommand::Check { key, cert, json } => {
            let key = PrivateKey::from_path(&key)?;
            // The app's own pair: an Alipay or root certificate here is named as such.
            let chain = CertificateChain::from_path(&cert)?.require_app_certificate()?;
            let result = key.check_matches(&chain);
            if json {
                let value = serde_json::json!({
                    "matches": result.is_ok(),
                    "key": key.origin(),
                    "cert": chain.origin(),
                    "app_cert_sn": chain.sn(),
                });
                println!("{value}");
            }
            match result {
                Ok(()) if json => Ok(()),
                Ok(()) => {
                    println!("ok: {} matches {} (SN {})", key.origin(), chain.origin(), chain.sn());
                    Ok(())
                }
                Err(mismatch) => Err(Failure::Check(mismatch.to_string())),
            }
        }
    }
}
