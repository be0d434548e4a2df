//! Building a [`Config`]: see [`ConfigBuilder`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{CertMode, Config, ConfigError, ConfigErrorKind, ConfigInner, PRODUCTION_GATEWAY};
use crate::aes::AesKey;
use crate::cert::{CertificateChain, RootBundle};
use crate::charset::Charset;
use crate::clock::{Clock, SystemClock};
use crate::key::{KeyErrorKind, PrivateKey, PublicKey, SignType, Signer};
use crate::lifecycle::fleet::{FleetCoordinator, FleetSettings};
use crate::lifecycle::{AlipayCertStore, CertStorage, DirStorage, IdentityCell};
use crate::response::{AlipayKeys, ResponseVerifier};

#[derive(Debug)]
enum Source<T> {
    Loaded(T),
    File(PathBuf),
}

impl<T> Source<T> {
    fn load<E>(self, read: impl FnOnce(PathBuf) -> Result<T, E>) -> Result<T, E> {
        match self {
            Source::Loaded(value) => Ok(value),
            Source::File(path) => read(path),
        }
    }
}

/// The settings both modes share.
struct Common {
    app_id: String,
    signer: Option<Source<Arc<dyn Signer>>>,
    gateway: String,
    charset: Charset,
    sign_type: SignType,
    aes: Option<AesKey>,
    clock: Arc<dyn Clock>,
    expiry_thresholds: Vec<i64>,
    v3_answer_window: Duration,
}

/// No mode chosen yet.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Undecided;

/// Certificate mode (公钥证书模式): app certificate, Alipay certificate(s), root bundle.
#[derive(Debug)]
pub struct CertificateMode {
    app_cert: Option<Source<CertificateChain>>,
    alipay_certs: Vec<Source<CertificateChain>>,
    root: Option<Source<RootBundle>>,
    storage: Option<StorageSetting>,
    fleet: Option<Arc<dyn FleetCoordinator>>,
    fleet_settings: FleetSettings,
    strict_key_usage: bool,
    cert_retry_after: Duration,
    download_limit: Option<(u32, Duration)>,
}

#[derive(Debug)]
enum StorageSetting {
    Dir(PathBuf),
    Custom(Arc<dyn CertStorage>),
}

/// Public-key mode (普通公钥模式): the Alipay public key.
#[derive(Debug)]
pub struct PublicKeyMode {
    alipay_public_key: Option<Source<PublicKey>>,
}

/// A mode chosen at run time, from a configuration file.
#[derive(Debug)]
pub enum EitherMode {
    /// Certificate mode.
    Certificate(Box<CertificateMode>),
    /// Public-key mode.
    PublicKey(PublicKeyMode),
}

impl Default for CertificateMode {
    fn default() -> Self {
        CertificateMode {
            app_cert: None,
            alipay_certs: Vec::new(),
            root: None,
            storage: None,
            fleet: None,
            fleet_settings: FleetSettings::default(),
            strict_key_usage: false,
            cert_retry_after: Duration::from_secs(600),
            download_limit: None,
        }
    }
}

mod sealed {
    /// Modes that certificate-mode settings can be added to.
    pub trait ToCertificate {
        fn to_certificate(self) -> super::CertificateMode;
    }
    /// Modes the Alipay public key can be added to.
    pub trait ToPublicKey {
        fn to_public_key(self) -> super::PublicKeyMode;
    }
    /// Modes a configuration can be built from.
    pub trait Buildable {
        fn into_either(self) -> Result<super::EitherMode, super::ConfigError>;
    }
}

use sealed::{Buildable, ToCertificate, ToPublicKey};

impl ToCertificate for Undecided {
    fn to_certificate(self) -> CertificateMode {
        CertificateMode::default()
    }
}

impl ToCertificate for CertificateMode {
    fn to_certificate(self) -> CertificateMode {
        self
    }
}

impl ToPublicKey for Undecided {
    fn to_public_key(self) -> PublicKeyMode {
        PublicKeyMode { alipay_public_key: None }
    }
}

