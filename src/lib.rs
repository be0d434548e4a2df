//! # alipay-sdk
//!
//! An SDK for the Alipay open platform in **certificate mode** (公钥证书模式), and in plain
//! public-key mode for migrations.
//!
//! The crate is laid out one module per concept:
//!
//! - [`cert`]: certificates, `app_cert_sn`, `alipay_cert_sn` and `alipay_root_cert_sn`,
//!   computed exactly as Alipay's Java servers do;
//! - [`key`]: the app private key, the Alipay public key, RSA2/RSA signatures;
//! - [`kind`]: telling what a key or certificate file really is, for clear errors.
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
#![warn(missing_docs)]

pub mod aes;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cert;
pub mod charset;
pub mod client;
pub mod config;
pub mod config_file;
mod der;
pub mod key;
pub mod kind;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod page;
mod pem;
pub mod request;
pub mod response;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;

pub use client::{Client, Error};
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
