//! `alipay doctor`: is this deployment right?

use std::path::{Path, PathBuf};
use std::time::Duration;

use alipay_sdk::cert::{Certificate, CertificateChain, RootBundle};
use alipay_sdk::config_file::{ConfigFile, Mode};
use alipay_sdk::key::{KeyAlgorithm, PrivateKey, PublicKey, SignType};
use alipay_sdk::lifecycle::{CertKind, ExpiryReport, ExpiryStatus};
use alipay_sdk::model::AlipayApi;
use alipay_sdk::model::trade::TradeQuery;
use clap::Args;
use serde::Serialize;

use crate::Failure;

#[derive(Args)]
pub(crate) struct DoctorArgs {
    /// The app's alipay.toml.
    #[arg(allow_hyphen_values = true, long)]
    config: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also make a signed probe call (alipay.trade.query for an order that does not exist) to
    /// check that the gateway accepts our signature and SNs and that its answer verifies.
    #[arg(long)]
    probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, check: &str, status: Status, detail: impl Into<String>, fix: Option<&str>) {
        self.checks.push(Check { check: check.into(), status, detail: detail.into(), fix: fix.map(str::to_string) });
    }
    fn pass(&mut self, check: &str, detail: impl Into<String>) {
        self.add(check, Status::Pass, detail, None);
    }
    fn fail(&mut self, check: &str, detail: impl Into<String>, fix: &str) {
        self.add(check, Status::Fail, detail, Some(fix));
    }
    fn has_failed(&self) -> bool {
        self.checks.iter().any(|check| check.status == Status::Fail)
    }
    /// A check that depends on the configuration building: when an earlier check already
    /// failed, the same cause is not reported twice (it is skipped, pointing there); otherwise
    /// the build error is a failure of its own.
    fn fail_unless_reported(&mut self, check: &str, error: String, fix: &str) {
        if self.has_failed() {
            self.add(check, Status::Skip, "not run: fix the failures above first", None);
        } else {
            self.fail(check, error, fix);
        }
    }
}

const KEY_FIX: &str = "point app_private_key at the app private key (应用私钥) generated with the key pair whose public key or CSR was uploaded to the console";
const APP_CERT_FIX: &str = "point app_cert at appCertPublicKey_<app id>.crt downloaded from the console for this app";
const ALIPAY_CERT_FIX: &str = "point alipay_cert at alipayCertPublicKey_RSA2.crt downloaded from the console";
const ROOT_FIX: &str = "point alipay_root_cert at alipayRootCert.crt downloaded from the console";

pub(crate) fn run(args: DoctorArgs) -> Result<(), Failure> {
    let mut report = Report::default();
    diagnose(&args.config, args.probe, &mut report);
    let failed = report.checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = report.checks.iter().filter(|c| c.status == Status::Warn).count();
    let passed = report.checks.iter().filter(|c| c.status == Status::Pass).count();
    if args.json {
        let value =
            serde_json::json!({ "checks": report.checks, "passed": passed, "warnings": warned, "failed": failed });
        println!("{}", serde_json::to_string_pretty(&value).expect("serializable"));
    } else {
        for check in &report.checks {
            let mark = match check.status {
                Status::Pass => "✔",
                Status::Warn => "⚠",
                Status::Fail => "✘",
                Status::Skip => "–",
            };
            println!("{mark} {}: {}", check.check, check.detail);
            if let Some(fix) = &check.fix {
                println!("    fix: {fix}");
            }
        }
        println!("{passed} passed, {failed} failed, {warned} warnings");
    }
    if failed == 0 { Ok(()) } else { Err(Failure::Check(format!("{failed} check(s) failed"))) }
}

