//! # alipay-sdk
//!
//! An SDK for the Alipay open platform in **certificate mode** (公钥证书模式), and in plain
//! public-key mode for migrations: certificates and their SNs computed exactly as Alipay's Java
//! servers do, signed requests, responses verified by default (failing closed), notifications,
//! signed answers for ISV servers, Alipay certificate rotation and app key hot reload.
//!
//! One module per concept:
//!
//! | module | concept |
//! |---|---|
//! | [`cert`] | certificates, `app_cert_sn`, `alipay_cert_sn`, `alipay_root_cert_sn` |
//! | [`key`], [`kind`] | private and public keys, RSA2/RSA; what a file really is |
//! | [`config`], [`config_file`] | the client configuration (sans-IO core) and `alipay.toml` |
//! | [`request`], [`response`] | sign content and signed requests; verified responses, typed failures |
//! | [`client`], [`blocking`] | async and blocking transports (reqwest, OS trust store) |
//! | [`page`], [`model`] | page/app entry points; typed trade APIs, exact amounts |
//! | [`notify`], [`server`] | notifications and Alipay's calls; signed answers to Alipay |
//! | [`lifecycle`] | Alipay certificate store and rotation, app key pair reload, expiry |
//! | [`charset`], [`aes`] | UTF-8 / GBK; AES content encryption |
//!
//! Loading the four files of certificate mode, once, and signing:
//!
//! ```
//! use alipay_sdk::cert::{CertificateChain, RootBundle};
//! use alipay_sdk::key::{PrivateKey, SignType};
//! # let pki = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki");
//!
//! // Load the four files of certificate mode once, at start-up.
//! let app_key = PrivateKey::from_path(pki.join("keys/app_pkcs1.pem"))?;
//! let app_cert = CertificateChain::from_path(pki.join("ca/app_cert.pem"))?.expect_app_certificate()?;
//! let alipay_cert = CertificateChain::from_path(pki.join("ca/alipay_cert.pem"))?.expect_alipay_certificate()?;
//! let roots = RootBundle::from_path(pki.join("ca/root_bundle.pem"))?;
//! app_key.check_matches(&app_cert)?;
//!
//! println!("app_cert_sn={} alipay_root_cert_sn={}", app_cert.sn(), roots.sn());
//! let signature = app_key.sign(b"a=1&b=2", SignType::Rsa2)?;
//! assert!(app_key.public_key().verify(b"a=1&b=2", &signature, SignType::Rsa2));
//! # let _ = alipay_cert;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A whole verified payment against the local sandbox gateway (the `alipay-sandbox` package):
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
#![warn(missing_docs)]

pub mod aes;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cert;
pub mod charset;
pub mod client;
pub mod config;
pub mod config_file;
mod error;
pub mod flow;
mod der;
pub mod excerpt;
pub mod key;
pub mod kind;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod page;
mod pem;
pub mod request;
pub mod response;
pub mod server;

pub use client::{Client, ClientBuilder};
pub use error::{Error, ErrorKind};
pub use config::{Config, ConfigBuilder, ConfigError};
pub use request::{Request, SignedRequest};
pub use response::VerifiedResponse;

/// The README's examples, compiled as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// MIGRATION.md's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../MIGRATION.md")]
pub struct MigrationDoctests;
