//! SDK side: what the built-in flows ask (also behind the HTTP SDK routes).

use std::borrow::Cow;
use std::sync::Arc;

use super::OpenServer;
use super::clock::millis;
use super::codes::CodeKey;
use super::codes::CodeKind;
use super::directory::{DirectoryRef, SuperappUser};
use super::registry::Subject;
use super::store::{CodeLimits, Refused, StoreError};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::platform::{Principal, UserCodeKind};
use crate::secret::Code;

impl OpenServer {
    /// `wx.login`: a fresh single-use login code, valid five minutes, for the
    /// principal in `app`.
    ///
    /// # Errors
    ///
    /// `40013` unknown app, `46001`/`46002` unknown or inactive user, `46003`
    /// invalid authCode, `45009` too many outstanding codes.
    pub async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, OpenServerError> {
        let app_id = app.app_id();
        // An unknown app is refused before the user is looked up.
        self.with_app(app_id, |_| Ok(()))?;
        let (user, _) = self.resolve(app_id, principal).await?;
        let subject = self.with_app(app_id, |app| Ok(self.subject(app, &user.id)))?;
        let now = self.now();
        let expires_at = now + millis(self.inner.config.login_code_ttl);
        let key = self
            .store_code(&subject, CodeKind::Login, now, expires_at)
            .await?;
        Ok(Code::new(key.to_hex()))
    }

    /// `wx.checkSession`: whether the principal's session in `app` is valid.
    ///
    /// # Errors
    ///
    /// As [`issue_login_code`](OpenServer::issue_login_code), bar `45009`.
    pub async fn has_valid_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, OpenServerError> {
        let app_id = app.app_id();
        self.with_app(app_id, |_| Ok(()))?;
        let (user, _) = self.resolve(app_id, principal).await?;
        let now = self.now();
        let subject = self.with_app(app_id, |app| Ok(self.subject(app, &user.id)))?;
        self.inner
            .store
            .has_session(&subject, now)
            .await
            .map_err(|e| self.store_error(e))
    }

    /// `wx.getPhoneNumber` / `wx.getEmail`: a one-time code, valid five
    /// minutes, for the developer server to redeem.
    ///
    /// # Errors
    ///
    /// As [`issue_login_code`](OpenServer::issue_login_code), plus `46004`
    /// when an authCode lacks the scope and `46005` when the user has no
    /// phone number / email.
    pub async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, OpenServerError> {
        let app_id = app.app_id();
        self.with_app(app_id, |_| Ok(()))?;
        let scope = match kind {
            UserCodeKind::PhoneNumber => Scope::PhoneNumber,
            UserCodeKind::Email => Scope::Email,
        };
        let user = self.resolve_with_scope(app_id, principal, scope).await?;
        // 46005 when the user has none; a super-app server's one-time code
        // rides inside ours (`KEY.TEMPORARY`), redeemed with it.
        let temporary = self
            .inner
            .directory
            .get()
            .issue_temporary_code(&user, kind)
            .await?;
        let subject = self.with_app(app_id, |app| Ok(self.subject(app, &user.id)))?;
        let now = self.now();
        let expires_at = now + millis(self.inner.config.user_code_ttl);
        let key = self
            .store_code(&subject, CodeKind::User(kind), now, expires_at)
            .await?;
        Ok(Code::new(match temporary {
            Some(temporary) => format!("{}.{}", key.to_hex(), temporary.secret()),
            None => key.to_hex(),
        }))
    }

    /// `wx.chooseAvatar` / `wx.getNickName`: the user's avatar URL or nickname.
    ///
    /// # Errors
    ///
    /// As [`issue_user_code`](OpenServer::issue_user_code), bar `45009`/`46005`.
    pub async fn profile_field(
        &self,
        app: &AppInfo,
        principal: &Principal,
        scope: Scope,
    ) -> Result<String, OpenServerError> {
        let app_id = app.app_id();
        self.with_app(app_id, |_| Ok(()))?;
        let user = self.resolve_with_scope(app_id, principal, scope).await?;
        let directory = self.inner.directory.get();
        Ok(match scope {
            Scope::Avatar => directory.avatar_url(&user).await?,
            Scope::Nickname => directory.nickname(&user).await?,
            other => {
                return Err(OpenServerError::new(ErrCode::InvalidParam)
                    .with_message(format!("invalid param: {other} is not a profile field")));
            }
        })
    }

    /// The user a principal stands for, active, and the scopes it granted
    /// (`None`: a v2 UID, which carries no scopes and needs none).
    pub(super) async fn resolve(
        &self,
        app_id: &str,
        principal: &Principal,
    ) -> Result<(Arc<SuperappUser>, Option<Vec<Scope>>), OpenServerError> {
        let (user_id, scopes) = match principal {
            Principal::Uid(uid) => (Cow::Borrowed(uid.as_str()), None),
            Principal::AuthCode(code) => {
                // The built-in directory's authCodes are the platform
                // store's (so that every instance can redeem them); a
                // super-app backend of the host's redeems its own.
                let grant = match &self.inner.directory {
                    DirectoryRef::Memory(_) => self
                        .inner
                        .store
                        .redeem_grant(code.secret(), app_id, self.now())
                        .await
                        .map_err(|e| self.store_error(e))?,
                    DirectoryRef::Other(directory) => {
                        directory.redeem_auth_code(app_id, code).await?
                    }
                }
                .ok_or_else(|| OpenServerError::new(ErrCode::InvalidAuthCode))?;
                (Cow::Owned(grant.user_id), Some(grant.scopes))
            }
        };
        Ok((self.active_user(&user_id).await?, scopes))
    }

    pub(super) async fn resolve_with_scope(
        &self,
        app_id: &str,
        principal: &Principal,
        scope: Scope,
    ) -> Result<Arc<SuperappUser>, OpenServerError> {
        let (user, scopes) = self.resolve(app_id, principal).await?;
        match scopes {
            Some(scopes) if !scopes.contains(&scope) => {
                Err(OpenServerError::new(ErrCode::ScopeNotGranted)
                    .with_message(format!("scope not granted: {scope}")))
            }
            _ => Ok(user),
        }
    }

    /// Stores a new code under the user's quota, then the app's cap. A
    /// refusal costs a counter check (or, at the app's cap, one look at
    /// each shard's count) and never sweeps: sweeping runs on its own
    /// schedule (see `sweep.rs`).
    async fn store_code(
        &self,
        subject: &Arc<Subject>,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
    ) -> Result<CodeKey, OpenServerError> {
        self.ensure_sweeper();
        let config = &self.inner.config;
        let limits = CodeLimits {
            per_user: config.max_outstanding_codes_per_user,
            per_app: config.max_outstanding_codes_per_app,
        };
        let key = super::store::code_key_for(&subject.openid);
        let app_id = &subject.app.app_id;
        match self
            .inner
            .store
            .issue_code(subject, key, kind, now, expires_at, limits)
            .await
        {
            Ok(()) => Ok(key),
            Err(StoreError::Refused(Refused::UserCodeQuota)) => Err(OpenServerError::new(
                ErrCode::TooManyCodes,
            )
            .with_message(format!(
                "too many outstanding codes for this user in app {app_id}: the limit is {}; codes are freed as they expire",
                limits.per_user
            ))),
            Err(StoreError::Refused(Refused::AppCodeQuota)) => Err(OpenServerError::new(
                ErrCode::TooManyCodes,
            )
            .with_message(format!(
                "too many outstanding codes for app {app_id}: the limit is {}; codes are freed as they expire",
                limits.per_app
            ))),
            Err(err) => Err(self.store_error(err)),
        }
    }
}
