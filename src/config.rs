//! Client configuration and the sans-IO core: sign requests, verify responses.
//!
//! A [`Config`] is built once; keys, certificates and SNs are parsed at [`ConfigBuilder::build`]
//! and never again per request. Users with their own HTTP stack call
//! [`Config::sign_request`] and [`Config::verify_response`] directly; the async and blocking
//! clients do the same around their transport.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::aes::AesKey;
use crate::cert::{CertError, CertificateChain, RootBundle};
use crate::charset::Charset;
use crate::key::{KeyError, PrivateKey, PublicKey, SignType};
use crate::lifecycle::{
    AlipayCertStore, AppIdentity, CertKind, ExpiryReport, IdentityCell, ReloadError, ReloadOutcome, WatchHandle,
};
use crate::notify::NotificationVerifier;
use crate::request::{self, Request, RequestError, SignedRequest};
use crate::response::{self, AlipayKeys, ResponseError, ResponseVerifier, VerifiedResponse};

/// Alipay's production gateway.
pub const PRODUCTION_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// Alipay's sandbox gateway.
pub const SANDBOX_GATEWAY: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

/// Where "now" comes from: injectable so tests never depend on today's date.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Why a configuration could not be built. Names the setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
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
    /// Both modes were configured for one client.
    #[error(
        "both certificate mode (app_cert/alipay_cert/alipay_root_cert) and public-key mode (alipay_public_key) \
         are configured; build one client per mode to run them side by side"
    )]
    BothModes,
    /// Certificate mode signs with RSA2 only.
    #[error("certificate mode uses sign_type RSA2; RSA (SHA1) exists only for old public-key-mode apps")]
    CertificateModeNeedsRsa2,
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
    /// The gateway URL is unusable.
    #[error("gateway {url:?} is not a usable URL: {detail}")]
    InvalidGateway {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
}

enum Source<T> {
    Loaded(T),
    File(PathBuf),
}

/// Builds a [`Config`].
pub struct ConfigBuilder {
    app_id: String,
    private_key: Option<Source<PrivateKey>>,
    app_cert: Option<Source<CertificateChain>>,
    alipay_certs: Vec<Source<CertificateChain>>,
    root: Option<Source<RootBundle>>,
    alipay_public_key: Option<Source<PublicKey>>,
    gateway: String,
    charset: Charset,
    sign_type: SignType,
    aes: Option<AesKey>,
    clock: Arc<dyn Clock>,
    alipay_cert_dir: Option<PathBuf>,
    strict_key_usage: bool,
    cert_retry_after: Duration,
    expiry_thresholds: Vec<i64>,
}

