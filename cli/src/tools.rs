//! `alipay call`, `alipay key gen`, `alipay csr`.

use std::path::PathBuf;

use alipay_sdk::Request;
use alipay_sdk::config_file::ConfigFile;
use alipay_sdk::key::{KeyAlgorithm, PrivateKey};
use clap::{Args, ValueEnum};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameBuilder, X509ReqBuilder};

use crate::Failure;

#[derive(Args)]
pub(crate) struct CallArgs {
    /// The method, e.g. alipay.trade.query.
    method: String,
    /// biz_content as JSON.
    #[arg(long, default_value = "{}")]
    biz: String,
    /// The app's alipay.toml.
    #[arg(allow_hyphen_values = true, long)]
    config: PathBuf,
    /// notify_url: where Alipay sends the asynchronous notification.
    #[arg(long)]
    notify_url: Option<String>,
    /// return_url: where the buyer's browser goes back to.
    #[arg(long)]
    return_url: Option<String>,
    /// The app_auth_token of an ISV call (or set ALIPAY_APP_AUTH_TOKEN, which keeps it out of
    /// the process list).
    #[arg(long, env = "ALIPAY_APP_AUTH_TOKEN", hide_env_values = true)]
    app_auth_token: Option<String>,
    /// An extra application parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Print JSON: `verified`, `alipay_cert_sn`, `trace_id` and the verified `node` (or the
    /// business failure's `error`).
    #[arg(long)]
    json: bool,
}

pub(crate) fn call(args: CallArgs) -> Result<(), Failure> {
    let file = ConfigFile::load(&args.config)?;
    let client = crate::blocking_client(&file, file.builder()?.build()?).map_err(|e| Failure::Input(e.to_string()))?;
    let mut request = Request::new(&args.method).biz_json(&args.biz);
    if let Some(url) = args.notify_url {
        request = request.notify_url(url);
    }
    if let Some(url) = args.return_url {
        request = request.return_url(url);
    }
    if let Some(token) = args.app_auth_token {
        request = request.app_auth_token(token);
    }
    for param in &args.params {
        let (name, value) =
            param.split_once('=').ok_or_else(|| Failure::Input(format!("--param {param:?}: expected NAME=VALUE")))?;
        request = request.param(name, value);
    }
    match client.send(&request) {
        Ok(response) => {
            let node: serde_json::Value =
                serde_json::from_str(response.node()).unwrap_or_else(|_| response.node().into());
            let by = response.alipay_cert_sn().map(|sn| format!(" with Alipay certificate {sn}")).unwrap_or_default();
            eprintln!("verified{by}{}", trace_note(response.trace_id()));
            let shown = if args.json {
                serde_json::json!({
                    "verified": true,
                    "alipay_cert_sn": response.alipay_cert_sn(),
                    "trace_id": response.trace_id(),
                    "node": node,
                })
            } else {
                node
            };
            println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_else(|_| response.node().to_string()));
            Ok(())
        }
        Err(error) if error.kind() == alipay_sdk::ErrorKind::Request => Err(Failure::Input(error.to_string())),
        Err(error) if matches!(error.kind(), alipay_sdk::ErrorKind::Transport | alipay_sdk::ErrorKind::Status) => {
            Err(Failure::Network(error.to_string()))
        }
        Err(error) => {
            if let Some(business) = error.business() {
                if args.json {
                    let node: serde_json::Value = serde_json::from_str(&business.failure.node)
                        .unwrap_or_else(|_| business.failure.node.clone().into());
                    let shown = serde_json::json!({
                        "verified": true,
                        "trace_id": error.trace_id(),
                        "error": node,
                    });
                    println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
                } else {
                    println!("{}", business.failure.node);
                }
            } else if args.json {
                let shown =
                    serde_json::json!({ "verified": false, "trace_id": error.trace_id(), "error": error.to_string() });
                println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
            }
            Err(Failure::Check(error.to_string()))
        }
    }
}

