//! The embedded platform: apps, users, codes, sessions and access tokens,
//! with the developer-server API of the seed (`docs/openserver.md`).

mod clock;
mod directory;
mod errcode;
mod store;
mod wire;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use subtle::ConstantTimeEq;

pub use clock::{Clock, ManualClock, SystemClock};
use directory::DirectoryRef;
pub use directory::{
    AUTH_CODE_TTL, MemoryDirectory, RedeemedGrant, SuperappDirectory, SuperappUser,
};
pub use errcode::{ErrCode, OpenServerError};
pub use wire::{
    ApiResponse, CheckSessionRequest, EmailAddressResponse, EmailInfo, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIAL, Jscode2SessionRequest, Jscode2SessionResponse, PhoneInfo,
    PhoneNumberResponse, SIG_METHOD_HMAC_SHA256, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest,
};

use self::clock::millis;
use self::store::{CodeKey, CodeStore, Owned, ShardedMap, lock};
use crate::api::Scope;
use crate::app::{AppInfo, AppKind};
pub(crate) use crate::digest::random_hex;
use crate::digest::{hmac_sha256, hmac_sha256_of, secrets_equal, to_hex};
use crate::platform::{Platform, PlatformError, Principal, UserCodeKind};
use crate::secret::{AccessToken, AppSecret, Code, SessionKey};

/// A map keyed by app ids, user ids, openids and tokens. foldhash (seeded
/// per process) instead of SipHash: these lookups are on every login and
/// check, and their keys are ours or registered, not chosen by a caller.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The platform's lifetimes and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenServerConfig {
    /// How long a login code (`js_code`) can be exchanged: 5 minutes.
    pub login_code_ttl: Duration,
    /// How long a phone/email code can be redeemed: 5 minutes.
    pub user_code_ttl: Duration,
    /// How long an access token lives: 7200 s.
    pub access_token_ttl: Duration,
    /// How long the previous access token stays valid after a new one: 5 minutes.
    pub access_token_overlap: Duration,
    /// How long a session (its `session_key`) stays valid: 3 days.
    pub session_ttl: Duration,
    /// jscode2session exchanges per user per app per minute: 100.
    pub rate_limit_per_minute: u32,
    /// Outstanding (not yet swept) login and phone/email codes per app: 1,000,000.
    pub max_outstanding_codes_per_app: usize,
    /// How often issuing a code also sweeps expired state: 60 s.
    pub sweep_interval: Duration,
}

impl Default for OpenServerConfig {
    fn default() -> Self {
        OpenServerConfig {
            login_code_ttl: Duration::from_secs(300),
            user_code_ttl: Duration::from_secs(300),
            access_token_ttl: Duration::from_secs(7200),
            access_token_overlap: Duration::from_secs(300),
            session_ttl: Duration::from_secs(3 * 24 * 3600),
            rate_limit_per_minute: 100,
            max_outstanding_codes_per_app: 1_000_000,
            sweep_interval: Duration::from_secs(60),
        }
    }
}

/// An app to register on the platform.
///
/// ```
/// use superapp_openapi::{AppKind, AppRegistration, AppSecret};
/// let reg = AppRegistration::new("wx-game", AppSecret::new("s"), "team-a").kind(AppKind::MiniGame);
/// # let _ = reg;
/// ```
#[derive(Debug, Clone)]
pub struct AppRegistration {
    app_id: String,
    secret: AppSecret,
    team_id: String,
    kind: AppKind,
}

impl AppRegistration {
    /// A mini program with its id, secret and team.
    pub fn new(app_id: impl Into<String>, secret: AppSecret, team_id: impl Into<String>) -> Self {
        AppRegistration {
            app_id: app_id.into(),
            secret,
            team_id: team_id.into(),
            kind: AppKind::MiniProgram,
        }
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: AppKind) -> Self {
        self.kind = kind;
        self
    }
}

