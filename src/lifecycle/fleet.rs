//! A fleet of instances sharing accepted Alipay certificates and one download per SN.
//!
//! When Alipay rotates its certificate, every instance of a fleet meets the new
//! `alipay_cert_sn` within the same second. Alone, each would download it. With a
//! [`FleetBackend`] (the `redis` feature's `RedisFleet`), an instance that meets an unknown SN,
//! after the in-process single-flight turn:
//!
//! 1. loads the certificate from the shared storage if another instance accepted it —
//!    re-validated here exactly like a download (chain to this instance's root bundle,
//!    validity, SN, key): shared storage is not a trust anchor;
//! 2. otherwise takes the fleet-wide lock for the SN (with an expiry, so a crashed holder
//!    cannot block the fleet) and downloads; the accepted content is saved for the others,
//!    then the lock released;
//! 3. when another instance holds the lock, waits for its result, polling, for at most
//!    [`FleetSettings::wait_limit`], then downloads itself.
//!
//! Every shared-state operation has a timeout ([`FleetSettings::op_timeout`]): when the
//! backend is down or slow, the instance goes on with its local state and its own download
//! (the in-process single-flight still holds), and says so once in the log, not per call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::storage::StorageError;
use super::store::{AlipayCertStore, CertSource};

/// A boxed future, as trait methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The fleet's shared state for certificates: contents by SN and a lock per SN.
///
/// Implementations run their IO on their own runtime ([`FleetBackend::runtime`]), so blocking
/// and async callers alike can use them.
pub trait FleetBackend: Send + Sync + std::fmt::Debug {
    /// The content stored under `sn` by an instance that accepted it.
    fn load<'a>(&'a self, sn: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>>;

    /// Stores accepted content under `sn`.
    fn save<'a>(&'a self, sn: &'a str, content: &'a [u8]) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Takes the download lock for `sn` for at most `ttl`; `Some(token)` when taken, `None`
    /// when another instance holds it.
    fn try_lock<'a>(&'a self, sn: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<String>, StorageError>>;

    /// Releases the lock taken with `token` (not someone else's, if it expired meanwhile).
    fn unlock<'a>(&'a self, sn: &'a str, token: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The runtime the backend's futures run on.
    fn runtime(&self) -> tokio::runtime::Handle;

    /// The degraded-mode flag and its log line (shared by everything using the backend).
    fn health(&self) -> &FleetHealth;
}

/// How an instance waits on the fleet.
#[derive(Debug, Clone, Copy)]
pub struct FleetSettings {
    /// The longest any one shared-state operation may take before the instance goes on
    /// without it (default 500 ms).
    pub op_timeout: Duration,
    /// How long the download lock lives if its holder never releases it (default 30 s).
    pub lock_ttl: Duration,
    /// How long an instance waits for another's download before downloading itself
    /// (default 10 s).
    pub wait_limit: Duration,
    /// How often a waiting instance looks for the result (default 50 ms).
    pub poll_every: Duration,
}

impl Default for FleetSettings {
    fn default() -> Self {
        FleetSettings {
            op_timeout: Duration::from_millis(500),
            lock_ttl: Duration::from_secs(30),
            wait_limit: Duration::from_secs(10),
            poll_every: Duration::from_millis(50),
        }
    }
}

/// Whether the shared state is reachable; logs the change once each way.
#[derive(Debug, Default)]
pub struct FleetHealth {
    degraded: AtomicBool,
    /// How many times the instance went into degraded mode (each logged once).
    transitions: std::sync::atomic::AtomicU64,
}

impl FleetHealth {
    /// Records a failed or timed-out operation: the first one after a healthy period logs a
    /// warning; the following ones are silent.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        if !self.degraded.swap(true, Ordering::AcqRel) {
            self.transitions.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                operation = what,
                %error,
                "fleet shared state unreachable: continuing on local state (certificates downloaded \
                 per instance, notifications guarded per instance) until it is back"
            );
        }
    }

    /// Records a successful operation: the first one after a degraded period logs it.
    pub fn succeeded(&self) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!("fleet shared state reachable again");
        }
    }

    /// Whether the last operation failed.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// How many times the shared state became unreachable after being reachable: the number
    /// of warnings logged.
    pub fn times_degraded(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }
}

/// The fleet-wide lock an instance holds while it downloads; released when dropped (after
/// the accepted content was saved, when the download succeeded).
#[derive(Debug)]
pub(crate) struct FleetLock {
    backend: Arc<dyn FleetBackend>,
    sn: String,
    token: String,
    op_timeout: Duration,
}

