//! Alipay login (`alipay.system.oauth.token`, `alipay.user.info.share`) and ISV app
//! authorisation (`alipay.open.auth.token.app`).
//!
//! The tokens in these answers are secrets: their `Debug` shows their length only, and error
//! messages that quote an answer redact them.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::AlipayApi;
use crate::request::Request;

/// What a token exchange starts from.
#[derive(Clone, PartialEq, Eq)]
pub enum Grant {
    /// The one-time `auth_code` the user's authorisation returned.
    AuthorizationCode(String),
    /// A refresh token from an earlier exchange.
    RefreshToken(String),
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::AuthorizationCode(code) => f.debug_tuple("AuthorizationCode").field(code).finish(),
            Grant::RefreshToken(token) => write!(f, "RefreshToken(<{} characters>)", token.chars().count()),
        }
    }
}

/// `alipay.system.oauth.token`: exchanges a user's `auth_code` (or a refresh token) for an
/// access token. Its parameters are flat request parameters, not `biz_content`; its success
/// answer has no `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OauthToken {
    #[serde(skip)]
    grant: Grant,
}

impl OauthToken {
    /// From the `auth_code` of the user's authorisation.
    pub fn authorization_code(code: impl Into<String>) -> OauthToken {
        OauthToken { grant: Grant::AuthorizationCode(code.into()) }
    }

    /// From a refresh token.
    pub fn refresh(refresh_token: impl Into<String>) -> OauthToken {
        OauthToken { grant: Grant::RefreshToken(refresh_token.into()) }
    }
}

fn redacted(value: &str) -> String {
    format!("<{} characters>", value.chars().count())
}

/// The answer to [`OauthToken`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct OauthTokenResponse {
    /// The user's id (`2088…`), when the app gets it.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The user's `open_id`, for apps on open ids.
    #[serde(default)]
    pub open_id: Option<String>,
    /// The access token (`auth_token` of [`UserInfoShare`]). Secret.
    pub access_token: String,
    /// Seconds it lives.
    #[serde(default, deserialize_with = "number_or_text")]
    pub expires_in: Option<u64>,
    /// The refresh token. Secret.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds the refresh token lives.
    #[serde(default, deserialize_with = "number_or_text")]
    pub re_expires_in: Option<u64>,
    /// When the authorisation started.
    #[serde(default)]
    pub auth_start: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for OauthTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OauthTokenResponse")
            .field("user_id", &self.user_id)
            .field("open_id", &self.open_id)
            .field("access_token", &redacted(&self.access_token))
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_deref().map(redacted))
            .field("re_expires_in", &self.re_expires_in)
            .finish_non_exhaustive()
    }
}

/// Alipay sends some counts as numbers and some as text.
fn number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| serde::de::Error::custom("not a count")),
        // Alipay documents these as strings; a blank one says nothing (and must not cost the
        // caller the tokens beside it).
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
        Some(other) => Err(serde::de::Error::custom(format!("not a count: {other}"))),
    }
}

impl AlipayApi for OauthToken {
    const METHOD: &'static str = "alipay.system.oauth.token";
    type Response = OauthTokenResponse;

    fn to_request(&self) -> Request {
        let request = Request::new(Self::METHOD);
        match &self.grant {
            Grant::AuthorizationCode(code) => {
                request.param("grant_type", "authorization_code").param("code", code.clone())
            }
            Grant::RefreshToken(token) => {
                request.param("grant_type", "refresh_token").param("refresh_token", token.clone())
            }
        }
    }
}

/// `alipay.user.info.share`: the user's profile, with the access token of [`OauthToken`]
/// (sent as `auth_token`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct UserInfoShare {
    #[serde(skip)]
    auth_token: String,
}

impl UserInfoShare {
    /// With the user's access token.
    pub fn new(auth_token: impl Into<String>) -> UserInfoShare {
        UserInfoShare { auth_token: auth_token.into() }
    }
}

impl fmt::Debug for UserInfoShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserInfoShare").field("auth_token", &redacted(&self.auth_token)).finish()
    }
}

/// The answer to [`UserInfoShare`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    /// The user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The user's `open_id`.
    #[serde(default)]
    pub open_id: Option<String>,
    /// Nickname.
    #[serde(default)]
    pub nick_name: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub avatar: Option<String>,
    /// `F` / `M`.
    #[serde(default)]
    pub gender: Option<String>,
    /// Province.
    #[serde(default)]
    pub province: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Any other field the user shared.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlipayApi for UserInfoShare {
    const METHOD: &'static str = "alipay.user.info.share";
    type Response = UserInfo;

    fn to_request(&self) -> Request {
        Request::new(Self::METHOD).auth_token(self.auth_token.clone())
    }
}

/// `alipay.open.auth.token.app`: an ISV exchanges a merchant's `app_auth_code` (or a refresh
/// token) for the `app_auth_token` it then calls with on the merchant's behalf.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct OpenAuthTokenApp {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    /// The merchant's `app_auth_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The `app_refresh_token`. Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl OpenAuthTokenApp {
    /// From the merchant's `app_auth_code`.
    pub fn authorization_code(code: impl Into<String>) -> OpenAuthTokenApp {
        OpenAuthTokenApp { grant_type: "authorization_code".into(), code: Some(code.into()), refresh_token: None }
    }

    /// From an `app_refresh_token`.
    pub fn refresh(app_refresh_token: impl Into<String>) -> OpenAuthTokenApp {
        OpenAuthTokenApp {
            grant_type: "refresh_token".into(),
            code: None,
            refresh_token: Some(app_refresh_token.into()),
        }
    }
}

impl fmt::Debug for OpenAuthTokenApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAuthTokenApp")
            .field("grant_type", &self.grant_type)
            .field("code", &self.code)
            .field("refresh_token", &self.refresh_token.as_deref().map(redacted))
            .finish()
    }
}

/// The answer to [`OpenAuthTokenApp`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct OpenAuthTokenAppResponse {
    /// The authorising merchant's user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The merchant's app the authorisation is for.
    #[serde(default)]
    pub auth_app_id: Option<String>,
    /// The token to call with (`Request::app_auth_token`). Secret.
    pub app_auth_token: String,
    /// Its refresh token. Secret.
    #[serde(default)]
    pub app_refresh_token: Option<String>,
    /// Seconds the token lives.
    #[serde(default, deserialize_with = "number_or_text")]
    pub expires_in: Option<u64>,
    /// Seconds the refresh token lives.
    #[serde(default, deserialize_with = "number_or_text")]
    pub re_expires_in: Option<u64>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for OpenAuthTokenAppResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAuthTokenAppResponse")
            .field("user_id", &self.user_id)
            .field("auth_app_id", &self.auth_app_id)
            .field("app_auth_token", &redacted(&self.app_auth_token))
            .field("app_refresh_token", &self.app_refresh_token.as_deref().map(redacted))
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl AlipayApi for OpenAuthTokenApp {
    const METHOD: &'static str = "alipay.open.auth.token.app";
    type Response = OpenAuthTokenAppResponse;
}
