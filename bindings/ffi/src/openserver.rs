//! The embedded platform as a UniFFI object: app and user registration, the
//! super-app server's authCodes, and the developer-server calls of TCMPP's "Mini Program Login" page,
//! so that a host's demo and tests run offline.

use std::fmt;
use std::sync::Arc;

use superapp_openapi as openapi;
use superapp_openapi::openserver as os;

use crate::runtime;
use superapp_openapi::{AppKind, Scope};

use crate::types::{OpenApiError, Secret};

/// The embedded platform (the core's `OpenServer`), in this process.
/// Clones share state; a `Dispatcher` built with it issues codes that its
/// developer-server calls redeem.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct OpenServer {
    inner: openapi::OpenServer,
}

impl fmt::Debug for OpenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for OpenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl OpenServer {
    pub(crate) fn core(&self) -> &openapi::OpenServer {
        &self.inner
    }
}

/// A user of the super app, as the embedded super-app server knows them.
/// Its `repr`/`toString` hide the phone number and email.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SuperappUser {
    /// The host's user id (what `app_uid` returns).
    pub id: String,
    /// The phone number, if the user gave one.
    #[uniffi(default = None)]
    pub phone_number: Option<String>,
    /// The email address, if the user gave one.
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// The nickname.
    #[uniffi(default = "")]
    pub nickname: String,
    /// The avatar URL.
    #[uniffi(default = "")]
    pub avatar_url: String,
    /// Whether the account may log in to mini programs.
    #[uniffi(default = true)]
    pub active: bool,
}

impl fmt::Debug for SuperappUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("SuperappUser")
            .field("id", &self.id)
            .field("phone_number", &redacted(&self.phone_number))
            .field("email", &redacted(&self.email))
            .field("nickname", &self.nickname)
            .field("avatar_url", &self.avatar_url)
            .field("active", &self.active)
            .finish()
    }
}

impl fmt::Display for SuperappUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<SuperappUser> for os::SuperappUser {
    fn from(user: SuperappUser) -> Self {
        let mut out = os::SuperappUser::new(user.id)
            .with_nickname(user.nickname)
            .with_avatar_url(user.avatar_url);
        if let Some(phone) = user.phone_number {
            out = out.with_phone_number(phone);
        }
        if let Some(email) = user.email {
            out = out.with_email(email);
        }
        if !user.active {
            out = out.inactive();
        }
        out
    }
}

/// `jscode2session`'s answer: the user's `openid` in the app, a new
/// `session_key`, the `unionid` in the team.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Jscode2SessionAnswer {
    /// `openid`
    pub openid: String,
    /// `session_key`
    pub session_key: Arc<Secret>,
    /// `unionid`
    pub unionid: String,
    /// `requestId`
    pub request_id: String,
}

/// `cgi-bin/token`'s answer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TokenAnswer {
    /// `access_token`
    pub access_token: Arc<Secret>,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// `requestId`
    pub request_id: String,
}

/// An answer with only the status fields (`checksession`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StatusAnswer {
    /// `errcode`, 0.
    pub errcode: i64,
    /// `errmsg`, `"ok"`.
    pub errmsg: String,
    /// `requestId`
    pub request_id: String,
}

/// `getuserphonenumber`'s answer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PhoneNumberAnswer {
    /// `phone_info.phoneNumber`
    pub phone_number: Arc<Secret>,
    /// `requestId`
    pub request_id: String,
}

/// `getemailaddress`'s answer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EmailAddressAnswer {
    /// `email_address.emailAddress`
    pub email_address: Arc<Secret>,
    /// `requestId`
    pub request_id: String,
}

/// The answer of a success that lacks its result field: never from the
/// embedded platform, but not a reason to panic.
fn missing(field: &str) -> OpenApiError {
    OpenApiError::Platform {
        errcode: -1,
        errmsg: format!("system error: the answer has no {field}"),
    }
}

