//! The embedded platform: apps, users, codes, sessions and access tokens,
//! with the developer-server API of TCMPP's "Mini Program Login" page (`docs/openserver.md`).
//!
//! One file per role: `config` (lifetimes, limits, registrations),
//! `registry` (apps and each user's subject in them), `codes` and `store`
//! (login and phone/email codes), `sdk_side` (what the built-in flows ask),
//! `developer` (the developer-server API), `rules` (the app and user
//! look-ups and the store-error mapping both sides share), `sweep`, and
//! `wire` (its JSON).
//! This file holds the `OpenServer` handle, its builder and its `Platform`
//! impl.

mod clock;
mod codes;
mod config;
mod developer;
mod directory;
mod open_data;
mod registry;
mod rules;
mod sdk_side;
mod store;
mod sweep;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use async_trait::async_trait;

pub use crate::platform::errcode::{ErrCode, OpenServerError};
pub use crate::secret::IdSecret;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AppRegistration, OpenServerConfig, SweepReport};
use directory::DirectoryRef;
pub use directory::{
    AUTH_CODE_TTL, MemoryDirectory, RedeemedGrant, SuperappDirectory, SuperappUser,
};
#[cfg(feature = "redis")]
pub use store::redis::{DEFAULT_PREFIX, RedisConfig, RedisStore, RedisStoreError};
pub use wire::{
    ApiResponse, CheckSessionRequest, EmailAddressResponse, EmailInfo, Jscode2SessionRequest,
    Jscode2SessionResponse, PhoneInfo, PhoneNumberResponse, StatusResponse, TokenRequest,
    TokenResponse, UserCodeRequest,
};
// What the HTTP server and client share with the developer-server side.
#[cfg(feature = "http")]
pub(crate) use wire::{
    GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIAL, SIG_METHOD_HMAC_SHA256, request_id,
};

use self::registry::AppState;
use self::store::memory::MemoryStore;
use self::store::{GrantTerms, StoreRef};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::digest::hmac_sha256;
use crate::platform::{Platform, PlatformError, Principal, UserCodeKind};
use crate::secret::Code;
use crate::sync::FastMap;

/// The longest app id, user id or authCode the platform accepts, in
/// bytes; a longer one is `10002` naming the field and this limit.
pub const MAX_ID_LEN: usize = 128;

/// `10002` when `value` is longer than [`MAX_ID_LEN`].
pub(crate) fn check_id_len(field: &str, value: &str) -> Result<(), OpenServerError> {
    if value.len() > MAX_ID_LEN {
        return Err(
            OpenServerError::new(ErrCode::InvalidParam).with_message(format!(
                "invalid param: {field} is longer than {MAX_ID_LEN} bytes"
            )),
        );
    }
    Ok(())
}

/// The embedded platform, in-process: the default [`Platform`] of every
/// [`Dispatcher`](crate::Dispatcher), and the state the HTTP server serves.
///
/// Cheap to clone (one `Arc`); clones share state.
///
/// ```
/// use superapp_openapi::openserver::{AppRegistration, Jscode2SessionRequest, SuperappUser};
/// use superapp_openapi::platform::Principal;
/// use superapp_openapi::{AppInfo, AppSecret, OpenServer};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = OpenServer::new();
/// server.register_app(AppRegistration::new("wx1", AppSecret::new("secret1"), "team-a"))?;
/// server.add_user(SuperappUser::new("u-1").with_phone_number("+8613800000000"))?;
///
/// // The SDK side: what the built-in wx.login asks for.
/// let code = server.issue_login_code(&AppInfo::new("wx1"), &Principal::Uid("u-1".into())).await?;
///
/// // The developer-server side.
/// let session = server
///     .jscode2session(&Jscode2SessionRequest::new("wx1", AppSecret::new("secret1"), code))
///     .await?;
/// assert_eq!(session.errcode, 0);
/// assert_eq!(session.openid.len(), 64);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenServer {
    inner: Arc<Inner>,
}

struct Inner {
    config: OpenServerConfig,
    clock: Arc<dyn Clock>,
    directory: DirectoryRef,
    id_key: [u8; 32],
    /// Read on every call, written only by `register_app`: swapped whole,
    /// so a read writes no shared cache line.
    apps: ArcSwap<FastMap<String, Arc<AppState>>>,
    registering: Mutex<()>,
    /// The state the rules act on (`store/`).
    store: StoreRef,
    /// Whether the background sweeper runs (`sweep.rs`).
    sweeper_running: AtomicBool,
    /// Store operations that found the store unavailable.
    store_errors: AtomicU64,
}

/// Builds an [`OpenServer`]; see [`OpenServer::builder`].
#[derive(Default)]
pub struct OpenServerBuilder {
    config: OpenServerConfig,
    clock: Option<Arc<dyn Clock>>,
    directory: Option<Arc<dyn SuperappDirectory>>,
    id_secret: Option<Vec<u8>>,
    #[cfg(feature = "redis")]
    redis: Option<RedisStore>,
}