impl ToPublicKey for PublicKeyMode {
    fn to_public_key(self) -> PublicKeyMode {
        self
    }
}

impl Buildable for Undecided {
    fn into_either(self) -> Result<EitherMode, ConfigError> {
        Err(ConfigErrorKind::Missing {
            field: "alipay_cert or alipay_public_key",
            hint: "configure certificate mode (app_cert, alipay_cert, alipay_root_cert) \
                   or public-key mode (alipay_public_key)",
        }
        .into())
    }
}

impl Buildable for CertificateMode {
    fn into_either(self) -> Result<EitherMode, ConfigError> {
        Ok(EitherMode::Certificate(Box::new(self)))
    }
}

impl Buildable for PublicKeyMode {
    fn into_either(self) -> Result<EitherMode, ConfigError> {
        Ok(EitherMode::PublicKey(self))
    }
}

impl Buildable for EitherMode {
    fn into_either(self) -> Result<EitherMode, ConfigError> {
        Ok(self)
    }
}

/// Building a [`Config`]: certificate mode or public-key mode, chosen by the builder's shape.
///
/// [`Config::builder`] starts [`Undecided`]. The first certificate-mode setting
/// (`app_cert_file`, `alipay_cert_file`, `alipay_root_cert_file`, …) turns it into a
/// [`ConfigBuilder<CertificateMode>`], `alipay_public_key_file` into a
/// [`ConfigBuilder<PublicKeyMode>`]; neither has the other's setters, so the two modes cannot
/// be mixed in one configuration:
///
/// ```compile_fail
/// let both = alipay_core::Config::builder("2021000000000001")
///     .app_cert_file("appCertPublicKey.crt")
///     .alipay_public_key_file("alipay_public_key.pem"); // no such method in certificate mode
/// ```
///
/// A mode known only at run time (a configuration file) is an [`EitherMode`] builder.
pub struct ConfigBuilder<M = Undecided> {
    common: Common,
    mode: M,
}

impl<M> std::fmt::Debug for ConfigBuilder<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Settings only: never key material.
        f.debug_struct("ConfigBuilder")
            .field("app_id", &self.common.app_id)
            .field("mode", &std::any::type_name::<M>().rsplit("::").next().unwrap_or("?"))
            .field("gateway", &self.common.gateway)
            .field("charset", &self.common.charset)
            .field("sign_type", &self.common.sign_type)
            .field("aes_key", &self.common.aes.is_some())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Starts a configuration for `app_id`.
    pub fn builder(app_id: impl Into<String>) -> ConfigBuilder<Undecided> {
        ConfigBuilder {
            common: Common {
                app_id: app_id.into(),
                signer: None,
                gateway: PRODUCTION_GATEWAY.to_string(),
                charset: Charset::Utf8,
                sign_type: SignType::Rsa2,
                aes: None,
                clock: Arc::new(SystemClock),
                expiry_thresholds: vec![30, 7, 1],
                v3_answer_window: super::DEFAULT_V3_ANSWER_WINDOW,
            },
            mode: Undecided,
        }
    }
}

impl<M> ConfigBuilder<M> {
    /// The app private key, already loaded.
    pub fn app_private_key(mut self, key: PrivateKey) -> Self {
        self.common.signer = Some(Source::Loaded(Arc::new(key)));
        self
    }

