//! [`HttpDirectory`]: the platform's client of a super-app server, over
//! TCMPP's protocol, as a `SuperappDirectory`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::answers::{outage, read_b2b2c, read_user_answer, transport_outage};
use super::cache::ProfileCache;
use super::call::{Caller, DEFAULT_MAX_RESPONSE_BYTES};
use super::paths::{B2B2C_PATH, Method, PathFamily, UserEndpoint};
use super::signing::{SecretKey, SignatureMode, TC_SIGNATURE, TC_TIMESTAMP, TcSigner};
use super::snap::{SnapSigner, X_CLIENT_KEY, X_SIGNATURE, X_TIMESTAMP};
use super::wire::{InfoKind, lenient_field, request_params};
use crate::openserver::{
    Clock, ErrCode, OpenServerError, RedeemedGrant, SuperappDirectory, SuperappUser, SystemClock,
};
use crate::platform::UserCodeKind;
use crate::secret::{AuthCode, Code};

/// The timeout unless configured otherwise.
pub const DEFAULT_DIRECTORY_TIMEOUT: Duration = Duration::from_secs(5);
/// SNAP's success code for B2B2C Get Token (HTTP 200, service 74, case 00).
pub const SNAP_B2B2C_OK: &str = "2007400";

/// What `checkUser` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// The user exists and may log in.
    Active,
    /// The user exists but is not active (`46002`).
    Inactive,
    /// No such user (`Data: false`, or `46001`).
    Unknown,
}

/// A one-time code for a user's phone or email, and the masked value.
#[derive(Clone, PartialEq, Eq)]
pub struct TemporaryCode {
    /// The code the super-app server will redeem once.
    pub code: Code,
    /// The masked value (`136****6688`), safe to show.
    pub masked: String,
}

impl fmt::Debug for TemporaryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryCode")
            .field("code", &self.code)
            .field("masked", &self.masked)
            .finish()
    }
}

/// Builds an [`HttpDirectory`].
#[derive(Debug)]
pub struct HttpDirectoryBuilder {
    url: String,
    signer: TcSigner,
    paths: PathFamily,
    timeout: Duration,
    max_response_bytes: usize,
    snap: Option<SnapSigner>,
    cache: Option<(usize, Duration)>,
    clock: Arc<dyn Clock>,
}

impl HttpDirectoryBuilder {
    /// The AES mode of `TC-Signature` (default ECB).
    pub fn signature(mut self, mode: SignatureMode) -> Self {
        let key = self.signer.key().clone();
        self.signer = TcSigner::new(key, mode);
        self
    }

    /// The path family (default the newest page, 2025-12-05).
    pub fn paths(mut self, paths: PathFamily) -> Self {
        self.paths = paths;
        self
    }

    /// How long one call may take, body included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read (default 64 KiB); a larger one is an outage.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The client key and private key for v3's `/access_token/b2b2c`.
    /// Without them, redeeming an authCode answers `-1`.
    pub fn snap(mut self, signer: SnapSigner) -> Self {
        self.snap = Some(signer);
        self
    }

    /// Caches nicknames and avatar URLs (never phone numbers or emails):
    /// at most `capacity` entries, each for `ttl`. Off by default. Past
    /// the capacity, expired entries go first, then the whole cache is
    /// dropped (a cache, not a store: the next calls refill it).
    pub fn profile_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.cache = (capacity > 0 && !ttl.is_zero()).then_some((capacity, ttl));
        self
    }

    /// Where `TC-Timestamp` and `X-TIMESTAMP` are read (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The directory.
    pub fn build(self) -> HttpDirectory {
        HttpDirectory {
            caller: Caller::new(&self.url, self.timeout, self.max_response_bytes),
            signer: self.signer,
            paths: self.paths,
            snap: self.snap,
            cache: self
                .cache
                .map(|(capacity, ttl)| ProfileCache::new(capacity, ttl)),
            clock: self.clock,
        }
    }
}

/// A `SuperappDirectory` over HTTP: asks a super-app server about users
/// with TCMPP's signed calls, and redeems v3 authCodes at its
/// `/access_token/b2b2c`.
///
/// Its refusals become the platform's errcodes (unknown user `46001`,
/// inactive `46002`, no phone or email `46005`, a bad temporary code
/// `40029`); an outage — no connection, a timeout, an answer too large or
/// not the protocol's, a refused signature — is `-1`, never "user not
/// found". `Debug` shows the URL, the family and the mode, never a key.
///
/// ```no_run
/// use std::time::Duration;
/// use superapp_openapi::superapp::{HttpDirectory, PathFamily, SecretKey, SignatureMode};
/// let directory = HttpDirectory::builder("https://superapp.example.com", SecretKey::new("0123456789abcdef")?)
///     .signature(SignatureMode::AesEcb)
///     .paths(PathFamily::V20251205)
///     .timeout(Duration::from_secs(2))
///     .build();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpDirectory {
    caller: Caller,
    signer: TcSigner,
    paths: PathFamily,
    snap: Option<SnapSigner>,
    cache: Option<ProfileCache>,
    clock: Arc<dyn Clock>,
}