impl OpenServerBuilder {
    /// Lifetimes and limits (default [`OpenServerConfig::default`]).
    pub fn config(mut self, config: OpenServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Where time comes from (default the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The super-app user backend (default a [`MemoryDirectory`] on the same clock).
    pub fn directory(mut self, directory: Arc<dyn SuperappDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The key openid and unionid are derived with. Set it to keep them
    /// stable across restarts; by default each server draws a random one.
    pub fn id_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.id_secret = Some(secret.into());
        self
    }

    /// Keeps the platform's state (codes, sessions, access tokens, rate
    /// windows, quotas, authCode grants) in Redis instead of this process's
    /// memory, so that it survives a restart and every instance given the
    /// same store, the same [`id_secret`](OpenServerBuilder::id_secret) and
    /// the same apps agrees (docs/openserver.md, "Running several
    /// instances"). Feature `redis`.
    ///
    /// Give every instance the same `id_secret`: openids are derived from
    /// it, and the store finds a user's session by its openid. Without one,
    /// each instance draws its own (and logs a warning).
    ///
    /// ```no_run
    /// use superapp_openapi::OpenServer;
    /// use superapp_openapi::openserver::{RedisConfig, RedisStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect(RedisConfig::new("redis://10.0.0.7:6379/0")).await?;
    /// let server = OpenServer::builder()
    ///     .id_secret("the same long random string on every instance")
    ///     .redis(store)
    ///     .build();
    /// # let _ = server;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(mut self, store: RedisStore) -> Self {
        self.redis = Some(store);
        self
    }

    /// Connects to a Redis Cluster through any of `nodes`
    /// (`redis://HOST:PORT` each) and keeps the platform's state there, as
    /// [`redis`](OpenServerBuilder::redis) does with a connected store
    /// (docs/openserver.md, "Running several instances"). Feature
    /// `redis-cluster`.
    ///
    /// ```no_run
    /// use superapp_openapi::OpenServer;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = OpenServer::builder()
    ///     .id_secret("the same long random string on every instance")
    ///     .redis_cluster(["redis://10.0.0.7:7000", "redis://10.0.0.8:7000"])
    ///     .await?
    ///     .build();
    /// # let _ = server;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RedisStoreError`] when no node answers within the connection
    /// timeout, or a node's URL is not one.
    #[cfg(feature = "redis-cluster")]
    pub async fn redis_cluster<I>(self, nodes: I) -> Result<Self, RedisStoreError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let store = RedisStore::connect(RedisConfig::cluster(nodes)).await?;
        Ok(self.redis(store))
    }

    /// Builds the server.
    pub fn build(self) -> OpenServer {
        #[cfg(feature = "redis")]
        if self.redis.is_some() && self.id_secret.is_none() {
            tracing::warn!(
                "a Redis store without an id_secret: this instance's openids match no other instance's, nor its own after a restart"
            );
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let directory = match self.directory {
            Some(directory) => DirectoryRef::Other(directory),
            None => DirectoryRef::Memory(Arc::new(MemoryDirectory::new())),
        };
        let id_key = match self.id_secret {
            Some(secret) => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&hmac_sha256(b"superapp-openapi id key", &secret));
                key
            }
            None => rand::random(),
        };
        #[cfg(feature = "redis")]
        let store = match self.redis {
            Some(redis) => StoreRef::Redis(redis),
            None => StoreRef::Memory(MemoryStore::new()),
        };
        #[cfg(not(feature = "redis"))]
        let store = StoreRef::Memory(MemoryStore::new());
        OpenServer {
            inner: Arc::new(Inner {
                config: self.config,
                clock,
                directory,
                id_key,
                apps: ArcSwap::default(),
                registering: Mutex::default(),
                store,
                sweeper_running: AtomicBool::new(false),
                store_errors: AtomicU64::new(0),
            }),
        }
    }
}

impl fmt::Debug for OpenServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenServerBuilder")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("directory", &self.directory)
            .field("id_secret", &self.id_secret.as_ref().map(|_| "[redacted]"))
            .field("store", &self.store_name())
            .finish()
    }
}

impl OpenServerBuilder {
    fn store_name(&self) -> &'static str {
        #[cfg(feature = "redis")]
        if self.redis.is_some() {
            return "redis";
        }
        "memory"
    }
}

impl Default for OpenServer {
    fn default() -> Self {
        OpenServer::new()
    }
}

impl OpenServer {
    /// A server with the default config, the system clock and an in-memory directory.
    pub fn new() -> Self {
        OpenServer::builder().build()
    }

    /// Starts a server with a clock, directory or config of its own.
    ///
    /// ```
    /// use superapp_openapi::openserver::ManualClock;
    /// use superapp_openapi::OpenServer;
    /// let clock = ManualClock::new();
    /// let server = OpenServer::builder().clock(clock.clone()).build();
    /// # let _ = server;
    /// ```
    pub fn builder() -> OpenServerBuilder {
        OpenServerBuilder::default()
    }

    /// The lifetimes and limits in force.
    pub fn config(&self) -> &OpenServerConfig {
        &self.inner.config
    }

