//! The app's signing identity (private key + app certificate + its SN), swapped atomically.
//!
//! After the merchant replaces the app certificate in the console, the old one stays valid for
//! 7 days: a running service picks the new pair up without a restart, on demand or by watching
//! the files (through symlinks, so Kubernetes-style `..data` swaps work). A new pair is checked
//! (key parses, certificate parses and is an app certificate, key matches, certificate valid
//! now) before the swap; on any error the last good pair stays. A request is signed with the key
//! and SN of one snapshot, so it never carries an SN that does not match its signature.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use md5::{Digest, Md5};

use super::lock;
use crate::cert::{CertError, CertErrorKind, CertificateChain};
use crate::clock::Clock;
use crate::key::{KeyError, KeyErrorKind, PrivateKey, Signer};

/// One key pair the app signs with.
#[derive(Debug)]
pub struct AppIdentity {
    signer: Arc<dyn Signer>,
    cert: Option<CertificateChain>,
    generation: u64,
}

impl AppIdentity {
    /// What signs: the private key, or a remote signer.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The app certificate (certificate mode).
    pub fn cert(&self) -> Option<&CertificateChain> {
        self.cert.as_ref()
    }

    /// `app_cert_sn` (certificate mode).
    pub fn app_cert_sn(&self) -> Option<&str> {
        self.cert.as_ref().map(CertificateChain::sn)
    }

    /// Increases with every successful swap (1 for the first pair).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// Why a new key pair was not taken. The previous pair stays in use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadErrorKind {
    /// The key could not be loaded.
    #[error("new app private key: {0}")]
    Key(KeyError),
    /// The certificate could not be loaded or is not an app certificate.
    #[error("new app certificate: {0}")]
    Cert(CertError),
    /// They do not belong together.
    #[error("new app key pair: {0}")]
    Mismatch(KeyError),
    /// The certificate is not valid now.
    #[error("new app certificate {sn} is not valid now (valid {not_before} to {not_after})")]
    NotValidNow {
        /// Its SN.
        sn: String,
        /// Start of validity.
        not_before: chrono::DateTime<chrono::Utc>,
        /// End of validity.
        not_after: chrono::DateTime<chrono::Utc>,
    },
    /// Certificate mode needs a certificate, public-key mode must not have one.
    #[error("the app is in {mode} mode: {detail}")]
    Mode {
        /// The mode.
        mode: &'static str,
        /// What is wrong.
        detail: &'static str,
    },
    /// The watcher thread could not be started.
    #[error("cannot start the app key pair watcher: {0}")]
    Watcher(std::io::Error),
    /// There are no files to reload from.
    #[error("the app key pair was not configured from files; use reload_from_bytes")]
    NoFiles,
}

crate::layer_error!(
    /// Why a new app key pair was not taken (the previous pair stays in use); see [`ReloadErrorKind`].
    ///
    /// One pointer wide; [`ReloadError::kind`] says what went wrong.
    ReloadError => ReloadErrorKind
);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The files had not changed.
    Unchanged,
    /// A new pair is in use.
    Swapped {
        /// The previous `app_cert_sn`.
        previous_sn: Option<String>,
        /// The new `app_cert_sn`.
        sn: Option<String>,
    },
}

/// The current identity and how to reload it.
pub struct IdentityCell {
    current: ArcSwap<AppIdentity>,
    files: Option<(PathBuf, Option<PathBuf>)>,
    certificate_mode: bool,
    clock: Arc<dyn Clock>,
    fingerprint: Mutex<Option<[u8; 16]>>,
    generation: AtomicU64,
    last_error: Mutex<Option<String>>,
    swap_lock: Mutex<()>,
}

impl std::fmt::Debug for IdentityCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current.load();
        f.debug_struct("IdentityCell")
            .field("app_cert_sn", &current.app_cert_sn())
            .field("generation", &current.generation)
            .field("files", &self.files)
            .finish()
    }
}

fn fingerprint(key: &[u8], cert: Option<&[u8]>) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(key);
    md5.update([0]);
    md5.update(cert.unwrap_or_default());
    md5.finalize().into()
}

impl IdentityCell {
    pub(crate) fn new(
        signer: Arc<dyn Signer>,
        cert: Option<CertificateChain>,
        files: Option<(PathBuf, Option<PathBuf>)>,
        clock: Arc<dyn Clock>,
    ) -> IdentityCell {
        let certificate_mode = cert.is_some();
        let initial_fingerprint = files.as_ref().and_then(|(key_path, cert_path)| {
            let key_bytes = std::fs::read(key_path).ok()?;
            let cert_bytes = match cert_path {
                Some(path) => Some(std::fs::read(path).ok()?),
                None => None,
            };
            Some(fingerprint(&key_bytes, cert_bytes.as_deref()))
        });
        IdentityCell {
            current: ArcSwap::from_pointee(AppIdentity { signer, cert, generation: 1 }),
            files,
            certificate_mode,
            clock,
            fingerprint: Mutex::new(initial_fingerprint),
            generation: AtomicU64::new(1),
            last_error: Mutex::new(None),
            swap_lock: Mutex::new(()),
        }
    }

