//! Days left on every certificate, with warnings through `tracing`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::cert::Certificate;

/// Which certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertKind {
    /// The app certificate.
    App,
    /// An Alipay certificate.
    Alipay,
    /// A root of the bundle.
    Root,
}

/// How close to expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExpiryStatus {
    /// More days left than the largest threshold.
    Ok,
    /// Fewer days left than `threshold_days` (the smallest threshold crossed).
    Warning {
        /// The threshold.
        threshold_days: i64,
    },
    /// Already expired.
    Expired,
}

/// One certificate's expiry.
#[derive(Debug, Clone, Serialize)]
pub struct ExpiryEntry {
    /// Which certificate.
    pub kind: CertKind,
    /// Its SN.
    pub sn: String,
    /// Its subject.
    pub subject: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
    /// The status against the thresholds.
    #[serde(flatten)]
    pub status: ExpiryStatus,
}

/// Every certificate of a configuration with its days left.
#[derive(Debug, Clone, Serialize)]
pub struct ExpiryReport {
    /// When it was computed (RFC 3339).
    pub at: String,
    /// The entries: app, Alipay certificates, roots.
    pub entries: Vec<ExpiryEntry>,
}

impl ExpiryReport {
    /// A report for `certificates` at `now`; each threshold is a number of days left.
    pub fn build<'a>(
        certificates: impl IntoIterator<Item = (CertKind, &'a Certificate)>,
        now: DateTime<Utc>,
        thresholds: &[i64],
    ) -> ExpiryReport {
        let mut sorted: Vec<i64> = thresholds.to_vec();
        sorted.sort_unstable();
        let entries = certificates
            .into_iter()
            .map(|(kind, cert)| {
                let days_left = cert.days_left(now);
                let label = match kind {
                    CertKind::App => "app",
                    CertKind::Alipay => "alipay",
                    CertKind::Root => "root",
                };
                crate::metrics::cert_expiry(label, cert.sn(), days_left);
                let status = if now > cert.not_after() {
                    ExpiryStatus::Expired
                } else {
                    sorted
                        .iter()
                        .find(|&&t| days_left < t)
                        .map_or(ExpiryStatus::Ok, |&threshold_days| ExpiryStatus::Warning { threshold_days })
                };
                ExpiryEntry {
                    kind,
                    sn: cert.sn().to_string(),
                    subject: cert.subject().to_string(),
                    not_after: cert.not_after().to_rfc3339_opts(SecondsFormat::Secs, true),
                    days_left,
                    status,
                }
            })
            .collect();
        ExpiryReport { at: now.to_rfc3339_opts(SecondsFormat::Secs, true), entries }
    }

    /// Logs a `tracing` warning for each certificate past a threshold or expired.
    pub fn warn(&self) {
        for entry in &self.entries {
            match entry.status {
                ExpiryStatus::Ok => {}
                ExpiryStatus::Warning { threshold_days } => tracing::warn!(
                    kind = ?entry.kind,
                    sn = %entry.sn,
                    days_left = entry.days_left,
                    threshold_days,
                    "certificate expires soon: {}",
                    entry.subject
                ),
                ExpiryStatus::Expired => tracing::error!(
                    kind = ?entry.kind,
                    sn = %entry.sn,
                    not_after = %entry.not_after,
                    "certificate has expired: {}",
                    entry.subject
                ),
            }
        }
    }

    /// Whether any certificate is past a threshold or expired.
    pub fn needs_attention(&self) -> bool {
        self.entries.iter().any(|e| e.status != ExpiryStatus::Ok)
    }
}