    /// The in-memory directory, when the server was built without another.
    pub fn memory_directory(&self) -> Option<&MemoryDirectory> {
        self.inner.directory.memory()
    }

    /// Adds or replaces a user in the in-memory directory.
    ///
    /// # Errors
    ///
    /// `-1` when the server was built with a directory of its own: users live there.
    pub fn add_user(&self, user: SuperappUser) -> Result<(), OpenServerError> {
        self.memory()?.upsert_user(user);
        Ok(())
    }

    /// Issues a v3 authCode for a user of the in-memory directory and the
    /// scopes they granted, as a super-app server's getAuthCode would:
    /// single use, valid [`AUTH_CODE_TTL`], bound to `app_id`. It is kept in
    /// the platform's store, so every instance sharing the store redeems it.
    ///
    /// # Errors
    ///
    /// `40013` for an app that is not registered, `10002` for a user id
    /// longer than [`MAX_ID_LEN`], `46001`/`46002` for an unknown or
    /// inactive user, `45009` past the user's outstanding authCodes, `-1`
    /// with a directory of its own.
    pub async fn issue_auth_code(
        &self,
        app_id: &str,
        user_id: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<crate::secret::AuthCode, OpenServerError> {
        self.with_app(app_id, |_| Ok(()))?;
        check_id_len("user id", user_id)?;
        let user = self
            .memory()?
            .get(user_id)
            .ok_or_else(|| OpenServerError::new(ErrCode::UserNotFound))?;
        if !user.active {
            return Err(OpenServerError::new(ErrCode::UserInactive));
        }
        self.ensure_sweeper();
        let code = store::auth_code_for(user_id);
        let scopes: Vec<Scope> = scopes.into_iter().collect();
        let now = self.now();
        let expires_at = now + clock::millis(AUTH_CODE_TTL);
        self.inner
            .store
            .issue_grant(
                &code,
                app_id,
                user_id,
                &scopes,
                now,
                GrantTerms {
                    expires_at,
                    per_user: self.inner.config.max_auth_codes_per_user,
                },
            )
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(crate::secret::AuthCode::new(code))
    }

    fn memory(&self) -> Result<&MemoryDirectory, OpenServerError> {
        self.inner.directory.memory().ok_or_else(|| {
            OpenServerError::new(ErrCode::SystemError)
                .with_message("this server uses a SuperappDirectory of its own: manage users there")
        })
    }

    /// Login and phone/email codes not yet swept, across all apps.
    /// (In-memory store; 0 with another.)
    pub fn outstanding_codes(&self) -> usize {
        self.inner
            .store
            .memory()
            .map_or(0, |m| m.outstanding_codes())
    }

    /// Access tokens held (live, or expired and not yet swept), across all
    /// apps. (In-memory store; 0 with another.)
    pub fn access_tokens(&self) -> usize {
        self.inner.store.memory().map_or(0, |m| m.access_tokens())
    }

    /// Users with a session that has not expired, across all apps.
    /// (In-memory store, counted when asked; 0 with another.)
    pub fn live_sessions(&self) -> usize {
        let Some(memory) = self.inner.store.memory() else {
            return 0;
        };
        let apps: Vec<_> = self.inner.apps.load().values().cloned().collect();
        memory.live_sessions(&apps, self.now())
    }

    /// Store operations that found the store unavailable (answered `-1`)
    /// since the server started.
    pub fn store_errors(&self) -> u64 {
        self.inner.store_errors.load(Ordering::Relaxed)
    }

    /// Whether the platform's store answers (readiness).
    ///
    /// # Errors
    ///
    /// `-1` when it does not (a Redis store down or slow).
    pub async fn check_store(&self) -> Result<(), OpenServerError> {
        self.inner
            .store
            .ping()
            .await
            .map_err(|e| self.store_error(e))
    }

    /// v3 authCodes issued and not yet redeemed or swept. (In-memory store;
    /// 0 with another.)
    pub fn outstanding_auth_codes(&self) -> usize {
        self.inner
            .store
            .memory()
            .map_or(0, |m| m.outstanding_auth_codes())
    }
}

impl fmt::Debug for OpenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps = self.inner.apps.load().len();
        f.debug_struct("OpenServer")
            .field("apps", &apps)
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .field("directory", &self.inner.directory)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Platform for OpenServer {
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        Ok(OpenServer::issue_login_code(self, app, principal).await?)
    }

    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        Ok(self.has_valid_session(app, principal).await?)
    }

    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        Ok(OpenServer::issue_user_code(self, app, principal, kind).await?)
    }

    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        Ok(self.profile_field(app, principal, Scope::Avatar).await?)
    }

    async fn nickname(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        Ok(self.profile_field(app, principal, Scope::Nickname).await?)
    }

    async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<crate::opendata::OpenData, PlatformError> {
        Ok(OpenServer::seal_user_info(self, app, principal, user_info).await?)
    }

    async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<crate::opendata::SealedData, PlatformError> {
        Ok(OpenServer::seal_phone_number(self, app, principal).await?)
    }
}
