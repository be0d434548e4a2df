//! The app key pair and the certificates over time: reload, watch, expiry.

use std::sync::Arc;
use std::time::Duration;

use super::Config;
use crate::lifecycle::{AppIdentity, CertKind, ExpiryReport, IdentityCell, ReloadError, ReloadOutcome, WatchHandle};

impl Config {
    /// `app_cert_sn` the next request will carry (certificate mode).
    pub fn app_cert_sn(&self) -> Option<String> {
        self.inner.identity.current().app_cert_sn().map(str::to_string)
    }

    /// The app key pair the next request will be signed with.
    pub fn app_identity(&self) -> Arc<AppIdentity> {
        self.inner.identity.current()
    }

    /// The app key pair and how it is reloaded.
    pub fn identity_cell(&self) -> &Arc<IdentityCell> {
        &self.inner.identity
    }

    /// Re-reads the app key and certificate files; swaps them in if they changed and are valid.
    pub fn reload_app_identity(&self) -> Result<ReloadOutcome, ReloadError> {
        self.inner.identity.reload()
    }

    /// Watches the app key and certificate files and reloads them when they change.
    pub fn watch_app_identity(&self, interval: Duration) -> Result<WatchHandle, ReloadError> {
        self.inner.identity.watch(interval)
    }

    /// Every certificate (app, Alipay, roots) with its days left, from the configured clock.
    pub fn expiry_report(&self) -> ExpiryReport {
        let identity = self.inner.identity.current();
        let mut certificates = Vec::new();
        if let Some(app) = identity.cert() {
            certificates.push((CertKind::App, app.leaf().clone()));
        }
        if let Some(mode) = &self.inner.cert_mode {
            let mut stored = mode.store.entries();
            stored.sort_by(|a, b| a.chain.sn().cmp(b.chain.sn()));
            certificates.extend(stored.iter().map(|c| (CertKind::Alipay, c.chain.leaf().clone())));
            certificates.extend(mode.root.rsa_roots().iter().map(|r| (CertKind::Root, r.clone())));
            certificates.extend(mode.root.sm2_roots().iter().map(|r| (CertKind::Root, r.clone())));
            certificates
                .extend(mode.root.skipped().iter().filter_map(|s| s.certificate.clone()).map(|c| (CertKind::Root, c)));
        }
        ExpiryReport::build(
            certificates.iter().map(|(k, c)| (*k, c)),
            self.inner.clock.now(),
            &self.inner.expiry_thresholds,
        )
    }

    /// [`Self::expiry_report`], logging a warning for each certificate past a threshold.
    pub fn check_expiry(&self) -> ExpiryReport {
        let report = self.expiry_report();
        report.warn();
        report
    }
}
