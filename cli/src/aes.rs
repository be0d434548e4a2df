//! `alipay aes encrypt|decrypt`: AES content encryption between stdin and stdout.

use std::io::{Read, Write};

use alipay_sdk::aes::AesKey;
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub enum AesCommand {
    /// Encrypt stdin, print base64.
    Encrypt {
        /// The AES key as the console shows it (base64).
        #[arg(long)]
        key: String,
    },
    /// Decrypt base64 from stdin, print the plaintext.
    Decrypt {
        /// The AES key as the console shows it (base64).
        #[arg(long)]
        key: String,
    },
}

pub fn run(command: AesCommand) -> Result<(), Failure> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    let mut stdout = std::io::stdout();
    match command {
        AesCommand::Encrypt { key } => {
            let key = AesKey::from_base64(&key)?;
            writeln!(stdout, "{}", key.encrypt(&input)).map_err(|e| Failure::Input(e.to_string()))?;
        }
        AesCommand::Decrypt { key } => {
            let key = AesKey::from_base64(&key)?;
            let text = String::from_utf8(input).map_err(|_| Failure::Input("stdin is not base64 text".into()))?;
            let plain = key.decrypt(&text)?;
            stdout.write_all(&plain).map_err(|e| Failure::Input(e.to_string()))?;
        }
    }
    Ok(())
}
