//! The app private key kept in a KMS or HSM that only returns signatures: the SDK never holds
//! the key.
//!
//! - [`Kms`] is a service behind a network call ([`alipay_sdk::key::RemoteSigner`]): the call
//!   flow hands each sign content to the driver, which awaits the signature, so no runtime
//!   worker blocks while the KMS answers. Its public key is checked against the app
//!   certificate at build, and every signature against the public key.
//! - [`AgentSigner`] is a synchronous signer ([`Signer`]) for a device on the host (a local
//!   HSM agent): it signs inline, checked at build by signing a probe.
//!
//! Both "services" here are in-memory stand-ins, as a real one would sit behind a network call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use alipay_sdk::key::{KeyAlgorithm, KeyError, KeyErrorKind, PrivateKey, PublicKey, RemoteSigner, SignType, Signer};
use alipay_sdk::lifecycle::fleet::BoxFuture;

/// A KMS stand-in: answers after `latency`, as a network service would.
#[derive(Debug, Clone)]
pub(crate) struct Kms {
    /// The service's key (a real KMS never shows it; only the public half leaves it).
    key: Arc<PrivateKey>,
    public_key: PublicKey,
    latency: Duration,
    /// How many signatures the service made.
    pub calls: Arc<AtomicUsize>,
}

impl Kms {
    /// The service holding `key`, answering after `latency`.
    pub(crate) fn new(key: PrivateKey, latency: Duration) -> Kms {
        let public_key = key.public_key();
        Kms { key: Arc::new(key), public_key, latency, calls: Arc::default() }
    }
}

impl RemoteSigner for Kms {
    fn algorithm(&self) -> KeyAlgorithm {
        self.key.algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, content: Vec<u8>, sign_type: SignType) -> BoxFuture<'static, Result<String, KeyError>> {
        let (key, latency, calls) = (self.key.clone(), self.latency, self.calls.clone());
        Box::pin(async move {
            tokio::time::sleep(latency).await;
            calls.fetch_add(1, Ordering::Relaxed);
            key.sign(&content, sign_type)
        })
    }
}

/// A signing request to the "remote" service, with where to send the answer.
type Job = (Vec<u8>, SignType, mpsc::Sender<Result<String, String>>);

/// A synchronous signer that forwards every signature request to an agent holding the key.
#[derive(Debug, Clone)]
pub(crate) struct AgentSigner {
    jobs: mpsc::Sender<Job>,
    algorithm: KeyAlgorithm,
    /// How many signatures the service made (to show the SDK went through it).
    pub calls: Arc<AtomicUsize>,
}

impl AgentSigner {
    /// Starts the stand-in service with `key` on its own thread; only signatures come back.
    pub(crate) fn start(key: PrivateKey) -> AgentSigner {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let algorithm = key.algorithm();
        std::thread::spawn(move || {
            for (content, sign_type, reply) in inbox {
                let _ = reply.send(key.sign(&content, sign_type).map_err(|e| e.to_string()));
            }
        });
        AgentSigner { jobs, algorithm, calls: Arc::default() }
    }
}

impl Signer for AgentSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn sign(&self, content: &[u8], sign_type: SignType) -> Result<String, KeyError> {
        let unavailable = |detail: String| KeyErrorKind::Sign { detail: format!("remote signer: {detail}") };
        let (reply, answer) = mpsc::channel();
        self.jobs.send((content.to_vec(), sign_type, reply)).map_err(|_| unavailable("service stopped".into()))?;
        let signature = answer.recv().map_err(|_| unavailable("no answer".into()))?.map_err(unavailable)?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(signature)
    }
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use alipay_sdk::model::trade::TradePrecreate;
    let dir = std::env::args().nth(1).unwrap_or_else(|| "alipay-sandbox".into());
    // alipay.toml resolves its paths relative to itself, so any --dir works (relative or not).
    let file = alipay_sdk::config_file::ConfigFile::load(std::path::Path::new(&dir).join("alipay.toml"))?;
    let setting = |name: &str| file.path_of(name).ok_or_else(|| format!("{dir}/alipay.toml: {name} is not set"));
    let key = PrivateKey::from_path(setting("app_private_key")?)?;
    let kms = Kms::new(key.clone(), Duration::from_millis(50));
    let builder = alipay_sdk::Config::builder(file.app_id.clone().unwrap_or_default());
    // `remote_signer DIR agent`: a synchronous signer on the host instead of the KMS.
    let builder = match std::env::args().nth(2).as_deref() {
        Some("agent") => builder.app_signer(Arc::new(AgentSigner::start(key))),
        _ => builder.app_remote_signer(Arc::new(kms.clone())),
    };
    let alipay_cert =
        file.alipay_certs().into_iter().next().ok_or_else(|| format!("{dir}/alipay.toml: alipay_cert is not set"))?;
    let config = builder
        .gateway(file.gateway_url())
        .app_cert_file(setting("app_cert")?)
        .alipay_cert_file(alipay_cert)
        .alipay_root_cert_file(setting("alipay_root_cert")?)
        .build()?;
    println!("built with a remote signer; app_cert_sn {}", config.app_cert_sn().unwrap_or_default());
    let client = alipay_sdk::Client::new(config)?;
    let order = format!("kms-{}", std::process::id());
    let created = client.call(&TradePrecreate::new(&order, "1.00".parse()?, "Tea")).await?;
    println!("{order}: {} (signed by the KMS {} time(s))", created.qr_code, kms.calls.load(Ordering::Relaxed));
    Ok(())
}
