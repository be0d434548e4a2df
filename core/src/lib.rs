//! # alipay-core
//!
//! The protocol core of [alipay-sdk](https://docs.rs/alipay-sdk) for the Alipay open platform in
//! **certificate mode** (公钥证书模式), and in plain public-key mode: certificates and their SNs
//! computed exactly as Alipay's Java servers do, signed requests, verified answers (failing
//! closed), notifications, signed answers for ISV servers, Alipay certificate rotation.
//!
//! **IO-free and runtime-free by construction.** This crate depends on no async runtime and no
//! HTTP stack (no tokio, reqwest, hyper or redis: CI checks `cargo tree -p alipay-core -e
//! normal`). It knows what to sign, what to send and how to judge what came back; a driver does
//! the sending, the waiting and the sleeping:
//!
//! - [`Config`] is built once (keys, certificates and SNs parsed and checked at
//!   [`ConfigBuilder::build`]) and signs requests ([`Config::sign_request`]) and verifies
//!   answers ([`Config::verify_response`]).
//! - [`flow::Call`] is the whole call as a state machine: sign → send → verify → an unknown
//!   `alipay_cert_sn` → fetch that certificate (single-flight, rate-limited, validated against
//!   the root bundle) → verify again. It tells its driver what to do next ([`flow::Step`]):
//!   send this request, sign this content with a remote signer, wait for this turn, or done.
//! - The drivers live elsewhere: the `alipay-sdk` crate's async (reqwest) and blocking clients,
//!   its Redis fleet, and any HTTP stack of yours (the loop in [`flow`]).
//!
//! Seams: key algorithms ([`key::KeyAlgorithm`]), signers kept in a KMS or HSM
//! ([`key::Signer`] inline, [`key::RemoteSigner`] as a flow step), Alipay-certificate storage
//! ([`lifecycle::CertStorage`]) and fleet coordination ([`lifecycle::fleet::FleetCoordinator`]).
//! The protocol facts the code follows, and why, are in [`protocol`].
//!
//! # The module map
//!
//! The one map of the code (the `alipay-sdk` crate re-exports these modules and adds its
//! drivers). Folders are the architecture; the modules users name are public at the root.
//!
//! | folder | modules | concept |
//! |---|---|---|
//! | `config/` | [`config`] | the configuration: built once, keys and certificates parsed and checked at build |
//! | `flow/` | [`flow`] | the call as a state machine ([`flow::Call`], [`flow::Step`]), how each call starts (`flow/start.rs`), the certificate download step (`flow/download.rs`), the [`RetryPolicy`] |
//! | `gateway/` | [`request`], [`response`], [`page`] | the gateway protocol: sign content and signed requests, verified answers, page/app entry points |
//! | `v3/` | [`v3`] | OpenAPI v3: header-signed REST requests and answers |
//! | `inbound/` | [`notify`] (with its [`Form`](notify::Form)), [`server`] | what Alipay sends: form bodies, notifications and returns, signed answers to Alipay's calls |
//! | `certs/` | [`cert`], [`lifecycle`] | certificates and SNs as Alipay computes them; the Alipay certificate store, rotation, storage, fleet seam, key reload, expiry |
//! | `crypto/` | [`key`], [`sm2`], [`aes`] | key algorithms, keys, inline and remote signers; SM3withSM2; content encryption (AES, AES_V2, SM4-GCM through RustCrypto's `aes-gcm` and `sm4`) |
//! | `encoding/` | [`charset`], [`kind`], [`excerpt`] | DER and PEM readers, what a file really is, Java-exact charsets, bounded excerpts |
//! | `error/` | [`Error`], [`ErrorKind`], [`Outcome`] | the call-level error; each layer's error is one pointer wide (`layer_error!`) |
//! | `model/` | [`model`] | typed APIs, the one exact signed [`Amount`](model::Amount), [`Traced`] responses |
//! | `bill/` | `bill` (feature `bill`) | the daily bill's archive and GBK CSV into typed rows (no HTTP) |
//! | `operations/` | (as [`v3::operation`]) | Alipay's operation table from its v3 description (generated): each method's verb, path and parameters; a leaf, so the gateway can point a refused method to its v3 form |
//! | `api/` | `api` (features `api-<family>`, `api-all`) | every operation of Alipay's v3 description typed for both protocols, generated (`cargo run -p alipay-codegen`) |
//! | | [`primitives`] | the protocol's building blocks (sign contents, signing as Alipay does) for tools, servers playing Alipay's side and tests |
//! | | [`random`] | random bytes, UUIDs and jitter, with one policy for a failing source |
//! | | [`protocol`] | the protocol facts and their reasons (documentation only) |
//! | | `wire`, `clock`, `future`, `macros`, `metrics` | leaves every layer may use: HTTP request/response values (re-exported from [`flow`]), the [`Clock`](config::Clock), the boxed future of the async seams, `layer_error!`, the metrics hooks (feature `metrics`) |
//!
//! The folders depend on each other without cycles (a module never reaches, through `crate::`
//! paths, a module that reaches back to it): `core/tests/layering.rs` reads every `use crate::…`
//! and fails on an edge that closes a cycle.
//!
//! Loading the four files of certificate mode, once, and signing:
//!
//! ```
//! use alipay_core::cert::{CertificateChain, RootBundle};
//! use alipay_core::key::{PrivateKey, SignType};
//! # let pki = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
//!
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

// The folders show the architecture; the modules users name are re-exported flat below.
#[macro_use]
mod macros;
mod certs;
mod clock;
mod crypto;
mod encoding;
mod error;
mod future;
mod gateway;
mod inbound;
mod metrics;
mod operations;
mod wire;

// Not in the core's own unit-test build: those tests never touch the generated models (the
// SDK's `tests/protocol/api_models.rs` checks every one), and compiling ~5 MB of models a
// second time would cost every `cargo test --all-features` a minute.
#[cfg(all(feature = "api", not(test)))]
#[cfg_attr(docsrs, doc(cfg(feature = "api")))]
pub mod api;
#[cfg(feature = "bill")]
#[cfg_attr(docsrs, doc(cfg(feature = "bill")))]
pub mod bill;
pub mod config;
pub mod flow;
pub mod model;
pub mod primitives;
pub mod protocol;
pub mod random;
pub mod v3;

pub use certs::{cert, lifecycle};
pub use crypto::{aes, key, sm2};
pub use encoding::{charset, excerpt, kind};
pub use gateway::{page, request, response};
pub use inbound::{notify, server};

// Crate-internal short paths to the private modules.
use encoding::{der, pem};

pub use config::{Config, ConfigBuilder, ConfigError, ConfigErrorKind};
pub use error::{Error, ErrorKind, Outcome};
pub use flow::RetryPolicy;
pub use model::Traced;
pub use request::{Request, SignedRequest};
pub use response::VerifiedResponse;
