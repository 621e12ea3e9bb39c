//! Developer-server side (seed 000): each call returns the seed's success
//! answer or the platform error; the HTTP layer renders either.

use std::sync::Arc;

use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::OpenServer;
use super::clock::millis;
use super::codes::CodeKind;
use super::directory::SuperappUser;
use super::registry::{AppState, Session, Subject, SubjectState};
use super::store::{CodeKey, lock};
use super::wire::{
    CheckSessionRequest, EmailAddressResponse, EmailInfo, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIAL, Jscode2SessionRequest, Jscode2SessionResponse, PhoneInfo,
    PhoneNumberResponse, SIG_METHOD_HMAC_SHA256, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest, request_id,
};
use crate::digest::{hmac_sha256, random_hex};
use crate::platform::UserCodeKind;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::secret::{AccessToken, AppSecret, Code, SessionKey};

/// An access token's app and expiry.
pub(super) struct TokenEntry {
    app: Arc<AppState>,
    pub(super) expires_at: u64,
}

impl OpenServer {
    /// `GET /openserver/sns/jscode2session`: exchanges a login code for the
    /// user's `openid`, a new `session_key` (the previous one stops
    /// verifying) and `unionid`.
    ///
    /// # Errors
    ///
    /// `10002` for a missing parameter, `40013`/`40001` for an unknown app
    /// or wrong secret, `40002` for another grant_type, `40029` for an
    /// unknown, expired or other app's code, `40163` for a used one, `45011`
    /// past the rate limit.
    pub async fn jscode2session(
        &self,
        req: &Jscode2SessionRequest,
    ) -> Result<Jscode2SessionResponse, OpenServerError> {
        let (openid, session_key, unionid) = self.exchange_code(req)?;
        Ok(Jscode2SessionResponse {
            errcode: 0,
            errmsg: "ok".into(),
            openid,
            request_id: request_id(),
            session_key,
            unionid,
        })
    }

    fn exchange_code(
        &self,
        req: &Jscode2SessionRequest,
    ) -> Result<(String, SessionKey, String), OpenServerError> {
        let appid = required(req.appid.as_deref(), "appid")?;
        let secret = required(req.secret.as_ref().map(AppSecret::secret), "secret")?;
        let js_code = required(req.js_code.as_ref().map(Code::secret), "js_code")?;
        let grant_type = required(req.grant_type.as_deref(), "grant_type")?;
        self.authenticate(appid, secret)?;
        if grant_type != GRANT_AUTHORIZATION_CODE {
            return Err(OpenServerError::new(ErrCode::InvalidGrantType)
                .with_message("invalid grant_type: expected authorization_code"));
        }
        let invalid = || OpenServerError::new(ErrCode::InvalidCode);
        let key = CodeKey::parse(js_code).ok_or_else(invalid)?;
        let now = self.now();
        let subject = {
            let mut shard = self.inner.codes.shard(&key);
            let entry = shard.get_mut(&key).ok_or_else(invalid)?;
            if entry.kind != CodeKind::Login
                || entry.expires_at <= now
                || entry.subject.app.app_id != appid
            {
                return Err(invalid());
            }
            if entry.used {
                return Err(OpenServerError::new(ErrCode::CodeUsed));
            }
            let mut state = lock(&entry.subject.state);
            self.take_rate_limit(&mut state, now)?;
            let session_key = SessionKey::new(
                base64::engine::general_purpose::STANDARD.encode(CodeKey::random().0),
            );
            state.session = Some(Session {
                expected_signature: hmac_sha256(session_key.secret().as_bytes(), b""),
                expires_at: now + millis(self.inner.config.session_ttl),
            });
            drop(state);
            entry.used = true;
            (entry.subject.clone(), session_key)
        };
        let (subject, session_key) = subject;
        Ok((subject.openid.clone(), session_key, subject.unionid.clone()))
    }

    fn take_rate_limit(&self, state: &mut SubjectState, now: u64) -> Result<(), OpenServerError> {
        let minute = now / 60_000;
        if state.window_minute != minute {
            state.window_minute = minute;
            state.window_count = 0;
        }
        let limit = self.inner.config.rate_limit_per_minute;
        if state.window_count >= limit {
            return Err(
                OpenServerError::new(ErrCode::RateLimited).with_message(format!(
                    "rate limit: at most {limit} jscode2session calls per user per minute"
                )),
            );
        }
        state.window_count += 1;
        Ok(())
    }

