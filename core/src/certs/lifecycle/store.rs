//! Alipay certificates keyed by SN, following Alipay's rotation.
//!
//! A certificate named by a response or notification but not known is downloaded once
//! (single-flight per SN) and accepted only if it chains by signature to the configured root
//! bundle, every link is inside its validity period, its recomputed SN is the requested one and
//! its key is RSA ≥ 2048 ([protocol](crate::protocol#following-alipays-certificate-rotation)). Key usage is not checked by default, like Alipay's
//! Java SDK (the sandbox intermediate lacks `keyCertSign`); [`AlipayCertStore::strict`] adds the
//! RFC 5280 CA checks. A rejected or failed download changes nothing and is not retried for that
//! SN until `retry_after` has passed.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

use super::fleet::{FleetCoordinator, FleetLock, FleetSettings};
use super::lock;
use super::storage::{CertStorage, DirStorage, StorageError};
use crate::cert::{CertRole, Certificate, CertificateChain, RootBundle};
use crate::clock::{Clock, SystemClock};
use crate::key::{KeyAlgorithm, KeyError, PublicKey};

/// Why a downloaded Alipay certificate was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadErrorKind {
    /// The download call itself failed (its error is the source).
    #[error("downloading Alipay certificate {sn} failed")]
    Call {
        /// The requested SN.
        sn: String,
        /// The call's error: transport, status, a rejected or malformed answer.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The content is not a certificate file.
    #[error("downloaded content for {sn} is not a certificate: {source}")]
    Garbage {
        /// The requested SN.
        sn: String,
        /// The parser's error: the certificate reader's, or base64's.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The certificate's SN is not the one asked for.
    #[error("downloaded certificate has SN {found}, but {requested} was requested")]
    SnMismatch {
        /// Requested.
        requested: String,
        /// Recomputed from the certificate.
        found: String,
    },
    /// The key is not RSA or too short.
    #[error("downloaded certificate {sn} has {key}; RSA of at least {minimum} bits is required")]
    WeakKey {
        /// The SN.
        sn: String,
        /// What the key is.
        key: String,
        /// The minimum.
        minimum: u32,
    },
    /// The key is not of the configured algorithm (an SM2 app got an RSA certificate, say).
    #[error("downloaded certificate {sn} has {key}, but this app verifies {expected} signatures")]
    WrongAlgorithm {
        /// The SN.
        sn: String,
        /// What the key is.
        key: String,
        /// The configured key algorithm.
        expected: KeyAlgorithm,
    },
    /// No chain by signature to a root of the bundle.
    #[error("downloaded certificate {sn} does not chain to the configured root bundle: {detail}")]
    Chain {
        /// The SN.
        sn: String,
        /// Where the chain broke.
        detail: String,
    },
    /// A link has expired.
    #[error("downloaded certificate {sn}: {subject} expired at {not_after}")]
    Expired {
        /// The SN requested.
        sn: String,
        /// The link's subject.
        subject: String,
        /// Its end of validity.
        not_after: DateTime<Utc>,
    },
    /// A link is not valid yet.
    #[error("downloaded certificate {sn}: {subject} is not valid before {not_before}")]
    NotYetValid {
        /// The SN requested.
        sn: String,
        /// The link's subject.
        subject: String,
        /// Its start of validity.
        not_before: DateTime<Utc>,
    },
    /// Strict mode: a CA link lacks basicConstraints CA or keyCertSign.
    #[error("downloaded certificate {sn}: {detail} (strict key-usage mode)")]
    KeyUsage {
        /// The SN.
        sn: String,
        /// What is missing.
        detail: String,
    },
    /// No root bundle to check against.
    #[error("cannot accept Alipay certificate {sn}: no root bundle is configured to check it against")]
    NoRoots {
        /// The SN.
        sn: String,
    },
    /// The SN is not 32 lowercase hex digits, so no certificate can have it: nothing is
    /// downloaded (a forged message can name any SN; this one is not even well-formed).
    #[error("{sn_excerpt:?} is not a certificate SN (32 lowercase hex digits); nothing was downloaded")]
    MalformedSn {
        /// The start of what was given.
        sn_excerpt: String,
    },
    /// Too many downloads recently, across all SNs: a flood of forged messages naming fresh
    /// SNs cannot turn into a flood of signed gateway calls.
    #[error(
        "not downloading Alipay certificate {sn}: the limit of {limit} downloads per {per_seconds} s is reached; \
         next possible at {retry_at}"
    )]
    RateLimited {
        /// The SN.
        sn: String,
        /// Downloads allowed per window.
        limit: u32,
        /// The window, in seconds.
        per_seconds: u64,
        /// When a download is possible again.
        retry_at: DateTime<Utc>,
    },
    /// The certificate is not Alipay's certificate for this app: another merchant's app
    /// certificate or Alipay certificate chains to the same roots, and its owner holds its key.
    /// Its role and subject CN must match the Alipay certificate in the configuration.
    #[error(
        "Alipay certificate {sn} is refused: it is {found} with subject CN {found_cn:?}, \
         but only an Alipay certificate with subject CN {expected_cn:?} (the configured one's) is trusted"
    )]
    NotThisAppsAlipayCert {
        /// The SN.
        sn: String,
        /// What the certificate is ("an app certificate (app id …)").
        found: String,
        /// Its subject CN (capped), or `""` when it has none.
        found_cn: String,
        /// The CN every Alipay certificate of this app carries.
        expected_cn: String,
    },
    /// The store has no configured Alipay certificate to bind new ones to, so it accepts none
    /// ([`AlipayCertStore::issued_to`] names the expected subject CN).
    #[error(
        "cannot accept Alipay certificate {sn}: no configured Alipay certificate says which subject CN this app's \
         Alipay certificates carry"
    )]
    NoIdentity {
        /// The SN.
        sn: String,
    },
    /// The download could not be made or answered for now (connection refused or reset, a
    /// timeout, an HTTP 5xx, an `isp.*` system error): it is tried again after a short backoff,
    /// not after [`AlipayCertStore::retry_after`].
    #[error("downloading Alipay certificate {sn} failed for now ({cause}); it is tried again after a short backoff")]
    Unreachable {
        /// The requested SN.
        sn: String,
        /// The cause, with its own causes (capped).
        cause: String,
        /// The call's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A recent attempt for this SN failed; not retried yet.
    #[error("a recent attempt to get Alipay certificate {sn} failed ({reason}); not tried again before {retry_at}")]
    RecentlyFailed {
        /// The SN.
        sn: String,
        /// Why it failed.
        reason: String,
        /// When it may be tried again.
        retry_at: DateTime<Utc>,
    },
}

