//! The app private key kept in a KMS or HSM that only returns signatures: the SDK never holds
//! the key. Here the "remote" service is an in-memory stand-in behind a channel, as a real one
//! would sit behind a network call; the SDK sees only the [`Signer`] trait.
//!
//! In certificate mode the signer is checked against the app certificate at build by signing
//! a probe and verifying it with the certificate's key.

use std::sync::Arc;
use std::sync::mpsc;

use alipay_sdk::key::{KeyAlgorithm, KeyError, KeyErrorKind, PrivateKey, SignType, Signer};

/// A signing request to the "remote" service, with where to send the answer.
type Job = (Vec<u8>, SignType, mpsc::Sender<Result<String, String>>);

/// A signer that forwards every signature request to a service holding the key.
#[derive(Debug, Clone)]
pub struct RemoteSigner {
    jobs: mpsc::Sender<Job>,
    algorithm: KeyAlgorithm,
    /// How many signatures the service made (to show the SDK went through it).
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl RemoteSigner {
    /// Starts the stand-in service with `key` on its own thread; only signatures come back.
    pub fn start(key: PrivateKey) -> RemoteSigner {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let algorithm = key.algorithm();
        std::thread::spawn(move || {
            for (content, sign_type, reply) in inbox {
                let _ = reply.send(key.sign(&content, sign_type).map_err(|e| e.to_string()));
            }
        });
        RemoteSigner { jobs, algorithm, calls: Arc::default() }
    }
}

impl Signer for RemoteSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError> {
        let unavailable = |detail: String| KeyErrorKind::Sign { detail: format!("remote signer: {detail}") };
        let (reply, answer) = mpsc::channel();
        self.jobs.send((content.to_vec(), sign_type, reply)).map_err(|_| unavailable("service stopped".into()))?;
        let signature = answer.recv().map_err(|_| unavailable("no answer".into()))?.map_err(unavailable)?;
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(signature)
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "alipay-sandbox".into());
    let dir = std::path::Path::new(&dir);
    let signer = RemoteSigner::start(PrivateKey::from_path(dir.join("app_private_key.pem"))?);
    let file = alipay_sdk::config_file::ConfigFile::load(dir.join("alipay.toml"))?;
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("sandbox.json"))?)?;
    let config = alipay_sdk::Config::builder(file.app_id.clone().unwrap_or_default())
        .gateway(info["gateway"].as_str().unwrap_or_default())
        .app_signer(Arc::new(signer.clone()))
        .app_cert_file(dir.join(info["app_cert"].as_str().unwrap_or_default()))
        .alipay_cert_file(dir.join("alipayCertPublicKey_RSA2.crt"))
        .alipay_root_cert_file(dir.join("alipayRootCert.crt"))
        .build()?;
    println!("built with a remote signer; app_cert_sn {}", config.app_cert_sn().unwrap_or_default());
    Ok(())
}
