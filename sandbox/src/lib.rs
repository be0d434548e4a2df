//! # alipay-sandbox
//!
//! A local gateway that behaves like Alipay's, for offline development and tests of
//! `alipay-sdk` (and of any other Alipay SDK: the official Node SDK works against it). It
//! builds on the protocol core only ([`alipay_core`]: its public
//! [`primitives`](alipay_core::primitives) sign what Alipay signs).
//!
//! It checks SNs, timestamps and signatures with Alipay's error codes, keeps a trade ledger,
//! signs its answers with its own Alipay certificate, sends signed notifications (redelivered
//! until the receiver answers `success`), rotates its certificate on command and injects
//! faults. Tests start it in-process on a free port; `alipay sandbox` runs it from the shell.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use alipay_sdk::Client;
//! use alipay_sdk::model::trade::TradePrecreate;
//! use alipay_sandbox::Sandbox;
//!
//! let sandbox = Sandbox::builder().start().await?;
//! let client = Client::new(sandbox.client_config().build()?)?;
//! let order = client.call(&TradePrecreate::new("order-1", "9.99".parse()?, "Tea")).await?;
//! sandbox.buyer_pays("order-1")?;
//! # let _ = order;
//! # Ok(())
//! # }
//! ```
//!
//! # The codes it answers
//!
//! "Confirmed": the code and its words were checked against captured real answers or Alipay's
//! own SDK tests. "Documented": a code of Alipay's published error lists, its words the
//! sandbox's. "Sandbox's own": no public source confirms Alipay answers it; the sandbox needs
//! some answer there, so do not match on it in production code.
//!
//! | code | sub_code | when | source |
//! |---|---|---|---|
//! | 40001 | `isv.missing-app-id`, `isv.missing-method`, `isv.missing-signature`, `isv.missing-signature-type`, `isv.missing-timestamp`, `isv.missing-charset`, `isv.missing-app-cert-sn`, `isv.missing-alipay-root-cert-sn`, `isv.missing-parameter` | a required parameter is absent | documented |
//! | 40002 | `isv.invalid-app-id`, `isv.invalid-method`, `isv.invalid-signature`, `isv.invalid-signature-type`, `isv.invalid-timestamp`, `isv.invalid-charset`, `isv.invalid-version`, `isv.invalid-encrypt-type`, `isv.decryption-error`, `isv.invalid-biz-content`, `isv.invalid-parameter`, `isv.invalid-app-cert-sn`, `isv.invalid-alipay-root-cert-sn` | a parameter is wrong (the signature error echoes the content it checked) | documented |
//! | 40002 | `isv.missing-app-cert-sn` "缺少应用公钥证书序列号" | a certificate-only API (`alipay.fund.trans.uni.transfer`) called in public-key mode | confirmed |
//! | 40002 | `isv.code-invalid` "授权码code无效", `isv.refresh-token-invalid` "刷新令牌refresh_token无效", `isv.grant-type-invalid` "grant_type参数不正确" | login and ISV authorisation tokens | confirmed |
//! | 40002 | `isv.alipay-cert-not-exist` | a certificate download for an SN it never issued | documented |
//! | 20001 | `aop.invalid-auth-token` | `user.info.share` with a bad `auth_token` | documented |
//! | 40004 | `ACQ.TRADE_NOT_EXIST`, `ACQ.TRADE_HAS_SUCCESS`, `ACQ.TRADE_HAS_CLOSE`, `ACQ.TRADE_STATUS_ERROR`, `ACQ.INVALID_PARAMETER`, `ACQ.PAYMENT_AUTH_CODE_INVALID`, `ACQ.CONTEXT_INCONSISTENT`, `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL` | trades and refunds | documented |
//! | 40004 | `PAYMENT_INFO_INCONSISTENCY` "两次请求商户单号一样，但是参数不一致" | a transfer's `out_biz_no` again with other parameters | confirmed |
//! | 40004 | `PAYEE_USER_INFO_ERROR` "支付宝账号和姓名不匹配，请确认姓名是否正确", `PAYEE_NOT_EXIST` "收款账号不存在" | a payee's name missing; a payee user id that cannot exist | confirmed |
//! | 40004 | `PAYER_BALANCE_NOT_ENOUGH`, `ORDER_NOT_EXIST` | transfers and their query | documented |
//! | 40004 | `ACQ.ALLOC_AMOUNT_VALIDATE_ERROR` | settlement over the trade's amount | documented |
//! | 40004 | `isp.bill_not_exist` | a bill for a day with none | documented |
//! | 40004 | `ACQ.TRANS_IN_NOT_BIND` | settlement to an account without a royalty relation | sandbox's own |
//! | 40004 | `ACCOUNT_NOT_EXIST` | an account query for another merchant's account | sandbox's own |
//! | — | `ACQ.CASHIER_SESSION_EXPIRED` (cashier error page) | Pay or Cancel on a cashier session already used | sandbox's own |
//! | — | `ACQ.NO_NOTIFY_URL` (control endpoint) | `/sandbox/notify` for a trade without a `notify_url` | sandbox's own |
//! | 20000 | `isp.unknow-error` | the sandbox itself failed | documented |
//!
//! OpenAPI v3 answers carry the same conditions as HTTP statuses with the v3 codes
//! (`invalid-signature`, `invalid-app-cert-sn`, `missing-alipay-root-cert-sn`, …), and a
//! business failure as 400 with the gateway's sub_code as `code`. Faults
//! ([`Fault::Code`]) answer whatever code they are given.

mod bill;
mod cashier;
mod catalogue;
mod dashboard;
mod faults;
mod gateway;
mod http;
mod ledger;
mod pages;
mod pki;
mod services;
mod spi;
mod v3;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::{FAULT_NAMES, Fault, FaultRule};
pub use pki::{ALIPAY_CERT, ALIPAY_PUBLIC_KEY, APP_PRIVATE_KEY, APP_PUBLIC_KEY, ROOT_CERT};
pub use spi::SpiAnswer;