crate::layer_error!(
    /// Why an Alipay certificate could not be obtained or was not accepted; see [`DownloadErrorKind`].
    ///
    /// One pointer wide; [`DownloadError::kind`] says what went wrong.
    #[derive(Clone)]
    DownloadError => DownloadErrorKind
);

/// Where a stored certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSource {
    /// Given in the configuration.
    Configured,
    /// Downloaded and accepted.
    Downloaded,
    /// Reloaded from the persistence directory.
    Persisted,
    /// Accepted by another instance of the fleet, loaded from the shared storage and
    /// validated here.
    Shared,
}

/// A certificate in the store.
#[derive(Debug, Clone)]
pub struct StoredCert {
    /// The chain (leaf first).
    pub chain: CertificateChain,
    /// The leaf's key.
    pub public_key: PublicKey,
    /// Where it came from.
    pub source: CertSource,
}

/// Alipay certificates keyed by SN.
pub struct AlipayCertStore {
    certs: ArcSwap<HashMap<String, Arc<StoredCert>>>,
    roots: Option<RootBundle>,
    clock: Arc<dyn Clock>,
    strict: bool,
    algorithm: KeyAlgorithm,
    min_rsa_bits: u32,
    retry_after: chrono::Duration,
    failures: Mutex<HashMap<String, Failure>>,
    /// The subject CNs of the configured Alipay certificates: every accepted certificate must
    /// carry one of them.
    issued_to: Vec<String>,
    refusals: AtomicU64,
    in_flight: Mutex<HashMap<String, Arc<Gate>>>,
    limiter: Mutex<DownloadBudget>,
    storage: Option<Arc<dyn CertStorage>>,
    fleet: Option<(Arc<dyn FleetCoordinator>, FleetSettings)>,
    downloads: AtomicU64,
    write_lock: Mutex<()>,
}

