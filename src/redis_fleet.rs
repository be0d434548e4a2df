//! A fleet on Redis (feature `redis`): shared Alipay certificates with one download per SN
//! across every instance, and once-only processing of notifications.
//!
//! ```no_run
//! # async fn run(body: &[u8], content_type: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
//! use alipay_sdk::notify::Rule;
//! use alipay_sdk::redis_fleet::{NotifyOnce, RedisFleet};
//!
//! let fleet = RedisFleet::connect("redis://10.0.0.5:6379/0")?; // no IO yet
//! let config = alipay_sdk::Config::builder("2021000000000001")
//!     .app_private_key_file("app_private_key.pem")
//!     .app_cert_file("appCertPublicKey_2021000000000001.crt")
//!     .alipay_cert_file("alipayCertPublicKey_RSA2.crt")
//!     .alipay_root_cert_file("alipayRootCert.crt")
//!     .fleet(fleet.clone()) // certificates: shared, re-validated, one download fleet-wide
//!     .build()?;
//! let once = NotifyOnce::new(fleet); // notifications: processed once fleet-wide
//!
//! // In the notify_url handler:
//! let verified = config.notification_verifier().verify((body, content_type), Rule::V1)?;
//! let answer = match once.handle(&verified, || async { /* mark the order paid */ Ok::<(), std::io::Error>(()) }).await {
//!     Ok(handled) => handled.ack(), // "success", or "fail" while another instance processes it
//!     Err(_) => "fail",             // processing failed: the claim is released, Alipay redelivers
//! };
//! # let _ = answer; Ok(())
//! # }
//! ```
//!
//! What is shared: accepted certificate contents (`<prefix>cert:<sn>`), the download lock of
//! an SN (`<prefix>certlock:<sn>`, with an expiry) and each notification's state
//! (`<prefix>notify:<app_id>:<notify_id>`: being processed by one instance, with an expiry, or
//! done, remembered for [`NotifyOnce::remember_for`]). What is not: keys, configurations, the
//! download rate limit and the failure memory (per instance).
//!
//! When Redis is down or slow, every operation gives up after its timeout and the instance
//! works on local state: certificates are downloaded per instance (still once per process),
//! and notifications are deferred (answered `fail`, redelivered by Alipay) unless
//! [`WhenUnreachable::ProcessLocally`] is chosen. The change is logged once each way, not per
//! call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::lifecycle::StorageError;
use crate::lifecycle::fleet::{BoxFuture, FleetBackend, FleetCoordinator, FleetHealth, FleetLock, FleetSettings};
use crate::notify::VerifiedNotification;
use alipay_core::lifecycle::AlipayCertStore;

/// Why a Redis fleet could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The Redis URL is not usable (the URL is not repeated: it may hold a password).
    #[error("the Redis URL is not usable: {detail}")]
    Url {
        /// What is wrong.
        detail: String,
    },
    /// The fleet's runtime could not start.
    #[error("cannot start the fleet's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Redis as a [`FleetBackend`], and the store behind [`NotifyOnce`].
///
/// Its IO runs on a small runtime of its own (one thread), so the blocking client and any
/// async runtime can use it alike; the connection reconnects by itself.
pub struct RedisFleet {
    client: ::redis::Client,
    prefix: String,
    op_timeout: Duration,
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    connection: tokio::sync::Mutex<Option<::redis::aio::ConnectionManager>>,
    health: FleetHealth,
}

