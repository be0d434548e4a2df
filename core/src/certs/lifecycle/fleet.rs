//! The seam for a fleet of instances sharing accepted Alipay certificates and one download
//! per SN.
//!
//! When Alipay rotates its certificate, every instance of a fleet meets the new
//! `alipay_cert_sn` within the same second. Alone, each would download it. With a
//! [`FleetCoordinator`] (the `alipay-sdk` crate's `RedisFleet`), an instance that meets an
//! unknown SN asks the coordinator, after the in-process single-flight turn, to
//!
//! 1. load the certificate from the shared storage if another instance accepted it —
//!    re-validated here exactly like a download ([`AlipayCertStore::validate`]): shared storage
//!    is not a trust anchor;
//! 2. otherwise take the fleet-wide lock for the SN (with an expiry, so a crashed holder cannot
//!    block the fleet) and download: the accepted content is handed to the [`FleetLock`]
//!    (shared with the others, then the lock released);
//! 3. when another instance holds the lock, wait for its result, for at most
//!    [`FleetSettings::wait_limit`], then download itself.
//!
//! The core only says *when* to ask and what to do with the answer; the waiting, the timers
//! and the shared-state IO are the coordinator's (a driver's), so this crate stays free of any
//! runtime.

use std::sync::Arc;
use std::time::Duration;

use super::store::AlipayCertStore;

pub use crate::future::BoxFuture;

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

/// Coordinates certificate downloads across the instances of a fleet.
///
/// Called with this instance's single-flight turn for `sn` held. It returns once `sn` is in
/// `store` (loaded from the fleet and inserted with [`AlipayCertStore::accept_shared`]), or this
/// instance holds the fleet-wide lock and should download (`Some`), or waiting gave up
/// (`None`: download here, or nothing to do if the SN became known). It never fails: when the
/// shared state is unreachable the instance goes on alone.
pub trait FleetCoordinator: Send + Sync + std::fmt::Debug {
    /// The coordination, for async callers (any executor).
    fn coordinate(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> BoxFuture<'static, Option<Box<dyn FleetLock>>>;

    /// The coordination, blocking the calling thread (not from inside an async runtime).
    fn coordinate_blocking(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> Option<Box<dyn FleetLock>>;
}

/// The fleet-wide download lock an instance holds while it downloads.
pub trait FleetLock: Send + std::fmt::Debug {
    /// The download was accepted: share `content` with the other instances, then release the
    /// lock (without holding up the caller).
    fn save_and_release(self: Box<Self>, content: Vec<u8>);

    /// The download failed: release the lock so that another instance may try.
    fn release(self: Box<Self>);
}