impl std::fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Settings only: never key material.
        f.debug_struct("ConfigBuilder")
            .field("app_id", &self.app_id)
            .field("gateway", &self.gateway)
            .field("charset", &self.charset)
            .field("sign_type", &self.sign_type)
            .field("certificate_mode", &(self.app_cert.is_some() || self.root.is_some()))
            .field("aes_key", &self.aes.is_some())
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Persist downloaded Alipay certificates here, and load the valid ones at build.
    pub fn alipay_cert_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.alipay_cert_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Check downloaded certificates' key usage strictly (RFC 5280); off by default, like
    /// Alipay's Java SDK, because Alipay's sandbox intermediate lacks `keyCertSign`.
    pub fn strict_key_usage(mut self, strict: bool) -> Self {
        self.strict_key_usage = strict;
        self
    }

    /// How long a rejected or failed certificate download is not retried (default 10 min).
    pub fn cert_retry_after(mut self, duration: Duration) -> Self {
        self.cert_retry_after = duration;
        self
    }

    /// Days-left thresholds for expiry warnings (default 30, 7, 1).
    pub fn expiry_thresholds(mut self, days: Vec<i64>) -> Self {
        self.expiry_thresholds = days;
        self
    }

    /// The app private key, already loaded.
    pub fn app_private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(Source::Loaded(key));
        self
    }

    /// The app private key file (PKCS#1, PKCS#8 or bare base64), loaded at build.
    pub fn app_private_key_file(mut self, path: impl AsRef<Path>) -> Self {
        self.private_key = Some(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// The app certificate (`appCertPublicKey_<app id>.crt`).
    pub fn app_cert(mut self, chain: CertificateChain) -> Self {
        self.app_cert = Some(Source::Loaded(chain));
        self
    }

    /// The app certificate file, loaded at build.
    pub fn app_cert_file(mut self, path: impl AsRef<Path>) -> Self {
        self.app_cert = Some(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// An Alipay certificate (`alipayCertPublicKey_RSA2.crt`); may be given several times
    /// (old and new during a rotation).
    pub fn alipay_cert(mut self, chain: CertificateChain) -> Self {
        self.alipay_certs.push(Source::Loaded(chain));
        self
    }

    /// An Alipay certificate file, loaded at build.
    pub fn alipay_cert_file(mut self, path: impl AsRef<Path>) -> Self {
        self.alipay_certs.push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// The Alipay root bundle (`alipayRootCert.crt`).
    pub fn alipay_root_cert(mut self, bundle: RootBundle) -> Self {
        self.root = Some(Source::Loaded(bundle));
        self
    }

    /// The Alipay root bundle file, loaded at build.
    pub fn alipay_root_cert_file(mut self, path: impl AsRef<Path>) -> Self {
        self.root = Some(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// Public-key mode: the Alipay public key.
    pub fn alipay_public_key(mut self, key: PublicKey) -> Self {
        self.alipay_public_key = Some(Source::Loaded(key));
        self
    }

    /// Public-key mode: the Alipay public key file, loaded at build.
    pub fn alipay_public_key_file(mut self, path: impl AsRef<Path>) -> Self {
        self.alipay_public_key = Some(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// The gateway URL ([`PRODUCTION_GATEWAY`] by default, [`SANDBOX_GATEWAY`], or any URL).
    pub fn gateway(mut self, url: impl Into<String>) -> Self {
        self.gateway = url.into();
        self
    }

    /// The request charset (UTF-8 by default).
    pub fn charset(mut self, charset: Charset) -> Self {
        self.charset = charset;
        self
    }

    /// The signature type (RSA2 by default; RSA only for old public-key-mode apps).
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The AES content-encryption key.
    pub fn aes_key(mut self, key: AesKey) -> Self {
        self.aes = Some(key);
        self
    }

    /// The clock used for timestamps and validity checks.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Loads and checks everything.
    pub fn build(self) -> Result<Config, ConfigError> {
        if self.app_id.trim().is_empty() {
            return Err(ConfigError::Missing { field: "app_id", hint: "the app id from the open-platform console" });
        }
        url::Url::parse(&self.gateway)
            .map_err(|e| ConfigError::InvalidGateway { url: self.gateway.clone(), detail: e.to_string() })
            .and_then(|url| match url.scheme() {
                "http" | "https" => Ok(()),
                other => Err(ConfigError::InvalidGateway {
                    url: self.gateway.clone(),
                    detail: format!("scheme {other:?} is not http or https"),
                }),
            })?;
        let key_field = |field| move |source| ConfigError::Key { field, source };
        let cert_field = |field| move |source| ConfigError::Cert { field, source };
        let mut key_file = None;
        let private_key = match self.private_key {
            Some(Source::Loaded(key)) => key,
            Some(Source::File(path)) => {
                key_file = Some(path.clone());
                PrivateKey::from_path(path).map_err(key_field("app_private_key"))?
            }
            None => {
                return Err(ConfigError::Missing {
                    field: "app_private_key",
                    hint: "the app private key (应用私钥) generated with the app's key pair",
                });
            }
        };
        let wants_cert_mode = self.app_cert.is_some() || !self.alipay_certs.is_empty() || self.root.is_some();
        if wants_cert_mode && self.alipay_public_key.is_some() {
            return Err(ConfigError::BothModes);
        }
        let mut cert_file = None;
        let (keys, cert_mode, app_cert) = if wants_cert_mode {
            if self.sign_type != SignType::Rsa2 {
                return Err(ConfigError::CertificateModeNeedsRsa2);
            }
            let mut missing = Vec::new();
            if self.app_cert.is_none() {
                missing.push("app_cert");
            }
            if self.alipay_certs.is_empty() {
                missing.push("alipay_cert");
            }
            if self.root.is_none() {
                missing.push("alipay_root_cert");
            }
            if !missing.is_empty() {
                return Err(ConfigError::IncompleteCertificateMode { missing });
            }
            let app_cert = match self.app_cert.expect("checked") {
                Source::Loaded(chain) => chain,
                Source::File(path) => {
                    cert_file = Some(path.clone());
                    CertificateChain::from_path(path).map_err(cert_field("app_cert"))?
                }
            }
            .expect_app_certificate()
            .map_err(cert_field("app_cert"))?;
            private_key.check_matches(&app_cert).map_err(ConfigError::KeyMismatch)?;
            let root = match self.root.expect("checked") {
                Source::Loaded(bundle) => bundle,
                Source::File(path) => RootBundle::from_path(path).map_err(cert_field("alipay_root_cert"))?,
            };
            let mut alipay_certs = Vec::new();
            for source in self.alipay_certs {
                let chain = match source {
                    Source::Loaded(chain) => chain,
                    Source::File(path) => CertificateChain::from_path(path).map_err(cert_field("alipay_cert"))?,
                }
                .expect_alipay_certificate()
                .map_err(cert_field("alipay_cert"))?;
                alipay_certs.push(chain);
            }
            let mut store = AlipayCertStore::new(alipay_certs)
                .map_err(key_field("alipay_cert"))?
                .with_roots(root.clone())
                .with_clock(self.clock.clone())
                .strict(self.strict_key_usage)
                .retry_after(self.cert_retry_after);
            if let Some(dir) = &self.alipay_cert_dir {
                store = store.persist_to(dir).map_err(|source| ConfigError::CertDir { path: dir.clone(), source })?;
            }
            let store = Arc::new(store);
            (AlipayKeys::Store(store.clone()), Some(CertMode { root, store }), Some(app_cert))
        } else {
            let public = match self.alipay_public_key {
                Some(Source::Loaded(key)) => key,
                Some(Source::File(path)) => PublicKey::from_path(path).map_err(key_field("alipay_public_key"))?,
                None => {
                    return Err(ConfigError::Missing {
                        field: "alipay_cert or alipay_public_key",
                        hint: "configure certificate mode (app_cert, alipay_cert, alipay_root_cert) \
                               or public-key mode (alipay_public_key)",
                    });
                }
            };
            (AlipayKeys::PublicKey(public), None, None)
        };
        let files = key_file.map(|key| (key, cert_file));
        let identity = Arc::new(IdentityCell::new(private_key, app_cert, files, self.clock.clone()));
        Ok(Config {
            app_id: self.app_id,
            identity,
            expiry_thresholds: self.expiry_thresholds,
            sign_type: self.sign_type,
            charset: self.charset,
            gateway: self.gateway,
            cert_mode,
            verifier: ResponseVerifier {
                charset: self.charset,
                sign_type: self.sign_type,
                keys,
                aes: self.aes.clone(),
            },
            aes: self.aes,
            clock: self.clock,
        })
    }
}

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

/// A loaded, checked configuration: the sans-IO core of the clients.
#[derive(Debug)]
pub struct Config {
    app_id: String,
    identity: Arc<IdentityCell>,
    expiry_thresholds: Vec<i64>,
    sign_type: SignType,
    charset: Charset,
    gateway: String,
    cert_mode: Option<CertMode>,
    verifier: ResponseVerifier,
    aes: Option<AesKey>,
    clock: Arc<dyn Clock>,
}

impl Config {
    /// Starts a configuration for `app_id`.
    pub fn builder(app_id: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            app_id: app_id.into(),
            private_key: None,
            app_cert: None,
            alipay_certs: Vec::new(),
            root: None,
            alipay_public_key: None,
            gateway: PRODUCTION_GATEWAY.to_string(),
            charset: Charset::Utf8,
            sign_type: SignType::Rsa2,
            aes: None,
            clock: Arc::new(SystemClock),
            alipay_cert_dir: None,
            strict_key_usage: false,
            cert_retry_after: Duration::from_secs(600),
            expiry_thresholds: vec![30, 7, 1],
        }
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The gateway URL.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    /// The charset.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The signature type.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// Certificate-mode details, or `None` in public-key mode.
    pub fn cert_mode(&self) -> Option<&CertMode> {
        self.cert_mode.as_ref()
    }

    /// `app_cert_sn` the next request will carry (certificate mode).
    pub fn app_cert_sn(&self) -> Option<String> {
        self.identity.current().app_cert_sn().map(str::to_string)
    }

    /// The app key pair the next request will be signed with.
    pub fn app_identity(&self) -> Arc<AppIdentity> {
        self.identity.current()
    }

    /// The app key pair and how it is reloaded.
    pub fn identity_cell(&self) -> &Arc<IdentityCell> {
        &self.identity
    }

    /// Re-reads the app key and certificate files; swaps them in if they changed and are valid.
    pub fn reload_app_identity(&self) -> Result<ReloadOutcome, ReloadError> {
        self.identity.reload()
    }

    /// Watches the app key and certificate files and reloads them when they change.
    pub fn watch_app_identity(&self, interval: Duration) -> Result<WatchHandle, ReloadError> {
        self.identity.watch(interval)
    }

    /// Every certificate (app, Alipay, roots) with its days left, from the configured clock.
    pub fn expiry_report(&self) -> ExpiryReport {
        let identity = self.identity.current();
        let mut certificates = Vec::new();
        if let Some(app) = identity.cert() {
            certificates.push((CertKind::App, app.leaf().clone()));
        }
        if let Some(mode) = &self.cert_mode {
            let mut stored = mode.store.entries();
            stored.sort_by(|a, b| a.chain.sn().cmp(b.chain.sn()));
            certificates.extend(stored.iter().map(|c| (CertKind::Alipay, c.chain.leaf().clone())));
            certificates.extend(mode.root.rsa_roots().iter().map(|r| (CertKind::Root, r.clone())));
            certificates
                .extend(mode.root.skipped().iter().filter_map(|s| s.certificate.clone()).map(|c| (CertKind::Root, c)));
        }
        ExpiryReport::build(certificates.iter().map(|(k, c)| (*k, c)), self.clock.now(), &self.expiry_thresholds)
    }

    /// [`Self::expiry_report`], logging a warning for each certificate past a threshold.
    pub fn check_expiry(&self) -> ExpiryReport {
        let report = self.expiry_report();
        report.warn();
        report
    }

    /// A verifier for notifications and Alipay's calls, sharing this configuration's keys.
    pub fn notification_verifier(&self) -> NotificationVerifier {
        match &self.cert_mode {
            Some(mode) => NotificationVerifier::from_store(mode.store.clone()),
            None => match &self.verifier.keys {
                AlipayKeys::PublicKey(key) => NotificationVerifier::public_key(key.clone()),
                AlipayKeys::Store(store) => NotificationVerifier::from_store(store.clone()),
            },
        }
        .with_sign_type(self.sign_type)
    }

    /// `alipay_root_cert_sn` sent with every request (certificate mode).
    pub fn alipay_root_cert_sn(&self) -> Option<&str> {
        self.cert_mode.as_ref().map(|m| m.root.sn())
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The AES key, if configured.
    pub fn aes_key(&self) -> Option<&AesKey> {
        self.aes.as_ref()
    }

    /// An IO-free gateway call for `request`, signed now ([`crate::flow`]).
    pub fn start_call(&self, request: &Request) -> Result<crate::flow::Call<'_, crate::flow::Gateway>, crate::Error> {
        crate::flow::Call::gateway(self, request)
    }

    /// An IO-free check of a notification's raw form body ([`crate::flow`]): it may need to
    /// fetch the Alipay certificate the notification names.
    pub fn start_notification(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        rule: crate::notify::Rule,
    ) -> Result<crate::flow::Call<'_, crate::flow::Notification>, crate::Error> {
        crate::flow::Call::notification(self, body, content_type, rule)
    }

    /// An IO-free fetch of the Alipay certificate `sn` ([`crate::flow`]).
    pub fn start_fetch(&self, sn: &str) -> crate::flow::Call<'_, crate::flow::Fetch> {
        crate::flow::Call::fetch(self, sn)
    }

    /// Signs a request: adds the system parameters, signs, splits query and body.
    pub fn sign_request(&self, request: &Request) -> Result<SignedRequest, RequestError> {
        let method = &request.method;
        let timestamp = request::format_timestamp(self.clock.now());
        let mut query: Vec<(String, String)> = vec![
            ("app_id".into(), self.app_id.clone()),
            ("method".into(), method.clone()),
            ("format".into(), "JSON".into()),
            ("charset".into(), self.charset.as_str().into()),
            ("sign_type".into(), self.sign_type.as_str().into()),
            ("timestamp".into(), timestamp),
            ("version".into(), "1.0".into()),
        ];
        // One snapshot: the key that signs and the SN sent always belong together.
        let identity = self.identity.current();
        if let Some(mode) = &self.cert_mode {
            let app_cert_sn = identity.app_cert_sn().unwrap_or_default();
            query.push(("app_cert_sn".into(), app_cert_sn.to_string()));
            query.push(("alipay_root_cert_sn".into(), mode.root.sn().to_string()));
        }
        let optional = [
            ("notify_url", &request.notify_url),
            ("return_url", &request.return_url),
            ("app_auth_token", &request.app_auth_token),
            ("auth_token", &request.auth_token),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                query.push((name.into(), value.clone()));
            }
        }
        let mut body: Vec<(String, String)> = Vec::new();
        if let Some(biz) = &request.biz_content {
            let biz = biz
                .as_ref()
                .map_err(|detail| RequestError::BizContent { method: method.clone(), detail: detail.clone() })?;
            let value = if request.encrypt {
                let aes = self.aes.as_ref().ok_or_else(|| RequestError::NoAesKey { method: method.clone() })?;
                query.push(("encrypt_type".into(), "AES".into()));
                aes.encrypt(&self.charset.encode(biz, "biz_content")?)
            } else {
                biz.clone()
            };
            body.push(("biz_content".into(), value));
        } else if request.encrypt {
            return Err(RequestError::BizContent {
                method: method.clone(),
                detail: "encrypt(true) needs biz_content".into(),
            });
        }
        for (target, extras) in [(&mut query, &request.system_params), (&mut body, &request.app_params)] {
            for (name, value) in extras {
                if request::RESERVED.contains(&name.as_str()) {
                    return Err(RequestError::ReservedParameter { method: method.clone(), name: name.clone() });
                }
                target.push((name.clone(), value.clone()));
            }
        }
        let mut names: Vec<&str> = query.iter().chain(body.iter()).map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(RequestError::DuplicateParameter { method: method.clone(), name: pair[0].to_string() });
        }
        let sign_content =
            request::sign_content(query.iter().chain(body.iter()).map(|(k, v)| (k.as_str(), v.as_str())));
        let encoded = self.charset.encode(&sign_content, "sign content")?;
        let sign = identity.key().sign(&encoded, self.sign_type)?;
        query.push(("sign".into(), sign));
        Ok(SignedRequest {
            method: method.clone(),
            charset: self.charset,
            query,
            body,
            files: request.files.clone(),
            sign_content,
        })
    }

    /// Verifies a raw response body for `method`.
    pub fn verify_response(&self, method: &str, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
        self.verifier.verify(method, body)
    }

    /// Verifies the response to `signed`, attaching our sign content to an
    /// `isv.invalid-signature` answer so it can be compared with the gateway's.
    pub fn verify_response_to(&self, signed: &SignedRequest, body: &[u8]) -> Result<VerifiedResponse, ResponseError> {
        let is_invalid_signature =
            |failure: &response::Failure| failure.sub_code.as_deref() == Some("isv.invalid-signature");
        match self.verify_response(&signed.method, body) {
            Err(ResponseError::Business(mut error)) if is_invalid_signature(&error.failure) => {
                error.request_sign_content = Some(crate::excerpt::sign_content(&signed.sign_content));
                error.request_sign_content_len = Some(signed.sign_content_len());
                Err(ResponseError::Business(error))
            }
            Err(ResponseError::Unverified(mut error)) if is_invalid_signature(&error.failure) => {
                error.request_sign_content = Some(crate::excerpt::sign_content(&signed.sign_content));
                error.request_sign_content_len = Some(signed.sign_content_len());
                Err(ResponseError::Unverified(error))
            }
            other => other,
        }
    }

    /// The response verifier of this configuration.
    pub fn verifier(&self) -> &ResponseVerifier {
        &self.verifier
    }
}