use alipay_core::aes::AesKey;
use alipay_core::config::{CertificateMode, Clock, Config, ConfigBuilder, EitherMode, PublicKeyMode, SystemClock};
use alipay_core::key::{PrivateKey, SignType};
use alipay_core::notify::{self, Rule};
use alipay_core::primitives::gateway::format_timestamp;
use http::{HttpRequest, Reply};
use ledger::Trade;

/// The app id the sandbox registers unless told otherwise.
pub const DEFAULT_APP_ID: &str = "9021000000000001";

/// Why the sandbox could not start or act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Generating or loading the PKI failed.
    #[error("sandbox PKI: {0}")]
    Pki(String),
    /// A service could not issue what was asked (its random source failed, say).
    #[error("{sub_code}: {sub_msg}")]
    Service {
        /// Alipay's sub code.
        sub_code: &'static str,
        /// Its message.
        sub_msg: String,
    },
    /// A trade operation was refused.
    #[error("{sub_code}: {sub_msg}")]
    Trade {
        /// Alipay's sub code.
        sub_code: &'static str,
        /// Its message.
        sub_msg: String,
    },
}

impl SandboxError {
    fn service(failure: services::ServiceFailure) -> SandboxError {
        SandboxError::Service { sub_code: failure.sub_code, sub_msg: failure.sub_msg }
    }
}

/// How the registered app signs: certificate mode or public-key mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppMode {
    /// 公钥证书模式: `app_cert_sn` and `alipay_root_cert_sn` are checked, answers carry
    /// `alipay_cert_sn`.
    Certificate,
    /// 普通公钥模式.
    PublicKey,
}

/// One notification and what became of its deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The `notify_id`.
    pub notify_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Where it was sent.
    pub url: String,
    /// The form body sent (the same on every attempt).
    pub body: String,
    /// How many times it was sent.
    pub attempts: u32,
    /// Whether the receiver answered `success`.
    pub acknowledged: bool,
    /// What the receiver answered last (status and body, or the connection error).
    pub last_answer: String,
    /// Every attempt's answer, in order.
    pub answers: Vec<String>,
}

pub(crate) struct Shared {
    /// The runtime the sandbox was started on: notifications are delivered there, so the
    /// handle's methods work from any thread, inside a runtime or not.
    runtime: tokio::runtime::Handle,
    dir: PathBuf,
    app_id: String,
    mode: AppMode,
    pki: Mutex<pki::Pki>,
    ledger: Mutex<ledger::Ledger>,
    faults: Mutex<faults::Faults>,
    /// Requests per method (bounded: see [`record_request`]).
    requests: Mutex<std::collections::HashMap<String, usize>>,
    /// The latest notifications, at most [`MAX_DELIVERIES`].
    deliveries: Mutex<std::collections::VecDeque<Delivery>>,
    clock: Arc<dyn Clock>,
    timestamp_window: chrono::Duration,
    /// Methods the gateway refuses as unknown (`isv.invalid-method`) while v3 serves them.
    v3_only: Vec<String>,
    aes: AesKey,
    /// RSA2, or SM2 for an SM2 app: what requests are verified with and answers signed with.
    sign_type: SignType,
    wrong_key: PrivateKey,
    retry_delays: Vec<Duration>,
    http: reqwest::Client,
    sequence: Mutex<u64>,
    /// Payouts, login, ISV authorisation, royalty, bill links.
    services: Mutex<services::Services>,
    /// The operations beyond trade served on both protocols (voucher activities, images).
    catalogue: Mutex<catalogue::Catalogue>,
    /// `http://127.0.0.1:PORT`: where the bill URLs point.
    base_url: String,
    /// Page and wap pay sessions waiting on the cashier, by token.
    cashier: Mutex<std::collections::HashMap<String, cashier::Session>>,
    /// The per-process token every state-changing control request must carry (the dashboard's
    /// forms embed it; `sandbox.json`, readable by its owner only, holds it for the CLI).
    control_token: String,
    /// Connections waiting for (the rest of) a request: the oldest is let go when the server
    /// is full, so slow clients cannot take every connection.
    readers: Arc<http::Readers>,
}

/// Configures a sandbox.
pub struct SandboxBuilder {
    dir: Option<PathBuf>,
    listen: SocketAddr,
    app_id: String,
    mode: AppMode,
    sign_type: SignType,
    seed: u64,
    clock: Arc<dyn Clock>,
    timestamp_window: Duration,
    retry_delays: Vec<Duration>,
    v3_only: Vec<String>,
    progress: Option<Progress>,
}

impl std::fmt::Debug for SandboxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxBuilder")
            .field("dir", &self.dir)
            .field("listen", &self.listen)
            .field("app_id", &self.app_id)
            .field("sign_type", &self.sign_type)
            .finish_non_exhaustive()
    }
}

/// Where start-up progress lines go.
type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// The sandbox gateway.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Starts configuring a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder {
            dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            app_id: DEFAULT_APP_ID.to_string(),
            mode: AppMode::Certificate,
            sign_type: SignType::Rsa2,
            seed: 1,
            clock: Arc::new(SystemClock),
            timestamp_window: Duration::from_secs(15 * 60),
            retry_delays: [1, 2, 4, 8, 15, 30, 60].iter().map(|s| Duration::from_secs(*s)).collect(),
            v3_only: Vec::new(),
            progress: None,
        }
    }
}

impl SandboxBuilder {
    /// Where the PKI lives: loaded if present, generated otherwise. Default: a new temporary
    /// directory, removed when the sandbox stops.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The address to listen on (port 0 picks a free port). Default `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The registered app id.
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// Certificate mode (default) or public-key mode.
    pub fn mode(mut self, mode: AppMode) -> Self {
        self.mode = mode;
        self
    }

