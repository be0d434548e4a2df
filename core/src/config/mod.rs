//! The client configuration: the IO-free core every driver shares.
//!
//! A [`Config`] is built once; keys, certificates and SNs are parsed at
//! [`ConfigBuilder::build`] and never again per request. One module per job:
//!
//! | module | job |
//! |---|---|
//! | `builder` | [`ConfigBuilder`]: the two modes, chosen by the builder's shape, and loading |
//! | `clock` | [`Clock`]: where "now" comes from |
//! | `signing` | [`Config::sign_request`]: system parameters, sign content, signature |
//! | `verifying` | [`Config::verify_response`], notifications, the IO-free flows |
//! | `lifecycle` | app key pair reload and watch, expiry report |

use std::path::PathBuf;
use std::sync::Arc;

use crate::aes::AesKey;
use crate::cert::{CertError, RootBundle};
use crate::charset::Charset;
use crate::key::{KeyError, SignType};
use crate::lifecycle::{AlipayCertStore, IdentityCell};
use crate::response::ResponseVerifier;

mod builder;

mod lifecycle;
pub(crate) mod signing;
pub(crate) mod v3;
mod verifying;

pub use crate::clock::{Clock, SystemClock};
pub use builder::{CertificateMode, ConfigBuilder, EitherMode, PublicKeyMode, Undecided};

/// Alipay's production gateway.
pub const PRODUCTION_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// Alipay's sandbox gateway.
pub const SANDBOX_GATEWAY: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

/// Why a configuration could not be built. Names the setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A required setting is missing.
    #[error("missing setting {field}: {hint}")]
    Missing {
        /// The setting.
        field: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// Certificate mode is only partly configured.
    #[error("certificate mode needs app_cert, alipay_cert and alipay_root_cert; missing: {}", missing.join(", "))]
    IncompleteCertificateMode {
        /// The missing settings.
        missing: Vec<&'static str>,
    },
    /// Certificate mode signs with RSA2 or SM2 only.
    #[error(
        "certificate mode uses sign_type RSA2 (or SM2 with SM2 keys and certificates); RSA (SHA1) exists only for old public-key-mode apps"
    )]
    CertificateModeNeedsRsa2,
    /// An Alipay certificate or public key is of another algorithm than `sign_type`.
    #[error(
        "{field}: {origin} holds {found} key, but sign_type {sign_type} verifies Alipay's signatures with {} keys; \
         use the Alipay certificate / public key issued for {sign_type}",
        sign_type.algorithm()
    )]
    AlipayKeyAlgorithm {
        /// The setting.
        field: &'static str,
        /// The file or label.
        origin: String,
        /// The key's algorithm.
        found: crate::key::KeyAlgorithm,
        /// The configured signature type.
        sign_type: SignType,
    },
    /// An Alipay certificate or public key whose RSA key is too weak to trust: too short, or an
    /// exponent that is even or under 65537 (e = 1 makes any encoding its own signature).
    #[error("{field}: {origin} holds {weakness}; this is not an Alipay key (Alipay's are RSA-2048, e = 65537)")]
    WeakAlipayKey {
        /// The setting.
        field: &'static str,
        /// The file or label.
        origin: String,
        /// What is wrong with the key.
        weakness: String,
    },
    /// A key setting could not be loaded.
    #[error("{field}: {source}")]
    Key {
        /// The setting.
        field: &'static str,
        /// The key error.
        source: KeyError,
    },
    /// A certificate setting could not be loaded.
    #[error("{field}: {source}")]
    Cert {
        /// The setting.
        field: &'static str,
        /// The certificate error.
        source: CertError,
    },
    /// The app private key does not belong to the app certificate.
    #[error("app_private_key does not match app_cert: {0}")]
    KeyMismatch(KeyError),
    /// The Alipay certificate directory cannot be used.
    #[error("alipay_cert_dir {path}: {source}")]
    CertDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Public-key mode was given the app's own public key as the Alipay public key.
    #[error(
        "alipay_public_key {origin} is the app's own public key (应用公钥), the other half of app_private_key; \
         use the Alipay public key (支付宝公钥) shown beside it in the open-platform console"
    )]
    AlipayKeyIsAppKey {
        /// Where the key came from.
        origin: String,
    },
    /// The Alipay certificate storage could not be read.
    #[error("alipay_cert_storage: {0}")]
    Storage(crate::lifecycle::StorageError),
    /// The gateway URL is unusable.
    #[error("gateway {url:?} is not a usable URL: {detail}")]
    InvalidGateway {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
}