impl std::fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisFleet")
            .field("prefix", &self.prefix)
            .field("degraded", &self.health.is_degraded())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisFleet {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'taken'
end
if v == 'done' then return 'done' end
return 'busy'
";

/// Marks a notification done if the claim is still ours, or if nobody holds it (a claim that
/// never landed, or expired unclaimed). `'other'`: another instance holds or completed it — our
/// claim was lost while processing.
const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 'ok'
end
return 'other'
";

/// Extends our claim while the handler runs; 0 when it is no longer ours.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

impl RedisFleet {
    /// A fleet on the Redis at `url` (`redis://[:password@]host:port/db`), keys prefixed with
    /// `alipay:`. Nothing is connected yet: a fleet starting while Redis is down works on local
    /// state until Redis is there.
    pub fn connect(url: &str) -> Result<Arc<RedisFleet>, FleetError> {
        Self::connect_with(url, "alipay:", Duration::from_millis(500))
    }

    /// [`Self::connect`] with a key prefix (several apps on one Redis) and the timeout of
    /// every operation.
    pub fn connect_with(url: &str, prefix: &str, op_timeout: Duration) -> Result<Arc<RedisFleet>, FleetError> {
        let client = ::redis::Client::open(url).map_err(|e| FleetError::Url { detail: format!("{:?}", e.kind()) })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("alipay-fleet")
            .enable_all()
            .build()
            .map_err(FleetError::Runtime)?;
        let handle = runtime.handle().clone();
        Ok(Arc::new(RedisFleet {
            client,
            prefix: prefix.to_string(),
            op_timeout,
            runtime: Some(runtime),
            handle,
            connection: tokio::sync::Mutex::new(None),
            health: FleetHealth::default(),
        }))
    }

    /// The timeout of every operation.
    pub fn op_timeout(&self) -> Duration {
        self.op_timeout
    }

    /// Whether the last operation failed (the fleet works on local state).
    pub fn is_degraded(&self) -> bool {
        self.health.is_degraded()
    }

    /// The degraded-mode record (how many times it was entered, each logged once).
    pub fn fleet_health(&self) -> &FleetHealth {
        &self.health
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    async fn connection(&self) -> Result<::redis::aio::ConnectionManager, StorageError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection =
            tokio::time::timeout(self.op_timeout, ::redis::aio::ConnectionManager::new(self.client.clone()))
                .await
                .map_err(|_| format!("no connection to Redis within {:?}", self.op_timeout))??;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs a command; on an error or a timeout the connection is dropped, so the next
    /// operation connects afresh (after an outage, the first operation finds Redis again).
    async fn query<T: ::redis::FromRedisValue>(&self, command: &::redis::Cmd) -> Result<T, StorageError> {
        let mut connection = self.connection().await?;
        self.settle(tokio::time::timeout(self.op_timeout, command.query_async(&mut connection)).await).await
    }

    /// [`Self::query`] for a script.
    async fn invoke<T: ::redis::FromRedisValue>(
        &self,
        invocation: ::redis::ScriptInvocation<'_>,
    ) -> Result<T, StorageError> {
        let mut connection = self.connection().await?;
        self.settle(tokio::time::timeout(self.op_timeout, invocation.invoke_async(&mut connection)).await).await
    }

    async fn settle<T>(
        &self,
        result: Result<Result<T, ::redis::RedisError>, tokio::time::error::Elapsed>,
    ) -> Result<T, StorageError> {
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                *self.connection.lock().await = None;
                Err(error.into())
            }
            Err(_) => {
                *self.connection.lock().await = None;
                Err(format!("Redis did not answer within {:?}", self.op_timeout).into())
            }
        }
    }

    /// Runs `operation` on the fleet's runtime with the timeout, from any caller.
    async fn on_runtime<T: Send + 'static>(
        self: &Arc<Self>,
        what: &'static str,
        operation: impl FnOnce(Arc<Self>) -> BoxFuture<'static, Result<T, StorageError>> + Send + 'static,
    ) -> Option<T> {
        let fleet = self.clone();
        let op_timeout = self.op_timeout;
        let task = self.handle.spawn(async move {
            let result = tokio::time::timeout(op_timeout, operation(fleet.clone())).await;
            match result {
                Ok(Ok(value)) => {
                    fleet.health.succeeded();
                    Some(value)
                }
                Ok(Err(error)) => {
                    fleet.health.failed(what, &error);
                    None
                }
                Err(_) => {
                    fleet.health.failed(what, &format!("no answer within {op_timeout:?}"));
                    None
                }
            }
        });
        task.await.ok().flatten()
    }
}

/// The fleet's certificate coordination ([`crate::lifecycle::fleet`]): `ConfigBuilder::fleet`
/// takes a `RedisFleet` as it is.
impl FleetCoordinator for RedisFleet {
    fn coordinate(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> BoxFuture<'static, Option<Box<dyn FleetLock>>> {
        crate::lifecycle::fleet::coordinate(self, store, sn, settings)
    }

    fn coordinate_blocking(
        self: Arc<Self>,
        store: Arc<AlipayCertStore>,
        sn: String,
        settings: FleetSettings,
    ) -> Option<Box<dyn FleetLock>> {
        crate::lifecycle::fleet::coordinate_blocking(self, store, sn, settings)
    }
}