impl std::fmt::Debug for AlipayCertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayCertStore")
            .field("sns", &self.sns())
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl AlipayCertStore {
    /// A store holding the configured certificates.
    ///
    /// The store's key algorithm is the configured certificates' (RSA when none is given);
    /// [`AlipayCertStore::algorithm`] sets it.
    pub fn new(configured: impl IntoIterator<Item = CertificateChain>) -> Result<AlipayCertStore, KeyError> {
        let mut map = HashMap::new();
        let mut algorithm = None;
        let mut issued_to = Vec::new();
        for chain in configured {
            let public_key = PublicKey::from_certificate(chain.leaf())?;
            algorithm.get_or_insert(public_key.algorithm());
            if let Some(cn) = chain.leaf().subject_cn()
                && !issued_to.contains(&cn)
            {
                issued_to.push(cn);
            }
            map.insert(
                chain.sn().to_string(),
                Arc::new(StoredCert { chain, public_key, source: CertSource::Configured }),
            );
        }
        Ok(AlipayCertStore {
            certs: ArcSwap::from_pointee(map),
            roots: None,
            clock: Arc::new(SystemClock),
            strict: false,
            algorithm: algorithm.unwrap_or(KeyAlgorithm::Rsa),
            min_rsa_bits: 2048,
            retry_after: chrono::Duration::minutes(10),
            failures: Mutex::new(HashMap::new()),
            issued_to,
            refusals: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
            limiter: Mutex::new(DownloadBudget::new(DEFAULT_DOWNLOAD_LIMIT, DEFAULT_DOWNLOAD_WINDOW)),
            storage: None,
            fleet: None,
            downloads: AtomicU64::new(0),
            write_lock: Mutex::new(()),
        })
    }

    /// The key algorithm of the app (`sign_type`'s): downloaded certificates must carry a key
    /// of it and chain to the roots of its family. RSA unless set.
    pub fn algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The key algorithm downloaded certificates must have.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The subject CN that this app's Alipay certificates carry
    /// (`支付宝(中国)网络技术有限公司-<partner id>`), for a store built without a configured
    /// Alipay certificate (which otherwise says it). A certificate from a download, storage or
    /// the fleet is accepted only with this CN and the role of an Alipay certificate.
    pub fn issued_to(mut self, subject_cn: impl Into<String>) -> Self {
        let cn = subject_cn.into();
        if !self.issued_to.contains(&cn) {
            self.issued_to.push(cn);
        }
        self
    }

    /// The subject CNs an accepted Alipay certificate may carry.
    pub fn expected_subject_cns(&self) -> &[String] {
        &self.issued_to
    }

    /// The root bundle downloaded certificates must chain to.
    pub fn with_roots(mut self, roots: RootBundle) -> Self {
        self.roots = Some(roots);
        self
    }

    /// The clock for validity checks.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Strict RFC 5280 key usage: CA links need basicConstraints CA and keyCertSign.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// How long a failed SN is not tried again (default 10 minutes).
    pub fn retry_after(mut self, duration: std::time::Duration) -> Self {
        self.retry_after = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::minutes(10));
        self
    }

    /// At most `limit` certificate downloads per `per` across all SNs (default 5 per 10
    /// minutes, a token bucket: a burst of `limit`, then one every `per / limit`). Alipay
    /// rotates rarely; the limit is what stops forged notifications naming fresh SNs from
    /// making this process call the gateway for each of them.
    pub fn download_limit(self, limit: u32, per: std::time::Duration) -> Self {
        *lock(&self.limiter) = DownloadBudget::new(limit.max(1), per);
        self
    }

    /// Keeps accepted certificates in `storage`, and loads the ones already there that pass
    /// every check now (storage is not a trust anchor: what it holds is validated like a
    /// download). An unreadable storage is an error; an invalid entry is skipped with a warning.
    pub fn with_storage(mut self, storage: Arc<dyn CertStorage>) -> Result<Self, StorageError> {
        for (sn, bytes) in storage.load_all()? {
            match self.validate(&bytes, &sn) {
                Ok(chain) => self.insert(chain, CertSource::Persisted),
                Err(error) => {
                    self.refusals.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::cert_refused("storage");
                    tracing::warn!(sn, error = %crate::excerpt::chain(&error), "ignoring a stored Alipay certificate");
                }
            }
        }
        self.storage = Some(storage);
        Ok(self)
    }

    /// Shares accepted certificates and the download of each new SN with the other instances
    /// of a fleet ([`super::fleet`]).
    pub fn with_fleet(mut self, coordinator: Arc<dyn FleetCoordinator>, settings: FleetSettings) -> Self {
        self.fleet = Some((coordinator, settings));
        self
    }

    /// The fleet coordinator, when the store is part of one.
    pub fn fleet(&self) -> Option<&Arc<dyn FleetCoordinator>> {
        self.fleet.as_ref().map(|(coordinator, _)| coordinator)
    }

    /// [`Self::with_storage`] with a [`DirStorage`] in `dir`.
    pub fn persist_to(self, dir: impl AsRef<Path>) -> std::io::Result<Self> {
        let storage = DirStorage::new(dir)?;
        self.with_storage(Arc::new(storage)).map_err(std::io::Error::other)
    }

    /// The key of the certificate with this SN.
    pub fn get(&self, sn: &str) -> Option<PublicKey> {
        self.certs.load().get(sn).map(|c| c.public_key.clone())
    }

    /// The stored certificate with this SN (one reference count, no copy of the key).
    pub(crate) fn stored(&self, sn: &str) -> Option<Arc<StoredCert>> {
        self.certs.load().get(sn).cloned()
    }

    /// Whether a certificate with this SN is known.
    pub fn contains(&self, sn: &str) -> bool {
        self.certs.load().contains_key(sn)
    }

    /// Every known SN, sorted.
    pub fn sns(&self) -> Vec<String> {
        let mut sns: Vec<String> = self.certs.load().keys().cloned().collect();
        sns.sort();
        sns
    }

    /// Every stored certificate.
    pub fn entries(&self) -> Vec<Arc<StoredCert>> {
        self.certs.load().values().cloned().collect()
    }

    /// Every known key.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.certs.load().values().map(|c| c.public_key.clone()).collect()
    }

    /// Whether downloads can be accepted (a root bundle is configured).
    pub fn can_download(&self) -> bool {
        self.roots.is_some()
    }

    /// How many downloads were attempted.
    pub fn download_count(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// How many certificates were refused, from downloads, storage and the fleet alike.
    pub fn refused_count(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Counts and logs a certificate refused outside a download (storage, the fleet): `origin`
    /// says where it came from.
    pub fn refused(&self, sn: &str, origin: &'static str, error: &DownloadError) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(sn, origin, error = %crate::excerpt::chain(error), "refused an Alipay certificate");
    }

    /// Stores content another instance of the fleet accepted, after checking it here exactly
    /// like a download ([`Self::validate`]): shared storage is not a trust anchor. A refusal is
    /// counted and logged ([`Self::refused`]) and returned.
    pub fn accept_shared(&self, content: &[u8], sn: &str) -> Result<(), DownloadError> {
        match self.validate(content, sn) {
            Ok(chain) => {
                self.insert(chain, CertSource::Shared);
                tracing::info!(sn, "loaded an Alipay certificate another instance accepted");
                Ok(())
            }
            Err(error) => {
                crate::metrics::cert_refused("fleet");
                self.refused(sn, "the fleet's shared storage", &error);
                Err(error)
            }
        }
    }

    fn insert(&self, chain: CertificateChain, source: CertSource) {
        let Ok(public_key) = PublicKey::from_certificate(chain.leaf()) else { return };
        let _guard = lock(&self.write_lock);
        let mut map = HashMap::clone(&self.certs.load());
        map.insert(chain.sn().to_string(), Arc::new(StoredCert { chain, public_key, source }));
        self.certs.store(Arc::new(map));
    }

    /// Checks downloaded certificate content against the rules, without storing it.
    pub fn validate(&self, content: &[u8], requested_sn: &str) -> Result<CertificateChain, DownloadError> {
        let sn = requested_sn.to_string();
        let chain = CertificateChain::from_bytes_named(content, format!("downloaded Alipay certificate {sn}"))
            .map_err(|e| DownloadErrorKind::Garbage { sn: sn.clone(), source: Arc::new(e) })?;
        let leaf = chain.leaf();
        if leaf.sn() != requested_sn {
            return Err(DownloadErrorKind::SnMismatch { requested: sn, found: leaf.sn().to_string() }.into());
        }
        self.check_identity(leaf, &sn)?;
        let leaf_key = PublicKey::from_certificate(leaf).ok();
        if self.algorithm != KeyAlgorithm::Rsa {
            // SM2 keys have one size (256-bit curve); the key must be of the app's algorithm.
            if leaf_key.as_ref().map(PublicKey::algorithm) != Some(self.algorithm) {
                let key = leaf_key.map_or_else(
                    || "a key of an unsupported type".to_string(),
                    |k| format!("an {} key", k.algorithm()),
                );
                return Err(DownloadErrorKind::WrongAlgorithm { sn, key, expected: self.algorithm }.into());
            }
        }
        let rsa_bits = leaf.public_key().filter(|k| k.id() == openssl::pkey::Id::RSA).map(|k| k.bits());
        match rsa_bits {
            _ if self.algorithm != KeyAlgorithm::Rsa => {}
            Some(bits) if bits >= self.min_rsa_bits => {
                // The same rule as configured keys: no even or small exponent either.
                if let Some(weakness) = leaf_key.as_ref().and_then(PublicKey::weakness) {
                    return Err(DownloadErrorKind::WeakKey { sn, key: weakness, minimum: self.min_rsa_bits }.into());
                }
            }
            Some(bits) => {
                return Err(DownloadErrorKind::WeakKey {
                    sn,
                    key: format!("an RSA-{bits} key"),
                    minimum: self.min_rsa_bits,
                }
                .into());
            }
            None => {
                return Err(
                    DownloadErrorKind::WeakKey { sn, key: "a non-RSA key".into(), minimum: self.min_rsa_bits }.into()
                );
            }
        }
        let roots = self.roots.as_ref().ok_or_else(|| DownloadErrorKind::NoRoots { sn: sn.clone() })?;
        let path = chain_to_root(&chain, roots, self.algorithm)
            .map_err(|detail| DownloadErrorKind::Chain { sn: sn.clone(), detail })?;
        let now = self.clock.now();
        for link in &path {
            if now > link.not_after() {
                return Err(DownloadErrorKind::Expired {
                    sn,
                    subject: link.subject().to_string(),
                    not_after: link.not_after(),
                }
                .into());
            }
            if now < link.not_before() {
                return Err(DownloadErrorKind::NotYetValid {
                    sn,
                    subject: link.subject().to_string(),
                    not_before: link.not_before(),
                }
                .into());
            }
        }
        if self.strict {
            for ca in &path[1..] {
                let usage_ok = ca.key_usage().is_none_or(|u| u.key_cert_sign());
                if !ca.is_ca() || !usage_ok {
                    return Err(DownloadErrorKind::KeyUsage {
                        sn,
                        detail: format!(
                            "{} is used as a CA but lacks basicConstraints CA or keyCertSign",
                            ca.subject()
                        ),
                    }
                    .into());
                }
            }
            if leaf.key_usage().is_some_and(|u| !u.digital_signature()) {
                return Err(DownloadErrorKind::KeyUsage { sn, detail: "the leaf lacks digitalSignature".into() }.into());
            }
        }
        Ok(chain)
    }

    /// The role and CN check: the certificate is an Alipay certificate (not an app certificate,
    /// not a CA), and its subject CN is the configured Alipay certificate's. Any merchant's app
    /// certificate chains to the same roots (through Alipay's Class 1 CA), and so does any
    /// merchant's Alipay certificate; their owners hold their keys.
    fn check_identity(&self, leaf: &Certificate, sn: &str) -> Result<(), DownloadError> {
        if self.issued_to.is_empty() {
            return Err(DownloadErrorKind::NoIdentity { sn: sn.to_string() }.into());
        }
        let role = leaf.role();
        let cn = leaf.subject_cn();
        let role_ok = !matches!(role, CertRole::App { .. } | CertRole::Authority);
        let cn_ok = cn.as_ref().is_some_and(|cn| self.issued_to.contains(cn));
        if role_ok && cn_ok {
            return Ok(());
        }
        Err(DownloadErrorKind::NotThisAppsAlipayCert {
            sn: sn.to_string(),
            found: role.describe(),
            found_cn: crate::excerpt::capped(cn.as_deref().unwrap_or_default(), 200),
            expected_cn: self.issued_to.join(" or "),
        }
        .into())
    }

    /// Validates and stores downloaded content (persisting it when configured).
    fn accept_inner(&self, content: &[u8], requested_sn: &str) -> Result<(), DownloadError> {
        let chain = self.validate(content, requested_sn)?;
        if let Some(storage) = &self.storage
            && let Err(error) = storage.save(requested_sn, content)
        {
            tracing::warn!(sn = requested_sn, %error, "could not store an accepted Alipay certificate");
        }
        self.insert(chain, CertSource::Downloaded);
        crate::metrics::cert_download("accepted");
        tracing::info!(sn = requested_sn, "accepted a new Alipay certificate");
        Ok(())
    }

    fn recent_failure(&self, sn: &str) -> Option<DownloadError> {
        let failures = lock(&self.failures);
        let failure = failures.get(sn)?;
        let now = self.clock.now();
        failure.blocks(now).then(|| {
            DownloadErrorKind::RecentlyFailed {
                sn: sn.to_string(),
                reason: failure.reason.clone(),
                retry_at: failure.retry_at,
            }
            .into()
        })
    }

    fn record(&self, sn: &str, result: &Result<(), DownloadError>) {
        let mut failures = lock(&self.failures);
        match result {
            Ok(()) => {
                failures.remove(sn);
            }
            Err(error) => {
                let now = self.clock.now();
                let cause = crate::excerpt::chain(error);
                let (retry_at, streak) = if let DownloadErrorKind::Unreachable { .. } = error.kind() {
                    // Not the certificate's fault: tried again after seconds, not minutes.
                    let streak = failures.get(sn).map_or(0, |f| f.transient_streak).saturating_add(1);
                    (now + transient_backoff(streak), streak)
                } else {
                    self.refusals.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::cert_refused("download");
                    crate::metrics::cert_download("refused");
                    (now + self.retry_after, 0)
                };
                tracing::warn!(sn, error = %cause, %retry_at, "an Alipay certificate download failed");
                if failures.len() >= MAX_REMEMBERED_FAILURES {
                    // Forget what may be retried already, then the oldest: the map stays bounded.
                    failures.retain(|_, failure| failure.blocks(now));
                    if failures.len() >= MAX_REMEMBERED_FAILURES
                        && let Some(oldest) = failures.iter().min_by_key(|(_, f)| f.at).map(|(k, _)| k.clone())
                    {
                        failures.remove(&oldest);
                    }
                }
                let reason = crate::excerpt::capped(&cause, 512);
                failures.insert(sn.to_string(), Failure { at: now, retry_at, reason, transient_streak: streak });
            }
        }
    }

    /// The single-flight turn for `sn`: only one holder of a [`TurnGuard`] per SN at a time.
    /// The IO-free call flow hands it to its driver ([`crate::flow::Step::AwaitTurn`]).
    pub(crate) fn turn(self: &Arc<Self>, sn: &str) -> Turn {
        let gate = lock(&self.in_flight).entry(sn.to_string()).or_default().clone();
        Turn { store: self.clone(), sn: sn.to_string(), gate }
    }

    /// Drops the single-flight gate of `sn` once no other caller holds it, so the map only
    /// holds SNs being fetched right now.
    fn release(&self, sn: &str, gate: &Arc<Gate>) {
        let mut in_flight = lock(&self.in_flight);
        // The map's and the releasing guard's (its lock is dropped first): nobody else holds a
        // turn for this SN.
        if Arc::strong_count(gate) <= 2 {
            in_flight.remove(sn);
        }
    }

    /// Whether the download budget allows one more download now (and takes it).
    fn take_budget(&self, sn: &str) -> Result<(), DownloadError> {
        let mut budget = lock(&self.limiter);
        budget.take(self.clock.now()).map_err(|retry_at| {
            tracing::warn!(sn, limit = budget.limit, "Alipay certificate download refused by the rate limit");
            DownloadErrorKind::RateLimited {
                sn: sn.to_string(),
                limit: budget.limit,
                per_seconds: budget.per.as_secs(),
                retry_at,
            }
            .into()
        })
    }

    /// Whether `sn` is worth fetching at all: well-formed.
    pub fn check_sn(sn: &str) -> Result<(), DownloadError> {
        if is_well_formed_sn(sn) {
            Ok(())
        } else {
            Err(DownloadErrorKind::MalformedSn { sn_excerpt: crate::excerpt::capped(sn, 40) }.into())
        }
    }

    /// With the turn held: whether `sn` must be downloaded now. `Ok(false)`: it is known
    /// (another caller fetched it meanwhile). An error: it failed recently, or the download
    /// budget is spent. `Ok(true)` counts a download; report its result to [`Self::finish`].
    pub(crate) fn begin(&self, _turn: &TurnGuard, sn: &str) -> Result<bool, DownloadError> {
        Self::check_sn(sn)?;
        if self.contains(sn) {
            return Ok(false);
        }
        if let Some(error) = self.recent_failure(sn) {
            return Err(error);
        }
        self.take_budget(sn)?;
        self.downloads.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// With the turn held: validates and stores downloaded content (or records the failure,
    /// which is then not retried for `retry_after`).
    pub(crate) fn finish(
        &self,
        turn: &TurnGuard,
        sn: &str,
        content: Result<Vec<u8>, DownloadError>,
    ) -> Result<(), DownloadError> {
        let result = content.and_then(|content| {
            self.accept_inner(&content, sn)?;
            // The fleet's lock holder shares what it accepted, then lets the others go.
            if let Some(fleet_lock) = turn.take_fleet_lock() {
                fleet_lock.save_and_release(content);
            }
            Ok(())
        });
        self.record(sn, &result);
        result
    }

    /// Makes sure `sn` is known, calling `download` (which returns the certificate content) at
    /// most once however many callers ask at the same time.
    pub async fn fetch<F, Fut>(self: &Arc<Self>, sn: &str, download: F) -> Result<(), DownloadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, DownloadError>>,
    {
        Self::check_sn(sn)?;
        let turn = self.turn(sn).wait().await;
        if self.begin(&turn, sn)? { self.finish(&turn, sn, download().await) } else { Ok(()) }
    }

    /// The blocking form of [`Self::fetch`].
    pub fn fetch_blocking<F>(self: &Arc<Self>, sn: &str, download: F) -> Result<(), DownloadError>
    where
        F: FnOnce() -> Result<Vec<u8>, DownloadError>,
    {
        Self::check_sn(sn)?;
        let turn = self.turn(sn).wait_blocking();
        if self.begin(&turn, sn)? { self.finish(&turn, sn, download()) } else { Ok(()) }
    }

    /// The store's counters at this moment, for metrics and health checks: what it holds,
    /// what it downloaded and refused, and the size of its bounded bookkeeping.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            known: self.certs.load().len(),
            downloads: self.download_count(),
            refused: self.refused_count(),
            in_flight: lock(&self.in_flight).len(),
            remembered_failures: lock(&self.failures).len(),
        }
    }
}