crate::layer_error!(
    /// Why a configuration could not be built; see [`ConfigErrorKind`], which names the setting at fault.
    ///
    /// One pointer wide; [`ConfigError::kind`] says what went wrong.
    ConfigError => ConfigErrorKind
);

/// What certificate mode adds to a configuration.
#[derive(Debug, Clone)]
pub struct CertMode {
    root: RootBundle,
    store: Arc<AlipayCertStore>,
}

impl CertMode {
    /// The root bundle.
    pub fn root(&self) -> &RootBundle {
        &self.root
    }

    /// The Alipay certificates, configured and downloaded.
    pub fn store(&self) -> &Arc<AlipayCertStore> {
        &self.store
    }
}

/// A loaded, checked configuration: the sans-IO core of the clients. Cheap to clone (one
/// reference count): clones share everything, the Alipay certificate store and the app
/// identity included.
#[derive(Debug, Clone)]
pub struct Config {
    inner: Arc<ConfigInner>,
}

/// What a [`Config`] holds, shared by its clones.
#[derive(Debug)]
pub(crate) struct ConfigInner {
    app_id: String,
    identity: Arc<IdentityCell>,
    expiry_thresholds: Vec<i64>,
    sign_type: SignType,
    charset: Charset,
    gateway: String,
    /// The gateway's origin, where OpenAPI v3 paths go.
    v3_endpoint: String,
    cert_mode: Option<CertMode>,
    verifier: ResponseVerifier,
    aes: Option<AesKey>,
    clock: Arc<dyn Clock>,
    /// How far a v3 answer's `alipay-timestamp` may be from the clock.
    v3_answer_window: std::time::Duration,
}

/// The default for [`ConfigBuilder::v3_answer_window`]: 15 minutes.
pub const DEFAULT_V3_ANSWER_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Config {
    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The gateway URL.
    pub fn gateway(&self) -> &str {
        &self.inner.gateway
    }

    /// The charset.
    pub fn charset(&self) -> Charset {
        self.inner.charset
    }

    /// The signature type.
    pub fn sign_type(&self) -> SignType {
        self.inner.sign_type
    }

    /// Certificate-mode details, or `None` in public-key mode.
    pub fn cert_mode(&self) -> Option<&CertMode> {
        self.inner.cert_mode.as_ref()
    }

    /// `alipay_root_cert_sn` sent with every request (certificate mode).
    pub fn alipay_root_cert_sn(&self) -> Option<&str> {
        self.inner.cert_mode.as_ref().map(|m| m.root.sn())
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The AES key, if configured.
    pub fn aes_key(&self) -> Option<&AesKey> {
        self.inner.aes.as_ref()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clone_shares_everything_for_one_reference_count() {
        let pki = |p: &str| format!("{}/../testdata/pki/{p}", env!("CARGO_MANIFEST_DIR"));
        let config = super::Config::builder("2021000000000001")
            .app_private_key_file(pki("keys/app_pkcs8.pem"))
            .app_cert_file(pki("ca/app_cert.pem"))
            .alipay_cert_file(pki("ca/alipay_cert.pem"))
            .alipay_root_cert_file(pki("ca/root_bundle.pem"))
            .build()
            .unwrap();
        let clone = config.clone();
        assert!(std::sync::Arc::ptr_eq(&config.inner, &clone.inner));
        assert!(std::sync::Arc::ptr_eq(config.cert_mode().unwrap().store(), clone.cert_mode().unwrap().store()));
        assert_eq!(std::mem::size_of::<super::Config>(), std::mem::size_of::<usize>());
    }
}