    /// The app private key file (PKCS#1, PKCS#8 or bare base64), loaded at build; reloadable
    /// ([`Config::reload_app_identity`]).
    pub fn app_private_key_file(mut self, path: impl AsRef<Path>) -> Self {
        self.common.signer = Some(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// A signer that keeps the app private key elsewhere and signs synchronously (an HSM on
    /// the host, a local agent). In certificate mode it is checked against the app certificate
    /// at build by signing a probe. For a service behind a network call use
    /// [`Self::app_remote_signer`]: a synchronous signer runs on the caller's task.
    pub fn app_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.common.signer = Some(Source::Loaded(signer));
        self
    }

    /// A remote signer (a KMS or HSM behind a network call, [`crate::key::RemoteSigner`]):
    /// each call hands its sign content to the driver ([`crate::flow::Step::Sign`]), which
    /// awaits the signature, so no runtime worker blocks. Its public key is checked against
    /// the app certificate at build, and every signature against its public key.
    pub fn app_remote_signer(mut self, signer: Arc<dyn crate::key::RemoteSigner>) -> Self {
        self.common.signer = Some(Source::Loaded(Arc::new(crate::key::RemoteKey(signer))));
        self
    }

    /// The gateway URL ([`PRODUCTION_GATEWAY`] by default, [`super::SANDBOX_GATEWAY`], or any URL).
    pub fn gateway(mut self, url: impl Into<String>) -> Self {
        self.common.gateway = url.into();
        self
    }

    /// The request charset (UTF-8 by default).
    pub fn charset(mut self, charset: Charset) -> Self {
        self.common.charset = charset;
        self
    }

    /// The signature type (RSA2 by default; RSA only for old public-key-mode apps).
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.common.sign_type = sign_type;
        self
    }

    /// The AES content-encryption key.
    pub fn aes_key(mut self, key: AesKey) -> Self {
        self.common.aes = Some(key);
        self
    }

    /// The clock used for timestamps and validity checks.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.common.clock = clock;
        self
    }

    /// Days-left thresholds for expiry warnings (default 30, 7, 1).
    pub fn expiry_thresholds(mut self, days: Vec<i64>) -> Self {
        self.common.expiry_thresholds = days;
        self
    }

    /// How far an OpenAPI v3 answer's `alipay-timestamp` may be from the clock, either way
    /// (default 15 minutes): a signed answer replayed later than that is refused. Generous,
    /// so that a host whose clock drifts a little keeps working.
    pub fn v3_answer_window(mut self, window: Duration) -> Self {
        self.common.v3_answer_window = window;
        self
    }
}

impl<M: ToCertificate> ConfigBuilder<M> {
    fn certificate(self, change: impl FnOnce(&mut CertificateMode)) -> ConfigBuilder<CertificateMode> {
        let mut mode = self.mode.to_certificate();
        change(&mut mode);
        ConfigBuilder { common: self.common, mode }
    }

    /// The app certificate (`appCertPublicKey_<app id>.crt`).
    pub fn app_cert(self, chain: CertificateChain) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.app_cert = Some(Source::Loaded(chain)))
    }

    /// The app certificate file, loaded at build.
    pub fn app_cert_file(self, path: impl AsRef<Path>) -> ConfigBuilder<CertificateMode> {
        let path = path.as_ref().to_path_buf();
        self.certificate(|m| m.app_cert = Some(Source::File(path)))
    }

    /// An Alipay certificate (`alipayCertPublicKey_RSA2.crt`); may be given several times
    /// (old and new during a rotation).
    pub fn alipay_cert(self, chain: CertificateChain) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.alipay_certs.push(Source::Loaded(chain)))
    }

    /// An Alipay certificate file, loaded at build.
    pub fn alipay_cert_file(self, path: impl AsRef<Path>) -> ConfigBuilder<CertificateMode> {
        let path = path.as_ref().to_path_buf();
        self.certificate(|m| m.alipay_certs.push(Source::File(path)))
    }

    /// The Alipay root bundle (`alipayRootCert.crt`).
    pub fn alipay_root_cert(self, bundle: RootBundle) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.root = Some(Source::Loaded(bundle)))
    }

    /// The Alipay root bundle file, loaded at build.
    pub fn alipay_root_cert_file(self, path: impl AsRef<Path>) -> ConfigBuilder<CertificateMode> {
        let path = path.as_ref().to_path_buf();
        self.certificate(|m| m.root = Some(Source::File(path)))
    }

    /// Keep downloaded Alipay certificates in this directory, and load the valid ones at build.
    pub fn alipay_cert_dir(self, dir: impl AsRef<Path>) -> ConfigBuilder<CertificateMode> {
        let dir = dir.as_ref().to_path_buf();
        self.certificate(|m| m.storage = Some(StorageSetting::Dir(dir)))
    }

    /// Keep downloaded Alipay certificates in this storage (shared across a fleet, say);
    /// what it holds is validated at build like a download.
    pub fn alipay_cert_storage(self, storage: Arc<dyn CertStorage>) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.storage = Some(StorageSetting::Custom(storage)))
    }

    /// Share accepted Alipay certificates and the download of each new SN with the other
    /// instances of a fleet (`redis_fleet::RedisFleet` with the `redis` feature): what another
    /// instance accepted is loaded and re-validated here, and one instance downloads while
    /// the others wait ([`crate::lifecycle::fleet`]).
    pub fn fleet(self, backend: Arc<dyn FleetCoordinator>) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.fleet = Some(backend))
    }

    /// Timeouts and waits of the fleet ([`FleetSettings`]).
    pub fn fleet_settings(self, settings: FleetSettings) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.fleet_settings = settings)
    }

    /// Check downloaded certificates' key usage strictly (RFC 5280); off by default, like
    /// Alipay's Java SDK, because Alipay's sandbox intermediate lacks `keyCertSign`.
    pub fn strict_key_usage(self, strict: bool) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.strict_key_usage = strict)
    }

    /// How long a rejected or failed certificate download is not retried (default 10 min).
    pub fn cert_retry_after(self, duration: Duration) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.cert_retry_after = duration)
    }

    /// At most `limit` certificate downloads per `per` (default 5 per 10 minutes).
    pub fn cert_download_limit(self, limit: u32, per: Duration) -> ConfigBuilder<CertificateMode> {
        self.certificate(|m| m.download_limit = Some((limit, per)))
    }
}