impl HttpDirectory {
    /// A builder for the server at `url` with the console's SecretKey.
    pub fn builder(url: impl Into<String>, secret_key: SecretKey) -> HttpDirectoryBuilder {
        HttpDirectoryBuilder {
            url: url.into(),
            signer: TcSigner::new(secret_key, SignatureMode::default()),
            paths: PathFamily::default(),
            timeout: DEFAULT_DIRECTORY_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            snap: None,
            cache: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The path family.
    pub fn paths(&self) -> PathFamily {
        self.paths
    }

    /// `checkUser`.
    ///
    /// # Errors
    ///
    /// `-1` when the server is down or answers outside the protocol.
    pub async fn check_user(&self, user_id: &str) -> Result<UserStatus, OpenServerError> {
        let answer = self
            .user_call(
                UserEndpoint::CheckUser,
                request_params(self.paths, user_id, None, None),
            )
            .await;
        match answer {
            Ok(data) => match data {
                Value::Bool(true) => Ok(UserStatus::Active),
                Value::Bool(false) => Ok(UserStatus::Unknown),
                _ => Err(outage("checkUser: the answer's data is not a boolean")),
            },
            Err(e) if e.code() == Some(ErrCode::UserNotFound) => Ok(UserStatus::Unknown),
            Err(e) if e.code() == Some(ErrCode::UserInactive) => Ok(UserStatus::Inactive),
            Err(e) => Err(e),
        }
    }

    /// `getUserNick`, from the cache when it has it.
    ///
    /// # Errors
    ///
    /// As [`check_user`](Self::check_user), and the server's refusals.
    pub async fn nickname(&self, user_id: &str) -> Result<String, OpenServerError> {
        self.profile(UserEndpoint::GetUserNick, user_id).await
    }

    /// `getUserAvatar`, from the cache when it has it.
    ///
    /// # Errors
    ///
    /// As [`nickname`](Self::nickname).
    pub async fn avatar_url(&self, user_id: &str) -> Result<String, OpenServerError> {
        self.profile(UserEndpoint::GetUserAvatar, user_id).await
    }

    /// `getUserInfoTemporaryCode`: a one-time code for the user's phone or email.
    ///
    /// # Errors
    ///
    /// As [`nickname`](Self::nickname); `46005` when the user has none.
    pub async fn temporary_code(
        &self,
        user_id: &str,
        kind: InfoKind,
    ) -> Result<TemporaryCode, OpenServerError> {
        let params = request_params(self.paths, user_id, Some(kind), None);
        let data = self
            .user_call(UserEndpoint::GetUserInfoTemporaryCode, params)
            .await?;
        let object = data.as_object().ok_or_else(|| {
            outage("getUserInfoTemporaryCode: the answer's data is not an object")
        })?;
        let text = |name| {
            lenient_field(object, name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match (text("code"), text("data")) {
            (Some(code), masked) if !code.is_empty() => Ok(TemporaryCode {
                code: Code::new(code),
                masked: masked.unwrap_or_default(),
            }),
            _ => Err(outage(
                "getUserInfoTemporaryCode: the answer has no data.code",
            )),
        }
    }

    /// `getUserPhoneNumber` / `getUserEmail`: redeems a temporary code.
    /// Never cached.
    ///
    /// # Errors
    ///
    /// As [`nickname`](Self::nickname); `40029` for a code the server refuses.
    pub async fn redeem_temporary_code(
        &self,
        user_id: &str,
        kind: InfoKind,
        code: &Code,
    ) -> Result<String, OpenServerError> {
        let endpoint = match kind {
            InfoKind::Phone => UserEndpoint::GetUserPhoneNumber,
            InfoKind::Email => UserEndpoint::GetUserEmail,
        };
        let params = request_params(self.paths, user_id, None, Some(code.secret()));
        match self.user_call(endpoint, params).await? {
            Value::String(value) if !value.is_empty() => Ok(value),
            _ => Err(outage(format!(
                "{}: the answer's data is not a non-empty string",
                endpoint.name()
            ))),
        }
    }

    /// v3: redeems an authCode at `/access_token/b2b2c`. `None` for a code
    /// the server refuses or one issued for another mini program.
    ///
    /// # Errors
    ///
    /// `-1` when no client key / private key is configured, or on an outage.
    pub async fn redeem(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        let snap = self.snap.as_ref().ok_or_else(|| {
            outage("no client_key / private_key configured for /access_token/b2b2c")
        })?;
        let (timestamp, client_key, signature) = snap.headers(self.clock.now_millis());
        let headers = [
            (X_TIMESTAMP, timestamp.as_str()),
            (X_CLIENT_KEY, client_key.as_str()),
            (X_SIGNATURE, signature.as_str()),
        ];
        let mut body = Map::new();
        body.insert("grantType".into(), json!("AUTHORIZATION_CODE"));
        body.insert("authCode".into(), json!(auth_code.secret()));
        let answer = self
            .caller
            .send(Method::Post, B2B2C_PATH, &headers, &body)
            .await
            .map_err(|e| transport_outage(B2B2C_PATH, &e))?;
        read_b2b2c(app_id, &answer)
    }

    async fn profile(
        &self,
        endpoint: UserEndpoint,
        user_id: &str,
    ) -> Result<String, OpenServerError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(endpoint, user_id)) {
            return Ok(hit);
        }
        let value = match self
            .user_call(endpoint, request_params(self.paths, user_id, None, None))
            .await?
        {
            Value::String(value) => value,
            Value::Null => String::new(),
            _ => {
                return Err(outage(format!(
                    "{}: the answer's data is not a string",
                    endpoint.name()
                )));
            }
        };
        if let Some(cache) = &self.cache {
            cache.put(endpoint, user_id, &value);
        }
        Ok(value)
    }

    /// One signed user call: the envelope's data on success, the mapped
    /// refusal or outage otherwise.
    async fn user_call(
        &self,
        endpoint: UserEndpoint,
        params: Map<String, Value>,
    ) -> Result<Value, OpenServerError> {
        let route = self.paths.route(endpoint);
        let (timestamp, signature) = self.signer.headers(self.clock.now_millis());
        let headers = [
            (TC_TIMESTAMP, timestamp.as_str()),
            (TC_SIGNATURE, signature.as_str()),
        ];
        let outcome = self
            .caller
            .send(route.method, route.path, &headers, &params)
            .await;
        let result = match outcome {
            Err(failure) => Err(transport_outage(route.path, &failure)),
            Ok(answer) => read_user_answer(self.paths, endpoint, &answer),
        };
        tracing::debug!(
            superapp.endpoint = endpoint.name(),
            outcome = match &result {
                Ok(_) => 0,
                Err(e) => e.errcode(),
            },
            "super-app server call"
        );
        result
    }
}

impl fmt::Debug for HttpDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpDirectory")
            .field("url", &self.caller.shown_url())
            .field("paths", &self.paths)
            .field("signature", &self.signer.mode())
            .field("timeout", &self.caller.timeout())
            .field("v3", &self.snap.is_some())
            .field(
                "profile_cache",
                &self.cache.as_ref().map(ProfileCache::capacity),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SuperappDirectory for HttpDirectory {
    /// `checkUser`: the user with no profile (nickname, avatar, phone and
    /// email are asked for when needed).
    async fn user(&self, user_id: &str) -> Result<Option<Arc<SuperappUser>>, OpenServerError> {
        Ok(match self.check_user(user_id).await? {
            UserStatus::Active => Some(Arc::new(SuperappUser::new(user_id))),
            UserStatus::Inactive => Some(Arc::new(SuperappUser::new(user_id).inactive())),
            UserStatus::Unknown => None,
        })
    }

    async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        self.redeem(app_id, auth_code).await
    }

    /// `getUserNick` (or the profile cache).
    async fn nickname(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        HttpDirectory::nickname(self, &user.id).await
    }

    /// `getUserAvatar` (or the profile cache).
    async fn avatar_url(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        HttpDirectory::avatar_url(self, &user.id).await
    }

    /// `getUserInfoTemporaryCode`.
    async fn issue_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
    ) -> Result<Option<Code>, OpenServerError> {
        let code = self.temporary_code(&user.id, info_kind(kind)).await?;
        Ok(Some(code.code))
    }

    /// `getUserPhoneNumber` / `getUserEmail`; never cached.
    async fn redeem_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
        code: Option<&Code>,
    ) -> Result<String, OpenServerError> {
        let code = code.ok_or_else(|| {
            OpenServerError::new(ErrCode::InvalidCode)
                .with_message("invalid code: it carries no temporary code of the super-app server")
        })?;
        HttpDirectory::redeem_temporary_code(self, &user.id, info_kind(kind), code).await
    }
}

fn info_kind(kind: UserCodeKind) -> InfoKind {
    match kind {
        UserCodeKind::PhoneNumber => InfoKind::Phone,
        UserCodeKind::Email => InfoKind::Email,
    }
}