    /// The identity to sign the next request with.
    pub fn current(&self) -> Arc<AppIdentity> {
        self.current.load_full()
    }

    /// The last reload error, if the last attempt failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Checks a new pair from bytes and swaps it in.
    pub fn reload_from_bytes(&self, key: &[u8], cert: Option<&[u8]>) -> Result<ReloadOutcome, ReloadError> {
        let result = self.swap(key, cert, "new app private key", "new app certificate");
        self.note(&result);
        result
    }

    /// Re-reads the configured files and swaps the pair in if it changed.
    pub fn reload(&self) -> Result<ReloadOutcome, ReloadError> {
        let result = self.reload_files();
        self.note(&result);
        result
    }

    fn note(&self, result: &Result<ReloadOutcome, ReloadError>) {
        let mut last = lock(&self.last_error);
        match result {
            Ok(ReloadOutcome::Swapped { previous_sn, sn }) => {
                tracing::info!(?previous_sn, ?sn, "app key pair reloaded");
                *last = None;
            }
            Ok(ReloadOutcome::Unchanged) => *last = None,
            Err(error) => {
                tracing::error!(%error, "app key pair reload failed; the previous pair stays in use");
                *last = Some(error.to_string());
            }
        }
    }

    fn reload_files(&self) -> Result<ReloadOutcome, ReloadError> {
        let (key_path, cert_path) = self.files.as_ref().ok_or(ReloadErrorKind::NoFiles)?;
        let read = |path: &Path| std::fs::read(path);
        let key = read(key_path)
            .map_err(|source| ReloadErrorKind::Key(KeyErrorKind::Read { path: key_path.clone(), source }.into()))?;
        let cert =
            match cert_path {
                Some(path) => Some(read(path).map_err(|source| {
                    ReloadErrorKind::Cert(CertErrorKind::Read { path: path.clone(), source }.into())
                })?),
                None => None,
            };
        let print = fingerprint(&key, cert.as_deref());
        if *lock(&self.fingerprint) == Some(print) {
            return Ok(ReloadOutcome::Unchanged);
        }
        let key_name = key_path.display().to_string();
        let cert_name = cert_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let outcome = self.swap(&key, cert.as_deref(), &key_name, &cert_name)?;
        *lock(&self.fingerprint) = Some(print);
        Ok(outcome)
    }

    fn swap(
        &self,
        key: &[u8],
        cert: Option<&[u8]>,
        key_name: &str,
        cert_name: &str,
    ) -> Result<ReloadOutcome, ReloadError> {
        let mode = if self.certificate_mode { "certificate" } else { "public-key" };
        let key = PrivateKey::from_bytes_named(key, key_name).map_err(ReloadErrorKind::Key)?;
        let cert = match (cert, self.certificate_mode) {
            (Some(bytes), true) => {
                let chain = CertificateChain::from_bytes_named(bytes, cert_name)
                    .and_then(CertificateChain::require_app_certificate)
                    .map_err(ReloadErrorKind::Cert)?;
                key.check_matches(&chain).map_err(ReloadErrorKind::Mismatch)?;
                let leaf = chain.leaf();
                if !leaf.is_valid_at(self.clock.now()) {
                    return Err(ReloadErrorKind::NotValidNow {
                        sn: chain.sn().to_string(),
                        not_before: leaf.not_before(),
                        not_after: leaf.not_after(),
                    }
                    .into());
                }
                Some(chain)
            }
            (None, false) => None,
            (None, true) => {
                return Err(ReloadErrorKind::Mode { mode, detail: "a new app certificate is required" }.into());
            }
            (Some(_), false) => {
                return Err(ReloadErrorKind::Mode { mode, detail: "an app certificate cannot be used" }.into());
            }
        };
        let _guard = lock(&self.swap_lock);
        let previous_sn = self.current.load().app_cert_sn().map(str::to_string);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let sn = cert.as_ref().map(|c| c.sn().to_string());
        self.current.store(Arc::new(AppIdentity { signer: Arc::new(key), cert, generation }));
        Ok(ReloadOutcome::Swapped { previous_sn, sn })
    }

    /// Polls the files every `interval` and reloads when their content changes (following
    /// symlinks, so a swapped `..data` link counts). Stops when the handle is dropped; the drop
    /// returns at once (the thread is woken, not waited for), so it is safe in async code.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> Result<WatchHandle, ReloadError> {
        if self.files.is_none() {
            return Err(ReloadErrorKind::NoFiles.into());
        }
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let cell = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("alipay-identity-watch".into())
            .spawn(move || {
                // A message or a dropped sender both mean stop; only a timeout means poll.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let Some(cell) = cell.upgrade() else { return };
                    let _ = cell.reload();
                }
            })
            .map_err(ReloadErrorKind::Watcher)?;
        Ok(WatchHandle { _stop: stop })
    }
}

/// Stops watching when dropped (without waiting for the thread).
pub struct WatchHandle {
    _stop: std::sync::mpsc::Sender<()>,
}

impl std::fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHandle").finish_non_exhaustive()
    }
}