fn diagnose(path: &Path, probe: bool, report: &mut Report) {
    let file = match ConfigFile::load(path) {
        Ok(file) => {
            report.pass(
                "configuration",
                format!("{} (app {}, {:?} mode)", path.display(), file.app_id.as_deref().unwrap_or("?"), file.mode),
            );
            file
        }
        Err(error) => {
            report.fail("configuration", error.to_string(), "fix alipay.toml (see README: Configuration)");
            return;
        }
    };
    settings(report, &file);
    // The configured algorithm (a bad sign_type was reported by `settings`; RSA2 then).
    let sign_type: SignType = file.sign_type.as_deref().and_then(|t| t.parse().ok()).unwrap_or_default();
    let algorithm = sign_type.algorithm();
    let setting = |name: &str| file.path_of(name);
    let key = match setting("app_private_key") {
        None => {
            report.fail("app private key", "app_private_key is not set", KEY_FIX);
            None
        }
        Some(path) => match PrivateKey::from_path(&path) {
            Ok(key) if key.algorithm() != algorithm => {
                report.fail(
                    "app private key",
                    format!("{} is an {} key, but sign_type is {sign_type}", path.display(), key.algorithm()),
                    "set sign_type to the key's algorithm (RSA2 for RSA keys, SM2 for SM2 keys), or use the app's key of that algorithm",
                );
                None
            }
            Ok(key) => {
                report.pass(
                    "app private key",
                    format!("{} from {}", describe_key(key.algorithm(), key.bits()), path.display()),
                );
                Some(key)
            }
            Err(error) => {
                report.fail("app private key", error.to_string(), KEY_FIX);
                None
            }
        },
    };
    let mut certificates: Vec<(CertKind, Certificate)> = Vec::new();
    if file.mode == Mode::PublicKey {
        match setting("alipay_public_key").map(|p| PublicKey::from_path(&p)) {
            Some(Ok(key)) if key.algorithm() != algorithm => report.fail(
                "Alipay public key",
                format!("{} is an {} key, but sign_type is {sign_type}", key.origin(), key.algorithm()),
                "use the Alipay public key shown for the app's sign_type in the console",
            ),
            Some(Ok(key)) => report.pass(
                "Alipay public key",
                format!("{} from {}", describe_key(key.algorithm(), key.bits()), key.origin()),
            ),
            Some(Err(error)) => report.fail(
                "Alipay public key",
                error.to_string(),
                "point alipay_public_key at the Alipay public key (支付宝公钥) from the console",
            ),
            None => report.fail(
                "Alipay public key",
                "alipay_public_key is not set (public-key mode)",
                "set alipay_public_key",
            ),
        }
    } else {
        let app_cert =
            load_chain(report, "app certificate", setting("app_cert"), APP_CERT_FIX, |c| c.require_app_certificate());
        if let Some(app_cert) = &app_cert {
            if let alipay_sdk::cert::CertRole::App { app_id, .. } = app_cert.leaf().role()
                && file.app_id.as_deref().is_some_and(|configured| configured != app_id)
            {
                report.fail(
                    "app certificate",
                    format!("issued for app {app_id}, but app_id is {}", file.app_id.as_deref().unwrap_or("")),
                    APP_CERT_FIX,
                );
            }
            certificates.push((CertKind::App, app_cert.leaf().clone()));
        }
        let mut alipay_certs = Vec::new();
        for path in file.alipay_certs() {
            if let Some(chain) = load_chain(report, "Alipay certificate", Some(path), ALIPAY_CERT_FIX, |c| {
                c.require_alipay_certificate()
            }) {
                certificates.push((CertKind::Alipay, chain.leaf().clone()));
                alipay_certs.push(chain);
            }
        }
        if file.alipay_certs().is_empty() {
            report.fail("Alipay certificate", "alipay_cert is not set (certificate mode)", ALIPAY_CERT_FIX);
        }
        let roots = match setting("alipay_root_cert") {
            None => {
                report.fail("root bundle", "alipay_root_cert is not set (certificate mode)", ROOT_FIX);
                None
            }
            Some(path) => match RootBundle::from_path(&path) {
                Ok(bundle) if bundle.sn_for(algorithm).is_none() => {
                    report.fail(
                        "root bundle",
                        format!(
                            "{}: no {algorithm}-signed root, so alipay_root_cert_sn would be empty",
                            path.display()
                        ),
                        ROOT_FIX,
                    );
                    None
                }
                Ok(bundle) => {
                    let counted = bundle.roots_for(algorithm).len();
                    let all = bundle.rsa_roots().len() + bundle.sm2_roots().len() + bundle.skipped().len();
                    report.pass(
                        "root bundle",
                        format!(
                            "{counted} {algorithm} roots counted for sign_type {sign_type}, {} others skipped ({})",
                            all - counted,
                            path.display()
                        ),
                    );
                    for ca in bundle.not_self_signed() {
                        report.add(
                            "root bundle",
                            Status::Warn,
                            format!(
                                "{} holds a CA certificate that is not self-signed: {} (issued by {}); it counts in \
                                 alipay_root_cert_sn, as in Alipay's own SDKs",
                                path.display(),
                                ca.subject(),
                                ca.issuer()
                            ),
                            Some("expected during Alipay's root migrations (cross-signed roots); otherwise download alipayRootCert.crt again from the console"),
                        );
                    }
                    certificates.extend(bundle.roots_for(algorithm).iter().map(|r| (CertKind::Root, r.clone())));
                    Some(bundle)
                }
                Err(error) => {
                    report.fail("root bundle", error.to_string(), ROOT_FIX);
                    None
                }
            },
        };
        if let (Some(key), Some(app_cert)) = (&key, &app_cert) {
            match key.check_matches(app_cert) {
                Ok(()) => report.pass(
                    "key matches app certificate",
                    format!("the private key belongs to certificate {}", app_cert.sn()),
                ),
                Err(error) => report.fail(
                    "key matches app certificate",
                    error.to_string(),
                    "use the private key of the key pair the app certificate was issued for (the CSR's key)",
                ),
            }
        }
        if let Some(roots) = &roots {
            let pool: Vec<Certificate> = alipay_certs.iter().flat_map(|c| c.certificates().to_vec()).collect();
            if let Some(app_cert) = &app_cert {
                chain_check(
                    report,
                    "app certificate chains to the root bundle",
                    app_cert,
                    &pool,
                    roots.roots_for(algorithm),
                    true,
                );
            }
            for chain in &alipay_certs {
                chain_check(
                    report,
                    "Alipay certificate chains to the root bundle",
                    chain,
                    &pool,
                    roots.roots_for(algorithm),
                    false,
                );
            }
            if let Some(app_cert) = &app_cert {
                let alipay_sns = alipay_certs.iter().map(|c| c.sn()).collect::<Vec<_>>().join(", ");
                report.pass(
                    "SNs sent",
                    format!(
                        "app_cert_sn={} alipay_root_cert_sn={} (Alipay certificates: {alipay_sns})",
                        app_cert.sn(),
                        roots.sn_for(algorithm).unwrap_or_default()
                    ),
                );
            }
        }
    }
    match file.aes_key() {
        Ok(Some(_)) => report.pass("AES key", "configured and well-formed"),
        Ok(None) => {}
        Err(error) => report.fail(
            "AES key",
            error.to_string(),
            "aes_key_file or aes_key_env must hold the base64 key shown in the console",
        ),
    }
    expiry(report, &certificates);
    // Whatever the checks above say, `alipay call` builds exactly this: it must work.
    match file.builder().map_err(|e| e.to_string()).and_then(|b| b.build().map_err(|e| e.to_string())) {
        Ok(config) => report.pass(
            "client configuration",
            format!(
                "builds as alipay call would use it ({} mode)",
                if config.cert_mode().is_some() { "certificate" } else { "public-key" }
            ),
        ),
        Err(error) => {
            report.fail_unless_reported("client configuration", error, "fix the setting named in the message")
        }
    }
    let gateway = file.gateway_url();
    network(report, &gateway);
    if probe {
        probe_call(report, &file);
    }
}