/// The counters of an [`AlipayCertStore`] ([`AlipayCertStore::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Certificates known (configured, downloaded, persisted, shared).
    pub known: usize,
    /// Downloads attempted.
    pub downloads: u64,
    /// Certificates refused (downloads, storage and the fleet alike).
    pub refused: u64,
    /// SNs being fetched right now (each holds a single-flight gate until its fetch ends).
    pub in_flight: usize,
    /// Failed SNs remembered (so that they are not retried at once); bounded.
    pub remembered_failures: usize,
}

/// A failed attempt for one SN, remembered until `retry_at`.
#[derive(Debug)]
struct Failure {
    at: DateTime<Utc>,
    retry_at: DateTime<Utc>,
    reason: String,
    /// Transport failures in a row (0 for a refused certificate): the backoff grows with it.
    transient_streak: u32,
}

impl Failure {
    /// Whether a new attempt must wait. A clock stepped back before the failure does not
    /// block retries forever.
    fn blocks(&self, now: DateTime<Utc>) -> bool {
        self.at <= now && now < self.retry_at
    }
}

/// The wait after the `streak`-th transport failure in a row: 2 s, 4 s, 8 s … up to 60 s,
/// each drawn from its upper half at random, so that a fleet does not retry in step.
fn transient_backoff(streak: u32) -> chrono::Duration {
    let ceiling_ms = (2_000u64 << streak.saturating_sub(1).min(5)).min(60_000);
    let wait = crate::random::jitter(std::time::Duration::from_millis(ceiling_ms));
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60))
}

