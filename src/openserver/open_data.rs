//! Open data: what a user's session seals for the mini program — WeChat's
//! `rawData` / `signature` and `encryptedData` / `iv` (`crate::opendata`) —
//! under the session's own key.
//!
//! The store keeps no session key: only the checksession signature's digest
//! and a random per-session nonce. The key is derived again from the nonce and
//! the server's id key (itself derived from `id_secret`):
//! `session_key = base64(HMAC-SHA256(id key, "session_key" ‖ 0 ‖ appid ‖ 0 ‖
//! user ‖ 0 ‖ nonce)[..16])`. So a dump of the store holds nothing a caller
//! could present or decrypt with, and every instance sharing `id_secret`
//! seals with the same key.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::OpenServer;
use super::directory::SuperappUser;
use super::registry::Subject;
use super::wire::PhoneInfo;
use crate::api::Scope;
use crate::app::AppInfo;
use crate::digest::hmac_sha256_of;
use crate::opendata::{OpenData, SealedData, Watermark, seal};
use crate::platform::Principal;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::secret::SessionKey;

/// The fields of a sealed user info only the platform vouches for; a
/// host's user info that has them loses them, in `rawData` and sealed.
const IDENTITY_FIELDS: [&str; 3] = ["openId", "unionId", "watermark"];

impl OpenServer {
    /// The session_key of the session whose nonce is `nonce`.
    pub(super) fn session_key(&self, subject: &Subject, nonce: &[u8; 16]) -> SessionKey {
        let mac = hmac_sha256_of(
            &self.inner.id_key,
            [
                b"session_key".as_slice(),
                b"\0",
                subject.app.app_id.as_bytes(),
                b"\0",
                subject.user_id.as_bytes(),
                b"\0",
                nonce,
            ],
        );
        SessionKey::new(base64::engine::general_purpose::STANDARD.encode(&mac[..16]))
    }

    /// The user, their subject in `app`, and the key of their live session.
    async fn live_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
        scope: Option<Scope>,
    ) -> Result<(Arc<SuperappUser>, Arc<Subject>, SessionKey), OpenServerError> {
        let app_id = app.app_id();
        self.with_app(app_id, |_| Ok(()))?;
        let user = match scope {
            Some(scope) => self.resolve_with_scope(app_id, principal, scope).await?,
            None => self.resolve(app_id, principal).await?.0,
        };
        let subject = self.with_app(app_id, |app| Ok(self.subject(app, &user.id)))?;
        let nonce = self
            .inner
            .store
            .session_nonce(&subject, self.now())
            .await
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| {
                OpenServerError::new(ErrCode::NoSession).with_message(format!(
                    "no session: the user has no live session in {app_id} to seal with; \
                     log in first (wx.login, then the developer server's jscode2session)"
                ))
            })?;
        let key = self.session_key(&subject, &nonce);
        Ok((user, subject, key))
    }

    fn watermark(&self, app: &AppInfo) -> Watermark {
        Watermark::new(app.app_id(), self.now() / 1000)
    }

    /// `wx.getUserInfo` / `wx.getUserProfile`'s open data: `user_info` (what
    /// the host answered, less any `openId`, `unionId` or `watermark`)
    /// becomes `rawData` and is signed; sealed with it are the user's
    /// `openId` and `unionId` in `app` and a watermark for `app`. All under
    /// the key of the user's current session, the one jscode2session last
    /// handed the developer server.
    ///
    /// # Errors
    ///
    /// `46006` when the user has no live session in `app` (never a seal
    /// under another key), and as
    /// [`issue_login_code`](OpenServer::issue_login_code).
    pub async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &Map<String, Value>,
    ) -> Result<OpenData, OpenServerError> {
        let (_, subject, key) = self.live_session(app, principal, None).await?;
        let mut visible = user_info.clone();
        for field in IDENTITY_FIELDS {
            visible.remove(field);
        }
        let mut identity = Map::new();
        identity.insert("openId".into(), subject.openid.clone().into());
        identity.insert("unionId".into(), subject.unionid.clone().into());
        OpenData::seal(&visible, &identity, &self.watermark(app), &key).map_err(sealing_failed)
    }

    /// The phone-number button's open data: `phoneNumber`,
    /// `purePhoneNumber` and `countryCode` (as getuserphonenumber answers
    /// them) and a watermark, sealed under the user's current session key.
    ///
    /// # Errors
    ///
    /// `46006` when the user has no live session in `app`, `46005` when the
    /// user has no phone number, `46004` when an authCode lacks the phone
    /// scope, and as [`issue_login_code`](OpenServer::issue_login_code).
    pub async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, OpenServerError> {
        let (user, _, key) = self
            .live_session(app, principal, Some(Scope::PhoneNumber))
            .await?;
        let number = user.phone_number.clone().ok_or_else(|| {
            OpenServerError::new(ErrCode::NoSuchUserData)
                .with_message("the user has no phone number")
        })?;
        let info = PhoneInfo::from_number(number);
        let mut data = Map::new();
        data.insert("phoneNumber".into(), info.phone_number.into_secret().into());
        data.insert(
            "purePhoneNumber".into(),
            info.pure_phone_number.into_secret().into(),
        );
        data.insert("countryCode".into(), info.country_code.into());
        seal(&data, &self.watermark(app), &key).map_err(sealing_failed)
    }
}

/// A derived key is always 16 bytes of base64, so sealing cannot fail; were
/// it to, the caller gets a system error rather than a seal.
fn sealing_failed(err: crate::opendata::OpenDataError) -> OpenServerError {
    OpenServerError::new(ErrCode::SystemError).with_message(format!("system error: {err}"))
}