/// `" (trace id …)"` for the status line on stderr: what Alipay support asks for.
pub(crate) fn trace_note(trace_id: Option<&str>) -> String {
    trace_id.map(|id| format!(" (trace id {id})")).unwrap_or_default()
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyFormat {
    /// PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    Pkcs1,
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    Pkcs8,
    /// The bare base64 of PKCS#8, as Alipay's key tool writes for Java.
    Base64,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyAlgorithmArg {
    /// RSA-2048 (sign_type RSA2).
    Rsa,
    /// SM2 (sign_type SM2, 国密).
    Sm2,
}

#[derive(Args)]
pub(crate) struct KeyGenArgs {
    /// The key algorithm.
    #[arg(long, value_enum, default_value = "rsa")]
    algorithm: KeyAlgorithmArg,
    /// Output format (`pkcs1` is RSA only).
    #[arg(long, value_enum, default_value = "pkcs8")]
    format: KeyFormat,
    /// Write the private key here (mode 0600) and print the public key; default: print the
    /// private key.
    #[arg(allow_hyphen_values = true, long)]
    out: Option<PathBuf>,
    /// Print JSON (needs --out: the private key stays in its file): the file, the public key
    /// PEM and its bare base64 (what the open-platform console takes).
    #[arg(long, requires = "out")]
    json: bool,
}

pub(crate) fn key_gen(args: KeyGenArgs) -> Result<(), Failure> {
    let key = match args.algorithm {
        KeyAlgorithmArg::Rsa => PrivateKey::generate(2048)?,
        KeyAlgorithmArg::Sm2 => PrivateKey::generate_sm2()?,
    };
    let text = match args.format {
        KeyFormat::Pkcs1 if key.algorithm() != KeyAlgorithm::Rsa => {
            return Err(Failure::Input(
                "--format pkcs1 holds RSA keys only; an SM2 key is written as pkcs8 or base64".into(),
            ));
        }
        KeyFormat::Pkcs1 => key.to_pkcs1_pem()?,
        KeyFormat::Pkcs8 => key.to_pkcs8_pem()?,
        KeyFormat::Base64 => {
            let pem = key.to_pkcs8_pem()?;
            pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>() + "\n"
        }
    };
    match args.out {
        Some(path) => {
            write_private(&path, &text)?;
            let public = key.public_key().to_pem();
            if args.json {
                let bare: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
                let value = serde_json::json!({
                    "private_key_file": path.display().to_string(),
                    "public_key_pem": public,
                    "public_key_base64": bare,
                });
                println!("{value}");
            } else {
                eprintln!("wrote the private key to {}; the public key (应用公钥) follows:", path.display());
                print!("{public}");
            }
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| Failure::Input(format!("{}: {e} (not overwriting an existing key)", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

#[derive(Args)]
pub(crate) struct CsrArgs {
    /// The app private key.
    #[arg(allow_hyphen_values = true, long)]
    key: PathBuf,
    /// Organisation (company) name in the request.
    #[arg(long, default_value = "alipay-sdk")]
    org: String,
    /// Common name in the request (e.g. the app's name).
    #[arg(long, default_value = "alipay-sdk app")]
    cn: String,
    /// Write the CSR here instead of stdout.
    #[arg(allow_hyphen_values = true, long)]
    out: Option<PathBuf>,
    /// Print JSON: the CSR PEM (and the file, with --out).
    #[arg(long)]
    json: bool,
}

pub(crate) fn csr(args: CsrArgs) -> Result<(), Failure> {
    let key = PrivateKey::from_path(&args.key)?;
    let openssl_error = |e: openssl::error::ErrorStack| Failure::Input(format!("cannot build the CSR: {e}"));
    let pkey = key.openssl_key();
    let mut name = X509NameBuilder::new().map_err(openssl_error)?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "CN").map_err(openssl_error)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, &args.org).map_err(openssl_error)?;
    name.append_entry_by_nid(Nid::COMMONNAME, &args.cn).map_err(openssl_error)?;
    let name = name.build();
    let mut builder = X509ReqBuilder::new().map_err(openssl_error)?;
    builder.set_version(0).map_err(openssl_error)?;
    builder.set_subject_name(&name).map_err(openssl_error)?;
    builder.set_pubkey(pkey).map_err(openssl_error)?;
    let pem = match key.algorithm() {
        KeyAlgorithm::Sm2 => {
            // OpenSSL signs with an empty SM2 user id; the request is re-signed with Alipay's.
            builder.sign(pkey, MessageDigest::sm3()).map_err(openssl_error)?;
            let der = key.resign_sm2_x509(&builder.build().to_der().map_err(openssl_error)?)?;
            let req = openssl::x509::X509Req::from_der(&der).map_err(openssl_error)?;
            String::from_utf8(req.to_pem().map_err(openssl_error)?).unwrap_or_default()
        }
        _ => {
            builder.sign(pkey, MessageDigest::sha256()).map_err(openssl_error)?;
            String::from_utf8(builder.build().to_pem().map_err(openssl_error)?).unwrap_or_default()
        }
    };
    if let Some(path) = &args.out {
        std::fs::write(path, &pem).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    }
    if args.json {
        let file = args.out.as_ref().map(|p| p.display().to_string());
        println!("{}", serde_json::json!({ "csr_pem": pem, "file": file }));
    } else if args.out.is_none() {
        print!("{pem}");
    }
    Ok(())
}