/// The most failed SNs remembered for negative caching.
const MAX_REMEMBERED_FAILURES: usize = 1024;
const DEFAULT_DOWNLOAD_LIMIT: u32 = 5;
const DEFAULT_DOWNLOAD_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether `sn` has the form of a certificate SN: 32 lowercase hex digits.
pub fn is_well_formed_sn(sn: &str) -> bool {
    sn.len() == 32 && sn.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A token bucket on the injected clock: `limit` tokens, refilled at `limit` per `per`.
#[derive(Debug)]
struct DownloadBudget {
    limit: u32,
    per: std::time::Duration,
    tokens: f64,
    updated: Option<DateTime<Utc>>,
}

impl DownloadBudget {
    fn new(limit: u32, per: std::time::Duration) -> Self {
        DownloadBudget { limit, per, tokens: f64::from(limit), updated: None }
    }

    /// Takes a token, or says when one will be there.
    fn take(&mut self, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let per_token = self.per.as_secs_f64() / f64::from(self.limit);
        if let Some(updated) = self.updated {
            // A clock stepped back refills nothing and takes nothing away.
            let elapsed = (now - updated).to_std().map_or(0.0, |d| d.as_secs_f64());
            if per_token > 0.0 {
                self.tokens = (self.tokens + elapsed / per_token).min(f64::from(self.limit));
            } else {
                self.tokens = f64::from(self.limit);
            }
        }
        self.updated = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) * per_token;
            Err(now + chrono::Duration::milliseconds((wait * 1000.0).ceil() as i64))
        }
    }
}

