//! [`OpenServerClient`]: the developer server's side of the API of
//! TCMPP's "Mini Program Login" page.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::transport::{Failure, TlsRoots, Transport};
use super::wire::paths;
use crate::digest::hmac_sha256_hex;
use crate::openserver::{
    Clock, EmailAddressResponse, ErrCode, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIAL,
    Jscode2SessionResponse, OpenServerError, PhoneNumberResponse, SIG_METHOD_HMAC_SHA256,
    StatusResponse, SystemClock, TokenResponse,
};
use crate::platform::{TransportError, chain};
use crate::secret::{AccessToken, AppSecret, Code, EmailAddress, PhoneNumber, SessionKey};

/// The default [`OpenServerClientBuilder::timeout`]: 10 s.
const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long before its expiry a cached access token is replaced: 5 minutes
/// (or half its lifetime, for a token that lives less than 10 minutes).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The errcodes that mean "this access token is no good": the client
/// refreshes the token once and retries the call once.
const STALE_TOKEN_CODES: [i64; 3] = [
    ErrCode::InvalidSecret.code(),
    ErrCode::InvalidAccessToken.code(),
    ErrCode::AccessTokenExpired.code(),
];

/// What [`OpenServerClient::jscode2session`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's id in this app.
    pub openid: String,
    /// The session key: keep it on the server, never send it to the mini program.
    pub session_key: SessionKey,
    /// The user's id across the app's team, when the platform gives one.
    pub unionid: Option<String>,
}

/// Why an [`OpenServerClient`] call failed.
///
/// ```
/// use superapp_openapi::http::ClientError;
/// use superapp_openapi::openserver::{ErrCode, OpenServerError};
/// let e = ClientError::Api(
///     OpenServerError::new(ErrCode::CodeUsed).with_request_id("r-1"),
/// );
/// assert_eq!(e.code(), Some(ErrCode::CodeUsed));
/// assert_eq!(e.to_string(), "platform error 40163: code been used (requestId r-1)");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The platform answered with an error code (`docs/openserver.md`).
    #[error(
        "platform error {}: {} (requestId {})",
        .0.errcode(),
        .0.errmsg(),
        .0.request_id().unwrap_or("none")
    )]
    Api(OpenServerError),
    /// The platform could not be reached, or the connection broke
    /// (reqwest's error, its URL stripped: query strings carry secrets).
    #[error("could not reach the platform: {}", chain(&**.0))]
    Transport(#[source] TransportError),
    /// The platform did not answer within the client's timeout.
    #[error("the platform did not answer within {0:?}")]
    Timeout(Duration),
    /// The platform answered something that is not its API (HTML, a 500, a
    /// missing field).
    #[error("the platform answered something unexpected: {0}")]
    BadResponse(String),
}

impl ClientError {
    /// The platform's `errcode`, for [`ClientError::Api`].
    pub fn errcode(&self) -> Option<i64> {
        match self {
            ClientError::Api(err) => Some(err.errcode()),
            _ => None,
        }
    }

    /// The errcode as one of ours, when it is.
    pub fn code(&self) -> Option<ErrCode> {
        self.errcode().and_then(ErrCode::from_code)
    }

    /// The `requestId` of the platform's answer, for [`ClientError::Api`].
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClientError::Api(err) => err.request_id(),
            _ => None,
        }
    }
}

/// Builds an [`OpenServerClient`]; see [`OpenServerClient::builder`].
pub struct OpenServerClientBuilder {
    base_url: String,
    appid: String,
    secret: AppSecret,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    tls: TlsRoots,
}