/// The plain settings `alipay call` needs: app id, charset, signature type, gateway URL.
fn settings(report: &mut Report, file: &ConfigFile) {
    match file.app_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            report.pass("app_id", id.to_string());
        }
        Some(id) if !id.is_empty() => report.fail(
            "app_id",
            format!("{id:?} is not an app id (Alipay app ids are digits)"),
            "copy the APPID from the open-platform console",
        ),
        _ => report.fail("app_id", "app_id is not set", "set app_id to the APPID from the open-platform console"),
    }
    if let Some(charset) = &file.charset
        && let Err(error) = charset.parse::<alipay_sdk::charset::Charset>()
    {
        report.fail("charset", error.to_string(), "set charset to \"UTF-8\" or \"GBK\" (or leave it out)");
    }
    if let Some(sign_type) = &file.sign_type
        && let Err(error) = sign_type.parse::<alipay_sdk::key::SignType>()
    {
        report.fail("sign_type", error.to_string(), "set sign_type to \"RSA2\" or \"SM2\" (or leave it out for RSA2)");
    }
    let gateway = file.gateway_url();
    match url::Url::parse(&gateway) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => {}
        _ => report.fail(
            "gateway",
            format!("{gateway:?} is not an http(s) URL"),
            "set gateway to \"production\", \"sandbox\" or the gateway URL",
        ),
    }
}

/// "RSA-2048", "SM2 (256-bit)".
fn describe_key(algorithm: KeyAlgorithm, bits: u32) -> String {
    match algorithm {
        KeyAlgorithm::Rsa => format!("RSA-{bits}"),
        other => format!("{other} ({bits}-bit)"),
    }
}