impl FleetBackend for RedisFleet {
    fn load<'a>(&'a self, sn: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move { self.query(::redis::cmd("GET").arg(self.key("cert", sn))).await })
    }

    fn save<'a>(&'a self, sn: &'a str, content: &'a [u8]) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.query(::redis::cmd("SET").arg(self.key("cert", sn)).arg(content)).await })
    }

    fn try_lock<'a>(&'a self, sn: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(async move {
            let token = random_token()?;
            let ttl = ttl.as_millis().max(1) as u64;
            let command =
                ::redis::cmd("SET").arg(self.key("certlock", sn)).arg(&token).arg("NX").arg("PX").arg(ttl).clone();
            let taken: Option<String> = self.query(&command).await?;
            Ok(taken.map(|_| token))
        })
    }

    fn unlock<'a>(&'a self, sn: &'a str, token: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let script = ::redis::Script::new(RELEASE);
            let mut invocation = script.prepare_invoke();
            invocation.key(self.key("certlock", sn)).arg(token);
            let _: i64 = self.invoke(invocation).await?;
            Ok(())
        })
    }

    fn runtime(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }

    fn health(&self) -> &FleetHealth {
        &self.health
    }
}

/// A lock or claim token: unguessable, or the operation fails
/// ([the policy](alipay_core::random)).
fn random_token() -> Result<String, alipay_core::random::RandomError> {
    alipay_core::random::hex::<16>("a fleet lock or claim token")
}

/// What [`NotifyOnce::handle`] did with a delivery, and what to answer Alipay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// This instance processed it now.
    Processed,
    /// It was processed before (by any instance): not processed again.
    AlreadyProcessed,
    /// Another instance is processing it right now: not acknowledged, so that Alipay
    /// redelivers and the next delivery learns the result.
    ProcessingElsewhere,
    /// Redis could not be reached, so nobody can tell whether another instance processed or
    /// is processing it: not processed, not acknowledged; Alipay redelivers (for about 25
    /// hours). The default ([`WhenUnreachable::Defer`]).
    Deferred,
}

impl Handled {
    /// The answer for Alipay: `success` once processed, `fail` otherwise.
    pub fn ack(self) -> &'static str {
        match self {
            Handled::Processed | Handled::AlreadyProcessed => "success",
            Handled::ProcessingElsewhere | Handled::Deferred => "fail",
        }
    }
}

/// What [`NotifyOnce`] does with a delivery when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenUnreachable {
    /// Answer `fail` without processing ([`Handled::Deferred`]): Alipay redelivers for about
    /// 25 hours, so nothing is lost, and nothing is processed twice. The default.
    #[default]
    Defer,
    /// Process on this instance's own guard and mark it done in Redis once Redis is back:
    /// notifications keep flowing during an outage, but a redelivery reaching another instance
    /// meanwhile is processed there too. Choose it only for idempotent processing.
    ProcessLocally,
}

/// Why a delivery was not handled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnceError<E> {
    /// The notification has no `notify_id` to key the guard with.
    #[error("the notification has no notify_id: it cannot be guarded once-only")]
    NoNotifyId,
    /// Processing failed: the claim was released, so Alipay's redelivery is processed again.
    #[error("processing the notification failed: {0}")]
    Process(#[source] E),
    /// The random source failed: no claim token can be made, nothing was processed (answer
    /// `fail`; Alipay redelivers).
    #[error(transparent)]
    Random(alipay_core::random::RandomError),
}

/// Lets exactly one instance of a fleet process each notification, keyed by `app_id` and
/// `notify_id`.
///
/// A delivery takes a claim in Redis (a random token, with an expiry of
/// [`NotifyOnce::processing_timeout`]) before its handler runs. While the handler runs the
/// claim is renewed every third of that time, so a slow handler keeps it; a holder that dies
/// stops renewing and its claim expires, so another instance processes the redelivery.
/// Completion and release name the token: a claim that is no longer ours is never completed or
/// released by us, and a lost claim is logged. A claim whose answer did not arrive in time
/// (Redis stalled) is made harmless: it is released (or, once processed, completed) as soon
/// as Redis answers again, so a late-landing claim does not block redeliveries.
///
/// A processing failure releases the claim (the redelivery is processed again); a completed
/// notification is answered `success` on every later delivery without being processed again,
/// for [`NotifyOnce::remember_for`] (26 hours by default: Alipay redelivers for about 25).
///
/// When Redis is unreachable the delivery is deferred by default ([`WhenUnreachable`]). Run
/// Redis with persistence (AOF): a Redis that restarts empty forgets which notifications were
/// processed. Keep processing idempotent where you can: a handler that stalls for longer than
/// the processing timeout while Redis is unreachable can lose its claim to another instance.
pub struct NotifyOnce {
    fleet: Arc<RedisFleet>,
    processing_timeout: Duration,
    remember_for: Duration,
    when_unreachable: WhenUnreachable,
    local: Mutex<LocalGuard>,
    pending: Arc<Mutex<Reconciliation>>,
}

