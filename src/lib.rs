//! # alipay-sdk
//!
//! An SDK for the Alipay open platform in **certificate mode** (公钥证书模式), and in plain
//! public-key mode for migrations: certificates and their SNs computed exactly as Alipay's Java
//! servers do, signed requests, responses verified by default (failing closed), notifications,
//! signed answers for ISV servers, Alipay certificate rotation and app key hot reload.
//!
//! # Quick start
//!
//! ```toml
//! [dependencies]
//! alipay-sdk = "0.1"   # the async client; features: blocking, bill, redis, metrics, vendored-openssl
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Build a [`Config`] once (keys, certificates and SNs are parsed and checked here, never per
//! request), make a [`Client`], and call typed APIs; every answer is verified before you see
//! it:
//!
//! ```no_run
//! use alipay_sdk::{Client, Config};
//! use alipay_sdk::model::trade::TradePrecreate;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder("2021000000000001")
//!     .app_private_key_file("app_private_key.txt")
//!     .app_cert_file("appCertPublicKey_2021000000000001.crt")
//!     .alipay_cert_file("alipayCertPublicKey_RSA2.crt")
//!     .alipay_root_cert_file("alipayRootCert.crt")
//!     .build()?;
//! let client = Client::new(config)?;
//! let created = client.call(&TradePrecreate::new("order-1", "88.88".parse()?, "Coffee")).await?;
//! println!("QR code {} (trace id {:?})", created.qr_code, created.trace_id());
//! # Ok(())
//! # }
//! ```
//!
//! The same against the local sandbox gateway (the `alipay-sandbox` package, or
//! `alipay sandbox` from the CLI), a whole verified payment:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use alipay_sdk::Client;
//! use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeStatus};
//!
//! let sandbox = alipay_sandbox::Sandbox::builder().start().await?;
//! let client = Client::new(sandbox.client_config().build()?)?;
//! client.call(&TradePrecreate::new("doc-1", "9.99".parse()?, "Tea")).await?;
//! sandbox.buyer_pays("doc-1")?;
//! let trade = client.call(&TradeQuery::by_out_trade_no("doc-1")).await?;
//! assert_eq!(trade.trade_status, TradeStatus::TradeSuccess);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The `notify_url` handler: verify the raw body (the client follows Alipay's certificate
//! rotation), check it against your order, answer `success` once processed:
//!
//! ```no_run
//! use alipay_sdk::notify::{Expected, Rule};
//!
//! # async fn handle(client: &alipay_sdk::Client, body: &[u8], content_type: Option<&str>) -> Result<&'static str, Box<dyn std::error::Error>> {
//! let verified = client.verify_notification((body, content_type), Rule::V1).await?;
//! let trade = verified.trade()?;
//! trade.check(&Expected { app_id: "2021000000000001", seller_id: None, total_amount: Some("88.88".parse()?) })?;
//! // … process the order once (redeliveries repeat notify_id) …
//! Ok(verified.ack())
//! # }
//! ```
//!
//! Logs: with any `tracing` subscriber (a plain `tracing_subscriber::fmt::init()` will do)
//! each call, notification check and certificate fetch is one INFO line with the method, the
//! outcome, the duration and Alipay's trace id (WARN when an answer is refused). Metrics: the
//! `metrics` feature (see `examples/prometheus.rs`).
//!
//! # Design
//!
//! An IO-free protocol core with thin drivers around it. The core is its own crate,
//! [`alipay_core`] (no tokio, reqwest, hyper or redis in its dependencies, checked in CI),
//! re-exported here module by module; this crate adds the drivers. The core knows what to
//! sign, what to send and how to judge what came back; it never touches a socket:
//!
//! - [`Config`] is built once (keys, certificates and SNs parsed and checked at
//!   [`ConfigBuilder::build`]) and signs requests ([`Config::sign_request`]) and verifies
//!   answers ([`Config::verify_response`]).
//! - [`flow::Call`] is the whole call as a state machine: sign → send → verify → an unknown
//!   `alipay_cert_sn` → fetch that certificate (single-flight, rate-limited, validated against
//!   the root bundle) → verify again. It tells its driver what to do next
//!   ([`flow::Step`]): send this request, sign this with a remote signer, wait for this
//!   turn, or done.
//! - The drivers, here: [`Client`] (async, reqwest with the operating system's trust store;
//!   feature `client`, on by default),
//!   [`blocking::Client`] (the async client on a runtime of its own, like `reqwest::blocking`),
//!   and any HTTP stack of yours (the loop in [`flow`], `examples/own_http.rs`).
//!
//! Seams for what comes next: key algorithms ([`key::KeyAlgorithm`], [`key::Signer`] and
//! [`key::RemoteSigner`] for keys kept in a KMS or HSM), Alipay-certificate storage ([`lifecycle::CertStorage`]), and the
//! [`flow::Goal`]s a call can have. The protocol facts the code follows, and why, are in
//! [`protocol`].
//!
//! The modules of the protocol core are re-exported here under the same names; the one
//! module map is [the core's](alipay_core#the-module-map). This crate adds:
//!
//! | module | driver |
//! |---|---|
//! | [`client`] (feature `client`, default) | the async [`Client`] over reqwest: gateway and v3 calls, remote signing, retries, bill download |
//! | [`blocking`] (feature `blocking`) | the blocking client, a façade over the async one on its own runtime |
//! | `redis_fleet` (feature `redis`) | a fleet on Redis: shared certificates, one download fleet-wide, once-only notifications |
//! | [`lifecycle::fleet`] (feature `redis`) | the fleet's waiting and shared-state IO on the backend's runtime |
//! | `bill` (feature `bill`) | the bill download (the parsing is the core's) |
//! | [`config_file`] | `alipay.toml` with environment-variable overrides |
//!
//! Features: `client` (default) the async [`Client`] over reqwest, `blocking` adds
//! [`blocking::Client`], `bill` the bill module, `redis` the fleet on Redis, `metrics` the
//! counters and histograms through the `metrics` facade, `vendored-openssl` a static OpenSSL
//! build. With no features
//! at all this crate is the core plus `alipay.toml` loading. The local sandbox gateway is the
//! `alipay-sandbox` package, the `alipay` command the `alipay-cli` package.
//!
//! Below the client, the core's pieces work alone: loading the four files of certificate mode,
//! once, and signing:
//!
//! ```
//! use alipay_sdk::cert::{CertificateChain, RootBundle};
//! use alipay_sdk::key::{PrivateKey, SignType};
//! # let pki = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki");
//!
//! // Load the four files of certificate mode once, at start-up.
//! let app_key = PrivateKey::from_path(pki.join("keys/app_pkcs1.pem"))?;
//! let app_cert = CertificateChain::from_path(pki.join("ca/app_cert.pem"))?.require_app_certificate()?;
//! let alipay_cert = CertificateChain::from_path(pki.join("ca/alipay_cert.pem"))?.require_alipay_certificate()?;
//! let roots = RootBundle::from_path(pki.join("ca/root_bundle.pem"))?;
//! app_key.check_matches(&app_cert)?;
//!
//! println!("app_cert_sn={} alipay_root_cert_sn={}", app_cert.sn(), roots.sn());
//! let signature = app_key.sign(b"a=1&b=2", SignType::Rsa2)?;
//! assert!(app_key.public_key().verify(b"a=1&b=2", &signature, SignType::Rsa2));
//! # let _ = alipay_cert;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The overview links the drivers, which exist only with their features; docs built without
// them leave those links as text instead of warning. The all-features build (docs.rs) still
// checks every link.
#![cfg_attr(not(all(feature = "blocking", feature = "client")), allow(rustdoc::broken_intra_doc_links))]

pub use alipay_core;
/// Every operation of Alipay's v3 interface description, typed (features `api-<family>` and
/// `api-all`); see [`alipay_core::api`].
#[cfg(feature = "api")]
#[cfg_attr(docsrs, doc(cfg(feature = "api")))]
pub use alipay_core::api;
pub use alipay_core::{
    aes, cert, charset, config, excerpt, flow, key, kind, model, notify, page, primitives, protocol, request, response,
    server, sm2, v3,
};

#[cfg(feature = "bill")]
#[cfg_attr(docsrs, doc(cfg(feature = "bill")))]
pub mod bill;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod config_file;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis_fleet;

pub mod lifecycle;

pub use alipay_core::{Error, ErrorKind, Outcome};
#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder};
pub use config::{Config, ConfigBuilder, ConfigError, ConfigErrorKind};
pub use flow::RetryPolicy;
pub use model::Traced;
pub use request::{Request, SignedRequest};
pub use response::VerifiedResponse;

/// The README's examples, compiled as doctests so it stays true (with the features its
/// examples need; the README's test command enables every feature).
#[cfg(all(doctest, feature = "redis", feature = "client"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// MIGRATION.md's examples, compiled as doctests.
#[cfg(all(doctest, feature = "client"))]
#[doc = include_str!("../MIGRATION.md")]
pub struct MigrationDoctests;