    /// The registered app's `sign_type`: `RSA2` (default) or `SM2` — an SM2 app gets SM2 keys
    /// and certificates under the bundle's SM2 root, and every answer and notification is
    /// signed with SM2. A directory already holding a PKI must be of the same algorithm.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The seed of the fault generator.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The gateway's clock (timestamps are checked against it).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How far a request's timestamp may be from the gateway's clock (default 15 minutes).
    pub fn timestamp_window(mut self, window: Duration) -> Self {
        self.timestamp_window = window;
        self
    }

    /// The pauses between notification deliveries (default 1, 2, 4, 8, 15, 30, 60 s; Alipay's
    /// are minutes to hours).
    pub fn notify_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    /// Serves `method` on OpenAPI v3 only: its gateway form is refused with `isv.invalid-method`,
    /// as Alipay refuses an operation it has not opened on the gateway. By default every
    /// operation the sandbox knows is served on both protocols.
    pub fn v3_only(mut self, method: impl Into<String>) -> Self {
        self.v3_only.push(method.into());
        self
    }

    /// Called with a line of progress while the sandbox starts (generating RSA keys takes a few
    /// seconds on a small machine).
    pub fn progress(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }

    /// Binds, then generates or loads the PKI and starts serving. Binding comes first: a taken
    /// address fails before anything is written.
    pub async fn start(self) -> Result<SandboxHandle, SandboxError> {
        let report = |line: &str| {
            if let Some(progress) = &self.progress {
                progress(line);
            }
        };
        let listener =
            TcpListener::bind(self.listen).await.map_err(|source| SandboxError::Bind { addr: self.listen, source })?;
        let (dir, owned) = match self.dir {
            Some(dir) => (dir, false),
            None => {
                static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (std::env::temp_dir().join(format!("alipay-sandbox-{}-{n}", std::process::id())), true)
            }
        };
        std::fs::create_dir_all(&dir).map_err(|source| SandboxError::Io { path: dir.clone(), source })?;
        let app_id = self.app_id.clone();
        let dir_for_pki = dir.clone();
        if !dir.join("sandbox-private").exists() {
            report(&format!("generating the sandbox PKI in {} (RSA-2048 keys, a few seconds)…", dir.display()));
        }
        let sign_type = match self.sign_type {
            SignType::Sm2 => SignType::Sm2,
            _ => SignType::Rsa2,
        };
        let algorithm = sign_type.algorithm();
        let pki = tokio::task::spawn_blocking(move || pki::Pki::load_or_generate(&dir_for_pki, &app_id, algorithm))
            .await
            .map_err(|e| SandboxError::Pki(e.to_string()))??;
        let aes_path = dir.join("aes_key.txt");
        let aes_text = match std::fs::read_to_string(&aes_path) {
            Ok(text) => text,
            Err(_) => {
                let mut key = [0u8; 16];
                openssl::rand::rand_bytes(&mut key).map_err(|e| SandboxError::Pki(e.to_string()))?;
                use base64::Engine as _;
                let text = base64::engine::general_purpose::STANDARD.encode(key);
                write_private_file(&aes_path, text.as_bytes())?;
                text
            }
        };
        let aes =
            AesKey::from_base64(&aes_text).map_err(|e| SandboxError::Pki(format!("{}: {e}", aes_path.display())))?;
        let wrong_key = tokio::task::spawn_blocking(move || PrivateKey::generate_for(algorithm, 2048))
            .await
            .map_err(|e| SandboxError::Pki(e.to_string()))?
            .map_err(|e| SandboxError::Pki(e.to_string()))?;
        report("keys and certificates ready");
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: self.listen, source })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SandboxError::Pki(format!("notification client: {e}")))?;
        let shared = Arc::new(Shared {
            runtime: tokio::runtime::Handle::current(),
            dir: dir.clone(),
            app_id: self.app_id,
            mode: self.mode,
            pki: Mutex::new(pki),
            ledger: Mutex::new(ledger::Ledger::default()),
            faults: Mutex::new(faults::Faults::new(self.seed)),
            requests: Mutex::new(std::collections::HashMap::new()),
            deliveries: Mutex::new(std::collections::VecDeque::new()),
            clock: self.clock,
            timestamp_window: chrono::Duration::from_std(self.timestamp_window)
                .unwrap_or(chrono::Duration::minutes(15)),
            v3_only: self.v3_only,
            aes,
            sign_type,
            wrong_key,
            retry_delays: self.retry_delays,
            http,
            sequence: Mutex::new(0),
            services: Mutex::new(services::Services::default()),
            catalogue: Mutex::new(catalogue::Catalogue::default()),
            base_url: format!("http://{addr}"),
            control_token: random_hex(16)?,
            readers: Arc::new(http::Readers::default()),
            cashier: Mutex::new(std::collections::HashMap::new()),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            let connections = Arc::new(tokio::sync::Semaphore::new(http::MAX_CONNECTIONS));
            let mut backoff = Duration::from_millis(10);
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => {
                        backoff = Duration::from_millis(10);
                        stream
                    }
                    Err(error) => {
                        // EMFILE and friends: the error repeats until a descriptor frees up, so
                        // wait (doubling up to a second) instead of spinning on accept.
                        tracing::warn!(%error, "sandbox: accept failed; backing off {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                };
                let shared = serving.clone();
                let place = match connections.clone().try_acquire_owned() {
                    Ok(place) => place,
                    // Full: the connection that has waited longest for a request is let go and
                    // its place handed over; only when every connection is being answered is a
                    // new one refused.
                    Err(_) => match shared.readers.evict_oldest() {
                        Some(place) => place,
                        None => {
                            tokio::spawn(http::refuse_busy(stream));
                            continue;
                        }
                    },
                };
                tokio::spawn(async move {
                    let clock = shared.clock.clone();
                    let readers = shared.readers.clone();
                    http::serve_connection(
                        stream,
                        place,
                        &readers,
                        move || clock.now(),
                        |request| route(shared.clone(), request),
                    )
                    .await;
                });
            }
        });
        let handle = SandboxHandle { shared, addr, task, owned_dir: owned.then(|| dir.clone()) };
        let config_path = dir.join("alipay.toml");
        let before = std::fs::read_to_string(&config_path).ok();
        handle.write_info()?;
        if let (Some(before), Ok(after)) = (before, std::fs::read_to_string(&config_path)) {
            for change in config_changes(&before, &after) {
                report(&format!("{}: {change} (rewritten; clients reading it follow)", config_path.display()));
            }
        }
        Ok(handle)
    }
}