impl std::fmt::Debug for NotifyOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyOnce")
            .field("processing_timeout", &self.processing_timeout)
            .field("remember_for", &self.remember_for)
            .field("when_unreachable", &self.when_unreachable)
            .field("pending", &self.pending_reconciliations())
            .finish_non_exhaustive()
    }
}

/// The per-instance guard used while Redis is unreachable (bounded).
#[derive(Default)]
struct LocalGuard {
    processing: HashMap<String, Instant>,
    done: HashMap<String, Instant>,
}

const LOCAL_LIMIT: usize = 100_000;

enum Claim {
    Taken,
    Done,
    Busy,
}

/// What is still to be said to Redis about claims whose operations did not get through.
#[derive(Default)]
struct Reconciliation {
    ops: Vec<PendingOp>,
    running: bool,
}

#[derive(Clone)]
struct PendingOp {
    key: String,
    token: String,
    complete: bool,
    /// A release is retried until it deletes the claim or this passes (the late claim, if it
    /// ever lands, has expired by then).
    until: Instant,
}

/// Stops the claim's renewal when the delivery ends, however it ends (a dropped future too).
struct Renewal {
    task: tokio::task::JoinHandle<()>,
    lost: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl NotifyOnce {
    /// A guard on `fleet` (60 s claims renewed while the handler runs, 26 hours memory,
    /// deliveries deferred while Redis is unreachable).
    pub fn new(fleet: Arc<RedisFleet>) -> NotifyOnce {
        NotifyOnce {
            fleet,
            processing_timeout: Duration::from_secs(60),
            remember_for: Duration::from_secs(26 * 3600),
            when_unreachable: WhenUnreachable::Defer,
            local: Mutex::new(LocalGuard::default()),
            pending: Arc::new(Mutex::new(Reconciliation::default())),
        }
    }

    /// How long a completed notification is remembered (answered without processing).
    pub fn remember_for(mut self, duration: Duration) -> Self {
        self.remember_for = duration;
        self
    }

    /// How long a claim lives without renewal: how soon a redelivery is processed elsewhere
    /// after its holder died (default 60 s; renewed every third of it while the handler
    /// runs). Keep it well above the longest Redis stall you expect.
    pub fn processing_timeout(mut self, duration: Duration) -> Self {
        self.processing_timeout = duration.max(Duration::from_millis(30));
        self
    }

    /// What happens to a delivery when Redis is unreachable ([`WhenUnreachable::Defer`] by
    /// default).
    pub fn when_unreachable(mut self, policy: WhenUnreachable) -> Self {
        self.when_unreachable = policy;
        self
    }

    /// How many claim operations wait for Redis to answer again (completions and releases of
    /// claims whose first attempt did not get through).
    pub fn pending_reconciliations(&self) -> usize {
        lock(&self.pending).ops.len()
    }

    /// Runs `process` for a verified notification unless it was processed before, is being
    /// processed by another instance, or Redis cannot say; answer Alipay with
    /// [`Handled::ack`] (and `fail` on an error).
    pub async fn handle<F, Fut, E>(
        &self,
        notification: &VerifiedNotification,
        process: F,
    ) -> Result<Handled, OnceError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let notify_id = notification.get("notify_id").filter(|id| !id.is_empty()).ok_or(OnceError::NoNotifyId)?;
        let id = format!("{}:{notify_id}", notification.get("app_id").unwrap_or_default());
        let key = self.fleet.key("notify", &id);
        // Processed here while Redis was unreachable: Redis may not know yet.
        if self.locally_done(&id) {
            return Ok(Handled::AlreadyProcessed);
        }
        let token = random_token().map_err(OnceError::Random)?;
        match self.claim(&key, &token).await {
            Some(Claim::Done) => Ok(Handled::AlreadyProcessed),
            Some(Claim::Busy) => Ok(Handled::ProcessingElsewhere),
            Some(Claim::Taken) => {
                let renewal = self.renew_while_processing(&key, &token);
                let result = process().await;
                let lost = renewal.lost.load(std::sync::atomic::Ordering::Acquire);
                drop(renewal);
                match result {
                    Ok(()) => {
                        self.local_done(&id);
                        match self.complete(&key, &token).await {
                            Some(true) if !lost => {}
                            Some(_) => tracing::error!(
                                notify_id,
                                "the once-only claim expired while this instance processed the notification                                  (stalled longer than the processing timeout): another instance may have processed it too"
                            ),
                            None => self.reconcile_later(&key, &token, true),
                        }
                        Ok(Handled::Processed)
                    }
                    Err(error) => {
                        if !self.release(&key, &token).await {
                            self.reconcile_later(&key, &token, false);
                        }
                        Err(OnceError::Process(error))
                    }
                }
            }
            // Redis did not answer: the claim may still land later. Make it harmless.
            None => match self.when_unreachable {
                WhenUnreachable::Defer => {
                    self.reconcile_later(&key, &token, false);
                    Ok(Handled::Deferred)
                }
                WhenUnreachable::ProcessLocally => {
                    if let Some(handled) = self.local_claim(&id) {
                        self.reconcile_later(&key, &token, false);
                        return Ok(handled);
                    }
                    let result = process().await;
                    let mut local = lock(&self.local);
                    local.processing.remove(&id);
                    match result {
                        Ok(()) => {
                            local.done.insert(id, Instant::now());
                            drop(local);
                            self.reconcile_later(&key, &token, true);
                            Ok(Handled::Processed)
                        }
                        Err(error) => {
                            drop(local);
                            self.reconcile_later(&key, &token, false);
                            Err(OnceError::Process(error))
                        }
                    }
                }
            },
        }
    }

