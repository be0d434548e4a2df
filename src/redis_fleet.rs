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
//! let verified = config.notification_verifier().verify_form(body, content_type, Rule::V1)?;
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
//! notifications are guarded per instance — each is still processed before it is
//! acknowledged, but two instances may then both process a redelivery. The change is logged
//! once each way, not per call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::lifecycle::StorageError;
use crate::lifecycle::fleet::{BoxFuture, FleetBackend, FleetHealth};
use crate::notify::VerifiedNotification;

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

const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
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

impl FleetBackend for RedisFleet {
    fn load<'a>(&'a self, sn: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move { self.query(::redis::cmd("GET").arg(self.key("cert", sn))).await })
    }

    fn save<'a>(&'a self, sn: &'a str, content: &'a [u8]) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.query(::redis::cmd("SET").arg(self.key("cert", sn)).arg(content)).await })
    }

    fn try_lock<'a>(&'a self, sn: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(async move {
            let token = random_token();
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

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the OpenSSL random generator works");
    crate::der::hex_lower(&bytes)
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
}

impl Handled {
    /// The answer for Alipay: `success` once processed, `fail` otherwise.
    pub fn ack(self) -> &'static str {
        match self {
            Handled::Processed | Handled::AlreadyProcessed => "success",
            Handled::ProcessingElsewhere => "fail",
        }
    }
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
}

/// Lets exactly one instance of a fleet process each notification, keyed by `app_id` and
/// `notify_id`.
///
/// A processing failure releases the claim (the redelivery is processed again); a completed
/// notification is answered `success` on every later delivery without being processed again,
/// for [`NotifyOnce::remember_for`] (26 hours by default: Alipay redelivers for about 25).
/// A claim whose holder dies expires after [`NotifyOnce::processing_timeout`].
pub struct NotifyOnce {
    fleet: Arc<RedisFleet>,
    processing_timeout: Duration,
    remember_for: Duration,
    local: Mutex<LocalGuard>,
}

impl std::fmt::Debug for NotifyOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyOnce")
            .field("processing_timeout", &self.processing_timeout)
            .field("remember_for", &self.remember_for)
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
    Taken(String),
    Done,
    Busy,
}

impl NotifyOnce {
    /// A guard on `fleet` (5 minutes processing timeout, 26 hours memory).
    pub fn new(fleet: Arc<RedisFleet>) -> NotifyOnce {
        NotifyOnce {
            fleet,
            processing_timeout: Duration::from_secs(300),
            remember_for: Duration::from_secs(26 * 3600),
            local: Mutex::new(LocalGuard::default()),
        }
    }

    /// How long a completed notification is remembered (answered without processing).
    pub fn remember_for(mut self, duration: Duration) -> Self {
        self.remember_for = duration;
        self
    }

    /// How long a claim lives if its holder never completes or releases it.
    pub fn processing_timeout(mut self, duration: Duration) -> Self {
        self.processing_timeout = duration;
        self
    }

    /// Runs `process` for a verified notification unless it was processed before or is being
    /// processed by another instance; answer Alipay with [`Handled::ack`] (and `fail` on an
    /// error).
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
        // Processed here while Redis was unreachable: Redis may not know.
        if self.locally_done(&id) {
            return Ok(Handled::AlreadyProcessed);
        }
        match self.claim(&key).await {
            Some(Claim::Done) => Ok(Handled::AlreadyProcessed),
            Some(Claim::Busy) => Ok(Handled::ProcessingElsewhere),
            Some(Claim::Taken(token)) => match process().await {
                Ok(()) => {
                    self.local_done(&id);
                    self.complete(&key, &token).await;
                    Ok(Handled::Processed)
                }
                Err(error) => {
                    self.release(&key, &token).await;
                    Err(OnceError::Process(error))
                }
            },
            // Redis unreachable: this instance's own guard.
            None => {
                if let Some(handled) = self.local_claim(&id) {
                    return Ok(handled);
                }
                let result = process().await;
                let mut local = crate::lifecycle::lock(&self.local);
                local.processing.remove(&id);
                match result {
                    Ok(()) => {
                        local.done.insert(id, Instant::now());
                        Ok(Handled::Processed)
                    }
                    Err(error) => Err(OnceError::Process(error)),
                }
            }
        }
    }

    async fn claim(&self, key: &str) -> Option<Claim> {
        let key = key.to_string();
        let ttl = self.processing_timeout.as_millis().max(1) as u64;
        self.fleet
            .on_runtime("claim a notification", move |fleet| {
                Box::pin(async move {
                    let token = random_token();
                    let script = ::redis::Script::new(CLAIM);
                    let mut invocation = script.prepare_invoke();
                    invocation.key(&key).arg(&token).arg(ttl);
                    let answer: String = fleet.invoke(invocation).await?;
                    Ok(match answer.as_str() {
                        "taken" => Claim::Taken(token),
                        "done" => Claim::Done,
                        _ => Claim::Busy,
                    })
                })
            })
            .await
    }

    async fn complete(&self, key: &str, token: &str) {
        let (key, token) = (key.to_string(), token.to_string());
        let remember = self.remember_for.as_millis().max(1) as u64;
        self.fleet
            .on_runtime("complete a notification", move |fleet| {
                Box::pin(async move {
                    let script = ::redis::Script::new(COMPLETE);
                    let mut invocation = script.prepare_invoke();
                    invocation.key(&key).arg(&token).arg(remember);
                    let _: i64 = fleet.invoke(invocation).await?;
                    Ok(())
                })
            })
            .await;
    }

    async fn release(&self, key: &str, token: &str) {
        let (key, token) = (key.to_string(), token.to_string());
        self.fleet
            .on_runtime("release a notification", move |fleet| {
                Box::pin(async move {
                    let script = ::redis::Script::new(RELEASE);
                    let mut invocation = script.prepare_invoke();
                    invocation.key(&key).arg(&token);
                    let _: i64 = fleet.invoke(invocation).await?;
                    Ok(())
                })
            })
            .await;
    }

    /// The local claim while Redis is unreachable: `Some` when the delivery must not be
    /// processed here (done, or being processed by another task of this instance).
    fn local_claim(&self, id: &str) -> Option<Handled> {
        let mut local = crate::lifecycle::lock(&self.local);
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
        if local.processing.get(id).is_some_and(|at| now.duration_since(*at) < processing_timeout) {
            return Some(Handled::ProcessingElsewhere);
        }
        local.processing.insert(id.to_string(), now);
        None
    }

    fn locally_done(&self, id: &str) -> bool {
        let local = crate::lifecycle::lock(&self.local);
        local.done.get(id).is_some_and(|at| at.elapsed() < self.remember_for)
    }

    /// Remembers locally what was processed (answers later deliveries while Redis is down).
    fn local_done(&self, id: &str) {
        let mut local = crate::lifecycle::lock(&self.local);
        if local.done.len() < LOCAL_LIMIT {
            local.done.insert(id.to_string(), Instant::now());
        }
    }
}
