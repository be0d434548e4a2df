//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, behind the `metrics`
//! feature: the crate records, the application chooses the exporter (Prometheus, StatsD, …)
//! by installing a recorder. Without the feature every function here is an empty inline
//! function; with it and no recorder installed, recording costs an atomic load.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `alipay_calls_total` | counter | `kind`, `method`, `outcome` | finished flows: `kind` is `call` (gateway and v3), `notification` or `cert_fetch`; `outcome` is `ok`, `failed`, `not_sent` or `unknown` |
//! | `alipay_call_duration_seconds` | histogram | `kind`, `method` | how long each flow took, signing to verdict |
//! | `alipay_notifications_total` | counter | `outcome` | notifications (and Alipay's calls) `verified` or `refused` |
//! | `alipay_cert_downloads_total` | counter | `outcome` | Alipay certificates downloaded and `accepted`, or `refused` by the checks |
//! | `alipay_cert_refusals_total` | counter | `origin` | certificates refused from `download`, `storage` or `fleet` |
//! | `alipay_cert_expiry_days` | gauge | `kind`, `sn` | days until each certificate expires, set by every [`crate::lifecycle::ExpiryReport`] |
//!
//! `method` is the gateway method (`alipay.trade.query`), `METHOD /path` for v3 (with path
//! parameters filled in: keep v3 paths with identifiers out of dashboards, or relabel), the
//! notification's `notify_type`, or the certificate download method.

use std::time::Duration;

/// A finished flow: its span name (`alipay.call`, `alipay.notification`, `alipay.cert_fetch`),
/// method, outcome and duration.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn finished(span_name: &'static str, method: &str, outcome: &'static str, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    {
        let kind = span_name.strip_prefix("alipay.").unwrap_or(span_name);
        let method = method.to_string();
        metrics::counter!("alipay_calls_total", "kind" => kind, "method" => method.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("alipay_call_duration_seconds", "kind" => kind, "method" => method)
            .record(elapsed.as_secs_f64());
        if kind == "notification" {
            let verdict = if outcome == "ok" { "verified" } else { "refused" };
            metrics::counter!("alipay_notifications_total", "outcome" => verdict).increment(1);
        }
    }
}

/// A downloaded Alipay certificate `accepted` or `refused`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn cert_download(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("alipay_cert_downloads_total", "outcome" => outcome).increment(1);
}

/// A certificate refused; `origin` is `download`, `storage` or `fleet`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn cert_refused(origin: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("alipay_cert_refusals_total", "origin" => origin).increment(1);
}

/// Days until a certificate expires (negative once expired).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn cert_expiry(kind: &'static str, sn: &str, days_left: i64) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("alipay_cert_expiry_days", "kind" => kind, "sn" => sn.to_string()).set(days_left as f64);
}