    async fn claim(&self, key: &str, token: &str) -> Option<Claim> {
        let (key, token) = (key.to_string(), token.to_string());
        let ttl = millis(self.processing_timeout);
        self.fleet
            .on_runtime("claim a notification", move |fleet| {
                Box::pin(async move {
                    let script = ::redis::Script::new(CLAIM);
                    let mut invocation = script.prepare_invoke();
                    invocation.key(&key).arg(&token).arg(ttl);
                    let answer: String = fleet.invoke(invocation).await?;
                    Ok(match answer.as_str() {
                        "taken" => Claim::Taken,
                        "done" => Claim::Done,
                        _ => Claim::Busy,
                    })
                })
            })
            .await
    }

    /// Renews the claim every third of its lifetime on the fleet's runtime until dropped.
    fn renew_while_processing(&self, key: &str, token: &str) -> Renewal {
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (fleet, key, token, flag) = (self.fleet.clone(), key.to_string(), token.to_string(), lost.clone());
        let ttl = self.processing_timeout;
        let task = self.fleet.handle.spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let (key, token) = (key.clone(), token.clone());
                let renewed = fleet
                    .on_runtime("renew a notification claim", move |fleet| {
                        Box::pin(async move {
                            let script = ::redis::Script::new(RENEW);
                            let mut invocation = script.prepare_invoke();
                            invocation.key(&key).arg(&token).arg(millis(ttl));
                            fleet.invoke::<i64>(invocation).await
                        })
                    })
                    .await;
                // Not reachable: try again at the next tick (the claim lives a whole ttl).
                if renewed == Some(0) {
                    flag.store(true, std::sync::atomic::Ordering::Release);
                    tracing::warn!("a once-only claim was lost while its handler ran");
                    return;
                }
            }
        });
        Renewal { task, lost }
    }

    /// `Some(true)`: marked done; `Some(false)`: the claim was someone else's; `None`: Redis
    /// did not answer.
    async fn complete(&self, key: &str, token: &str) -> Option<bool> {
        complete_on(&self.fleet, key, token, self.remember_for).await
    }

    /// Whether Redis answered (the claim is gone, or was not ours).
    async fn release(&self, key: &str, token: &str) -> bool {
        release_on(&self.fleet, key, token).await.is_some()
    }

    /// Keeps an operation for when Redis answers again, and makes sure a task says it.
    fn reconcile_later(&self, key: &str, token: &str, complete: bool) {
        let until = Instant::now() + self.processing_timeout + self.fleet.op_timeout * 2;
        let mut pending = lock(&self.pending);
        if pending.ops.len() >= LOCAL_LIMIT {
            tracing::warn!("too many once-only claims wait for Redis: the oldest is forgotten");
            pending.ops.remove(0);
        }
        pending.ops.push(PendingOp { key: key.to_string(), token: token.to_string(), complete, until });
        if pending.running {
            return;
        }
        pending.running = true;
        let (fleet, shared, remember) = (self.fleet.clone(), self.pending.clone(), self.remember_for);
        self.fleet.handle.spawn(async move {
            loop {
                tokio::time::sleep(RECONCILE_EVERY).await;
                let ops = std::mem::take(&mut lock(&shared).ops);
                let mut left = Vec::new();
                for op in ops {
                    let keep = if op.complete {
                        complete_on(&fleet, &op.key, &op.token, remember).await.is_none()
                    } else {
                        // Until it deletes our claim, or a late claim can no longer be alive.
                        release_on(&fleet, &op.key, &op.token).await != Some(true) && Instant::now() < op.until
                    };
                    if keep {
                        left.push(op);
                    }
                }
                let mut pending = lock(&shared);
                left.append(&mut pending.ops);
                pending.ops = left;
                if pending.ops.is_empty() {
                    pending.running = false;
                    return;
                }
            }
        });
    }

    /// The local claim while Redis is unreachable: `Some` when the delivery must not be
    /// processed here (done, or being processed by another task of this instance).
    fn local_claim(&self, id: &str) -> Option<Handled> {
        let mut local = lock(&self.local);
        let now = Instant::now();
        let remember = self.remember_for;
        let processing_timeout = self.processing_timeout;
        if local.done.len() >= LOCAL_LIMIT {
            local.done.retain(|_, at| now.duration_since(*at) < remember);
        }
        if local.processing.len() >= LOCAL_LIMIT {
            local.processing.retain(|_, at| now.duration_since(*at) < processing_timeout);
        }
        if local.done.get(id).is_some_and(|at| now.duration_since(*at) < remember) {
            return Some(Handled::AlreadyProcessed);
        }
        if local.processing.contains_key(id) {
            return Some(Handled::ProcessingElsewhere);
        }
        local.processing.insert(id.to_string(), now);
        None
    }

    fn locally_done(&self, id: &str) -> bool {
        let local = lock(&self.local);
        local.done.get(id).is_some_and(|at| at.elapsed() < self.remember_for)
    }

    /// Remembers locally what was processed (answers later deliveries while Redis is down).
    fn local_done(&self, id: &str) {
        let mut local = lock(&self.local);
        if local.done.len() >= LOCAL_LIMIT {
            let (now, remember) = (Instant::now(), self.remember_for);
            local.done.retain(|_, at| now.duration_since(*at) < remember);
        }
        if local.done.len() < LOCAL_LIMIT {
            local.done.insert(id.to_string(), Instant::now());
        }
    }
}