impl<M: ToPublicKey> ConfigBuilder<M> {
    /// Public-key mode: the Alipay public key.
    pub fn alipay_public_key(self, key: PublicKey) -> ConfigBuilder<PublicKeyMode> {
        let mut mode = self.mode.to_public_key();
        mode.alipay_public_key = Some(Source::Loaded(key));
        ConfigBuilder { common: self.common, mode }
    }

    /// Public-key mode: the Alipay public key file, loaded at build.
    pub fn alipay_public_key_file(self, path: impl AsRef<Path>) -> ConfigBuilder<PublicKeyMode> {
        let mut mode = self.mode.to_public_key();
        mode.alipay_public_key = Some(Source::File(path.as_ref().to_path_buf()));
        ConfigBuilder { common: self.common, mode }
    }
}

impl From<ConfigBuilder<CertificateMode>> for ConfigBuilder<EitherMode> {
    fn from(builder: ConfigBuilder<CertificateMode>) -> Self {
        ConfigBuilder { common: builder.common, mode: EitherMode::Certificate(Box::new(builder.mode)) }
    }
}

impl From<ConfigBuilder<PublicKeyMode>> for ConfigBuilder<EitherMode> {
    fn from(builder: ConfigBuilder<PublicKeyMode>) -> Self {
        ConfigBuilder { common: builder.common, mode: EitherMode::PublicKey(builder.mode) }
    }
}

/// What `build` produced for one mode.
struct Built {
    keys: AlipayKeys,
    cert_mode: Option<CertMode>,
    app_cert: Option<CertificateChain>,
    cert_file: Option<PathBuf>,
}

