//! `alipay aes encrypt|decrypt`: content encryption (AES, AES_V2, SM4) between stdin and stdout.

use std::io::{Read, Write};

use alipay_sdk::aes::{AesKey, EncryptType};
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum AesCommand {
    /// Encrypt stdin, print base64.
    Encrypt(KeyArgs),
    /// Decrypt base64 from stdin, print the plaintext.
    Decrypt(KeyArgs),
}

/// Where the AES key comes from: a file or an environment variable keep it out of the process
/// list and the shell history; `--key` is for throwaway keys.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("aes_key").required(true).args(["key", "key_file", "key_env"])))]
pub(crate) struct KeyArgs {
    /// The AES key as the console shows it (base64).
    #[arg(long)]
    key: Option<String>,
    /// A file holding the key.
    #[arg(allow_hyphen_values = true, long)]
    key_file: Option<std::path::PathBuf>,
    /// The name of an environment variable holding the key.
    #[arg(long)]
    key_env: Option<String>,
    /// The scheme: AES (zero IV), AES_V2 (random IV in front) or SM4 (SM4-GCM, for SM2 apps).
    #[arg(long, default_value = "AES")]
    encrypt_type: EncryptType,
    /// Print JSON: the `encrypt_type` and the `ciphertext`, or the `plaintext` (UTF-8 text)
    /// or `plaintext_base64` (other bytes).
    #[arg(long)]
    json: bool,
}

impl KeyArgs {
    fn load(&self) -> Result<AesKey, Failure> {
        let text = match (&self.key, &self.key_file, &self.key_env) {
            (Some(key), _, _) => key.clone(),
            (_, Some(file), _) => std::fs::read_to_string(file)
                .map_err(|e| Failure::Input(format!("--key-file {}: {e}", file.display())))?,
            (_, _, Some(var)) => std::env::var(var)
                .map_err(|_| Failure::Input(format!("--key-env: environment variable {var} is not set")))?,
            _ => return Err(Failure::Input("give --key, --key-file or --key-env".into())),
        };
        Ok(AesKey::from_base64(text.trim())?.with_encrypt_type(self.encrypt_type)?)
    }
}

pub(crate) fn run(command: AesCommand) -> Result<(), Failure> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    let mut stdout = std::io::stdout();
    match command {
        AesCommand::Encrypt(args) => {
            let key = args.load()?;
            let sealed = key.encrypt(&input).map_err(|e| Failure::Check(e.to_string()))?;
            if args.json {
                let shown = serde_json::json!({ "encrypt_type": args.encrypt_type.to_string(), "ciphertext": sealed });
                writeln!(stdout, "{shown}").map_err(|e| Failure::Input(e.to_string()))?;
            } else {
                writeln!(stdout, "{sealed}").map_err(|e| Failure::Input(e.to_string()))?;
            }
        }
        AesCommand::Decrypt(args) => {
            let key = args.load()?;
            let text = String::from_utf8(input).map_err(|_| Failure::Input("stdin is not base64 text".into()))?;
            let plain = key.decrypt(&text)?;
            if args.json {
                let shown = match String::from_utf8(plain) {
                    Ok(text) => serde_json::json!({ "encrypt_type": args.encrypt_type.to_string(), "plaintext": text }),
                    Err(bytes) => {
                        use base64::Engine as _;
                        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes());
                        serde_json::json!({ "encrypt_type": args.encrypt_type.to_string(), "plaintext_base64": encoded })
                    }
                };
                writeln!(stdout, "{shown}").map_err(|e| Failure::Input(e.to_string()))?;
            } else {
                stdout.write_all(&plain).map_err(|e| Failure::Input(e.to_string()))?;
            }
        }
    }
    Ok(())
}
