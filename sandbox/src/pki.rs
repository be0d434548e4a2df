//! The sandbox's PKI, shaped like Alipay's: two RSA roots, an SM2 root and an ECDSA root in
//! the bundle (RSA apps count the RSA roots in the root SN, SM2 apps the SM2 root, nobody the
//! ECDSA one), a "Class 1" CA issuing the app certificate and a "Class 2" CA issuing the
//! Alipay certificate (leaf + CA in one file, as Alipay ships it).
//!
//! An RSA sandbox issues RSA keys under an RSA root; an SM2 sandbox SM2 keys under the SM2
//! root, every SM2 signature made with Alipay's user id (OpenSSL's own would use an empty one).
//!
//! Everything is written to a directory and read back from it, so a sandbox restarted on the
//! same directory keeps its app, certificates and SNs.

use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

use super::SandboxError;
use alipay_core::cert::{Certificate, CertificateChain, RootBundle};
use alipay_core::key::{KeyAlgorithm, PrivateKey};

/// The file names a client needs, inside the sandbox directory.
pub const APP_PRIVATE_KEY: &str = "app_private_key.pem";
/// The Alipay root bundle.
pub const ROOT_CERT: &str = "alipayRootCert.crt";
/// The current Alipay certificate (leaf + CA).
pub const ALIPAY_CERT: &str = "alipayCertPublicKey_RSA2.crt";
/// The current Alipay public key (public-key mode).
pub const ALIPAY_PUBLIC_KEY: &str = "alipay_public_key.pem";
/// The app public key (public-key mode, as uploaded to the console).
pub const APP_PUBLIC_KEY: &str = "app_public_key.pem";
/// The sandbox's private state (Alipay's keys, the CA that issues rotated certificates).
const PRIVATE_DIR: &str = "sandbox-private";

/// An Alipay signing identity: a key and its certificate chain.
#[derive(Clone, Debug)]
pub(crate) struct AlipayIdentity {
    pub(crate) key: PrivateKey,
    pub(crate) chain: CertificateChain,
    pub(crate) pem: String,
}

impl AlipayIdentity {
    /// The certificate's SN (`alipay_cert_sn`).
    pub(crate) fn sn(&self) -> &str {
        self.chain.sn()
    }

    /// The PEM text of the chain (what `alipay.open.app.alipaycert.download` returns).
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }
}

/// The sandbox's keys and certificates.
pub(crate) struct Pki {
    pub partner_id: String,
    pub app_key: PrivateKey,
    pub app_cert: CertificateChain,
    pub roots: RootBundle,
    pub identities: Vec<AlipayIdentity>,
    /// The app's key algorithm (RSA or SM2): the whole PKI below the roots uses it.
    pub algorithm: KeyAlgorithm,
    /// The CA that issues Alipay certificates (needed only to rotate).
    issuer: Option<(PKey<Private>, X509)>,
}

fn err(context: &str) -> impl Fn(openssl::error::ErrorStack) -> SandboxError + '_ {
    move |e| SandboxError::Pki(format!("{context}: {e}"))
}

fn rsa_key() -> Result<PKey<Private>, SandboxError> {
    let rsa = openssl::rsa::Rsa::generate(2048).map_err(err("generate RSA key"))?;
    PKey::from_rsa(rsa).map_err(err("wrap RSA key"))
}

fn key_for(algorithm: KeyAlgorithm) -> Result<PKey<Private>, SandboxError> {
    match algorithm {
        KeyAlgorithm::Sm2 => PrivateKey::generate_sm2()
            .map(|key| key.openssl_key().clone())
            .map_err(|e| SandboxError::Pki(format!("generate SM2 key: {e}"))),
        _ => rsa_key(),
    }
}

/// The signing key as the SDK holds it: says the algorithm, and signs SM2 with the user id.
fn sdk_key(key: &PKey<Private>) -> Result<PrivateKey, SandboxError> {
    let der = key.private_key_to_pkcs8().map_err(err("key DER"))?;
    PrivateKey::from_bytes(&der).map_err(|e| SandboxError::Pki(e.to_string()))
}

fn name(o: &str, ou: &str, cn: &str) -> Result<openssl::x509::X509Name, SandboxError> {
    let mut builder = X509NameBuilder::new().map_err(err("name"))?;
    builder.append_entry_by_nid(Nid::COUNTRYNAME, "CN").map_err(err("name C"))?;
    builder.append_entry_by_nid(Nid::ORGANIZATIONNAME, o).map_err(err("name O"))?;
    builder.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, ou).map_err(err("name OU"))?;
    builder.append_entry_by_nid(Nid::COMMONNAME, cn).map_err(err("name CN"))?;
    Ok(builder.build())
}