    /// `GET /openserver/cgi-bin/token`: a new access token, valid 7200 s; the
    /// previous one stays valid five more minutes, and the one before it
    /// stops at once (an app has at most two live tokens).
    ///
    /// # Errors
    ///
    /// `10002` for a missing parameter, `40013`/`40001` for an unknown app
    /// or wrong secret, `40002` for another grant_type, `45009` past the
    /// app's daily quota
    /// ([`max_access_tokens_per_day`](super::OpenServerConfig::max_access_tokens_per_day)).
    pub async fn token(&self, req: &TokenRequest) -> Result<TokenResponse, OpenServerError> {
        let token = self.issue_token(req)?;
        Ok(TokenResponse {
            access_token: Some(token),
            errcode: 0,
            errmsg: "ok".into(),
            expires_in: Some(self.inner.config.access_token_ttl.as_secs()),
            request_id: request_id(),
        })
    }

    fn issue_token(&self, req: &TokenRequest) -> Result<AccessToken, OpenServerError> {
        let appid = required(req.appid.as_deref(), "appid")?;
        let secret = required(req.secret.as_ref().map(AppSecret::secret), "secret")?;
        let grant_type = required(req.grant_type.as_deref(), "grant_type")?;
        let app = self.authenticate(appid, secret)?;
        if grant_type != GRANT_CLIENT_CREDENTIAL {
            return Err(OpenServerError::new(ErrCode::InvalidGrantType)
                .with_message("invalid grant_type: expected client_credential"));
        }
        let now = self.now();
        let config = &self.inner.config;
        let mut slots = lock(&app.tokens);
        let day = now / 86_400_000;
        if slots.day != day {
            slots.day = day;
            slots.issued_today = 0;
        }
        let quota = config.max_access_tokens_per_day;
        if slots.issued_today >= quota {
            return Err(OpenServerError::new(ErrCode::TooManyCodes).with_message(format!(
                "access token quota: at most {quota} tokens per app per day (UTC); reuse the token you have"
            )));
        }
        slots.issued_today += 1;
        self.ensure_sweeper();
        let token = random_hex::<32>();
        let mut tokens = lock(&self.inner.tokens);
        // The one before the previous stops now; the previous one lives on
        // for the overlap; so an app never has more than two live tokens.
        if let Some(stale) = slots.previous.take() {
            tokens.remove(&stale);
        }
        if let Some(current) = slots.current.take() {
            if let Some(entry) = tokens.get_mut(&current) {
                let overlap_end = now + millis(config.access_token_overlap);
                entry.expires_at = entry.expires_at.min(overlap_end);
            }
            slots.previous = Some(current);
        }
        tokens.insert(
            token.clone(),
            TokenEntry {
                app: app.clone(),
                expires_at: now + millis(config.access_token_ttl),
            },
        );
        slots.current = Some(token.clone());
        Ok(AccessToken::new(token))
    }

    fn check_token(&self, token: &str) -> Result<Arc<AppState>, OpenServerError> {
        let tokens = lock(&self.inner.tokens);
        let entry = tokens
            .get(token)
            .ok_or_else(|| OpenServerError::new(ErrCode::InvalidAccessToken))?;
        if entry.expires_at <= self.now() {
            return Err(OpenServerError::new(ErrCode::AccessTokenExpired));
        }
        Ok(entry.app.clone())
    }

    fn subject_by_openid(
        &self,
        app: &AppState,
        openid: &str,
    ) -> Result<Arc<Subject>, OpenServerError> {
        app.by_openid
            .get(openid)
            .ok_or_else(|| OpenServerError::new(ErrCode::InvalidOpenid))
    }

    /// `GET /openserver/wxa/checksession`: whether `signature` is
    /// hex(hmac_sha256(key = the current session_key, message = "")).
    ///
    /// # Errors
    ///
    /// `87009` for a wrong or stale signature (a newer login replaced the
    /// key, or the session expired), `40014`/`42001` for a bad token,
    /// `40003` for an unknown openid, `10002` for a missing parameter.
    pub async fn checksession(
        &self,
        req: &CheckSessionRequest,
    ) -> Result<StatusResponse, OpenServerError> {
        self.verify_session(req)?;
        Ok(StatusResponse::ok())
    }

