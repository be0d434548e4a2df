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
//! | module | concept |
//! |---|---|
//! | [`cert`] | certificates, `app_cert_sn`, `alipay_cert_sn`, `alipay_root_cert_sn` |
//! | [`key`], [`sm2`], [`kind`] | key algorithms (RSA, SM2), private and public keys, signers; SM3withSM2 with Alipay's user id; what a file really is |
//! | [`config`] | the IO-free configuration |
//! | [`request`], [`response`] | sign content and signed requests; verified responses, typed failures |
//! | [`v3`] | OpenAPI v3: header-signed REST requests and answers |
//! | [`flow`] | the call flow as a state machine, for any driver; the retry policy every driver follows |
//! | [`page`], [`model`] | page/app entry points; typed APIs, exact amounts |
//! | [`notify`], [`form`], [`server`] | notifications and their form bodies; Alipay's calls; signed answers to Alipay |
//! | [`lifecycle`] | certificate store and single-flight, storage, fleet coordination seam, app key pair reload, expiry |
//! | `bill` (feature `bill`) | the daily bill's archive and GBK CSV into typed rows (no HTTP) |
//! | [`charset`], [`aes`], [`excerpt`] | UTF-8 / GBK; content encryption (AES, AES_V2, SM4 over an internal GCM); bounded error excerpts |
//! | [`primitives`] | the protocol's building blocks (sign contents, signing as Alipay does), for tools, servers playing Alipay's side and tests |
//! | [`random`] | random bytes, UUIDs and jitter, with one policy for a failing source |
//! | [`protocol`] | the protocol facts and their reasons (documentation only) |
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

pub mod aes;
#[cfg(feature = "bill")]
#[cfg_attr(docsrs, doc(cfg(feature = "bill")))]
pub mod bill;
pub mod cert;
pub mod charset;
pub mod config;
mod der;
mod error;
pub mod excerpt;
pub mod flow;
pub mod form;
mod gcm;
pub mod key;
pub mod kind;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod page;
mod pem;
mod pkcs1;
pub mod primitives;
pub mod protocol;
pub mod random;
pub mod request;
pub mod response;
pub mod server;
pub mod sm2;
pub mod v3;

pub use config::{Config, ConfigBuilder, ConfigError, ConfigErrorKind};
pub use error::{Error, ErrorKind, Outcome};
pub use flow::RetryPolicy;
pub use request::{Request, SignedRequest};
pub use response::VerifiedResponse;