/// What one [`OpenServer::sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired login codes.
    pub login_codes: usize,
    /// Expired phone/email codes.
    pub user_codes: usize,
    /// Access tokens expired for longer than their lifetime.
    pub access_tokens: usize,
    /// Expired sessions.
    pub sessions: usize,
}

/// The embedded platform, in-process: the default [`Platform`] of every
/// [`Dispatcher`](crate::Dispatcher), and the state the HTTP server serves.
///
/// Cheap to clone (one `Arc`); clones share state.
///
/// ```
/// use superapp_openapi::*;
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
///     .await;
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
    /// Login codes and phone/email codes, under one per-app cap.
    codes: CodeStore<CodeEntry>,
    tokens: Mutex<FastMap<String, TokenEntry>>,
    next_sweep_at: AtomicU64,
}

/// What never changes about a registered app, plus its code count.
struct AppRecord {
    app_id: String,
    secret: AppSecret,
    team_id: String,
}

struct AppState {
    record: Arc<AppRecord>,
    kind: AppKind,
    by_user: ShardedMap<Arc<Subject>>,
    by_openid: ShardedMap<Arc<Subject>>,
    current_token: Mutex<Option<String>>,
}

/// One user in one app: its ids, session and rate-limit window.
struct Subject {
    app: Arc<AppRecord>,
    user_id: String,
    openid: String,
    unionid: String,
    state: Mutex<SubjectState>,
}

#[derive(Default)]
struct SubjectState {
    session: Option<Session>,
    window_minute: u64,
    window_count: u32,
}

struct Session {
    /// hex(hmac_sha256(session_key, "")) computed once, so a check is one
    /// constant-time comparison.
    expected_signature: [u8; 32],
    expires_at: u64,
}

/// What a code is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CodeKind {
    /// A login code (`js_code`), for jscode2session.
    Login,
    /// A phone/email code, for getuserphonenumber / getemailaddress.
    User(UserCodeKind),
}

struct CodeEntry {
    subject: Arc<Subject>,
    expires_at: u64,
    kind: CodeKind,
    used: bool,
}

impl Owned for CodeEntry {
    fn owner(&self) -> usize {
        Arc::as_ptr(&self.subject.app) as usize
    }
}

struct TokenEntry {
    app: Arc<AppState>,
    expires_at: u64,
}

/// Builds an [`OpenServer`]; see [`OpenServer::builder`].
#[derive(Default)]
pub struct OpenServerBuilder {
    config: OpenServerConfig,
    clock: Option<Arc<dyn Clock>>,
    directory: Option<Arc<dyn SuperappDirectory>>,
    id_secret: Option<Vec<u8>>,
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