/// The most notifications the sandbox remembers (the oldest are forgotten), the most answers
/// it keeps per notification, and the most distinct method names it counts requests for.
const MAX_DELIVERIES: usize = 1000;
const MAX_ANSWERS_KEPT: usize = 50;
const MAX_COUNTED_METHODS: usize = 1000;

/// Counts a request to `method`: names beyond [`MAX_COUNTED_METHODS`] distinct ones (anyone
/// can send any name) are counted together under `<other>`, each name capped.
pub(crate) fn record_request(shared: &Shared, method: &str) {
    let mut requests = crate::lock(&shared.requests);
    let name = if requests.contains_key(method) || requests.len() < MAX_COUNTED_METHODS {
        method.chars().take(128).collect()
    } else {
        "<other>".to_string()
    };
    *requests.entry(name).or_insert(0) += 1;
}

/// `bytes` random bytes in lowercase hex.
fn random_hex(bytes: usize) -> Result<String, SandboxError> {
    let mut random = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut random).map_err(|e| SandboxError::Pki(format!("random: {e}")))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a `Host` header names this machine by an IP literal or `localhost`.
fn host_is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes a file only its owner may read (mode 0600 on Unix, set when it is created, and again
/// on a file that was there): private keys, the AES key, the control token.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    use std::io::Write as _;
    let io = |source| SandboxError::Io { path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let file = options.open(path).map_err(io)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let mut file = file;
        file.write_all(bytes).map_err(io)
    }
    #[cfg(not(unix))]
    {
        options.open(path).and_then(|mut file| file.write_all(bytes)).map_err(io)
    }
}

/// Rotation generates a key (CPU-bound): run it on the blocking pool, which works under any
/// runtime flavour (`block_in_place` panics on a current-thread runtime).
async fn rotate_off_the_runtime(shared: &Arc<Shared>) -> Result<String, SandboxError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || shared.rotate())
        .await
        .unwrap_or_else(|e| Err(SandboxError::Pki(format!("rotation task failed: {e}"))))
}