impl OpenServerClientBuilder {
    /// Trusts the certificate authority in `pem` (PEM, one or more
    /// certificates) besides the platform's roots, for an https platform
    /// whose certificate a private CA signed. A PEM that does not parse
    /// makes every call fail with [`ClientError::Transport`], saying why.
    #[cfg(feature = "rustls")]
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.add_pem(pem.into());
        self
    }

    /// Where the client reads the time to judge its cached token's expiry
    /// (default the system clock); tests pass a [`ManualClock`](crate::openserver::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long one request may take, connecting included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> OpenServerClient {
        OpenServerClient {
            inner: Arc::new(ClientInner {
                transport: Transport::new(&self.base_url, self.timeout, &self.tls),
                appid: self.appid,
                secret: self.secret,
                clock: self.clock,
                cached: Mutex::new(None),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

impl fmt::Debug for OpenServerClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenServerClientBuilder")
            .field("base_url", &self.base_url)
            .field("appid", &self.appid)
            .field("secret", &self.secret)
            .field("clock", &self.clock)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A mini program's developer server talking to the platform: TCMPP's
/// jscode2session, token, checksession, getuserphonenumber and
/// getemailaddress, against a real platform or an `openserver`.
///
/// The access token is cached and replaced five minutes before it expires;
/// however many tasks ask at once, one of them fetches it. A call answered
/// `40001`, `40014` or `42001` (the token is no good) refreshes the token
/// once and is retried once. Cheap to clone (one `Arc`); clones share the
/// cache. `Debug` shows neither the secret nor the token.
///
/// ```no_run
/// use superapp_openapi::http::OpenServerClient;
/// use superapp_openapi::{AppSecret, Code};
/// # async fn run() -> Result<(), superapp_openapi::http::ClientError> {
/// let client = OpenServerClient::new("http://127.0.0.1:8080", "wx-demo", AppSecret::new("secret"));
/// // `code` is what wx.login gave the mini program, sent to your server.
/// let session = client.jscode2session(&Code::new("…")).await?;
/// client.check_session(&session.openid, &session.session_key).await?;
/// let phone = client.get_user_phone_number(&session.openid, &Code::new("…")).await?;
/// # let _ = phone; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenServerClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    transport: Transport,
    appid: String,
    secret: AppSecret,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<CachedToken>>,
    /// Held by the one task fetching a new token.
    refresh: tokio::sync::Mutex<()>,
}

struct CachedToken {
    token: AccessToken,
    /// When to stop using it, in the clock's milliseconds.
    refresh_at: u64,
}

/// A call that needs the access token, so that it can be retried with a new one.
enum TokenCall<'a> {
    CheckSession {
        openid: &'a str,
        signature: &'a str,
    },
    UserCode {
        path: &'static str,
        openid: &'a str,
        code: &'a Code,
    },
}

impl OpenServerClient {
    /// A client for `appid` at `base_url` (scheme, host, port and any path
    /// prefix in front of `/openserver/...`), on the system clock, with a
    /// 10 s timeout.
    pub fn new(base_url: impl Into<String>, appid: impl Into<String>, secret: AppSecret) -> Self {
        OpenServerClient::builder(base_url, appid, secret).build()
    }

    /// Starts a client with a clock or timeout of its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use superapp_openapi::http::OpenServerClient;
    /// use superapp_openapi::openserver::ManualClock;
    /// use superapp_openapi::AppSecret;
    /// let client = OpenServerClient::builder("http://127.0.0.1:8080", "wx-demo", AppSecret::new("s"))
    ///     .clock(ManualClock::new())
    ///     .timeout(Duration::from_secs(3))
    ///     .build();
    /// assert!(!format!("{client:?}").contains("\"s\""));
    /// ```
    pub fn builder(
        base_url: impl Into<String>,
        appid: impl Into<String>,
        secret: AppSecret,
    ) -> OpenServerClientBuilder {
        OpenServerClientBuilder {
            base_url: base_url.into(),
            appid: appid.into(),
            secret,
            clock: Arc::new(SystemClock),
            timeout: DEFAULT_CLIENT_TIMEOUT,
            tls: TlsRoots::default(),
        }
    }

    /// The app this client speaks for.
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }

    /// The checksession `signature` of a session key:
    /// hex(hmac_sha256(key = session_key, message = "")).
    ///
    /// ```
    /// use superapp_openapi::http::OpenServerClient;
    /// use superapp_openapi::SessionKey;
    /// let sig = OpenServerClient::signature(&SessionKey::new("key"));
    /// assert_eq!(sig.len(), 64);
    /// ```
    pub fn signature(session_key: &SessionKey) -> String {
        hmac_sha256_hex(session_key.secret().as_bytes(), b"")
    }

    /// `jscode2session`: exchanges the login code a mini program got from
    /// `wx.login` for the user's openid, a session key and unionid.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `40029` (unknown or expired code), `40163`
    /// (code already used), `40001`/`40013` (wrong secret or appid), `45011`
    /// (rate limit); transport, timeout and bad-response errors.
    pub async fn jscode2session(&self, js_code: &Code) -> Result<Session, ClientError> {
        let answer: Jscode2SessionResponse = self
            .inner
            .transport
            .get(
                paths::JSCODE2SESSION,
                &[
                    ("appid", &self.inner.appid),
                    ("secret", self.inner.secret.secret()),
                    ("js_code", js_code.secret()),
                    ("grant_type", GRANT_AUTHORIZATION_CODE),
                ],
            )
            .await
            .map_err(|f| self.client_error(f))?;
        if answer.openid.is_empty() {
            return Err(ClientError::BadResponse("the answer has no openid".into()));
        }
        if answer.session_key.is_empty() {
            return Err(ClientError::BadResponse(
                "the answer has no session_key".into(),
            ));
        }
        Ok(Session {
            openid: answer.openid,
            session_key: answer.session_key,
            unionid: Some(answer.unionid).filter(|u| !u.is_empty()),
        })
    }

    /// The app's access token: the cached one while it has more than five
    /// minutes to live, else a new one from the token endpoint. Concurrent
    /// callers share one fetch.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `40001` (wrong secret) or `40013` (unknown
    /// appid); transport, timeout and bad-response errors.
    pub async fn access_token(&self) -> Result<AccessToken, ClientError> {
        if let Some(token) = self.cached_token() {
            return Ok(token);
        }
        let _refreshing = self.inner.refresh.lock().await;
        // Whoever held the lock before us may have fetched one already.
        if let Some(token) = self.cached_token() {
            return Ok(token);
        }
        self.fetch_token().await
    }

    /// `checksession`: `Ok` while `session_key` is the user's current one.
    /// The signature is computed here; the key is not sent.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `87009` when the key is not the current
    /// one (a newer login replaced it, or the session expired), `40003` for
    /// an openid the app does not know; token, transport, timeout and
    /// bad-response errors.
    pub async fn check_session(
        &self,
        openid: &str,
        session_key: &SessionKey,
    ) -> Result<(), ClientError> {
        let signature = OpenServerClient::signature(session_key);
        self.with_token::<StatusResponse>(&TokenCall::CheckSession {
            openid,
            signature: &signature,
        })
        .await
        .map(|_| ())
    }

    /// `getuserphonenumber`: the phone number behind a `wx.getPhoneNumber` code.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `40029` (unknown, expired or another
    /// user's code), `40163` (code already used), `40003` (unknown openid);
    /// token, transport, timeout and bad-response errors.
    pub async fn get_user_phone_number(
        &self,
        openid: &str,
        code: &Code,
    ) -> Result<PhoneNumber, ClientError> {
        let answer = self
            .with_token(&TokenCall::UserCode {
                path: paths::GET_USER_PHONE_NUMBER,
                openid,
                code,
            })
            .await?;
        let answer: PhoneNumberResponse = answer;
        answer
            .phone_info
            .map(|info| info.phone_number)
            .ok_or_else(|| {
                ClientError::BadResponse("the answer has no phone_info.phoneNumber".into())
            })
    }

    /// `getemailaddress`: the email address behind a `wx.getEmail` code.
    ///
    /// # Errors
    ///
    /// As [`get_user_phone_number`](OpenServerClient::get_user_phone_number).
    pub async fn get_email_address(
        &self,
        openid: &str,
        code: &Code,
    ) -> Result<EmailAddress, ClientError> {
        let answer = self
            .with_token(&TokenCall::UserCode {
                path: paths::GET_EMAIL_ADDRESS,
                openid,
                code,
            })
            .await?;
        let answer: EmailAddressResponse = answer;
        answer
            .email_address
            .map(|info| info.email_address)
            .ok_or_else(|| {
                ClientError::BadResponse("the answer has no email_address.emailAddress".into())
            })
    }

    fn cached_token(&self) -> Option<AccessToken> {
        let now = self.inner.clock.now_millis();
        let cached = self.inner.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| c.refresh_at > now)
            .map(|c| c.token.clone())
    }

    /// Drops `token` from the cache, unless another task already replaced it.
    fn forget(&self, token: &AccessToken) {
        let mut cached = self.inner.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.as_ref().is_some_and(|c| &c.token == token) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<AccessToken, ClientError> {
        let answer: TokenResponse = self
            .inner
            .transport
            .get(
                paths::TOKEN,
                &[
                    ("appid", &self.inner.appid),
                    ("secret", self.inner.secret.secret()),
                    ("grant_type", GRANT_CLIENT_CREDENTIAL),
                ],
            )
            .await
            .map_err(|f| self.client_error(f))?;
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ClientError::BadResponse("the answer has no access_token".into()))?;
        let expires_in = answer.expires_in.filter(|&s| s > 0).ok_or_else(|| {
            ClientError::BadResponse("expires_in is missing or not a positive integer".into())
        })?;
        let lifetime = Duration::from_secs(expires_in);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let refresh_at = self
            .inner
            .clock
            .now_millis()
            .saturating_add(u64::try_from((lifetime - margin).as_millis()).unwrap_or(u64::MAX));
        *self.inner.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(CachedToken {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Runs `call` with the access token; if the platform says the token is
    /// no good, refreshes it once and runs `call` once more.
    async fn with_token<T>(&self, call: &TokenCall<'_>) -> Result<T, ClientError>
    where
        T: serde::de::DeserializeOwned + crate::openserver::ApiResponse,
    {
        let token = self.access_token().await?;
        match self.call_with(call, &token).await {
            Err(ClientError::Api(err)) if STALE_TOKEN_CODES.contains(&err.errcode()) => {
                self.forget(&token);
                let token = self.access_token().await?;
                self.call_with(call, &token).await
            }
            other => other,
        }
    }

    async fn call_with<T>(
        &self,
        call: &TokenCall<'_>,
        token: &AccessToken,
    ) -> Result<T, ClientError>
    where
        T: serde::de::DeserializeOwned + crate::openserver::ApiResponse,
    {
        let transport = &self.inner.transport;
        let answer = match call {
            TokenCall::CheckSession { openid, signature } => {
                transport
                    .get(
                        paths::CHECKSESSION,
                        &[
                            ("access_token", token.secret()),
                            ("openid", openid),
                            ("signature", signature),
                            ("sig_method", SIG_METHOD_HMAC_SHA256),
                        ],
                    )
                    .await
            }
            TokenCall::UserCode { path, openid, code } => {
                let body = json!({
                    "access_token": token.secret(),
                    "openid": openid,
                    "code": code.secret(),
                });
                transport.post(path, None, &body).await
            }
        };
        answer.map_err(|f| self.client_error(f))
    }

    fn client_error(&self, failure: Failure) -> ClientError {
        match failure {
            Failure::Api(err) => ClientError::Api(err),
            Failure::Timeout => ClientError::Timeout(self.inner.transport.timeout()),
            Failure::Unreachable(err) => ClientError::Transport(err),
            Failure::BadResponse(why) => ClientError::BadResponse(why),
        }
    }
}

impl fmt::Debug for OpenServerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .inner
            .cached
            .lock()
            .map(|c| c.is_some())
            .unwrap_or(false);
        f.debug_struct("OpenServerClient")
            .field("base_url", &self.inner.transport.base_url())
            .field("appid", &self.inner.appid)
            .field("secret", &self.inner.secret)
            .field("timeout", &self.inner.transport.timeout())
            .field("clock", &self.inner.clock)
            .field("token_cached", &cached)
            .finish()
    }
}