fn load_chain(
    report: &mut Report,
    check: &str,
    path: Option<PathBuf>,
    fix: &str,
    role: impl Fn(CertificateChain) -> Result<CertificateChain, alipay_sdk::cert::CertError>,
) -> Option<CertificateChain> {
    let Some(path) = path else {
        report.fail(check, "not set", fix);
        return None;
    };
    match CertificateChain::from_path(&path).and_then(role) {
        Ok(chain) => {
            report.pass(check, format!("SN {} ({}), from {}", chain.sn(), chain.leaf().subject(), path.display()));
            Some(chain)
        }
        Err(error) => {
            report.fail(check, error.to_string(), fix);
            None
        }
    }
}

fn chain_check(
    report: &mut Report,
    check: &str,
    chain: &CertificateChain,
    pool: &[Certificate],
    roots: &[Certificate],
    leaf_only_is_normal: bool,
) {
    let mut current = chain.leaf().clone();
    let candidates: Vec<Certificate> = chain.certificates().iter().chain(pool.iter()).cloned().collect();
    for _ in 0..8 {
        if let Some(root) = roots.iter().find(|r| current.is_signed_by(r)) {
            report.pass(check, format!("{} → … → {} (signatures verified)", chain.leaf().subject(), root.subject()));
            return;
        }
        match candidates.iter().find(|c| **c != current && current.is_signed_by(c)) {
            Some(issuer) => current = issuer.clone(),
            None => break,
        }
    }
    let issuer_known = candidates.iter().chain(roots).any(|c| c.subject_rfc2253() == current.issuer());
    if leaf_only_is_normal && !issuer_known {
        report.add(
            check,
            Status::Warn,
            format!("issuer {} is not in the files (Alipay does not ship the app certificate's intermediate), so the signature cannot be checked here; --probe checks that the gateway accepts it", current.issuer()),
            None,
        );
    } else {
        report.fail(
            check,
            format!("no signature path from {} to a root of the bundle (stopped at issuer {})", current.subject(), current.issuer()),
            "the certificate and the root bundle come from different environments (sandbox vs production?) or one is not Alipay's: download all three files again from the same console",
        );
    }
}

fn expiry(report: &mut Report, certificates: &[(CertKind, Certificate)]) {
    let now = chrono::Utc::now();
    let built = ExpiryReport::build(certificates.iter().map(|(k, c)| (*k, c)), now, &[30, 7, 1]);
    for (entry, (_, cert)) in built.entries.iter().zip(certificates) {
        let kind = match entry.kind {
            CertKind::App => "app",
            CertKind::Alipay => "Alipay",
            CertKind::Root => "root",
        };
        let check = format!("expiry of {kind} certificate {}", entry.sn);
        if now < cert.not_before() {
            report.fail(
                &check,
                format!("not valid before {}", cert.not_before()),
                "wait, or use the certificate currently valid",
            );
            continue;
        }
        match entry.status {
            ExpiryStatus::Ok => {
                report.pass(&check, format!("{} days left (until {})", entry.days_left, entry.not_after))
            }
            ExpiryStatus::Warning { threshold_days } => report.add(
                &check,
                Status::Warn,
                format!("{} days left (under {threshold_days}); expires {}", entry.days_left, entry.not_after),
                Some("renew it in the open-platform console before it expires"),
            ),
            ExpiryStatus::Expired => report.fail(
                &check,
                format!("EXPIRED at {}", entry.not_after),
                "replace it with a current certificate from the open-platform console",
            ),
        }
    }
}

fn network(report: &mut Report, gateway: &str) {
    let now = chrono::Utc::now();
    let year = chrono::Datelike::year(&now);
    if !(2024..2100).contains(&year) {
        report.fail("host clock", format!("the host says it is {now}"), "set the system clock (enable NTP)");
        return;
    }
    let https = gateway.starts_with("https://");
    let client = match reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(client) => client,
        Err(error) => {
            report.fail(
                "TLS trust store",
                format!("cannot build an HTTPS client: {error}"),
                "check the system's OpenSSL installation",
            );
            return;
        }
    };
    let answer = client.get(gateway).send();
    let response = match answer {
        Ok(response) => {
            if https {
                report
                    .pass("TLS trust store", format!("the operating system's trust store validates {}", host(gateway)));
            } else {
                report.add(
                    "TLS trust store",
                    Status::Skip,
                    format!("{} is plain HTTP (sandbox): no TLS to check", host(gateway)),
                    None,
                );
            }
            response
        }
        Err(error) => {
            let detail = alipay_sdk::excerpt::chain(&error.without_url());
            if https && (detail.contains("certificate") || detail.contains("handshake") || detail.contains("SSL")) {
                report.fail(
                    "TLS trust store",
                    format!("the operating system's trust store does not validate {}: {detail}", host(gateway)),
                    "update the system CA certificates (e.g. apt-get install --reinstall ca-certificates, or update-ca-certificates); never pin or bundle roots in the application",
                );
            } else {
                report.fail(
                    "gateway reachable",
                    format!("cannot reach {}: {detail}", host(gateway)),
                    "check DNS, firewall and proxy settings (HTTPS_PROXY)",
                );
            }
            report.add("host clock", Status::Skip, "cannot compare with the gateway's clock", None);
            return;
        }
    };
    let date = response
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
    match date {
        Some(server) => {
            let skew = (now - server.with_timezone(&chrono::Utc)).num_seconds();
            let detail = format!("host clock is {skew:+} s from the gateway's");
            if skew.abs() <= 60 {
                report.pass("host clock", detail);
            } else if skew.abs() <= 300 {
                report.add("host clock", Status::Warn, detail, Some("enable NTP time synchronisation"));
            } else {
                report.fail("host clock", detail, "synchronise the clock (enable NTP): Alipay rejects requests whose timestamp is off (isv.invalid-timestamp)");
            }
        }
        None => report.add("host clock", Status::Warn, "the gateway sent no Date header to compare with", None),
    }
}