#[uniffi::export]
impl OpenServer {
    /// A platform with the default lifetimes and limits, the system clock
    /// and an in-memory super-app directory.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(OpenServer {
            inner: openapi::OpenServer::new(),
        })
    }

    /// Registers (or replaces) an app with its secret and team.
    ///
    /// # Errors
    ///
    /// The platform's error (`docs/openserver.md`), e.g. a secret shorter
    /// than 16 characters or an id past 128 bytes.
    pub fn register_app(
        &self,
        app_id: String,
        secret: String,
        team_id: String,
        kind: AppKind,
    ) -> Result<(), OpenApiError> {
        let registration =
            os::AppRegistration::new(app_id, openapi::AppSecret::new(secret), team_id)
                .with_kind(kind);
        Ok(self.inner.register_app(registration)?)
    }

    /// Adds or replaces a user of the in-memory super-app directory.
    ///
    /// # Errors
    ///
    /// The platform's error.
    pub fn add_user(&self, user: SuperappUser) -> Result<(), OpenApiError> {
        Ok(self.inner.add_user(user.into())?)
    }

    /// Issues a v3 authCode for `user_id` in `app_id` with the scopes the
    /// user granted, as a super-app server would: what a host's
    /// `get_auth_code` puts in its grant.
    ///
    /// # Errors
    ///
    /// `40013` for an unknown app, `46001`/`46002` for an unknown or
    /// inactive user, `45009` past the user's outstanding authCodes.
    pub async fn issue_auth_code(
        &self,
        app_id: String,
        user_id: String,
        scopes: Vec<Scope>,
    ) -> Result<Arc<Secret>, OpenApiError> {
        // Async as a super-app server's call is (and as the platform's
        // store makes it): the host awaits it in its own get_auth_code.
        let server = self.inner.clone();
        runtime::run(async move {
            let code = server.issue_auth_code(&app_id, &user_id, scopes).await?;
            Ok(Secret::wrap(code.into_secret()))
        })
        .await
    }

    /// `sns/jscode2session`: exchanges a login code (the `code` of a
    /// `wx.login` reply) for the user's openid, a new session_key and the
    /// unionid.
    ///
    /// # Errors
    ///
    /// `40029` for an unknown or expired code, `40163` for a used one,
    /// `40013`/`40001` for an unknown app or a wrong secret, `45011` past
    /// the rate limit.
    pub async fn jscode2session(
        &self,
        app_id: String,
        secret: String,
        js_code: String,
    ) -> Result<Jscode2SessionAnswer, OpenApiError> {
        let server = self.inner.clone();
        runtime::run(async move {
            let request = os::Jscode2SessionRequest::new(
                app_id,
                openapi::AppSecret::new(secret),
                openapi::Code::new(js_code),
            );
            let answer = server.jscode2session(&request).await?;
            Ok(Jscode2SessionAnswer {
                openid: answer.openid,
                session_key: Secret::wrap(answer.session_key.into_secret()),
                unionid: answer.unionid,
                request_id: answer.request_id,
            })
        })
        .await
    }

    /// `cgi-bin/token`: a new access token for the app.
    ///
    /// # Errors
    ///
    /// `40013`/`40001` for an unknown app or a wrong secret, `45009` past
    /// the daily quota.
    pub async fn token(&self, app_id: String, secret: String) -> Result<TokenAnswer, OpenApiError> {
        let server = self.inner.clone();
        runtime::run(async move {
            let request = os::TokenRequest::new(app_id, openapi::AppSecret::new(secret));
            let answer = server.token(&request).await?;
            Ok(TokenAnswer {
                access_token: Secret::wrap(
                    answer
                        .access_token
                        .ok_or_else(|| missing("access_token"))?
                        .into_secret(),
                ),
                expires_in: answer.expires_in.unwrap_or_default(),
                request_id: answer.request_id,
            })
        })
        .await
    }

    /// `wxa/checksession`: whether `signature` (see `session_signature`)
    /// matches the user's current session.
    ///
    /// # Errors
    ///
    /// `87009` for a wrong or stale signature, `40014`/`42001` for a bad
    /// token, `40003` for an unknown openid.
    pub async fn checksession(
        &self,
        access_token: Arc<Secret>,
        openid: String,
        signature: String,
    ) -> Result<StatusAnswer, OpenApiError> {
        let server = self.inner.clone();
        let token = openapi::AccessToken::new(access_token.value());
        runtime::run(async move {
            let request = os::CheckSessionRequest::new(token, openid, signature);
            let answer = server.checksession(&request).await?;
            Ok(StatusAnswer {
                errcode: answer.errcode,
                errmsg: answer.errmsg,
                request_id: answer.request_id,
            })
        })
        .await
    }

    /// `wxa/business/getuserphonenumber`: the phone number behind the
    /// `code` of a `wx.getPhoneNumber` reply.
    ///
    /// # Errors
    ///
    /// `40029` for an unknown, expired or other user's code, `40163` for a
    /// used one, `46005` when the user has no phone number.
    pub async fn getuserphonenumber(
        &self,
        access_token: Arc<Secret>,
        openid: String,
        code: String,
    ) -> Result<PhoneNumberAnswer, OpenApiError> {
        let server = self.inner.clone();
        let token = openapi::AccessToken::new(access_token.value());
        runtime::run(async move {
            let request = os::UserCodeRequest::new(token, openid, openapi::Code::new(code));
            let answer = server.getuserphonenumber(&request).await?;
            let info = answer.phone_info.ok_or_else(|| missing("phone_info"))?;
            Ok(PhoneNumberAnswer {
                phone_number: Secret::wrap(info.phone_number.into_secret()),
                request_id: answer.request_id,
            })
        })
        .await
    }

    /// `wxa/business/getemailaddress`: the email address behind the `code`
    /// of a `wx.getEmail` reply.
    ///
    /// # Errors
    ///
    /// As `getuserphonenumber`, with `46005` when the user has no email.
    pub async fn getemailaddress(
        &self,
        access_token: Arc<Secret>,
        openid: String,
        code: String,
    ) -> Result<EmailAddressAnswer, OpenApiError> {
        let server = self.inner.clone();
        let token = openapi::AccessToken::new(access_token.value());
        runtime::run(async move {
            let request = os::UserCodeRequest::new(token, openid, openapi::Code::new(code));
            let answer = server.getemailaddress(&request).await?;
            let info = answer
                .email_address
                .ok_or_else(|| missing("email_address"))?;
            Ok(EmailAddressAnswer {
                email_address: Secret::wrap(info.email_address.into_secret()),
                request_id: answer.request_id,
            })
        })
        .await
    }
}

/// The `signature` a developer server sends to `checksession`:
/// hex(hmac_sha256(key = session_key, message = "")).
#[uniffi::export]
pub fn session_signature(session_key: Arc<Secret>) -> String {
    // The user-state signature of an empty signData is the checksession
    // signature (and needs no HTTP client).
    openapi::payment::user_signature(&openapi::SessionKey::new(session_key.value()), "")
}
