//! `alipay cert …`

use std::fmt::Write as _;
use std::path::PathBuf;

use alipay_sdk::cert::{CertificateChain, CertificateInfo, RootBundle};
use alipay_sdk::key::SignType;
use clap::Subcommand;

use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum CertCommand {
    /// Print the SN (app_cert_sn / alipay_cert_sn) of the file's first certificate.
    Sn {
        /// Certificate file (PEM or DER; a chain is identified by its first certificate).
        #[arg(allow_hyphen_values = true)]
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print alipay_root_cert_sn of a root bundle: the RSA-signed roots for RSA2 apps, the
    /// SM2-signed roots for SM2 apps.
    RootSn {
        /// Root bundle (alipayRootCert.crt).
        #[arg(allow_hyphen_values = true)]
        file: PathBuf,
        /// The app's sign_type: RSA2 (or RSA) counts the RSA roots, SM2 the SM2 roots.
        #[arg(long, default_value = "RSA2")]
        sign_type: SignType,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Describe every certificate in the file.
    Inspect {
        /// Certificate file or bundle.
        #[arg(allow_hyphen_values = true)]
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: CertCommand) -> Result<(), Failure> {
    match command {
        CertCommand::Sn { file, json } => {
            let chain = CertificateChain::from_path(&file)?;
            let roots = chain.certificates().iter().filter(|c| c.is_self_issued()).count();
            if chain.certificates().len() > 1 && roots == chain.certificates().len() {
                return Err(Failure::Input(format!(
                    "{}: this is a root bundle of {roots} roots, not one certificate; the SN requests carry for it is \
                     alipay_root_cert_sn: `alipay cert root-sn {}`",
                    file.display(),
                    file.display()
                )));
            }
            if json {
                let value = serde_json::json!({ "file": file.display().to_string(), "sn": chain.sn() });
                println!("{value}");
            } else {
                println!("{}", chain.sn());
            }
        }
        CertCommand::RootSn { file, sign_type, json } => {
            let bundle = RootBundle::from_path(&file)?;
            let algorithm = sign_type.algorithm();
            let Some(sn) = bundle.sn_for(algorithm) else {
                let found = bundle.skipped().iter().map(|s| s.signature_algorithm_oid.as_str()).collect::<Vec<_>>();
                return Err(Failure::Input(
                    alipay_sdk::cert::CertError::from(alipay_sdk::cert::CertErrorKind::NoRootForAlgorithm {
                        origin: file.display().to_string(),
                        algorithm,
                        found: found.join(", "),
                    })
                    .to_string(),
                ));
            };
            let counted = bundle.roots_for(algorithm).len();
            if json {
                let value = serde_json::json!({
                    "file": file.display().to_string(),
                    "sign_type": sign_type.as_str(),
                    "alipay_root_cert_sn": sn,
                    "roots_counted": counted,
                    "roots_skipped": bundle.rsa_roots().len() + bundle.sm2_roots().len() + bundle.skipped().len() - counted,
                });
                println!("{value}");
            } else {
                println!("{sn}");
            }
        }
        CertCommand::Inspect { file, json } => inspect(file, json)?,
    }
    Ok(())
}

fn inspect(file: PathBuf, json: bool) -> Result<(), Failure> {
    let chain = CertificateChain::from_path(&file)?;
    let now = chrono::Utc::now();
    let infos: Vec<CertificateInfo> = chain.certificates().iter().map(|c| c.info(now)).collect();
    // Only a file of CA certificates is a root bundle.
    let root_sn = if chain.certificates().iter().all(|c| c.is_self_issued() || c.is_ca()) {
        RootBundle::from_path(&file).ok().map(|b| b.sn().to_string())
    } else {
        None
    };
    if json {
        let value = serde_json::json!({
            "file": file.display().to_string(),
            "sn": chain.sn(),
            "root_sn": root_sn,
            "certificates": infos,
        });
        println!("{}", serde_json::to_string_pretty(&value).expect("serializable"));
        return Ok(());
    }
    let mut out = String::new();
    let count = infos.len();
    for (i, info) in infos.iter().enumerate() {
        let _ = writeln!(out, "certificate {} of {count}", i + 1);
        let validity = if info.days_left >= 0 {
            format!("{} days left", info.days_left)
        } else {
            format!("EXPIRED {} days ago", -info.days_left)
        };
        let counts = if info.rsa_signed { "counts in a root SN" } else { "not counted in a root SN" };
        let key = match info.key_bits {
            Some(bits) if !info.key_type.starts_with("EC P-") => format!("{} {bits}", info.key_type),
            _ => info.key_type.clone(),
        };
        let rows = [
            ("subject", info.subject.clone()),
            ("issuer", info.issuer.clone()),
            ("serial", format!("{} (hex {})", info.serial_decimal, info.serial_hex)),
            ("sn", info.sn.clone()),
            ("valid", format!("{} to {} ({validity})", info.not_before, info.not_after)),
            ("signature", format!("{} ({}), {counts}", info.signature_algorithm, info.signature_algorithm_oid)),
            ("key", key),
            ("role", info.role.describe()),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "  {name:<10} {value}");
        }
        if let Some(usage) = &info.key_usage {
            let _ = writeln!(out, "  {:<10} {}", "key usage", usage.join(", "));
        }
    }
    if let Some(root_sn) = root_sn {
        let _ = writeln!(out, "root sn    {root_sn}");
    }
    print!("{out}");
    Ok(())
}