fn probe_call(report: &mut Report, file: &ConfigFile) {
    let config = match file.builder().map_err(|e| e.to_string()).and_then(|b| b.build().map_err(|e| e.to_string())) {
        Ok(config) => config,
        Err(error) => {
            report.fail_unless_reported(
                "signed probe",
                format!("cannot build a client: {error}"),
                "fix the setting named in the message",
            );
            return;
        }
    };
    let client = match crate::blocking_client(file, config) {
        Ok(client) => client,
        Err(error) => {
            report.fail("signed probe", error.to_string(), "check the system's OpenSSL installation");
            return;
        }
    };
    let probe = TradeQuery::by_out_trade_no(format!("alipay-doctor-probe-{}", chrono::Utc::now().timestamp()));
    match client.send(&probe.to_request()) {
        Ok(response) => report.pass(
            "signed probe",
            format!(
                "alipay.trade.query accepted; answer verified ({})",
                response.alipay_cert_sn().unwrap_or("public key")
            ),
        ),
        Err(error) => match error.business() {
            Some(business) if business.failure.sub_code.as_deref().is_some_and(|c| c.starts_with("ACQ.")) => report
                .pass(
                    "signed probe",
                    format!(
                        "the gateway accepted our signature and SNs and answered {} (signature verified)",
                        business.failure.sub_code.as_deref().unwrap_or("")
                    ),
                ),
            Some(business) => {
                let fix = match business.failure.sub_code.as_deref().unwrap_or_default() {
                    "isv.invalid-app-cert-sn" => {
                        "the app certificate is not the one registered for this app: download appCertPublicKey_<app id>.crt again"
                    }
                    "isv.invalid-alipay-root-cert-sn" => "download alipayRootCert.crt again from the same console",
                    "isv.invalid-signature" => {
                        "the private key does not belong to the key pair registered for this app"
                    }
                    "isv.invalid-timestamp" => "synchronise the host clock",
                    "isv.missing-app-cert-sn" | "isv.missing-alipay-root-cert-sn" => {
                        "the app signs with a public-key certificate (公钥证书) on the console, but this configuration is in public-key mode and sends no SNs: set mode = \"certificate\" with app_cert, alipay_cert and alipay_root_cert (the three .crt files downloaded from the console)"
                    }
                    "isv.missing-signature-config" | "isv.invalid-signature-type" => {
                        "sign_type does not match what the console has: set sign_type to the algorithm registered for this app (RSA2 or SM2)"
                    }
                    "isv.invalid-app-id" => {
                        "app_id is not an app of this gateway: check app_id, and that gateway is the production one for a production app (sandbox apps use the sandbox gateway)"
                    }
                    "isv.insufficient-isv-permissions" | "isv.insufficient-user-permissions" => {
                        "the app has not signed up for this product or the merchant has not authorised it: sign the product on the console (or check app_auth_token)"
                    }
                    _ => "",
                };
                let fix = if fix.is_empty() {
                    // Not one we know: say what Alipay said and where to look it up.
                    let trace = error
                        .trace_id()
                        .map(|id| format!("; Alipay support can look it up by trace id {id}"))
                        .unwrap_or_default();
                    format!("Alipay's sub_msg says: {}{trace}", business.failure.sub_msg.as_deref().unwrap_or("(none)"))
                } else {
                    fix.to_string()
                };
                report.fail("signed probe", error.to_string(), &fix);
            }
            None => report.fail("signed probe", error.to_string(), "see the message"),
        },
    }
}

fn host(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| url.to_string())
}