impl FleetLock {
    /// Saves accepted content for the other instances, then releases the lock — in the
    /// backend's runtime, without holding up the caller.
    pub(crate) fn save_and_release(self, content: Vec<u8>) {
        let FleetLock { backend, sn, token, op_timeout } = self;
        let runtime = backend.runtime();
        runtime.spawn(async move {
            run(&*backend, op_timeout, "save a certificate", backend.save(&sn, &content)).await;
            run(&*backend, op_timeout, "release the download lock", backend.unlock(&sn, &token)).await;
        });
    }

    /// Releases the lock without a result (the download failed).
    pub(crate) fn release(self) {
        let FleetLock { backend, sn, token, op_timeout } = self;
        let runtime = backend.runtime();
        runtime.spawn(async move {
            run(&*backend, op_timeout, "release the download lock", backend.unlock(&sn, &token)).await;
        });
    }
}

/// Runs one shared-state operation with the timeout; `None` (and the degraded mode noted)
/// when it fails or takes too long.
async fn run<T>(
    backend: &dyn FleetBackend,
    op_timeout: Duration,
    what: &str,
    operation: impl Future<Output = Result<T, StorageError>>,
) -> Option<T> {
    match tokio::time::timeout(op_timeout, operation).await {
        Ok(Ok(value)) => {
            backend.health().succeeded();
            Some(value)
        }
        Ok(Err(error)) => {
            backend.health().failed(what, &error);
            None
        }
        Err(_) => {
            backend.health().failed(what, &format!("no answer within {op_timeout:?}"));
            None
        }
    }
}

/// With the in-process turn for `sn` held: gets the certificate from the fleet, or the
/// fleet-wide lock to download it (`Some`), or gives up waiting (`None`: download here, or
/// nothing to do if the SN became known).
pub(crate) async fn fleet_turn(
    store: Arc<AlipayCertStore>,
    backend: Arc<dyn FleetBackend>,
    settings: FleetSettings,
    sn: String,
) -> Option<FleetLock> {
    let started = tokio::time::Instant::now();
    // Content the fleet holds that failed validation here: not looked at again unless it changes.
    let mut refused: Option<Vec<u8>> = None;
    loop {
        if store.contains(&sn) {
            return None;
        }
        let shared = run(&*backend, settings.op_timeout, "load a certificate", backend.load(&sn)).await?;
        if let Some(content) = shared
            && refused.as_ref() != Some(&content)
        {
            match store.validate(&content, &sn) {
                Ok(chain) => {
                    store.insert_from(chain, CertSource::Shared);
                    tracing::info!(sn, "loaded an Alipay certificate another instance accepted");
                    return None;
                }
                Err(error) => {
                    store.refused(&sn, "the fleet's shared storage", &error);
                    refused = Some(content);
                }
            }
        }
        let ttl = settings.lock_ttl;
        if let Some(token) =
            run(&*backend, settings.op_timeout, "take the download lock", backend.try_lock(&sn, ttl)).await?
        {
            return Some(FleetLock { backend, sn, token, op_timeout: settings.op_timeout });
        }
        if started.elapsed() >= settings.wait_limit {
            tracing::warn!(sn, "another instance's certificate download did not finish in time; downloading here");
            return None;
        }
        tokio::time::sleep(settings.poll_every).await;
    }
}

/// [`fleet_turn`] from blocking code: runs on the backend's runtime, this thread waits.
pub(crate) fn fleet_turn_blocking(
    store: Arc<AlipayCertStore>,
    backend: Arc<dyn FleetBackend>,
    settings: FleetSettings,
    sn: String,
) -> Option<FleetLock> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let runtime = backend.runtime();
    runtime.spawn(async move {
        let _ = sender.send(fleet_turn(store, backend, settings, sn).await);
    });
    // The turn is bounded by its own timeouts; a dropped task (runtime shut down) gives up.
    receiver.recv().ok().flatten()
}

/// [`fleet_turn`] from async code on any runtime: runs on the backend's runtime.
pub(crate) async fn fleet_turn_async(
    store: Arc<AlipayCertStore>,
    backend: Arc<dyn FleetBackend>,
    settings: FleetSettings,
    sn: String,
) -> Option<FleetLock> {
    let runtime = backend.runtime();
    runtime.spawn(fleet_turn(store, backend, settings, sn)).await.ok().flatten()
}
