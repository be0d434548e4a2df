//! `alipay.toml`: one file describing an app, with environment-variable overrides.
//!
//! ```toml
//! app_id = "2021000000000001"
//! mode = "certificate"                 # or "public-key"
//! gateway = "production"               # "production", "sandbox" or a URL
//! charset = "UTF-8"                    # or "GBK"
//! app_private_key = "app_private_key.pem"
//! app_cert = "appCertPublicKey_2021000000000001.crt"
//! alipay_cert = "alipayCertPublicKey_RSA2.crt"   # or a list, during a rotation
//! alipay_root_cert = "alipayRootCert.crt"
//! # alipay_public_key = "alipay_public_key.pem"  # public-key mode
//! # sign_type = "SM2"                            # RSA2 (default), SM2 (国密), RSA
//! # aes_key_file = "aes_key.txt"                 # or aes_key_env = "ALIPAY_AES_KEY"
//! # encrypt_type = "SM4"                         # AES (default), AES_V2, SM4
//! # alipay_cert_dir = "alipay-certs"             # persist downloaded Alipay certificates
//! ```
//!
//! Relative paths are relative to the file. Every setting can be overridden by an environment
//! variable named `ALIPAY_` + the setting in upper case (`ALIPAY_APP_ID`, `ALIPAY_GATEWAY`,
//! `ALIPAY_APP_PRIVATE_KEY`, `ALIPAY_ALIPAY_CERT` — comma-separated for several —, …).
//! The AES key itself never goes in the file: it is read from `aes_key_file` or the
//! variable named by `aes_key_env`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::aes::AesKey;
use crate::charset::Charset;
use crate::config::{Config, ConfigBuilder, EitherMode, PRODUCTION_GATEWAY, SANDBOX_GATEWAY};
use crate::key::SignType;

