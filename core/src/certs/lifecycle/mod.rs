//! Certificate lifecycle: Alipay certificate rotation, app key pair hot reload, expiry.
//!
//! - [`AlipayCertStore`]: Alipay certificates keyed by SN; unknown SNs are downloaded once
//!   (single-flight) and accepted only after the [checks](crate::protocol#following-alipays-certificate-rotation).
//! - [`CertStorage`]: where accepted certificates are kept ([`DirStorage`] by default).
//! - [`IdentityCell`]: the app key pair, reloaded without a restart and swapped atomically.
//! - [`ExpiryReport`]: days left on every certificate, with `tracing` warnings.

mod expiry;
pub mod fleet;
mod identity;
mod storage;
mod store;

pub use expiry::{CertKind, ExpiryEntry, ExpiryReport, ExpiryStatus};
pub use identity::{AppIdentity, IdentityCell, ReloadError, ReloadErrorKind, ReloadOutcome, WatchHandle};
pub use storage::{CertStorage, DirStorage, StorageError};
pub use store::{
    AlipayCertStore, CertSource, DownloadError, DownloadErrorKind, StoreStats, StoredCert, Turn, TurnGuard,
    is_well_formed_sn,
};

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section in this crate replaces whole values), so a poisoned lock is used, not propagated.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