/// The path leaf → intermediates (from the file) → a root of the bundle, linked by signature.
fn chain_to_root(
    chain: &CertificateChain,
    roots: &RootBundle,
    algorithm: KeyAlgorithm,
) -> Result<Vec<Certificate>, String> {
    let mut path = vec![chain.leaf().clone()];
    let pool = &chain.certificates()[1..];
    for _ in 0..8 {
        let current = path.last().expect("not empty");
        if let Some(root) = roots.roots_for(algorithm).iter().find(|root| current.is_signed_by(root)) {
            if root != current {
                path.push(root.clone());
            }
            return Ok(path);
        }
        match pool.iter().find(|candidate| !path.contains(candidate) && current.is_signed_by(candidate)) {
            Some(issuer) => path.push(issuer.clone()),
            None => {
                return Err(format!(
                    "no certificate in the file or the bundle verifies the signature of {} (issuer {})",
                    current.subject(),
                    current.issuer()
                ));
            }
        }
    }
    Err("chain longer than 8 certificates".into())
}

/// The single-flight gate of one SN: a mutex that async code awaits on any executor and
/// blocking code waits on.
type Gate = async_lock::Mutex<()>;

/// A caller's place in the single-flight queue for one SN: wait for it, in async code (on any
/// executor) or blocking code, to get the [`TurnGuard`].
#[derive(Debug)]
pub struct Turn {
    store: Arc<AlipayCertStore>,
    sn: String,
    gate: Arc<Gate>,
}

