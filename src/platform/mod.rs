//! The platform the v2/v3 built-in flows talk to.
//!
//! The embedded platform (`openserver::OpenServer`) implements it
//! in-process (the default); `RemotePlatform` implements it over HTTP
//! against the `openserver` binary. This module is the seam: it knows
//! neither implementation, and imports only the vocabulary below it (apps,
//! secrets); which platform a dispatcher holds is the dispatcher's business
//! (`dispatcher/platform.rs`).

pub(crate) mod errcode;

use std::error::Error as StdError;

use async_trait::async_trait;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use self::errcode::OpenServerError;
use crate::app::AppInfo;
use crate::secret::{AuthCode, Code};

/// Who a built-in flow acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// v2: the host's user id (`app_uid`).
    Uid(String),
    /// v3: the authCode (or `code`) the host got from the super-app server.
    AuthCode(AuthCode),
}

/// Which one-time code `wx.getPhoneNumber` / `wx.getEmail` hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserCodeKind {
    /// Redeemed with `getuserphonenumber`.
    PhoneNumber,
    /// Redeemed with `getemailaddress`.
    Email,
}

/// `encryptedData` and `iv`, both base64: what the phone-number button
/// answers beside its `code`. Sealed and opened by `crate::opendata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedData {
    /// The AES-128-CBC ciphertext of the plaintext, base64.
    pub encrypted_data: String,
    /// The 16-byte iv it was sealed with, base64.
    pub iv: String,
}

/// The four fields `wx.getUserInfo` / `wx.getUserProfile` answer beside
/// `userInfo`: `rawData` and its `signature`, `encryptedData` and its `iv`.
/// Made and checked by `crate::opendata` (`OpenData::seal`, `verify`,
/// `decrypt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenData {
    /// The JSON text of the user info the mini program sees.
    pub raw_data: String,
    /// `hex(sha1(rawData + session_key))`.
    pub signature: String,
    /// The full user data with its watermark, sealed; base64.
    pub encrypted_data: String,
    /// The iv of `encrypted_data`; base64.
    pub iv: String,
}

/// How a transport failure is kept: the error itself, for its chain of
/// causes (shared, so that a [`PlatformError`] stays cheap to clone).
pub type TransportError = std::sync::Arc<dyn StdError + Send + Sync>;

/// A failure talking to the platform.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The platform answered with an error code (`docs/openserver.md`).
    #[error("platform error {}: {}", .0.errcode(), .0.errmsg())]
    Api(OpenServerError),
    /// The platform could not be reached, or the connection broke.
    #[error("platform unreachable: {}", chain(&**.0))]
    Unreachable(#[source] TransportError),
    /// The platform did not answer in time.
    #[error("platform timed out")]
    Timeout,
    /// The platform answered something that is not its API.
    #[error("platform answered something unexpected: {0}")]
    BadResponse(String),
    /// The platform does not offer what was asked (a [`Platform`] method
    /// it does not implement).
    #[error("the platform does not support {0}")]
    Unsupported(&'static str),
}

impl PlatformError {
    /// The platform's `errcode`, for [`PlatformError::Api`].
    pub fn errcode(&self) -> Option<i64> {
        match self {
            PlatformError::Api(err) => Some(err.errcode()),
            _ => None,
        }
    }
}

/// An error and its causes, joined by `: `, each said once.
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let message = e.to_string();
        if !text.ends_with(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        next = e.source();
    }
    text
}

/// What the v2/v3 built-in flows ask of the platform.
///
/// Object safe: the dispatcher holds an `Arc<dyn Platform>`.
#[async_trait]
pub trait Platform: Send + Sync + 'static {
    /// `wx.login`: a fresh login code (`js_code`) for the user and app.
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError>;

    /// `wx.checkSession`: whether the user has a valid session in this app.
    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError>;

    /// `wx.getPhoneNumber` / `wx.getEmail`: a one-time code the developer
    /// server redeems with `getuserphonenumber` / `getemailaddress`.
    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError>;

    /// `wx.chooseAvatar`: the user's avatar URL.
    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError>;

    /// `wx.getNickName`: the user's nickname.
    async fn nickname(&self, app: &AppInfo, principal: &Principal)
    -> Result<String, PlatformError>;

    /// `wx.getUserInfo` / `wx.getUserProfile`'s open data: `user_info` as
    /// `rawData` with its `signature`, and sealed with the user's openId and
    /// unionId, under the key of the user's live session in `app`
    /// (`crate::opendata`). A user without one gets `46006`.
    ///
    /// The default answers [`PlatformError::Unsupported`]: a platform that
    /// seals nothing, whose replies then go without open data.
    async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &Map<String, Value>,
    ) -> Result<OpenData, PlatformError> {
        let _ = (app, principal, user_info);
        Err(PlatformError::Unsupported("sealing open data"))
    }

    /// The phone-number button's open data: the user's phone number sealed
    /// under the key of their live session in `app`. The default answers
    /// [`PlatformError::Unsupported`].
    async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, PlatformError> {
        let _ = (app, principal);
        Err(PlatformError::Unsupported("sealing open data"))
    }
}