struct Spec<'a> {
    subject: openssl::x509::X509Name,
    public: &'a PKey<Private>,
    issuer: Option<(&'a X509, &'a PKey<Private>)>,
    ca: bool,
}

/// Builds a certificate whose SN does not start with `0`: the official Node.js SDK does not
/// zero-pad SNs, and a sandbox that Node cannot talk to would be no use as a reference.
fn build(spec: Spec<'_>) -> Result<X509, SandboxError> {
    loop {
        let mut builder = X509Builder::new().map_err(err("certificate"))?;
        builder.set_version(2).map_err(err("version"))?;
        let mut serial = BigNum::new().map_err(err("serial"))?;
        serial.rand(63, MsbOption::MAYBE_ZERO, false).map_err(err("serial"))?;
        let serial = serial.to_asn1_integer().map_err(err("serial"))?;
        builder.set_serial_number(&serial).map_err(err("serial"))?;
        builder.set_subject_name(&spec.subject).map_err(err("subject"))?;
        let issuer_name = spec.issuer.map_or(&*spec.subject, |(cert, _)| cert.subject_name());
        builder.set_issuer_name(issuer_name).map_err(err("issuer"))?;
        builder.set_pubkey(spec.public).map_err(err("public key"))?;
        let not_before = Asn1Time::days_from_now(0).map_err(err("time"))?;
        let not_after = Asn1Time::days_from_now(3650).map_err(err("time"))?;
        builder.set_not_before(&not_before).map_err(err("time"))?;
        builder.set_not_after(&not_after).map_err(err("time"))?;
        if spec.ca {
            builder
                .append_extension(BasicConstraints::new().critical().ca().build().map_err(err("ext"))?)
                .map_err(err("ext"))?;
            builder
                .append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().map_err(err("ext"))?)
                .map_err(err("ext"))?;
        } else {
            builder
                .append_extension(
                    KeyUsage::new().critical().digital_signature().non_repudiation().build().map_err(err("ext"))?,
                )
                .map_err(err("ext"))?;
        }
        let signer = spec.issuer.map_or(spec.public, |(_, key)| key);
        // The ECDSA root signs itself with OpenSSL alone; SM2 signers re-sign with the user id.
        let sm2_signer = sdk_key(signer).ok().filter(|key| key.algorithm() == KeyAlgorithm::Sm2);
        let (cert, der) = if let Some(signer_key) = sm2_signer {
            builder.sign(signer, MessageDigest::sm3()).map_err(err("sign certificate"))?;
            let der = builder.build().to_der().map_err(err("encode"))?;
            let der = signer_key.resign_sm2_x509(&der).map_err(|e| SandboxError::Pki(e.to_string()))?;
            (X509::from_der(&der).map_err(err("re-read"))?, der)
        } else {
            builder.sign(signer, MessageDigest::sha256()).map_err(err("sign certificate"))?;
            let cert = builder.build();
            let der = cert.to_der().map_err(err("encode"))?;
            (cert, der)
        };
        let parsed = Certificate::from_der(&der).map_err(|e| SandboxError::Pki(e.to_string()))?;
        if !parsed.sn().starts_with('0') {
            return Ok(cert);
        }
    }
}

fn pem_of(cert: &X509) -> Result<String, SandboxError> {
    String::from_utf8(cert.to_pem().map_err(err("PEM"))?).map_err(|e| SandboxError::Pki(e.to_string()))
}

fn key_pem(key: &PKey<Private>) -> Result<String, SandboxError> {
    String::from_utf8(key.private_key_to_pem_pkcs8().map_err(err("key PEM"))?)
        .map_err(|e| SandboxError::Pki(e.to_string()))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), SandboxError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| SandboxError::Io { path, source })
}

/// Writes a private key readable by its owner only (mode 0600 on Unix).
fn write_private(dir: &Path, name: &str, text: &str) -> Result<(), SandboxError> {
    crate::write_private_file(&dir.join(name), text.as_bytes())
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, SandboxError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|source| SandboxError::Io { path, source })
}

impl Pki {
    /// The app certificate's file name.
    pub(crate) fn app_cert_file(app_id: &str) -> String {
        format!("appCertPublicKey_{app_id}.crt")
    }