    fn verify_session(&self, req: &CheckSessionRequest) -> Result<(), OpenServerError> {
        let token = required(
            req.access_token.as_ref().map(AccessToken::secret),
            "access_token",
        )?;
        let openid = required(req.openid.as_deref(), "openid")?;
        // An empty signature is a wrong one (87009), not a missing one.
        let signature = req
            .signature
            .as_deref()
            .ok_or_else(|| OpenServerError::missing("signature"))?;
        let sig_method = required(req.sig_method.as_deref(), "sig_method")?;
        if sig_method != SIG_METHOD_HMAC_SHA256 {
            return Err(OpenServerError::new(ErrCode::InvalidParam)
                .with_message("invalid param: sig_method must be hmac_sha256"));
        }
        let app = self.check_token(token)?;
        let subject = self.subject_by_openid(&app, openid)?;
        let invalid = || OpenServerError::new(ErrCode::InvalidSignature);
        let mut given = [0u8; 32];
        hex::decode_to_slice(signature, &mut given).map_err(|_| invalid())?;
        let now = self.now();
        let state = lock(&subject.state);
        let session = state
            .session
            .as_ref()
            .filter(|s| s.expires_at > now)
            .ok_or_else(invalid)?;
        if bool::from(session.expected_signature.ct_eq(&given)) {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    /// `POST /openserver/wxa/business/getuserphonenumber`: the phone number
    /// behind a `wx.getPhoneNumber` code.
    ///
    /// # Errors
    ///
    /// `40029` for an unknown, expired or other user's code, `40163` for a
    /// used one, `46005` when the user has no phone number, and the token
    /// and openid errors of [`checksession`](OpenServer::checksession).
    pub async fn getuserphonenumber(
        &self,
        req: &UserCodeRequest,
    ) -> Result<PhoneNumberResponse, OpenServerError> {
        let user = self
            .redeem_user_code(req, UserCodeKind::PhoneNumber)
            .await?;
        let phone_number = user.phone_number.clone().ok_or_else(|| {
            OpenServerError::new(ErrCode::NoSuchUserData)
                .with_message("the user has no phone number")
        })?;
        Ok(PhoneNumberResponse {
            errcode: 0,
            errmsg: "ok".into(),
            phone_info: Some(PhoneInfo { phone_number }),
            request_id: request_id(),
        })
    }

    /// `POST /openserver/wxa/business/getemailaddress`: the email address
    /// behind a `wx.getEmail` code.
    ///
    /// # Errors
    ///
    /// As [`getuserphonenumber`](OpenServer::getuserphonenumber), with
    /// `46005` when the user has no email address.
    pub async fn getemailaddress(
        &self,
        req: &UserCodeRequest,
    ) -> Result<EmailAddressResponse, OpenServerError> {
        let user = self.redeem_user_code(req, UserCodeKind::Email).await?;
        let email_address = user.email.clone().ok_or_else(|| {
            OpenServerError::new(ErrCode::NoSuchUserData)
                .with_message("the user has no email address")
        })?;
        Ok(EmailAddressResponse {
            errcode: 0,
            errmsg: "ok".into(),
            email_address: Some(EmailInfo { email_address }),
            request_id: request_id(),
        })
    }

    async fn redeem_user_code(
        &self,
        req: &UserCodeRequest,
        kind: UserCodeKind,
    ) -> Result<Arc<SuperappUser>, OpenServerError> {
        let token = required(
            req.access_token.as_ref().map(AccessToken::secret),
            "access_token",
        )?;
        let openid = required(req.openid.as_deref(), "openid")?;
        let code = required(req.code.as_ref().map(Code::secret), "code")?;
        let app = self.check_token(token)?;
        let subject = self.subject_by_openid(&app, openid)?;
        let invalid = || OpenServerError::new(ErrCode::InvalidCode).with_message("invalid code");
        let key = CodeKey::parse(code).ok_or_else(invalid)?;
        let now = self.now();
        {
            let mut shard = self.inner.codes.shard(&key);
            let entry = shard.get_mut(&key).ok_or_else(invalid)?;
            if entry.expires_at <= now
                || entry.kind != CodeKind::User(kind)
                || !Arc::ptr_eq(&entry.subject, &subject)
            {
                return Err(invalid());
            }
            if entry.used {
                return Err(OpenServerError::new(ErrCode::CodeUsed));
            }
            entry.used = true;
        }
        let user = self
            .inner
            .directory
            .user(&subject.user_id)
            .await?
            .ok_or_else(|| OpenServerError::new(ErrCode::UserNotFound))?;
        if !user.active {
            return Err(OpenServerError::new(ErrCode::UserInactive));
        }
        Ok(user)
    }
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, OpenServerError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OpenServerError::missing(name))
}