/// Why `alipay.toml` could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileErrorKind {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped settings.
    #[error("{path}: {detail}")]
    Parse {
        /// The path.
        path: PathBuf,
        /// The parser's message (with line and column).
        detail: String,
    },
    /// A setting has an unusable value.
    #[error("{origin}: setting {setting}: {detail}")]
    Invalid {
        /// The file, or the environment variable that set it.
        origin: String,
        /// The setting.
        setting: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A setting's value could not be used; the cause is the source.
    #[error("{origin}: setting {setting}: {source}")]
    Setting {
        /// The file, or the environment variable that set it.
        origin: String,
        /// The setting.
        setting: &'static str,
        /// Why the value is unusable.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

alipay_core::layer_error!(
    /// Why `alipay.toml` could not be used; see [`ConfigFileErrorKind`].
    ///
    /// One pointer wide; [`ConfigFileError::kind`] says what went wrong.
    ConfigFileError => ConfigFileErrorKind
);

/// The signing mode of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// 公钥证书模式.
    #[default]
    Certificate,
    /// 普通公钥模式.
    PublicKey,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The settings of `alipay.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The app id.
    pub app_id: Option<String>,
    /// Certificate or public-key mode.
    #[serde(default)]
    pub mode: Mode,
    /// `production`, `sandbox` or a URL.
    pub gateway: Option<String>,
    /// `UTF-8` or `GBK`.
    pub charset: Option<String>,
    /// `RSA2`, `SM2` (or `RSA` for old public-key-mode apps).
    pub sign_type: Option<String>,
    /// The content-encryption scheme: `AES` (default), `AES_V2` or `SM4`.
    pub encrypt_type: Option<String>,
    /// The app private key file.
    pub app_private_key: Option<PathBuf>,
    /// The app certificate file.
    pub app_cert: Option<PathBuf>,
    #[serde(rename = "alipay_cert")]
    alipay_cert_raw: Option<OneOrMany>,
    /// The Alipay root bundle file.
    pub alipay_root_cert: Option<PathBuf>,
    /// The Alipay public key file (public-key mode).
    pub alipay_public_key: Option<PathBuf>,
    /// A file holding the AES key.
    pub aes_key_file: Option<PathBuf>,
    /// The name of an environment variable holding the AES key.
    pub aes_key_env: Option<String>,
    /// Where to persist downloaded Alipay certificates.
    pub alipay_cert_dir: Option<PathBuf>,
    /// Connect timeout in milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// Total timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    #[serde(skip)]
    base: PathBuf,
    #[serde(skip)]
    origin: String,
}

impl ConfigFile {
    /// Reads a file and applies the process environment's `ALIPAY_*` overrides.
    pub fn load(path: impl AsRef<Path>) -> Result<ConfigFile, ConfigFileError> {
        Self::load_with_env(path, |name| std::env::var(name).ok())
    }

    /// Reads a file and applies overrides from `env` (a lookup by variable name).
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConfigFile, ConfigFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigFileErrorKind::Read { path: path.to_path_buf(), source })?;
        let mut file: ConfigFile = toml::from_str(&text)
            .map_err(|e| ConfigFileErrorKind::Parse { path: path.to_path_buf(), detail: parse_detail(&text, &e) })?;
        file.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        file.origin = path.display().to_string();
        let origin = file.origin.clone();
        file.check_paths(|_| origin.clone())?;
        file.apply_env(env)?;
        Ok(file)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigFileError> {
        let text = |name: &str| env(name).filter(|v| !v.is_empty());
        let path = |name: &str| text(name).map(PathBuf::from);
        let mut from_env = ConfigFile::default();
        for (name, slot) in [
            ("ALIPAY_APP_PRIVATE_KEY", &mut from_env.app_private_key),
            ("ALIPAY_APP_CERT", &mut from_env.app_cert),
            ("ALIPAY_ALIPAY_ROOT_CERT", &mut from_env.alipay_root_cert),
            ("ALIPAY_ALIPAY_PUBLIC_KEY", &mut from_env.alipay_public_key),
            ("ALIPAY_AES_KEY_FILE", &mut from_env.aes_key_file),
            ("ALIPAY_ALIPAY_CERT_DIR", &mut from_env.alipay_cert_dir),
        ] {
            *slot = path(name);
        }
        from_env.alipay_cert_raw =
            text("ALIPAY_ALIPAY_CERT").map(|v| OneOrMany::Many(v.split(',').map(str::to_string).collect()));
        from_env.check_paths(|setting| format!("ALIPAY_{}", setting.to_ascii_uppercase()))?;
        if let Some(v) = text("ALIPAY_APP_ID") {
            self.app_id = Some(v);
        }
        if let Some(v) = text("ALIPAY_MODE") {
            self.mode = match v.as_str() {
                "certificate" => Mode::Certificate,
                "public-key" => Mode::PublicKey,
                other => {
                    return Err(ConfigFileErrorKind::Invalid {
                        origin: "ALIPAY_MODE".into(),
                        setting: "mode",
                        detail: format!("{other:?} is not \"certificate\" or \"public-key\""),
                    }
                    .into());
                }
            };
        }
        for (name, slot) in [
            ("ALIPAY_GATEWAY", &mut self.gateway),
            ("ALIPAY_CHARSET", &mut self.charset),
            ("ALIPAY_SIGN_TYPE", &mut self.sign_type),
            ("ALIPAY_ENCRYPT_TYPE", &mut self.encrypt_type),
            ("ALIPAY_AES_KEY_ENV", &mut self.aes_key_env),
        ] {
            if let Some(v) = text(name) {
                *slot = Some(v);
            }
        }
        // Paths from the environment are taken as given (relative to the working directory).
        let cwd = std::env::current_dir().unwrap_or_default();
        for (name, slot) in [
            ("ALIPAY_APP_PRIVATE_KEY", &mut self.app_private_key),
            ("ALIPAY_APP_CERT", &mut self.app_cert),
            ("ALIPAY_ALIPAY_ROOT_CERT", &mut self.alipay_root_cert),
            ("ALIPAY_ALIPAY_PUBLIC_KEY", &mut self.alipay_public_key),
            ("ALIPAY_AES_KEY_FILE", &mut self.aes_key_file),
            ("ALIPAY_ALIPAY_CERT_DIR", &mut self.alipay_cert_dir),
        ] {
            if let Some(v) = path(name) {
                *slot = Some(cwd.join(v));
            }
        }
        if let Some(v) = text("ALIPAY_ALIPAY_CERT") {
            self.alipay_cert_raw =
                Some(OneOrMany::Many(v.split(',').map(|p| cwd.join(p.trim()).display().to_string()).collect()));
        }
        for (name, slot) in
            [("ALIPAY_CONNECT_TIMEOUT_MS", &mut self.connect_timeout_ms), ("ALIPAY_TIMEOUT_MS", &mut self.timeout_ms)]
        {
            if let Some(v) = text(name) {
                *slot = Some(v.parse().map_err(|_| ConfigFileErrorKind::Invalid {
                    origin: name.into(),
                    setting: "timeout",
                    detail: format!("{v:?} is not a number of milliseconds"),
                })?);
            }
        }
        Ok(())
    }

    /// Refuses key or certificate content given as a path setting, without echoing it.
    /// `origin` names where a setting came from (the file or an environment variable).
    fn check_paths(&self, origin: impl Fn(&'static str) -> String) -> Result<(), ConfigFileError> {
        let alipay_certs: Vec<&str> = match &self.alipay_cert_raw {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => vec![p.as_str()],
            Some(OneOrMany::Many(list)) => list.iter().map(String::as_str).collect(),
        };
        let single = [
            ("app_private_key", &self.app_private_key),
            ("app_cert", &self.app_cert),
            ("alipay_root_cert", &self.alipay_root_cert),
            ("alipay_public_key", &self.alipay_public_key),
            ("aes_key_file", &self.aes_key_file),
            ("alipay_cert_dir", &self.alipay_cert_dir),
        ];
        let values = single
            .into_iter()
            .filter_map(|(setting, value)| value.as_ref().map(|v| (setting, v.to_string_lossy())))
            .chain(alipay_certs.into_iter().map(|v| ("alipay_cert", v.into())));
        for (setting, value) in values {
            if crate::kind::looks_like_content_not_path(&value) {
                return Err(ConfigFileErrorKind::Invalid {
                    origin: origin(setting),
                    setting,
                    detail: format!(
                        "this looks like key or certificate content, not a path ({} characters, not shown); \
                         write it to a file and give that file's path",
                        value.chars().count()
                    ),
                }
                .into());
            }
        }
        Ok(())
    }

    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_path_buf() } else { self.base.join(path) }
    }

    fn unusable(
        &self,
        setting: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ConfigFileError {
        ConfigFileErrorKind::Setting { origin: self.origin.clone(), setting, source: source.into() }.into()
    }

    fn invalid(&self, setting: &'static str, detail: impl Into<String>) -> ConfigFileError {
        ConfigFileErrorKind::Invalid { origin: self.origin.clone(), setting, detail: detail.into() }.into()
    }

    /// The Alipay certificate files, resolved.
    pub fn alipay_certs(&self) -> Vec<PathBuf> {
        match &self.alipay_cert_raw {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => vec![self.resolve(Path::new(p))],
            Some(OneOrMany::Many(list)) => list.iter().map(|p| self.resolve(Path::new(p))).collect(),
        }
    }

    /// A resolved path setting.
    pub fn path_of(&self, setting: &str) -> Option<PathBuf> {
        let value = match setting {
            "app_private_key" => &self.app_private_key,
            "app_cert" => &self.app_cert,
            "alipay_root_cert" => &self.alipay_root_cert,
            "alipay_public_key" => &self.alipay_public_key,
            "aes_key_file" => &self.aes_key_file,
            "alipay_cert_dir" => &self.alipay_cert_dir,
            _ => &None,
        };
        value.as_ref().map(|p| self.resolve(p))
    }

    /// The gateway URL.
    pub fn gateway_url(&self) -> String {
        match self.gateway.as_deref() {
            None | Some("production") => PRODUCTION_GATEWAY.to_string(),
            Some("sandbox") => SANDBOX_GATEWAY.to_string(),
            Some(url) => url.to_string(),
        }
    }

    /// The AES key, if one is referenced.
    pub fn aes_key(&self) -> Result<Option<AesKey>, ConfigFileError> {
        let text = match (&self.aes_key_file, &self.aes_key_env) {
            (Some(file), _) => {
                let path = self.resolve(file);
                std::fs::read_to_string(&path)
                    .map_err(|e| self.invalid("aes_key_file", format!("{}: {e}", path.display())))?
            }
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| self.invalid("aes_key_env", format!("environment variable {var} is not set")))?,
            (None, None) => return Ok(None),
        };
        let key = AesKey::from_base64(&text).map_err(|e| self.unusable("aes_key", e))?;
        match &self.encrypt_type {
            None => Ok(Some(key)),
            Some(name) => {
                let scheme = name.parse().map_err(|e| self.unusable("encrypt_type", e))?;
                key.with_encrypt_type(scheme).map(Some).map_err(|e| self.unusable("encrypt_type", e))
            }
        }
    }

    /// A client configuration builder with every setting applied (files are loaded and
    /// checked by [`ConfigBuilder::build`]).
    pub fn builder(&self) -> Result<ConfigBuilder<EitherMode>, ConfigFileError> {
        let app_id =
            self.app_id.clone().filter(|id| !id.trim().is_empty()).ok_or_else(|| self.invalid("app_id", "missing"))?;
        let key = self.path_of("app_private_key").ok_or_else(|| self.invalid("app_private_key", "missing"))?;
        let mut builder = Config::builder(app_id).gateway(self.gateway_url()).app_private_key_file(key);
        if let Some(charset) = &self.charset {
            builder = builder.charset(charset.parse::<Charset>().map_err(|e| self.unusable("charset", e))?);
        }
        if let Some(sign_type) = &self.sign_type {
            builder = builder.sign_type(sign_type.parse::<SignType>().map_err(|e| self.unusable("sign_type", e))?);
        }
        if let Some(aes) = self.aes_key()? {
            builder = builder.aes_key(aes);
        }
        let builder: ConfigBuilder<EitherMode> = match self.mode {
            Mode::Certificate => {
                let cert =
                    self.path_of("app_cert").ok_or_else(|| self.invalid("app_cert", "missing (certificate mode)"))?;
                let root = self
                    .path_of("alipay_root_cert")
                    .ok_or_else(|| self.invalid("alipay_root_cert", "missing (certificate mode)"))?;
                let alipay = self.alipay_certs();
                if alipay.is_empty() {
                    return Err(self.invalid("alipay_cert", "missing (certificate mode)"));
                }
                let mut builder = builder.app_cert_file(cert).alipay_root_cert_file(root);
                for path in alipay {
                    builder = builder.alipay_cert_file(path);
                }
                if let Some(dir) = self.path_of("alipay_cert_dir") {
                    builder = builder.alipay_cert_dir(dir);
                }
                builder.into()
            }
            Mode::PublicKey => {
                let key = self
                    .path_of("alipay_public_key")
                    .ok_or_else(|| self.invalid("alipay_public_key", "missing (public-key mode)"))?;
                builder.alipay_public_key_file(key).into()
            }
        };
        Ok(builder)
    }

    /// `connect_timeout_ms`, for the client builder (timeouts belong to the transport, not to
    /// the IO-free configuration).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout_ms.map(Duration::from_millis)
    }

    /// `timeout_ms`, for the client builder.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }
}

/// A TOML error's message and position, without the excerpt of the file that the parser's own
/// `Display` quotes: the file may be a key given by mistake, or hold a secret in a mistyped
/// setting. Literals in the message that look like content are hidden too.
fn parse_detail(text: &str, error: &toml::de::Error) -> String {
    let found = crate::kind::sniff(text.as_bytes());
    if !matches!(found, crate::kind::FileKind::Unknown | crate::kind::FileKind::Empty) {
        return format!("this is {found}, not an alipay.toml configuration file");
    }
    let position = error.span().map(|span| {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        format!("line {line}, column {column}: ")
    });
    format!("{}{}", position.unwrap_or_default(), hide_long_literals(error.message()))
}

/// Replaces quoted or backticked literals longer than 40 characters by their length.
fn hide_long_literals(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else { break };
        out.push_str(&rest[..start]);
        let literal = &after[..len];
        if literal.chars().count() > 40 || crate::kind::looks_like_content_not_path(literal) {
            out.push_str(&format!("<{} characters, not shown>", literal.chars().count()));
        } else {
            out.push(quote);
            out.push_str(literal);
            out.push(quote);
        }
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_is_one_pointer_like_the_cores() {
        assert_eq!(std::mem::size_of::<super::ConfigFileError>(), std::mem::size_of::<usize>());
    }
}