/// How often claims waiting for Redis are tried again.
const RECONCILE_EVERY: Duration = Duration::from_millis(250);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

async fn complete_on(fleet: &Arc<RedisFleet>, key: &str, token: &str, remember: Duration) -> Option<bool> {
    let (key, token) = (key.to_string(), token.to_string());
    fleet
        .on_runtime("complete a notification", move |fleet| {
            Box::pin(async move {
                let script = ::redis::Script::new(COMPLETE);
                let mut invocation = script.prepare_invoke();
                invocation.key(&key).arg(&token).arg(millis(remember));
                let answer: String = fleet.invoke(invocation).await?;
                Ok(answer == "ok")
            })
        })
        .await
}

/// `Some(true)`: our claim was deleted; `Some(false)`: there was none of ours.
async fn release_on(fleet: &Arc<RedisFleet>, key: &str, token: &str) -> Option<bool> {
    let (key, token) = (key.to_string(), token.to_string());
    fleet
        .on_runtime("release a notification", move |fleet| {
            Box::pin(async move {
                let script = ::redis::Script::new(RELEASE);
                let mut invocation = script.prepare_invoke();
                invocation.key(&key).arg(&token);
                let deleted: i64 = fleet.invoke(invocation).await?;
                Ok(deleted == 1)
            })
        })
        .await
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section here replaces whole values), so a poisoned lock is used, not propagated.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