async fn route(shared: Arc<Shared>, request: HttpRequest) -> Reply {
    let json = |status: u16, value: serde_json::Value| Reply::Full {
        status,
        content_type: "application/json",
        body: value.to_string().into_bytes(),
    };
    let query_param = |name: &str| {
        url::form_urlencoded::parse(request.query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    };
    // DNS rebinding: a page on another site whose name was re-pointed at 127.0.0.1 reaches
    // this server with its own name in `Host`. Only IP literals and `localhost` are served.
    if let Some(host) = request.header("host")
        && !host_is_local(host)
    {
        return Reply::Full {
            status: 421,
            content_type: "text/plain",
            body: b"the sandbox answers only requests addressed to an IP address or localhost".to_vec(),
        };
    }
    // State-changing control endpoints: POST only, with the process's control token.
    let control = matches!(
        request.path.as_str(),
        "/sandbox/pay" | "/sandbox/rotate" | "/sandbox/notify" | "/sandbox/spi" | "/sandbox/faults"
    );
    if control {
        if request.method != "POST" {
            return json(405, serde_json::json!({ "error": "control endpoints take POST only" }));
        }
        let given = request.header("x-sandbox-token").map(str::to_string).or_else(|| query_param("token"));
        if !given.is_some_and(|token| constant_time_eq(token.as_bytes(), shared.control_token.as_bytes())) {
            return json(
                403,
                serde_json::json!({ "error": "missing or wrong x-sandbox-token (control_token in sandbox.json)" }),
            );
        }
    }
    let dashboard_post =
        request.path.starts_with("/sandbox/dashboard/") && request.path != "/sandbox/dashboard/version";
    if dashboard_post {
        let given = url::form_urlencoded::parse(&request.body).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        if request.method != "POST"
            || !given.is_some_and(|token| constant_time_eq(token.as_bytes(), shared.control_token.as_bytes()))
        {
            return Reply::Full {
                status: 403,
                content_type: "text/plain",
                body: b"a dashboard action needs the dashboard's own form (POST with its token)".to_vec(),
            };
        }
    }
    match request.path.as_str() {
        "/sandbox/pay" => match query_param("out_trade_no") {
            Some(out) => match shared.buyer_pays(&out) {
                Ok(()) => json(200, serde_json::json!({ "paid": out })),
                Err(e) => json(400, serde_json::json!({ "error": e.to_string() })),
            },
            None => json(400, serde_json::json!({ "error": "out_trade_no is required" })),
        },
        "/sandbox/rotate" => match rotate_off_the_runtime(&shared).await {
            Ok(sn) => json(200, serde_json::json!({ "alipay_cert_sn": sn })),
            Err(e) => json(500, serde_json::json!({ "error": e.to_string() })),
        },
        // Sends the signed payment notification of a trade to a URL (its own notify_url unless
        // `url` is given), redelivered like Alipay does. With `wait=1` the answer waits for the
        // first attempt and says whether the receiver acknowledged it (`success`).
        "/sandbox/notify" => match query_param("out_trade_no") {
            Some(out) => match shared.notify_to(&out, query_param("url")) {
                Ok((url, notify_id)) if query_param("wait").as_deref() == Some("1") => {
                    match shared.first_attempt(&notify_id, NOTIFY_WAIT).await {
                        Some(delivery) => json(
                            200,
                            serde_json::json!({
                                "out_trade_no": out,
                                "url": url,
                                "notify_id": notify_id,
                                "acknowledged": delivery.acknowledged,
                                "answer": delivery.last_answer,
                            }),
                        ),
                        None => json(
                            504,
                            serde_json::json!({
                                "out_trade_no": out,
                                "url": url,
                                "notify_id": notify_id,
                                "error": format!("no answer from {url} within {} s", NOTIFY_WAIT.as_secs()),
                            }),
                        ),
                    }
                }
                Ok((url, notify_id)) => {
                    json(202, serde_json::json!({ "out_trade_no": out, "url": url, "notify_id": notify_id }))
                }
                Err(e) => json(400, serde_json::json!({ "error": e.to_string() })),
            },
            None => json(400, serde_json::json!({ "error": "out_trade_no is required" })),
        },
        // Calls an ISV's SPI / app-gateway endpoint as Alipay does; the body is biz_content.
        "/sandbox/spi" => match query_param("url") {
            Some(url) => {
                let method = query_param("method").unwrap_or_else(|| "alipay.sandbox.spi.test".into());
                let biz = serde_json::from_slice(&request.body).unwrap_or_else(|_| serde_json::json!({}));
                match spi::call_spi(&shared, &url, &method, &biz).await {
                    Ok(answer) => json(200, serde_json::to_value(answer).unwrap_or_default()),
                    Err(e) => json(502, serde_json::json!({ "error": e.to_string() })),
                }
            }
            None => json(400, serde_json::json!({ "error": "url is required" })),
        },
        // A bill URL handed out by `alipay.data.dataservice.bill.downloadurl.query`: the zip
        // while it lives; afterwards 403 with an expired-request body, as OSS answers.
        path if path.starts_with("/sandbox/bill/") => {
            let token = path.trim_start_matches("/sandbox/bill/").trim_end_matches(".zip");
            let now = shared.clock.now();
            let link = crate::lock(&shared.services).bill_links.get(token).cloned();
            match link {
                Some(link) if link.expires > now => {
                    Reply::Full { status: 200, content_type: "application/zip", body: link.zip }
                }
                _ => Reply::Full {
                    status: 403,
                    content_type: "application/xml",
                    body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>".to_vec(),
                },
            }
        }
        "/" | "/sandbox" if request.method == "GET" => dashboard::dashboard(&shared, &request.query),
        "/sandbox/dashboard/version" => dashboard::version(&shared),
        path if path.starts_with("/sandbox/dashboard/") => {
            dashboard::act(&shared, path.trim_start_matches("/sandbox/dashboard/"), &request.body).await
        }
        // The faults in force; with `fault=NAME` (and probability, times, slow_ms) sets the rule
        // of `method` (default `*`), with `clear=1` clears `method` (or every method).
        "/sandbox/faults" => {
            let method = query_param("method").filter(|m| !m.is_empty());
            let outcome = if query_param("clear").as_deref() == Some("1") {
                match &method {
                    Some(method) => crate::lock(&shared.faults).set(method, Vec::new()),
                    None => crate::lock(&shared.faults).clear(),
                }
                Ok(())
            } else if query_param("fault").is_some() {
                let method = method.unwrap_or_else(|| "*".to_string());
                faults::rule_from(query_param).map(|rule| {
                    crate::lock(&shared.faults).set(&method, rule.into_iter().collect());
                })
            } else {
                Ok(())
            };
            let rules: Vec<serde_json::Value> = crate::lock(&shared.faults)
                .rules()
                .into_iter()
                .flat_map(|(method, rules)| {
                    rules.into_iter().map(move |rule| {
                        let mut value = serde_json::to_value(&rule).unwrap_or_default();
                        value["method"] = method.clone().into();
                        value
                    })
                })
                .collect();
            match outcome {
                Ok(()) => json(200, serde_json::json!({ "rules": rules })),
                Err(error) => json(400, serde_json::json!({ "error": error, "rules": rules })),
            }
        }
        "/sandbox/cashier/pay" if request.method == "POST" => cashier::pay(&shared, &request.body),
        "/sandbox/cashier/cancel" if request.method == "POST" => cashier::cancel(&shared, &request.body),
        "/sandbox/notifications" => {
            json(200, serde_json::to_value(crate::lock(&shared.deliveries).clone()).unwrap_or_default())
        }
        path if path.starts_with("/v3/") => v3::handle(shared, request).await,
        _ if request.method == "POST" || request.method == "GET" => gateway::handle(shared, request).await,
        _ => Reply::Full { status: 405, content_type: "text/plain", body: b"method not allowed".to_vec() },
    }
}

impl Shared {
    fn buyer_pays(self: &Arc<Self>, out_trade_no: &str) -> Result<(), SandboxError> {
        let now = self.clock.now();
        let paid = crate::lock(&self.ledger)
            .buyer_pays(out_trade_no, now)
            .map_err(|e| SandboxError::Trade { sub_code: e.sub_code, sub_msg: e.sub_msg })?;
        if let Some(trade) = paid {
            self.notify(trade);
        }
        Ok(())
    }

    /// Sends the payment notification of `out_trade_no` (to `url`, or the trade's notify_url).
    /// Sends a trade's notification (again), to `url` or the trade's own `notify_url`; returns
    /// where it goes and its `notify_id`.
    fn notify_to(self: &Arc<Self>, out_trade_no: &str, url: Option<String>) -> Result<(String, String), SandboxError> {
        let mut trade = crate::lock(&self.ledger).get(out_trade_no).ok_or_else(|| SandboxError::Trade {
            sub_code: "ACQ.TRADE_NOT_EXIST",
            sub_msg: format!("交易不存在: {out_trade_no}"),
        })?;
        let charset = trade.notify.as_ref().map_or(alipay_core::charset::Charset::Utf8, |t| t.charset);
        if let Some(url) = url {
            trade.notify = Some(ledger::NotifyTarget { url, charset });
        }
        let target = trade.notify.as_ref().map(|t| t.url.clone()).ok_or_else(|| SandboxError::Trade {
            sub_code: "ACQ.NO_NOTIFY_URL",
            sub_msg: "the trade has no notify_url; give url=…".into(),
        })?;
        let notify_id = self.notify(trade).ok_or_else(|| SandboxError::Service {
            sub_code: "isp.unknow-error",
            sub_msg: "the notification could not be signed or encoded".into(),
        })?;
        Ok((target, notify_id))
    }

    /// The first delivery attempt's record of `notify_id`, once it has one (or `None` after
    /// `timeout`).
    async fn first_attempt(&self, notify_id: &str, timeout: std::time::Duration) -> Option<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let delivery = crate::lock(&self.deliveries).iter().find(|d| d.notify_id == notify_id).cloned();
            match delivery {
                Some(delivery) if delivery.attempts > 0 => return Some(delivery),
                None => return None,
                Some(_) if tokio::time::Instant::now() >= deadline => return None,
                Some(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    fn rotate(&self) -> Result<String, SandboxError> {
        let mut pki = crate::lock(&self.pki);
        let sn = pki.rotate(&self.dir)?.sn().to_string();
        Ok(sn)
    }

    /// Sends the payment notification for `trade` (if it has a `notify_url`) in the
    /// background, redelivering until the receiver answers `success`. Returns its `notify_id`,
    /// or `None` when nothing is sent (no `notify_url`, or it could not be signed).
    fn notify(self: &Arc<Self>, trade: Trade) -> Option<String> {
        let target = trade.notify.clone()?;
        let notify_id = {
            let mut sequence = crate::lock(&self.sequence);
            *sequence += 1;
            format!("sandbox{:012}", *sequence)
        };
        let (key, sn) = self.alipay_signer(false);
        let partner = crate::lock(&self.pki).partner_id.clone();
        let now = self.clock.now();
        let amount = trade.total_amount.to_string();
        let mut params: Vec<(String, String)> = vec![
            ("notify_time".into(), format_timestamp(now)),
            ("notify_type".into(), "trade_status_sync".into()),
            ("notify_id".into(), notify_id.clone()),
            ("app_id".into(), self.app_id.clone()),
            ("auth_app_id".into(), self.app_id.clone()),
            ("charset".into(), target.charset.as_str().into()),
            ("version".into(), "1.0".into()),
            ("sign_type".into(), self.sign_type.as_str().into()),
            ("trade_no".into(), trade.trade_no.clone()),
            ("out_trade_no".into(), trade.out_trade_no.clone()),
            ("buyer_id".into(), ledger::BUYER_ID.into()),
            ("seller_id".into(), partner),
            ("trade_status".into(), trade.status.as_str().into()),
            ("total_amount".into(), amount.clone()),
            ("receipt_amount".into(), amount.clone()),
            ("buyer_pay_amount".into(), amount.clone()),
            ("invoice_amount".into(), amount.clone()),
            ("point_amount".into(), "0.00".into()),
            ("subject".into(), trade.subject.clone()),
            ("gmt_create".into(), format_timestamp(trade.created)),
            ("gmt_payment".into(), format_timestamp(trade.paid.unwrap_or(now))),
            ("fund_bill_list".into(), format!(r#"[{{"amount":"{amount}","fundChannel":"ALIPAYACCOUNT"}}]"#)),
            ("body".into(), String::new()),
        ];
        if self.mode == AppMode::Certificate {
            params.push(("alipay_cert_sn".into(), sn));
        }
        let sign =
            alipay_core::primitives::notification::sign_params(&params, Rule::V1, &key, self.sign_type, target.charset)
                .ok()?;
        params.push(("sign".into(), sign));
        let body = alipay_core::primitives::gateway::encode_pairs(params.iter(), target.charset).ok()?;
        let mut deliveries = crate::lock(&self.deliveries);
        if deliveries.len() >= MAX_DELIVERIES {
            deliveries.pop_front();
        }
        deliveries.push_back(Delivery {
            notify_id: notify_id.clone(),
            out_trade_no: trade.out_trade_no.clone(),
            url: target.url.clone(),
            body: body.clone(),
            attempts: 0,
            acknowledged: false,
            last_answer: String::new(),
            answers: Vec::new(),
        });
        drop(deliveries);
        let shared = self.clone();
        let id = notify_id.clone();
        let content_type =
            format!("application/x-www-form-urlencoded; charset={}", target.charset.as_str().to_ascii_lowercase());
        self.runtime.spawn(async move {
            let mut delays = shared.retry_delays.clone().into_iter();
            loop {
                let answer =
                    shared.http.post(&target.url).header("content-type", &content_type).body(body.clone()).send().await;
                let (acknowledged, text) = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap_or_default();
                        (
                            status == 200 && text.trim() == notify::ACK,
                            format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()),
                        )
                    }
                    Err(error) => (false, format!("error: {}", error.without_url())),
                };
                {
                    let mut deliveries = crate::lock(&shared.deliveries);
                    if let Some(delivery) = deliveries.iter_mut().find(|d| d.notify_id == notify_id) {
                        delivery.attempts += 1;
                        delivery.acknowledged = acknowledged;
                        if delivery.answers.len() >= MAX_ANSWERS_KEPT {
                            delivery.answers.remove(0);
                        }
                        delivery.answers.push(text.clone());
                        delivery.last_answer = text;
                    }
                }
                if acknowledged {
                    return;
                }
                match delays.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return,
                }
            }
        });
        Some(id)
    }
}

/// How long `/sandbox/notify?wait=1` waits for the first delivery attempt's answer (longer than
/// the delivery client's own timeout, so a slow receiver is reported by that attempt).
const NOTIFY_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

/// A running sandbox. Stops when dropped.
pub struct SandboxHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    owned_dir: Option<PathBuf>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The control token stays out: it guards the sandbox's control endpoints.
        f.debug_struct("SandboxHandle").field("addr", &self.addr).field("dir", &self.owned_dir).finish_non_exhaustive()
    }
}