impl Turn {
    /// Waits (asynchronously) until no other caller is fetching this SN — in this process,
    /// and in the fleet when the store is part of one ([`super::fleet`]).
    pub async fn wait(self) -> TurnGuard {
        let guard = self.gate.lock_arc().await;
        let fleet_lock = match &self.store.fleet {
            Some((coordinator, settings)) if !self.store.contains(&self.sn) => {
                coordinator.clone().coordinate(self.store.clone(), self.sn.clone(), *settings).await
            }
            _ => None,
        };
        self.held(guard, fleet_lock)
    }

    fn held(self, guard: async_lock::MutexGuardArc<()>, fleet_lock: Option<Box<dyn FleetLock>>) -> TurnGuard {
        TurnGuard {
            guard: Some(guard),
            fleet_lock: Mutex::new(fleet_lock),
            store: self.store,
            sn: self.sn,
            gate: self.gate,
        }
    }

    /// Waits (blocking the thread) until no other caller is fetching this SN, in this process
    /// and in the fleet. Not from inside an async runtime.
    pub fn wait_blocking(self) -> TurnGuard {
        let guard = self.gate.lock_arc_blocking();
        let fleet_lock = match &self.store.fleet {
            Some((coordinator, settings)) if !self.store.contains(&self.sn) => {
                coordinator.clone().coordinate_blocking(self.store.clone(), self.sn.clone(), *settings)
            }
            _ => None,
        };
        self.held(guard, fleet_lock)
    }

