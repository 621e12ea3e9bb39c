//! The rules the SDK side (`sdk_side.rs`) and the developer side
//! (`developer.rs`) share, written once: which app an id or a secret names,
//! which user an id names (and that the user may act), and which platform
//! error a store's answer stands for.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::OpenServer;
use super::directory::SuperappUser;
use super::registry::AppState;
use super::store::{Refused, StoreError};
use crate::digest::sha256;
use crate::platform::errcode::{ErrCode, OpenServerError};

impl OpenServer {
    /// The registered app `app_id` names, or `40013`.
    pub(super) fn app(&self, app_id: &str) -> Result<Arc<AppState>, OpenServerError> {
        self.with_app(app_id, |app| Ok(app.clone()))
    }

    /// Runs `f` on a registered app without cloning its `Arc` (the hot path
    /// of two threads would otherwise bounce its reference count).
    pub(super) fn with_app<R>(
        &self,
        app_id: &str,
        f: impl FnOnce(&Arc<AppState>) -> Result<R, OpenServerError>,
    ) -> Result<R, OpenServerError> {
        let apps = self.inner.apps.load();
        let app = apps
            .get(app_id)
            .ok_or_else(|| OpenServerError::new(ErrCode::InvalidAppid))?;
        f(app)
    }

    /// The app, if `secret` is its secret: their SHA-256 digests compared
    /// in constant time, so that the time depends on neither the secret nor
    /// its length. A wrong secret takes no reference to the app.
    pub(super) fn authenticate(
        &self,
        appid: &str,
        secret: &str,
    ) -> Result<Arc<AppState>, OpenServerError> {
        let presented = sha256(secret.as_bytes());
        self.with_app(appid, |app| {
            if bool::from(app.record.secret_digest.ct_eq(&presented)) {
                Ok(app.clone())
            } else {
                Err(OpenServerError::new(ErrCode::InvalidSecret))
            }
        })
    }

    /// The super-app user `user_id` names, if it exists (`46001`) and is
    /// active (`46002`): the user a login, an authCode or a redeemed
    /// phone/email code acts for.
    pub(super) async fn active_user(
        &self,
        user_id: &str,
    ) -> Result<Arc<SuperappUser>, OpenServerError> {
        let user = self
            .inner
            .directory
            .user(user_id)
            .await?
            .ok_or_else(|| OpenServerError::new(ErrCode::UserNotFound))?;
        if !user.active {
            return Err(OpenServerError::new(ErrCode::UserInactive));
        }
        Ok(user)
    }

    /// The platform error a store's answer stands for.
    pub(super) fn store_error(&self, err: StoreError) -> OpenServerError {
        let config = &self.inner.config;
        let refused = match err {
            StoreError::Refused(refused) => refused,
            StoreError::Unavailable(why) => {
                self.inner
                    .store_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(reason = %why, "the platform store did not answer");
                return OpenServerError::new(ErrCode::SystemError)
                    .with_message("system error: the platform store is unavailable; try again");
            }
        };
        match refused {
            Refused::UserCodeQuota | Refused::AppCodeQuota => {
                OpenServerError::new(ErrCode::TooManyCodes)
            }
            Refused::InvalidCode => OpenServerError::new(ErrCode::InvalidCode),
            Refused::CodeUsed => OpenServerError::new(ErrCode::CodeUsed),
            Refused::RateLimited => OpenServerError::new(ErrCode::RateLimited).with_message(format!(
                "rate limit: at most {} jscode2session calls per user per minute",
                config.rate_limit_per_minute
            )),
            Refused::UnknownOpenid => OpenServerError::new(ErrCode::InvalidOpenid),
            Refused::BadSignature => OpenServerError::new(ErrCode::InvalidSignature),
            Refused::TokenQuota => OpenServerError::new(ErrCode::TooManyCodes).with_message(format!(
                "access token quota: at most {} tokens per app per day (UTC); reuse the token you have",
                config.max_access_tokens_per_day
            )),
            Refused::InvalidToken => OpenServerError::new(ErrCode::InvalidAccessToken),
            Refused::ExpiredToken => OpenServerError::new(ErrCode::AccessTokenExpired),
            Refused::GrantQuota => OpenServerError::new(ErrCode::TooManyCodes).with_message(format!(
                "too many outstanding authCodes for this user: the limit is {}; they are freed as they are redeemed or expire",
                config.max_auth_codes_per_user
            )),
        }
    }
}