    /// Builds the server.
    pub fn build(self) -> OpenServer {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let directory = match self.directory {
            Some(directory) => DirectoryRef::Other(directory),
            None => DirectoryRef::Memory(Arc::new(MemoryDirectory::with_clock(clock.clone()))),
        };
        let id_key = match self.id_secret {
            Some(secret) => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&hmac_sha256(b"superapp-openapi id key", &secret));
                key
            }
            None => rand::random(),
        };
        OpenServer {
            inner: Arc::new(Inner {
                config: self.config,
                clock,
                directory,
                id_key,
                apps: ArcSwap::default(),
                registering: Mutex::default(),
                codes: CodeStore::new(),
                tokens: Mutex::default(),
                next_sweep_at: AtomicU64::new(0),
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
            .finish()
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
    /// use superapp_openapi::{ManualClock, OpenServer};
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

    /// Registers an app.
    ///
    /// # Errors
    ///
    /// `10002` when the id, secret or team is empty or the id is taken.
    pub fn register_app(&self, registration: AppRegistration) -> Result<(), OpenServerError> {
        let AppRegistration {
            app_id,
            secret,
            team_id,
            kind,
        } = registration;
        for (name, value) in [
            ("app id", app_id.as_str()),
            ("app secret", secret.secret()),
            ("team id", team_id.as_str()),
        ] {
            if value.is_empty() {
                return Err(OpenServerError::with_message(
                    ErrCode::InvalidParam,
                    format!("invalid param: {name} is empty"),
                ));
            }
        }
        let _registering = lock(&self.inner.registering);
        if self.inner.apps.load().contains_key(&app_id) {
            return Err(OpenServerError::with_message(
                ErrCode::InvalidParam,
                format!("invalid param: app {app_id} is already registered"),
            ));
        }
        let state = AppState {
            record: Arc::new(AppRecord {
                app_id: app_id.clone(),
                secret,
                team_id,
            }),
            kind,
            by_user: ShardedMap::new(),
            by_openid: ShardedMap::new(),
            current_token: Mutex::default(),
        };
        let mut apps = FastMap::clone(&self.inner.apps.load());
        apps.insert(app_id, Arc::new(state));
        self.inner.apps.store(Arc::new(apps));
        Ok(())
    }

    /// The [`AppInfo`] of a registered app (kind and team as registered).
    pub fn app_info(&self, app_id: &str) -> Option<AppInfo> {
        let app = self.app(app_id).ok()?;
        Some(
            AppInfo::new(app_id)
                .with_kind(app.kind)
                .with_team(app.record.team_id.clone()),
        )
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

    /// Issues a v3 authCode from the in-memory directory, as a super-app
    /// server would (see [`MemoryDirectory::issue_auth_code`]).
    ///
    /// # Errors
    ///
    /// `46001`/`46002` for an unknown or inactive user, `-1` with a directory
    /// of its own.
    pub fn issue_auth_code(
        &self,
        app_id: &str,
        user_id: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<crate::secret::AuthCode, OpenServerError> {
        self.memory()?.issue_auth_code(app_id, user_id, scopes)
    }

    fn memory(&self) -> Result<&MemoryDirectory, OpenServerError> {
        self.inner.directory.memory().ok_or_else(|| {
            OpenServerError::with_message(
                ErrCode::SystemError,
                "this server uses a SuperappDirectory of its own: manage users there",
            )
        })
    }

    /// Login and phone/email codes not yet swept, across all apps.
    pub fn outstanding_codes(&self) -> usize {
        self.inner.codes.len()
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_millis()
    }

    fn app(&self, app_id: &str) -> Result<Arc<AppState>, OpenServerError> {
        self.with_app(app_id, |app| Ok(app.clone()))
    }

    /// Runs `f` on a registered app without cloning its `Arc` (the hot path
    /// of two threads would otherwise bounce its reference count).
    fn with_app<R>(
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

    /// The subject of `user_id` in `app`, made on first use.
    fn subject(&self, app: &AppState, user_id: &str) -> Arc<Subject> {
        let record = &app.record;
        app.by_user.get_or_insert_with(
            user_id,
            || {
                Arc::new(Subject {
                    app: record.clone(),
                    user_id: user_id.to_owned(),
                    openid: self.derive_id("openid", &record.app_id, user_id),
                    unionid: self.derive_id("unionid", &record.team_id, user_id),
                    state: Mutex::default(),
                })
            },
            |subject| {
                app.by_openid
                    .insert(subject.openid.clone(), subject.clone())
            },
        )
    }

    /// An opaque, stable id: hex(hmac(server key, kind ‖ scope ‖ user)).
    fn derive_id(&self, kind: &str, scope: &str, user_id: &str) -> String {
        to_hex(&hmac_sha256_of(
            &self.inner.id_key,
            [
                kind.as_bytes(),
                b"\0",
                scope.as_bytes(),
                b"\0",
                user_id.as_bytes(),
            ],
        ))
    }

    /// The user a principal stands for, active, and the scopes it granted
    /// (`None`: a v2 UID, which carries no scopes and needs none).
    async fn resolve(
        &self,
        app_id: &str,
        principal: &Principal,
    ) -> Result<(Arc<SuperappUser>, Option<Vec<Scope>>), OpenServerError> {
        let (user_id, scopes) = match principal {
            Principal::Uid(uid) => (Cow::Borrowed(uid.as_str()), None),
            Principal::AuthCode(code) => {
                let grant = self
                    .inner
                    .directory
                    .redeem_auth_code(app_id, code)
                    .await?
                    .ok_or_else(|| OpenServerError::new(ErrCode::InvalidAuthCode))?;
                (Cow::Owned(grant.user_id), Some(grant.scopes))
            }
        };
        let user = self
            .inner
            .directory
            .user(&user_id)
            .await?
            .ok_or_else(|| OpenServerError::new(ErrCode::UserNotFound))?;
        if !user.active {
            return Err(OpenServerError::new(ErrCode::UserInactive));
        }
        Ok((user, scopes))
    }

    async fn resolve_with_scope(
        &self,
        app_id: &str,
        principal: &Principal,
        scope: Scope,
    ) -> Result<Arc<SuperappUser>, OpenServerError> {
        let (user, scopes) = self.resolve(app_id, principal).await?;
        match scopes {
            Some(scopes) if !scopes.contains(&scope) => Err(OpenServerError::with_message(
                ErrCode::ScopeNotGranted,
                format!("scope not granted: {scope}"),
            )),
            _ => Ok(user),
        }
    }

    /// Stores a new code under the app's cap, sweeping once if the cap is
    /// reached.
    fn store_code(
        &self,
        app: &AppRecord,
        entry: CodeEntry,
        now: u64,
    ) -> Result<CodeKey, OpenServerError> {
        self.maybe_sweep(now);
        let cap = self.inner.config.max_outstanding_codes_per_app;
        let key = CodeKey::random();
        let entry = match self.inner.codes.insert_capped(key, entry, cap) {
            Ok(()) => return Ok(key),
            Err(entry) => entry,
        };
        self.sweep();
        match self.inner.codes.insert_capped(key, entry, cap) {
            Ok(()) => Ok(key),
            Err(_) => Err(OpenServerError::with_message(
                ErrCode::TooManyCodes,
                format!(
                    "too many outstanding codes for app {}: the limit is {cap}; codes are freed as they expire",
                    app.app_id
                ),
            )),
        }
    }

    fn maybe_sweep(&self, now: u64) {
        let next = self.inner.next_sweep_at.load(Ordering::Acquire);
        if now >= next {
            let after = now + millis(self.inner.config.sweep_interval);
            if self
                .inner
                .next_sweep_at
                .compare_exchange(next, after, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.sweep();
            }
        }
    }

    /// Removes expired codes, sessions and long-expired access tokens, and
    /// gives back the memory they held. Issuing codes also sweeps now and
    /// then (every [`sweep_interval`](OpenServerConfig::sweep_interval)).
    pub fn sweep(&self) -> SweepReport {
        let now = self.now();
        let (mut login_codes, mut user_codes) = (0, 0);
        self.inner.codes.retain(
            |e| e.expires_at > now,
            |e| match e.kind {
                CodeKind::Login => login_codes += 1,
                CodeKind::User(_) => user_codes += 1,
            },
        );
        let grace = millis(self.inner.config.access_token_ttl);
        let access_tokens = {
            let mut tokens = lock(&self.inner.tokens);
            let before = tokens.len();
            tokens.retain(|_, t| t.expires_at.saturating_add(grace) > now);
            before - tokens.len()
        };
        let mut sessions = 0;
        for app in self.inner.apps.load().values() {
            app.by_user.for_each(|subject| {
                let mut state = lock(&subject.state);
                if state.session.as_ref().is_some_and(|s| s.expires_at <= now) {
                    state.session = None;
                    sessions += 1;
                }
            });
        }
        SweepReport {
            login_codes,
            user_codes,
            access_tokens,
            sessions,
        }
    }

    // ---- SDK side: what the built-in flows ask (also behind the HTTP SDK routes).

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
        let now = self.now();
        let key = self.with_app(app_id, |app| {
            let entry = CodeEntry {
                subject: self.subject(app, &user.id),
                expires_at: now + millis(self.inner.config.login_code_ttl),
                kind: CodeKind::Login,
                used: false,
            };
            self.store_code(&app.record, entry, now)
        })?;
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
        self.with_app(app_id, |app| {
            Ok(app.by_user.get(&user.id).is_some_and(|s| {
                lock(&s.state)
                    .session
                    .as_ref()
                    .is_some_and(|s| s.expires_at > now)
            }))
        })
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
        let (scope, what) = match kind {
            UserCodeKind::PhoneNumber => (Scope::PhoneNumber, "phone number"),
            UserCodeKind::Email => (Scope::Email, "email address"),
        };
        let user = self.resolve_with_scope(app_id, principal, scope).await?;
        let has = match kind {
            UserCodeKind::PhoneNumber => user.phone_number.is_some(),
            UserCodeKind::Email => user.email.is_some(),
        };
        if !has {
            return Err(OpenServerError::with_message(
                ErrCode::NoSuchUserData,
                format!("the user has no {what}"),
            ));
        }
        let now = self.now();
        let key = self.with_app(app_id, |app| {
            let entry = CodeEntry {
                subject: self.subject(app, &user.id),
                expires_at: now + millis(self.inner.config.user_code_ttl),
                kind: CodeKind::User(kind),
                used: false,
            };
            self.store_code(&app.record, entry, now)
        })?;
        Ok(Code::new(key.to_hex()))
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
        Ok(match scope {
            Scope::Avatar => user.avatar_url.clone(),
            Scope::Nickname => user.nickname.clone(),
            other => {
                return Err(OpenServerError::with_message(
                    ErrCode::InvalidParam,
                    format!("invalid param: {other} is not a profile field"),
                ));
            }
        })
    }

    // ---- Developer-server side (seed 000): always a response, errors included.

    /// `GET /openserver/sns/jscode2session`: exchanges a login code for the
    /// user's `openid`, a new `session_key` (the previous one stops
    /// verifying) and `unionid`.
    pub async fn jscode2session(&self, req: &Jscode2SessionRequest) -> Jscode2SessionResponse {
        match self.exchange_code(req) {
            Ok((openid, session_key, unionid)) => Jscode2SessionResponse {
                errcode: 0,
                errmsg: "ok".into(),
                openid,
                request_id: request_id(),
                session_key,
                unionid,
            },
            Err(err) => Jscode2SessionResponse::from_error(&err),
        }
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
            return Err(OpenServerError::with_message(
                ErrCode::InvalidGrantType,
                "invalid grant_type: expected authorization_code",
            ));
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
            return Err(OpenServerError::with_message(
                ErrCode::RateLimited,
                format!("rate limit: at most {limit} jscode2session calls per user per minute"),
            ));
        }
        state.window_count += 1;
        Ok(())
    }

    /// The app, if `secret` is its secret (compared in constant time).
    fn authenticate(&self, appid: &str, secret: &str) -> Result<Arc<AppState>, OpenServerError> {
        let app = self.app(appid)?;
        let ok = secrets_equal(app.record.secret.secret().as_bytes(), secret.as_bytes());
        if ok {
            Ok(app)
        } else {
            Err(OpenServerError::new(ErrCode::InvalidSecret))
        }
    }

    /// `GET /openserver/cgi-bin/token`: a new access token, valid 7200 s; the
    /// previous one stays valid five more minutes.
    pub async fn token(&self, req: &TokenRequest) -> TokenResponse {
        match self.issue_token(req) {
            Ok(token) => TokenResponse {
                access_token: Some(token),
                errcode: 0,
                errmsg: "ok".into(),
                expires_in: Some(self.inner.config.access_token_ttl.as_secs()),
                request_id: request_id(),
            },
            Err(err) => TokenResponse::from_error(&err),
        }
    }

    fn issue_token(&self, req: &TokenRequest) -> Result<AccessToken, OpenServerError> {
        let appid = required(req.appid.as_deref(), "appid")?;
        let secret = required(req.secret.as_ref().map(AppSecret::secret), "secret")?;
        let grant_type = required(req.grant_type.as_deref(), "grant_type")?;
        let app = self.authenticate(appid, secret)?;
        if grant_type != GRANT_CLIENT_CREDENTIAL {
            return Err(OpenServerError::with_message(
                ErrCode::InvalidGrantType,
                "invalid grant_type: expected client_credential",
            ));
        }
        let now = self.now();
        let token = random_hex::<32>();
        let mut current = lock(&app.current_token);
        let mut tokens = lock(&self.inner.tokens);
        if let Some(previous) = current.as_ref().and_then(|t| tokens.get_mut(t)) {
            let overlap_end = now + millis(self.inner.config.access_token_overlap);
            previous.expires_at = previous.expires_at.min(overlap_end);
        }
        tokens.insert(
            token.clone(),
            TokenEntry {
                app: app.clone(),
                expires_at: now + millis(self.inner.config.access_token_ttl),
            },
        );
        *current = Some(token.clone());
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
    pub async fn checksession(&self, req: &CheckSessionRequest) -> StatusResponse {
        status(self.verify_session(req))
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
            return Err(OpenServerError::with_message(
                ErrCode::InvalidParam,
                "invalid param: sig_method must be hmac_sha256",
            ));
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
    pub async fn getuserphonenumber(&self, req: &UserCodeRequest) -> PhoneNumberResponse {
        let result = match self.redeem_user_code(req, UserCodeKind::PhoneNumber).await {
            Ok(user) => user.phone_number.clone().ok_or_else(|| {
                OpenServerError::with_message(
                    ErrCode::NoSuchUserData,
                    "the user has no phone number",
                )
            }),
            Err(err) => Err(err),
        };
        match result {
            Ok(phone_number) => PhoneNumberResponse {
                errcode: 0,
                errmsg: "ok".into(),
                phone_info: Some(PhoneInfo { phone_number }),
                request_id: request_id(),
            },
            Err(err) => PhoneNumberResponse::from_error(&err),
        }
    }

    /// `POST /openserver/wxa/business/getemailaddress`: the email address
    /// behind a `wx.getEmail` code.
    pub async fn getemailaddress(&self, req: &UserCodeRequest) -> EmailAddressResponse {
        let result = match self.redeem_user_code(req, UserCodeKind::Email).await {
            Ok(user) => user.email.clone().ok_or_else(|| {
                OpenServerError::with_message(
                    ErrCode::NoSuchUserData,
                    "the user has no email address",
                )
            }),
            Err(err) => Err(err),
        };
        match result {
            Ok(email_address) => EmailAddressResponse {
                errcode: 0,
                errmsg: "ok".into(),
                email_address: Some(EmailInfo { email_address }),
                request_id: request_id(),
            },
            Err(err) => EmailAddressResponse::from_error(&err),
        }
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
        let invalid = || OpenServerError::with_message(ErrCode::InvalidCode, "invalid code");
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

fn status(result: Result<(), OpenServerError>) -> StatusResponse {
    match result {
        Ok(()) => StatusResponse::ok(),
        Err(err) => StatusResponse::from_error(&err),
    }
}

/// A `requestId`: 32 hex characters, as in the seed, unique per response.
///
/// It names a response in logs and is no secret, so it needs no CSPRNG draw:
/// a random per-thread prefix and a per-thread counter make it unique
/// without a shared atomic on the hot path.
pub(crate) fn request_id() -> String {
    thread_local! {
        static NEXT: std::cell::Cell<(u64, u64)> = std::cell::Cell::new((rand::random(), 0));
    }
    let (prefix, n) = NEXT.with(|next| {
        let (prefix, n) = next.get();
        next.set((prefix, n.wrapping_add(1)));
        (prefix, n)
    });
    to_hex(&((u128::from(prefix) << 64) | u128::from(n)).to_be_bytes())
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
}