    /// Loads the PKI from `dir` if it holds one, or generates one there when it holds none of
    /// the files. Given files need: `app_private_key.pem`, `appCertPublicKey_<app id>.crt`,
    /// `alipayRootCert.crt`, and in `sandbox-private/` the Alipay key and certificate to sign
    /// with (`alipay_1.key`, `alipay_1.crt`, …) and, to rotate, the CA issuing them
    /// (`class2.key`, `class2.crt`).
    ///
    /// A PKI generated here uses `algorithm` (RSA or SM2); a loaded one must be of it.
    pub(crate) fn load_or_generate(dir: &Path, app_id: &str, algorithm: KeyAlgorithm) -> Result<Pki, SandboxError> {
        let given = [APP_PRIVATE_KEY.to_string(), ROOT_CERT.to_string(), Pki::app_cert_file(app_id)]
            .iter()
            .any(|name| dir.join(name).exists())
            || dir.join(PRIVATE_DIR).exists();
        let pki = if given { Pki::load(dir, app_id)? } else { Pki::generate(dir, app_id, algorithm)? };
        if pki.algorithm != algorithm {
            return Err(SandboxError::Pki(format!(
                "{} holds an {} app (its key and certificates), but an {algorithm} sandbox was asked for; \
                 use another directory or the matching --sign-type",
                dir.display(),
                pki.algorithm
            )));
        }
        Ok(pki)
    }

    fn generate(dir: &Path, app_id: &str, algorithm: KeyAlgorithm) -> Result<Pki, SandboxError> {
        let private = dir.join(PRIVATE_DIR);
        std::fs::create_dir_all(&private).map_err(|source| SandboxError::Io { path: private.clone(), source })?;
        let partner_id = "2088000000000001".to_string();
        let org = "Alipay Sandbox (alipay-sdk)";
        let root_key = rsa_key()?;
        let root = build(Spec {
            subject: name(org, "Certification Authority", "Sandbox Root R1")?,
            public: &root_key,
            issuer: None,
            ca: true,
        })?;
        let root2_key = rsa_key()?;
        let root2 = build(Spec {
            subject: name(org, "Trust Network", "Sandbox Root G3")?,
            public: &root2_key,
            issuer: None,
            ca: true,
        })?;
        let sm2_root_key = key_for(KeyAlgorithm::Sm2)?;
        let sm2_root = build(Spec {
            subject: name(org, "Certification Authority", "Sandbox Root S1")?,
            public: &sm2_root_key,
            issuer: None,
            ca: true,
        })?;
        // The CAs below the root of the app's algorithm.
        let (ca_root, ca_root_key) = match algorithm {
            KeyAlgorithm::Sm2 => (&sm2_root, &sm2_root_key),
            _ => (&root, &root_key),
        };
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(err("EC group"))?;
        let ec_key = PKey::from_ec_key(EcKey::generate(&group).map_err(err("EC key"))?).map_err(err("EC key"))?;
        let ec_root = build(Spec {
            subject: name(org, "Certification Authority", "Sandbox Root E1")?,
            public: &ec_key,
            issuer: None,
            ca: true,
        })?;
        let class1_key = key_for(algorithm)?;
        let class1 = build(Spec {
            subject: name(org, "Certification Authority", "Sandbox Class 1 R1")?,
            public: &class1_key,
            issuer: Some((ca_root, ca_root_key)),
            ca: true,
        })?;
        let class2_key = key_for(algorithm)?;
        let class2 = build(Spec {
            subject: name(org, "Certification Authority", "Sandbox Class 2 R1")?,
            public: &class2_key,
            issuer: Some((ca_root, ca_root_key)),
            ca: true,
        })?;
        let app_key = key_for(algorithm)?;
        let app_cert = build(Spec {
            subject: name("Sandbox Merchant", "Alipay", &format!("{partner_id}-{app_id}"))?,
            public: &app_key,
            issuer: Some((&class1, &class1_key)),
            ca: false,
        })?;
        // Bundle order as in Alipay's: the SM2 root first, the RSA roots, the ECDSA root between.
        let bundle = format!("{}{}{}{}", pem_of(&sm2_root)?, pem_of(&root)?, pem_of(&ec_root)?, pem_of(&root2)?);
        write(dir, ROOT_CERT, &bundle)?;
        write(dir, &Pki::app_cert_file(app_id), &pem_of(&app_cert)?)?;
        write_private(dir, APP_PRIVATE_KEY, &key_pem(&app_key)?)?;
        let app_public = String::from_utf8(app_key.public_key_to_pem().map_err(err("PEM"))?).unwrap_or_default();
        write(dir, APP_PUBLIC_KEY, &app_public)?;
        write_private(&private, "class2.key", &key_pem(&class2_key)?)?;
        write(&private, "class2.crt", &pem_of(&class2)?)?;
        let mut pki = Pki::load_parts(dir, app_id, Some((class2_key, class2)))?;
        pki.rotate(dir)?;
        Ok(pki)
    }

