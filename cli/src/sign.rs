//! `alipay sign`: sign parameters read as a JSON object on stdin.

use std::io::Read;
use std::path::PathBuf;

use alipay_sdk::charset::Charset;
use alipay_sdk::key::{PrivateKey, SignType};
use alipay_sdk::primitives::gateway::sign_content;
use clap::Args;

use crate::Failure;

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The private key (PKCS#1/PKCS#8 PEM or bare base64).
    #[arg(allow_hyphen_values = true, long)]
    key: PathBuf,
    /// RSA2 (SHA256withRSA), SM2 (SM3withSM2) or RSA (SHA1withRSA).
    #[arg(long, default_value = "RSA2")]
    sign_type: SignType,
    /// The request charset: UTF-8 or GBK.
    #[arg(long, default_value = "UTF-8")]
    charset: Charset,
    /// Print the sign content and its byte length before the signature.
    #[arg(long)]
    explain: bool,
    /// Print JSON: the signature, the sign content and its length in bytes.
    #[arg(long, conflicts_with = "explain")]
    json: bool,
}

pub(crate) fn run(args: SignArgs) -> Result<(), Failure> {
    let key = PrivateKey::from_path(&args.key)?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
    let params = crate::read_string_object(&input, "stdin")?;
    let content = sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let bytes = args.charset.encode(&content, "sign content")?;
    let signature = key.sign(&bytes, args.sign_type)?;
    if args.json {
        let value = serde_json::json!({
            "sign": signature,
            "sign_type": args.sign_type.as_str(),
            "charset": args.charset.as_str(),
            "sign_content": content,
            "sign_content_len": bytes.len(),
        });
        println!("{value}");
        return Ok(());
    }
    if args.explain {
        println!("sign content ({} bytes, {}):", bytes.len(), args.charset);
        println!("{content}");
        println!("signature ({}):", args.sign_type);
    }
    println!("{signature}");
    Ok(())
}
