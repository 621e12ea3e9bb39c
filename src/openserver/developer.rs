//! Developer-server side (TCMPP's "Mini Program Login" page,
//! <https://www.tencentcloud.com/document/product/1219/67646>): each call returns the page's success
//! answer or the platform error; the HTTP layer renders either.

use std::sync::Arc;

use super::OpenServer;
use super::clock::millis;
use super::codes::CodeKey;
use super::codes::CodeKind;
use super::registry::AppState;
use super::store::TokenTerms;
use super::wire::{
    CheckSessionRequest, EmailAddressResponse, EmailInfo, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIAL, Jscode2SessionRequest, Jscode2SessionResponse, PhoneInfo,
    PhoneNumberResponse, SIG_METHOD_HMAC_SHA256, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest, request_id,
};
use crate::digest::{hmac_sha256, random_hex};
use crate::platform::UserCodeKind;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::secret::{AccessToken, AppSecret, Code, EmailAddress, PhoneNumber, SessionKey};

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
        let (openid, session_key, unionid) = self.exchange_code(req).await?;
        Ok(Jscode2SessionResponse {
            errcode: 0,
            errmsg: "ok".into(),
            openid,
            request_id: request_id(),
            session_key,
            unionid,
        })
    }

    async fn exchange_code(
        &self,
        req: &Jscode2SessionRequest,
    ) -> Result<(String, SessionKey, String), OpenServerError> {
        let appid = required(req.appid.as_deref(), "appid")?;
        let secret = required(req.secret.as_ref().map(AppSecret::secret), "secret")?;
        let js_code = required(req.js_code.as_ref().map(Code::secret), "js_code")?;
        let grant_type = required(req.grant_type.as_deref(), "grant_type")?;
        let app = self.authenticate(appid, secret)?;
        if grant_type != GRANT_AUTHORIZATION_CODE {
            return Err(OpenServerError::new(ErrCode::InvalidGrantType)
                .with_message("invalid grant_type: expected authorization_code"));
        }
        let key =
            CodeKey::parse(js_code).ok_or_else(|| OpenServerError::new(ErrCode::InvalidCode))?;
        let now = self.now();
        let config = &self.inner.config;
        let subject = self
            .inner
            .store
            .redeem_login_code(&app, key, now, config.rate_limit_per_minute, |user_id| {
                self.subject(&app, user_id)
            })
            .await
            .map_err(|e| self.store_error(e))?;
        // The store keeps the nonce, never the key: open data is sealed with
        // the key derived again from it (open_data.rs).
        let nonce: [u8; 16] = rand::random();
        let session_key = self.session_key(&subject, &nonce);
        let signature = hmac_sha256(session_key.secret().as_bytes(), b"");
        self.inner
            .store
            .replace_session(
                &subject,
                signature,
                nonce,
                now,
                now + millis(config.session_ttl),
            )
            .await
            .map_err(|e| self.store_error(e))?;
        Ok((subject.openid.clone(), session_key, subject.unionid.clone()))
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
        let token = self.issue_token(req).await?;
        Ok(TokenResponse {
            access_token: Some(token),
            errcode: 0,
            errmsg: "ok".into(),
            expires_in: Some(self.inner.config.access_token_ttl.as_secs()),
            request_id: request_id(),
        })
    }

    async fn issue_token(&self, req: &TokenRequest) -> Result<AccessToken, OpenServerError> {
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
        self.ensure_sweeper();
        let token = random_hex::<32>();
        let terms = TokenTerms {
            now,
            expires_at: now + millis(config.access_token_ttl),
            overlap_end: now + millis(config.access_token_overlap),
            per_day: config.max_access_tokens_per_day,
        };
        self.inner
            .store
            .issue_token(&app, &token, terms)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(AccessToken::new(token))
    }

    /// The app of a live access token.
    async fn check_token(&self, token: &str) -> Result<Arc<AppState>, OpenServerError> {
        self.inner
            .store
            .resolve_token(token, self.now(), |app_id| self.app(app_id).ok())
            .await
            .map_err(|e| self.store_error(e))
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
        self.verify_session(req).await?;
        Ok(StatusResponse::ok())
    }

    async fn verify_session(&self, req: &CheckSessionRequest) -> Result<(), OpenServerError> {
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
        let mut given = [0u8; 32];
        // Text that is no signature at all is a wrong one; the token and
        // the openid are still checked first.
        let given = hex::decode_to_slice(signature, &mut given)
            .is_ok()
            .then_some(&given);
        let registered = |app_id: &str| self.with_app(app_id, |_| Ok(())).is_ok();
        self.inner
            .store
            .check_session(token, openid, given, self.now(), registered)
            .await
            .map_err(|e| self.store_error(e))
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
        let phone_number = PhoneNumber::new(
            self.redeem_user_code(req, UserCodeKind::PhoneNumber)
                .await?,
        );
        Ok(PhoneNumberResponse {
            errcode: 0,
            errmsg: "ok".into(),
            phone_info: Some(PhoneInfo::from_number(phone_number)),
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
        let email_address =
            EmailAddress::new(self.redeem_user_code(req, UserCodeKind::Email).await?);
        Ok(EmailAddressResponse {
            errcode: 0,
            errmsg: "ok".into(),
            email_address: Some(EmailInfo { email_address }),
            request_id: request_id(),
        })
    }

    /// The phone number or email behind a user code: the platform's code
    /// redeemed in the store, then the value from the directory (through
    /// the super-app server's temporary code when ours carries one).
    async fn redeem_user_code(
        &self,
        req: &UserCodeRequest,
        kind: UserCodeKind,
    ) -> Result<String, OpenServerError> {
        let token = required(
            req.access_token.as_ref().map(AccessToken::secret),
            "access_token",
        )?;
        // WeChat's clients send no openid (the code names the user); the
        // TCMPP page's do, and then it must be the code's user.
        let openid = req.openid.as_deref().filter(|o| !o.is_empty());
        let code = required(req.code.as_ref().map(Code::secret), "code")?;
        let (code, temporary) = match code.split_once('.') {
            Some((ours, theirs)) => (ours, Some(Code::new(theirs))),
            None => (code, None),
        };
        let app = self.check_token(token).await?;
        let user_id = self
            .inner
            .store
            .redeem_user_code(
                &app,
                openid,
                CodeKey::parse(code),
                CodeKind::User(kind),
                self.now(),
            )
            .await
            .map_err(|e| match self.store_error(e) {
                e if e.code() == Some(ErrCode::InvalidCode) => e.with_message("invalid code"),
                e => e,
            })?;
        let user = self.active_user(&user_id).await?;
        self.inner
            .directory
            .get()
            .redeem_temporary_code(&user, kind, temporary.as_ref())
            .await
    }
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, OpenServerError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OpenServerError::missing(name))
}