impl<M: Buildable> ConfigBuilder<M> {
    /// Loads and checks everything: files parse and are what they should be, the key belongs
    /// to the app certificate, the signature type suits the key.
    pub fn build(self) -> Result<Config, ConfigError> {
        let mut common = self.common;
        if common.app_id.trim().is_empty() {
            return Err(ConfigErrorKind::Missing {
                field: "app_id",
                hint: "the app id from the open-platform console",
            }
            .into());
        }
        check_gateway(&common.gateway)?;
        let mode = self.mode.into_either()?;
        let key_field = |field| move |source| ConfigErrorKind::Key { field, source };
        let (signer, key_file) = match common.signer.take() {
            Some(Source::Loaded(signer)) => (signer, None),
            Some(Source::File(path)) => {
                let key = PrivateKey::from_path(&path).map_err(key_field("app_private_key"))?;
                (Arc::new(key) as Arc<dyn Signer>, Some(path))
            }
            None => {
                return Err(ConfigErrorKind::Missing {
                    field: "app_private_key",
                    hint: "the app private key (应用私钥) generated with the app's key pair",
                }
                .into());
            }
        };
        if signer.algorithm() != common.sign_type.algorithm() {
            let source = KeyErrorKind::AlgorithmMismatch { sign_type: common.sign_type, key: signer.algorithm() };
            return Err(ConfigErrorKind::Key { field: "app_private_key", source: source.into() }.into());
        }
        let built = match mode {
            EitherMode::Certificate(mode) => build_certificate_mode(*mode, &*signer, &common)?,
            EitherMode::PublicKey(mode) => {
                let key = mode
                    .alipay_public_key
                    .ok_or(ConfigErrorKind::Missing {
                        field: "alipay_public_key",
                        hint: "the Alipay public key (支付宝公钥)",
                    })?
                    .load(PublicKey::from_path)
                    .map_err(key_field("alipay_public_key"))?;
                check_alipay_key_algorithm("alipay_public_key", &key, key.origin(), common.sign_type)?;
                // The most common mix-up: the app's own public key (应用公钥) given as Alipay's.
                let probe = b"alipay-sdk: is this the app's own public key?";
                let sign_type = SignType::default_for(signer.algorithm());
                if signer.sign(probe, sign_type).is_ok_and(|signature| key.verify(probe, &signature, sign_type)) {
                    return Err(ConfigErrorKind::AlipayKeyIsAppKey { origin: key.origin().to_string() }.into());
                }
                Built { keys: AlipayKeys::PublicKey(key), cert_mode: None, app_cert: None, cert_file: None }
            }
        };
        let files = key_file.map(|key| (key, built.cert_file));
        let identity = Arc::new(IdentityCell::new(signer, built.app_cert, files, common.clock.clone()));
        Ok(Config {
            inner: Arc::new(ConfigInner {
                app_id: common.app_id,
                identity,
                expiry_thresholds: common.expiry_thresholds,
                sign_type: common.sign_type,
                charset: common.charset,
                v3_endpoint: url::Url::parse(&common.gateway)
                    .map(|url| url.origin().ascii_serialization())
                    .unwrap_or_default(),
                gateway: common.gateway,
                cert_mode: built.cert_mode,
                verifier: ResponseVerifier {
                    charset: common.charset,
                    sign_type: common.sign_type,
                    keys: built.keys,
                    aes: common.aes.clone(),
                },
                aes: common.aes,
                clock: common.clock,
                v3_answer_window: common.v3_answer_window,
            }),
        })
    }
}

/// An Alipay key (certificate or public key) must be of the configured algorithm.
fn check_alipay_key_algorithm(
    field: &'static str,
    key: &PublicKey,
    origin: &str,
    sign_type: SignType,
) -> Result<(), ConfigError> {
    if key.algorithm() != sign_type.algorithm() {
        return Err(ConfigErrorKind::AlipayKeyAlgorithm {
            field,
            origin: origin.to_string(),
            found: key.algorithm(),
            sign_type,
        }
        .into());
    }
    // The rule downloaded certificates pass too: no weak key is trusted for Alipay's signatures.
    // Legacy `RSA` (SHA1) public-key-mode apps may still hold a 1024-bit Alipay key: their
    // exponent is checked, their size only warned about.
    let weakness = match sign_type {
        SignType::Rsa => key.weakness_below(1024).or_else(|| {
            if let Some(size) = key.weakness() {
                tracing::warn!(field, origin, "{size}: accepted only because sign_type is the legacy RSA (SHA1)");
            }
            None
        }),
        _ => key.weakness(),
    };
    match weakness {
        Some(weakness) => Err(ConfigErrorKind::WeakAlipayKey { field, origin: origin.to_string(), weakness }.into()),
        None => Ok(()),
    }
}