    fn load(dir: &Path, app_id: &str) -> Result<Pki, SandboxError> {
        let private = dir.join(PRIVATE_DIR);
        let issuer = if private.join("class2.key").exists() {
            let key = PKey::private_key_from_pem(&read(&private, "class2.key")?).map_err(err("class2.key"))?;
            let cert = X509::from_pem(&read(&private, "class2.crt")?).map_err(err("class2.crt"))?;
            Some((key, cert))
        } else {
            None
        };
        let mut pki = Pki::load_parts(dir, app_id, issuer)?;
        let entries = match std::fs::read_dir(&private) {
            Ok(entries) => entries,
            Err(_) => {
                return Err(SandboxError::Pki(format!(
                    "{} is missing: it holds the Alipay key and certificate the sandbox signs with (alipay_1.key, alipay_1.crt)",
                    private.display()
                )));
            }
        };
        let mut numbered: Vec<(u32, PathBuf)> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter_map(|path| {
                let stem = path.file_name()?.to_str()?.strip_prefix("alipay_")?.strip_suffix(".crt")?.to_string();
                Some((stem.parse().ok()?, path))
            })
            .collect();
        numbered.sort();
        for (number, cert_path) in numbered {
            let chain = CertificateChain::from_path(&cert_path).map_err(|e| SandboxError::Pki(e.to_string()))?;
            let key = PrivateKey::from_path(private.join(format!("alipay_{number}.key")))
                .map_err(|e| SandboxError::Pki(e.to_string()))?;
            let pem = String::from_utf8_lossy(&read(&private, &format!("alipay_{number}.crt"))?).into_owned();
            pki.identities.push(AlipayIdentity { key, chain, pem });
        }
        if pki.identities.is_empty() {
            if pki.issuer.is_none() {
                return Err(SandboxError::Pki(format!(
                    "{}: no Alipay key and certificate to sign with (alipay_1.key + alipay_1.crt) and no CA to issue one (class2.key + class2.crt)",
                    private.display()
                )));
            }
            pki.rotate(dir)?;
        }
        Ok(pki)
    }

    fn load_parts(dir: &Path, app_id: &str, issuer: Option<(PKey<Private>, X509)>) -> Result<Pki, SandboxError> {
        let invalid = |e: &dyn std::fmt::Display| SandboxError::Pki(e.to_string());
        let app_key = PrivateKey::from_path(dir.join(APP_PRIVATE_KEY)).map_err(|e| invalid(&e))?;
        let app_cert = CertificateChain::from_path(dir.join(Pki::app_cert_file(app_id))).map_err(|e| invalid(&e))?;
        let roots = RootBundle::from_path(dir.join(ROOT_CERT)).map_err(|e| invalid(&e))?;
        let partner_id = match app_cert.leaf().role() {
            alipay_core::cert::CertRole::App { partner_id, .. } => partner_id,
            _ => "2088000000000001".to_string(),
        };
        let algorithm = app_key.algorithm();
        Ok(Pki { partner_id, app_key, app_cert, roots, identities: Vec::new(), algorithm, issuer })
    }

    /// Issues a new Alipay certificate, makes it current and writes it to `dir`.
    pub(crate) fn rotate(&mut self, dir: &Path) -> Result<&AlipayIdentity, SandboxError> {
        let (issuer_key, issuer_cert) = self.issuer.as_ref().ok_or_else(|| {
            SandboxError::Pki(format!(
                "cannot rotate: {}/class2.key and class2.crt (the CA that issues Alipay certificates) were not given",
                dir.join(PRIVATE_DIR).display()
            ))
        })?;
        let key = key_for(self.algorithm)?;
        let leaf = build(Spec {
            subject: name("Sandbox Merchant", "Alipay", &format!("支付宝(中国)网络技术有限公司-{}", self.partner_id))?,
            public: &key,
            issuer: Some((issuer_cert, issuer_key)),
            ca: false,
        })?;
        let pem = format!("{}{}", pem_of(&leaf)?, pem_of(issuer_cert)?);
        let number = self.identities.len() + 1;
        let private = dir.join(PRIVATE_DIR);
        write_private(&private, &format!("alipay_{number}.key"), &key_pem(&key)?)?;
        write(&private, &format!("alipay_{number}.crt"), &pem)?;
        write(dir, ALIPAY_CERT, &pem)?;
        let public = String::from_utf8(key.public_key_to_pem().map_err(err("PEM"))?).unwrap_or_default();
        write(dir, ALIPAY_PUBLIC_KEY, &public)?;
        let chain = CertificateChain::from_bytes_named(pem.as_bytes(), ALIPAY_CERT)
            .map_err(|e| SandboxError::Pki(e.to_string()))?;
        let key = PrivateKey::from_bytes(key_pem(&key)?.as_bytes()).map_err(|e| SandboxError::Pki(e.to_string()))?;
        self.identities.push(AlipayIdentity { key, chain, pem });
        Ok(self.identities.last().expect("just pushed"))
    }
}