    /// The SN this turn is for.
    pub fn sn(&self) -> &str {
        &self.sn
    }
}

/// Holding it, a caller is the only one fetching its SN. Dropping it lets the next one in.
#[derive(Debug)]
pub struct TurnGuard {
    guard: Option<async_lock::MutexGuardArc<()>>,
    /// The fleet-wide download lock, when this instance is the fleet's downloader.
    fleet_lock: Mutex<Option<Box<dyn FleetLock>>>,
    store: Arc<AlipayCertStore>,
    sn: String,
    gate: Arc<Gate>,
}

impl TurnGuard {
    fn take_fleet_lock(&self) -> Option<Box<dyn FleetLock>> {
        lock(&self.fleet_lock).take()
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        // A fleet lock still held: the download did not succeed; let another instance try.
        if let Some(fleet_lock) = self.take_fleet_lock() {
            fleet_lock.release();
        }
        drop(self.guard.take());
        self.store.release(&self.sn, &self.gate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_does_not_take_the_store_down() {
        let store = Arc::new(AlipayCertStore::new([]).unwrap());
        let poisoner = store.clone();
        let _ = std::thread::spawn(move || {
            let _held = poisoner.failures.lock().unwrap();
            panic!("a holder panics");
        })
        .join();
        assert!(store.failures.is_poisoned());
        let down = Arc::new(std::io::Error::other("down"));
        let sn = "0123456789abcdef0123456789abcdef";
        let error = store
            .fetch_blocking(sn, || Err(DownloadErrorKind::Call { sn: sn.into(), source: down }.into()))
            .unwrap_err();
        assert!(matches!(error.kind(), DownloadErrorKind::Call { .. }));
        assert_eq!(store.stats().remembered_failures, 1);
    }
}