fn check_gateway(gateway: &str) -> Result<(), ConfigError> {
    let invalid = |detail: String| ConfigErrorKind::InvalidGateway { url: gateway.to_string(), detail }.into();
    let url = url::Url::parse(gateway).map_err(|e| invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(invalid(format!("scheme {other:?} is not http or https"))),
    }
}

fn build_certificate_mode(mode: CertificateMode, signer: &dyn Signer, common: &Common) -> Result<Built, ConfigError> {
    let cert_field = |field| move |source| ConfigErrorKind::Cert { field, source };
    if !matches!(common.sign_type, SignType::Rsa2 | SignType::Sm2) {
        return Err(ConfigErrorKind::CertificateModeNeedsRsa2.into());
    }
    let algorithm = common.sign_type.algorithm();
    let missing: Vec<&'static str> = [
        ("app_cert", mode.app_cert.is_none()),
        ("alipay_cert", mode.alipay_certs.is_empty()),
        ("alipay_root_cert", mode.root.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    let (Some(app_cert), Some(root), false) = (mode.app_cert, mode.root, mode.alipay_certs.is_empty()) else {
        return Err(ConfigErrorKind::IncompleteCertificateMode { missing }.into());
    };
    let cert_file = match &app_cert {
        Source::File(path) => Some(path.clone()),
        Source::Loaded(_) => None,
    };
    let app_cert = app_cert
        .load(CertificateChain::from_path)
        .and_then(CertificateChain::require_app_certificate)
        .map_err(cert_field("app_cert"))?;
    app_cert.check_signer(signer).map_err(ConfigErrorKind::KeyMismatch)?;
    let root = root.load(RootBundle::from_path).map_err(cert_field("alipay_root_cert"))?;
    if root.sn_for(algorithm).is_none() {
        let found = root.skipped().iter().map(|s| s.signature_algorithm_oid.as_str()).collect::<Vec<_>>().join(", ");
        return Err(ConfigErrorKind::Cert {
            field: "alipay_root_cert",
            source: crate::cert::CertErrorKind::NoRootForAlgorithm {
                origin: root.origin().to_string(),
                algorithm,
                found,
            }
            .into(),
        }
        .into());
    }
    let mut alipay_certs = Vec::new();
    for source in mode.alipay_certs {
        let chain = source
            .load(CertificateChain::from_path)
            .and_then(CertificateChain::require_alipay_certificate)
            .map_err(cert_field("alipay_cert"))?;
        let key = PublicKey::from_certificate(chain.leaf())
            .map_err(|source| ConfigErrorKind::Key { field: "alipay_cert", source })?;
        check_alipay_key_algorithm("alipay_cert", &key, chain.origin(), common.sign_type)?;
        alipay_certs.push(chain);
    }
    let mut store = AlipayCertStore::new(alipay_certs)
        .map_err(|source| ConfigErrorKind::Key { field: "alipay_cert", source })?
        .algorithm(algorithm)
        .with_roots(root.clone())
        .with_clock(common.clock.clone())
        .strict(mode.strict_key_usage)
        .retry_after(mode.cert_retry_after);
    if let Some((limit, per)) = mode.download_limit {
        store = store.download_limit(limit, per);
    }
    store = match mode.storage {
        None => store,
        Some(StorageSetting::Dir(dir)) => {
            let storage =
                DirStorage::new(&dir).map_err(|source| ConfigErrorKind::CertDir { path: dir.clone(), source })?;
            store
                .with_storage(Arc::new(storage))
                .map_err(|e| ConfigErrorKind::CertDir { path: dir, source: std::io::Error::other(e) })?
        }
        Some(StorageSetting::Custom(storage)) => store.with_storage(storage).map_err(ConfigErrorKind::Storage)?,
    };
    if let Some(backend) = mode.fleet {
        store = store.with_fleet(backend, mode.fleet_settings);
    }
    let store = Arc::new(store);
    Ok(Built {
        keys: AlipayKeys::Store(store.clone()),
        cert_mode: Some(CertMode { root, store }),
        app_cert: Some(app_cert),
        cert_file,
    })
}