/// What `sandbox.json` in the sandbox directory holds.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    /// The address it listens on.
    pub address: String,
    /// The gateway URL.
    pub gateway: String,
    /// The registered app id.
    pub app_id: String,
    /// Certificate or public-key mode.
    pub mode: AppMode,
    /// The app's `sign_type` (RSA2 or SM2).
    pub sign_type: String,
    /// `app_cert_sn` the app must send.
    pub app_cert_sn: String,
    /// `alipay_root_cert_sn` the app must send.
    pub alipay_root_cert_sn: String,
    /// The SN of the certificate answers are signed with.
    pub alipay_cert_sn: String,
    /// The app private key file.
    pub app_private_key: PathBuf,
    /// The app certificate file.
    pub app_cert: PathBuf,
    /// The Alipay certificate file.
    pub alipay_cert: PathBuf,
    /// The root bundle file.
    pub alipay_root_cert: PathBuf,
    /// The Alipay public key (public-key mode).
    pub alipay_public_key: PathBuf,
    /// The AES content-encryption key file.
    pub aes_key: PathBuf,
    /// The token state-changing control requests carry (`x-sandbox-token` header): the file
    /// is readable by its owner only.
    pub control_token: String,
}

impl SandboxHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/gateway.do`.
    pub fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.addr)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The registered app id.
    pub fn app_id(&self) -> &str {
        &self.shared.app_id
    }

    /// The registered app's mode.
    pub fn mode(&self) -> AppMode {
        self.shared.mode
    }

    /// The facts a client needs, as written to `sandbox.json`.
    pub fn info(&self) -> SandboxInfo {
        let pki = crate::lock(&self.shared.pki);
        let dir = &self.shared.dir;
        SandboxInfo {
            address: self.addr.to_string(),
            gateway: self.gateway_url(),
            app_id: self.shared.app_id.clone(),
            mode: self.shared.mode,
            sign_type: self.shared.sign_type.as_str().to_string(),
            app_cert_sn: pki.app_cert.sn().to_string(),
            alipay_root_cert_sn: pki.roots.sn_for(pki.algorithm).unwrap_or_default().to_string(),
            alipay_cert_sn: pki.identities.last().map(|i| i.sn().to_string()).unwrap_or_default(),
            app_private_key: dir.join(APP_PRIVATE_KEY),
            app_cert: dir.join(pki::Pki::app_cert_file(&self.shared.app_id)),
            alipay_cert: dir.join(ALIPAY_CERT),
            alipay_root_cert: dir.join(ROOT_CERT),
            alipay_public_key: dir.join(ALIPAY_PUBLIC_KEY),
            aes_key: dir.join("aes_key.txt"),
            control_token: self.shared.control_token.clone(),
        }
    }

    /// The token state-changing control requests carry (`x-sandbox-token` header, or the
    /// `csrf` field of the dashboard's forms).
    pub fn control_token(&self) -> &str {
        &self.shared.control_token
    }

    fn write_info(&self) -> Result<(), SandboxError> {
        let info = self.info();
        let path = self.shared.dir.join("sandbox.json");
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        write_private_file(&path, text.as_bytes())?;
        // `alipay.toml` for the registered app, so `alipay doctor` and `alipay call` work as is.
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mode = match self.shared.mode {
            AppMode::Certificate => "certificate",
            AppMode::PublicKey => "public-key",
        };
        let toml = render_config_file(&[
            ("app_id", &info.app_id),
            ("mode", mode),
            ("gateway", &info.gateway),
            ("charset", "UTF-8"),
            ("sign_type", &info.sign_type),
            ("app_private_key", &name(&info.app_private_key)),
            ("app_cert", &name(&info.app_cert)),
            ("alipay_cert", &name(&info.alipay_cert)),
            ("alipay_root_cert", &name(&info.alipay_root_cert)),
            ("alipay_public_key", &name(&info.alipay_public_key)),
            ("aes_key_file", &name(&info.aes_key)),
            // SM2 apps encrypt with SM4 (Alipay's Java SDK pairs them so).
            ("encrypt_type", if self.shared.sign_type == SignType::Sm2 { "SM4" } else { "AES" }),
        ]);
        let path = self.shared.dir.join("alipay.toml");
        std::fs::write(&path, toml).map_err(|source| SandboxError::Io { path, source })
    }

    /// A client configuration for the sandbox's app, in the sandbox's mode (build it as is,
    /// or add settings both modes share: clock, charset, AES key).
    pub fn client_config(&self) -> ConfigBuilder<EitherMode> {
        match self.shared.mode {
            AppMode::Certificate => self.certificate_config().into(),
            AppMode::PublicKey => self.public_key_config().into(),
        }
    }

    /// The sandbox's app in certificate mode (its app certificate, Alipay certificate and
    /// root bundle), to add certificate-mode settings such as `alipay_cert_dir`.
    pub fn certificate_config(&self) -> ConfigBuilder<CertificateMode> {
        let info = self.info();
        Config::builder(info.app_id)
            .gateway(info.gateway)
            .sign_type(self.shared.sign_type)
            .app_private_key_file(info.app_private_key)
            .app_cert_file(info.app_cert)
            .alipay_cert_file(info.alipay_cert)
            .alipay_root_cert_file(info.alipay_root_cert)
    }

    /// The sandbox's app in public-key mode (the Alipay public key).
    pub fn public_key_config(&self) -> ConfigBuilder<PublicKeyMode> {
        let info = self.info();
        Config::builder(info.app_id)
            .gateway(info.gateway)
            .sign_type(self.shared.sign_type)
            .app_private_key_file(info.app_private_key)
            .alipay_public_key_file(info.alipay_public_key)
    }

    /// A one-time user `auth_code`, as the user's authorisation page returns it (exchange it
    /// with `alipay.system.oauth.token`).
    pub fn issue_auth_code(&self) -> Result<String, SandboxError> {
        crate::lock(&self.shared.services).issue_auth_code().map_err(SandboxError::service)
    }

    /// A one-time merchant `app_auth_code`, as the ISV authorisation page returns it
    /// (exchange it with `alipay.open.auth.token.app`).
    pub fn issue_app_auth_code(&self) -> Result<String, SandboxError> {
        crate::lock(&self.shared.services).issue_app_auth_code().map_err(SandboxError::service)
    }

    /// The size in bytes and the declared type of an image uploaded with
    /// `ant.merchant.expand.indirect.image.upload`, by the `image_id` it was answered with.
    pub fn uploaded_image(&self, image_id: &str) -> Option<(usize, String)> {
        crate::lock(&self.shared.catalogue).image(image_id).map(|(len, kind)| (len, kind.to_string()))
    }

    /// The merchant's payout balance (starts at 10 000.00; transfers take from it).
    pub fn payout_balance(&self) -> alipay_core::model::Amount {
        alipay_core::model::Amount::from_cents(crate::lock(&self.shared.services).balance_cents.max(0))
    }

    /// How long bill URLs work (default 30 seconds, as Alipay's).
    pub fn set_bill_url_ttl(&self, ttl: Duration) {
        crate::lock(&self.shared.services).bill_url_ttl = ttl;
    }

    /// The sandbox merchant's partner id (`2088…`).
    pub fn partner_id(&self) -> String {
        crate::lock(&self.shared.pki).partner_id.clone()
    }

    /// The app's AES content-encryption key.
    pub fn aes_key(&self) -> AesKey {
        self.shared.aes.clone()
    }

    /// The buyer pays a waiting trade (as scanning the QR code would); the notification goes
    /// to the trade's `notify_url`.
    pub fn buyer_pays(&self, out_trade_no: &str) -> Result<(), SandboxError> {
        self.shared.buyer_pays(out_trade_no)
    }

    /// Issues a new Alipay certificate and signs every later answer with it. Returns its SN.
    pub fn rotate_alipay_cert(&self) -> Result<String, SandboxError> {
        let sn = self.shared.rotate()?;
        self.write_info()?;
        Ok(sn)
    }

    /// Every Alipay certificate issued so far (oldest first) as `(sn, pem)`.
    pub fn alipay_certs(&self) -> Vec<(String, String)> {
        let pki = crate::lock(&self.shared.pki);
        pki.identities.iter().map(|i| (i.sn().to_string(), i.pem().to_string())).collect()
    }

    /// Sets the fault rules for `method` (`*` for every method); an empty list clears them.
    pub fn set_faults(&self, method: &str, rules: Vec<FaultRule>) {
        crate::lock(&self.shared.faults).set(method, rules);
    }

    /// Clears every fault rule.
    pub fn clear_faults(&self) {
        crate::lock(&self.shared.faults).clear();
    }

    /// The notifications sent so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        crate::lock(&self.shared.deliveries).iter().cloned().collect()
    }

    /// How many requests named `method` reached the gateway.
    pub fn request_count(&self, method: &str) -> usize {
        crate::lock(&self.shared.requests).get(method).copied().unwrap_or(0)
    }

    /// The status of a trade, if it exists.
    pub fn trade_status(&self, out_trade_no: &str) -> Option<alipay_core::model::trade::TradeStatus> {
        crate::lock(&self.shared.ledger).get(out_trade_no).map(|t| t.status)
    }

    /// How many trades exist.
    pub fn trade_count(&self) -> usize {
        crate::lock(&self.shared.ledger).all().len()
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(dir) = &self.owned_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Locks a mutex, using it even if a holder panicked: the sandbox's state is replaced whole in
/// each critical section, and one failed request must not take the gateway down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The settings an `alipay.toml` rewrite changes, as `name: old → new` (a restart with another
/// `--mode` or port rewrites the file clients read; say so instead of doing it silently).
fn config_changes(before: &str, after: &str) -> Vec<String> {
    let parse = |text: &str| text.parse::<toml::Table>().unwrap_or_default();
    let (before, after) = (parse(before), parse(after));
    let shown = |value: Option<&toml::Value>| match value {
        Some(toml::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "(unset)".to_string(),
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| format!("{name}: {} → {}", shown(before.get(name)), shown(after.get(name))))
        .collect()
}

/// `alipay.toml` text for the sandbox's app: one `name = "value"` line per setting, each value
/// a TOML string literal (escaped by the toml crate).
fn render_config_file(settings: &[(&str, &str)]) -> String {
    let mut out = String::from("# Generated by alipay-sandbox. Paths are relative to this file.\n");
    for (name, value) in settings {
        out.push_str(&format!("{name} = {}\n", toml::Value::String((*value).to_string())));
    }
    out
}
