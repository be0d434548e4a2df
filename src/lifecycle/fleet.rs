//! A fleet of instances sharing accepted Alipay certificates and one download per SN: the
//! driver side of the core's seam ([`alipay_core::lifecycle::fleet`]).
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
//! The waiting, the timers and the IO run on the backend's runtime; the core only asks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use alipay_core::lifecycle::fleet::{BoxFuture, FleetCoordinator, FleetLock, FleetSettings};
use alipay_core::lifecycle::{AlipayCertStore, StorageError};

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
struct BackendLock {
    backend: Arc<dyn FleetBackend>,
    sn: String,
    token: String,
    op_timeout: Duration,
}

impl FleetLock for BackendLock {
    /// Saves accepted content for the other instances, then releases the lock — in the
    /// backend's runtime, without holding up the caller.
    fn save_and_release(self: Box<Self>, content: Vec<u8>) {
        let BackendLock { backend, sn, token, op_timeout } = *self;
        let runtime = backend.runtime();
        runtime.spawn(async move {
            run(&*backend, op_timeout, "save a certificate", backend.save(&sn, &content)).await;
            run(&*backend, op_timeout, "release the download lock", backend.unlock(&sn, &token)).await;
        });
    }

    /// Releases the lock without a result (the download failed).
    fn release(self: Box<Self>) {
        let BackendLock { backend, sn, token, op_timeout } = *self;
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
async fn fleet_turn(
    store: Arc<AlipayCertStore>,
    backend: Arc<dyn FleetBackend>,
    settings: FleetSettings,
    sn: String,
) -> Option<Box<dyn FleetLock>> {
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
            match store.accept_shared(&content, &sn) {
                Ok(()) => return None,
                Err(_) => refused = Some(content),
            }
        }
        let ttl = settings.lock_ttl;
        if let Some(token) =
            run(&*backend, settings.op_timeout, "take the download lock", backend.try_lock(&sn, ttl)).await?
        {
            let lock = Box::new(BackendLock {
                backend: backend.clone(),
                sn: sn.clone(),
                token,
                op_timeout: settings.op_timeout,
            });
            // The holder before us may have saved its result and let go between our load and
            // our lock: look once more before downloading again.
            let reloaded = run(&*backend, settings.op_timeout, "load a certificate", backend.load(&sn)).await.flatten();
            if let Some(content) = reloaded
                && refused.as_ref() != Some(&content)
                && store.accept_shared(&content, &sn).is_ok()
            {
                lock.release();
                return None;
            }
            return Some(lock);
        }
        if started.elapsed() >= settings.wait_limit {
            tracing::warn!(sn, "another instance's certificate download did not finish in time; downloading here");
            return None;
        }
        tokio::time::sleep(settings.poll_every).await;
    }
}

/// Coordinates a store's downloads through `backend`: what `ConfigBuilder::fleet` takes.
///
/// The `redis` feature's `RedisFleet` is a coordinator already; this adapts any other
/// [`FleetBackend`].
pub fn coordinator(backend: Arc<dyn FleetBackend>) -> Arc<dyn FleetCoordinator> {
    Arc::new(BackendCoordinator(backend))
}

/// A [`FleetBackend`] as the core's [`FleetCoordinator`].
#[derive(Debug)]
struct BackendCoordinator(Arc<dyn FleetBackend>);

impl FleetCoordinator for BackendCoordinator {
    fn coordinate(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> BoxFuture<'static, Option<Box<dyn FleetLock>>> {
        coordinate(self.0.clone(), store, sn, settings)
    }

    fn coordinate_blocking(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> Option<Box<dyn FleetLock>> {
        coordinate_blocking(self.0.clone(), store, sn, settings)
    }
}

/// [`fleet_turn`] from async code on any executor: runs on the backend's runtime.
pub(crate) fn coordinate(
    backend: Arc<dyn FleetBackend>,
    store: Arc<AlipayCertStore>,
    sn: String,
    settings: FleetSettings,
) -> BoxFuture<'static, Option<Box<dyn FleetLock>>> {
    let task = backend.runtime().spawn(fleet_turn(store, backend, settings, sn));
    Box::pin(async move { task.await.ok().flatten() })
}

/// [`fleet_turn`] from blocking code: runs on the backend's runtime, this thread waits.
pub(crate) fn coordinate_blocking(
    backend: Arc<dyn FleetBackend>,
    store: Arc<AlipayCertStore>,
    sn: String,
    settings: FleetSettings,
) -> Option<Box<dyn FleetLock>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let runtime = backend.runtime();
    runtime.spawn(async move {
        let _ = sender.send(fleet_turn(store, backend, settings, sn).await);
    });
    // The turn is bounded by its own timeouts; a dropped task (runtime shut down) gives up.
    receiver.recv().ok().flatten()
}
