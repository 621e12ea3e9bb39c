//! The Redis store (feature `redis`): the platform's state in a Redis that
//! every instance shares, so that a restart logs no one out and two
//! instances behind a load balancer agree.
//!
//! Each operation is one round trip: a Lua script loaded once
//! ([`redis::Script`], run with `EVALSHA`, so Redis runs it atomically) or a
//! single read command. Expiry is compared with the platform clock's `now`,
//! passed to every script, never with Redis's own clock, so the rules give
//! the same answers as the in-memory store on an injected clock; TTLs
//! (relative, computed from the same `now`, with a margin) only collect
//! the garbage. Codes, tokens, authCodes and session signatures are keys
//! or values only as the hex SHA-256 of the secret: a dump of Redis holds
//! nothing a caller could present.
//!
//! The keys (prefix `superapp:` by default; docs/openserver.md, "Running
//! several instances"):
//!
//! | key | type | fields |
//! |---|---|---|
//! | `code:<sha256(code)>` | hash | app, user, openid, kind, exp, used |
//! | `user-codes:<openid>` | sorted set | the user's code digests, scored by expiry |
//! | `app-codes:<appid>` | sorted set | the app's code digests, scored by expiry |
//! | `subject:<openid>` | hash | app, user; sig (sha256 of the session's signature), sexp; wmin, wcount (rate window) |
//! | `token:<sha256(token)>` | hash | app, exp |
//! | `app-tokens:<appid>` | hash | cur, prev (token digests), day, issued |
//! | `grant:<sha256(authCode)>` | hash | app, user, scopes, exp |
//! | `user-grants:<userid>` | sorted set | the user's authCode digests, scored by expiry |
//!
//! Scripts reach keys named inside other keys (a code's subject, a grant's
//! user), so the store wants one Redis (with replicas if need be), not a
//! Redis Cluster.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use subtle::ConstantTimeEq;

use super::{CodeLimits, GrantTerms, Redeemed, Refused, Store, StoreError, TokenApp, TokenTerms};
use crate::api::Scope;
use crate::digest::{sha256, to_hex};
use crate::openserver::codes::CodeKind;
use crate::openserver::directory::RedeemedGrant;
use crate::openserver::registry::{AppState, Subject};
use crate::openserver::shards::CodeKey;
use crate::platform::UserCodeKind;

/// The key prefix when none is given.
pub const DEFAULT_PREFIX: &str = "superapp:";

/// How long Redis keeps a code, token or grant key past the expiry the
/// scripts compare with: instances whose clocks differ by less than this
/// still agree on every answer.
const GC_MARGIN: u64 = 60_000;

/// How long a user's subject (openid → user id, session, rate window)
/// stays after its last code or session: an openid answers `87009` (known
/// user, no session), not `40003`, for this long after its session ended.
const SUBJECT_RETENTION: u64 = 30 * 24 * 3_600_000;

/// How to reach Redis and name the keys.
///
/// ```
/// use std::time::Duration;
/// use superapp_openapi::openserver::RedisConfig;
/// let config = RedisConfig::new("redis://:hunter2@10.0.0.7:6379/2")
///     .prefix("shop-platform:")
///     .connection_timeout(Duration::from_millis(500))
///     .response_timeout(Duration::from_millis(250));
/// assert_eq!(config.deadline(), Duration::from_millis(750));
/// // The password never shows.
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    url: String,
    prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url` (`redis://[:PASSWORD@]HOST:PORT/DB`, or
    /// `redis+unix:///PATH?db=DB`), keys under `superapp:`, 1 s to connect
    /// and 1 s for an answer.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
        }
    }

    /// Every key starts with `prefix` (default `superapp:`); platforms
    /// sharing one Redis database keep apart with prefixes of their own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long Redis may take to answer one command (default 1 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The longest a store operation waits before it answers `-1`: one
    /// connection attempt plus one answer.
    pub fn deadline(&self) -> Duration {
        self.connection_timeout + self.response_timeout
    }

    /// Where the URL points, without its credentials.
    fn shown(&self) -> String {
        shown_url(&self.url)
    }
}

/// `scheme://host:port/db` of a Redis URL, with any user and password cut out.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let rest = match rest.rsplit_once('@') {
        Some((_, after)) => after,
        None => rest,
    };
    // The query may carry a password too.
    let rest = rest.split('?').next().unwrap_or_default();
    format!("{scheme}://{rest}")
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.shown())
            .field("prefix", &self.prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

/// Why [`RedisStore::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not one the client understands (or names TLS, which
    /// this build does not include).
    #[error("invalid redis url {url}: {source}")]
    InvalidUrl {
        /// The URL without its credentials.
        url: String,
        /// The client's reason.
        source: redis::RedisError,
    },
    /// Redis did not answer, or refused a script, within the deadline.
    #[error("cannot reach redis at {url}: {reason}")]
    Unreachable {
        /// The URL without its credentials.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// The platform's state in Redis, shared by every instance given the same
/// Redis and prefix. Cheap to clone; clones share one connection.
///
/// Connect once and pass it to [`OpenServerBuilder::redis`](crate::openserver::OpenServerBuilder::redis):
///
/// ```no_run
/// use superapp_openapi::OpenServer;
/// use superapp_openapi::openserver::{RedisConfig, RedisStore};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect(RedisConfig::new("redis://127.0.0.1:6379/0")).await?;
/// let server = OpenServer::builder()
///     .id_secret("the same long random string on every instance")
///     .redis(store)
///     .build();
/// server.check_store().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Shared>,
}

struct Shared {
    connection: ConnectionManager,
    keys: Keys,
    scripts: Scripts,
    deadline: Duration,
    shown: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.shown)
            .field("prefix", &self.inner.keys.prefix)
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}

impl RedisStore {
    /// Connects, and loads the store's scripts into Redis.
    ///
    /// The connection is a [`ConnectionManager`]: when Redis goes away, each
    /// operation answers `-1` within [`RedisConfig::deadline`] and the next
    /// ones reconnect by themselves once Redis is back.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use superapp_openapi::openserver::{RedisConfig, RedisStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = RedisConfig::new("redis://10.0.0.7:6379/0").response_timeout(Duration::from_millis(300));
    /// let store = RedisStore::connect(config).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL the client cannot use,
    /// [`RedisStoreError::Unreachable`] when Redis does not answer within
    /// the deadline.
    pub async fn connect(config: RedisConfig) -> Result<RedisStore, RedisStoreError> {
        let shown = config.shown();
        let client = redis::Client::open(config.url.as_str()).map_err(|source| {
            RedisStoreError::InvalidUrl {
                url: shown.clone(),
                source,
            }
        })?;
        // One retry, shortly: an operation waits for a reconnection, and
        // the deadline bounds the whole of it anyway.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let deadline = config.deadline();
        let unreachable = |reason: String| RedisStoreError::Unreachable {
            url: shown.clone(),
            reason,
        };
        let scripts = Scripts::new();
        let connected = async {
            let mut connection = ConnectionManager::new_with_config(client, manager_config).await?;
            for script in scripts.all() {
                script.prepare_invoke().load_async(&mut connection).await?;
            }
            Ok::<_, redis::RedisError>(connection)
        };
        // Connecting is one attempt, plus one command per script.
        let connection = tokio::time::timeout(deadline * 4, connected)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", deadline * 4)))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(RedisStore {
            inner: Arc::new(Shared {
                connection,
                keys: Keys {
                    prefix: config.prefix,
                },
                scripts,
                deadline,
                shown,
            }),
        })
    }

    /// Runs one command or script invocation within the deadline.
    async fn run<F, T>(&self, call: impl FnOnce(ConnectionManager) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let deadline = self.inner.deadline;
        match tokio::time::timeout(deadline, call(self.inner.connection.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::Unavailable(format!("redis: {err}"))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis: no answer within {deadline:?}"
            ))),
        }
    }

    /// Invokes `script` with `keys` and `args`.
    async fn eval(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Value, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        self.run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }

    /// `HMGET key fields…`.
    async fn hmget(&self, key: &str, fields: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut command = redis::cmd("HMGET");
        command.arg(key).arg(fields);
        self.run(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }
}

/// The key names under the prefix.
struct Keys {
    prefix: String,
}

impl Keys {
    fn key(&self, kind: &str, id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + id.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push_str(id);
        key
    }

    fn code(&self, digest: &str) -> String {
        self.key("code:", digest)
    }

    fn user_codes(&self, openid: &str) -> String {
        self.key("user-codes:", openid)
    }

    fn app_codes(&self, app_id: &str) -> String {
        self.key("app-codes:", app_id)
    }

    fn subject(&self, openid: &str) -> String {
        self.key("subject:", openid)
    }

    fn token(&self, digest: &str) -> String {
        self.key("token:", digest)
    }

    fn app_tokens(&self, app_id: &str) -> String {
        self.key("app-tokens:", app_id)
    }

    fn grant(&self, digest: &str) -> String {
        self.key("grant:", digest)
    }

    fn user_grants(&self, user_id: &str) -> String {
        self.key("user-grants:", user_id)
    }
}

/// Hex SHA-256: how a secret appears in Redis.
fn digest(secret: &[u8]) -> String {
    to_hex(&sha256(secret))
}

/// A code's digest: of its 32-hex-character form as issued (lower case).
fn code_digest(key: CodeKey) -> String {
    digest(key.to_hex().as_bytes())
}

/// The longest TTL the store sets: 100 years, well inside what `PEXPIRE`
/// accepts, for lifetimes configured as good as forever.
const MAX_TTL: u64 = 100 * 365 * 24 * 3_600_000;

/// Milliseconds from `now` to `until`, plus `margin`; at least 1, at most
/// [`MAX_TTL`].
fn ttl(now: u64, until: u64, margin: u64) -> u64 {
    until
        .saturating_sub(now)
        .saturating_add(margin)
        .clamp(1, MAX_TTL)
}

fn kind_name(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Login => "login",
        CodeKind::User(UserCodeKind::PhoneNumber) => "phone",
        CodeKind::User(UserCodeKind::Email) => "email",
    }
}

/// The refusal a script's status number stands for (the numbers of the
/// scripts below).
fn refusal(status: i64) -> StoreError {
    let refused = match status {
        1 => Refused::InvalidCode,
        2 => Refused::CodeUsed,
        3 => Refused::RateLimited,
        4 => Refused::UnknownOpenid,
        5 => Refused::UserCodeQuota,
        6 => Refused::AppCodeQuota,
        7 => Refused::TokenQuota,
        8 => Refused::GrantQuota,
        other => return unexpected(&Value::Int(other)),
    };
    StoreError::Refused(refused)
}

fn unexpected(value: &Value) -> StoreError {
    StoreError::Unavailable(format!("redis: unexpected answer {value:?}"))
}

/// A script's answer: `0` (done), another number (a refusal), or an array
/// (done, with data).
fn answer(value: Value) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Int(0) => Ok(Vec::new()),
        Value::Int(status) => Err(refusal(status)),
        Value::Array(items) => Ok(items),
        other => Err(unexpected(&other)),
    }
}

fn text(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

fn string(value: &Value) -> Result<String, StoreError> {
    text(value)
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_owned)
        .ok_or_else(|| unexpected(value))
}

fn millis(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The store's scripts. Status numbers: 1 invalid code, 2 code used,
/// 3 rate limited, 4 unknown openid, 5 user's code quota, 6 app's code
/// cap, 7 daily token quota, 8 user's authCode cap (see [`refusal`]).
struct Scripts {
    issue_code: Script,
    redeem_login_code: Script,
    redeem_user_code: Script,
    replace_session: Script,
    check_session: Script,
    issue_token: Script,
    issue_grant: Script,
    redeem_grant: Script,
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            issue_code: Script::new(ISSUE_CODE),
            redeem_login_code: Script::new(REDEEM_LOGIN_CODE),
            redeem_user_code: Script::new(REDEEM_USER_CODE),
            replace_session: Script::new(REPLACE_SESSION),
            check_session: Script::new(CHECK_SESSION),
            issue_token: Script::new(ISSUE_TOKEN),
            issue_grant: Script::new(ISSUE_GRANT),
            redeem_grant: Script::new(REDEEM_GRANT),
        }
    }

    fn all(&self) -> [&Script; 8] {
        [
            &self.issue_code,
            &self.redeem_login_code,
            &self.redeem_user_code,
            &self.replace_session,
            &self.check_session,
            &self.issue_token,
            &self.issue_grant,
            &self.redeem_grant,
        ]
    }
}

/// Issues a code under the user's quota, then the app's cap. Expired
/// members are trimmed first, so the counts need no sweeping.
///
/// KEYS: code, user-codes, app-codes, subject.
/// ARGV: now, exp, per_user, per_app, digest, app, user, openid, kind,
/// code ttl, subject ttl.
const ISSUE_CODE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 5 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 6 end
redis.call('HSET', KEYS[1], 'app', ARGV[6], 'user', ARGV[7], 'openid', ARGV[8],
  'kind', ARGV[9], 'exp', ARGV[2], 'used', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[10])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[5])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[10]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[10])
  end
end
redis.call('HSET', KEYS[4], 'app', ARGV[6], 'user', ARGV[7])
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[11]) then
  redis.call('PEXPIRE', KEYS[4], ARGV[11])
end
return 0
";

/// Redeems a login code of an app once, counting its user's rate window;
/// a full window leaves the code unused.
///
/// KEYS: code. ARGV: app, now, rate limit, minute, subject key prefix.
/// Answers {0, user id}.
const REDEEM_LOGIN_CODE: &str = r"
local c = redis.call('HMGET', KEYS[1], 'app', 'kind', 'exp', 'used', 'openid', 'user')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= 'login' or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return 1
end
if c[4] == '1' then return 2 end
local subject = ARGV[5] .. c[5]
local w = redis.call('HMGET', subject, 'wmin', 'wcount')
local count = 0
if w[1] == ARGV[4] then count = tonumber(w[2]) end
if count >= tonumber(ARGV[3]) then return 3 end
redis.call('HSET', subject, 'wmin', ARGV[4], 'wcount', count + 1)
redis.call('HSET', KEYS[1], 'used', '1')
return {0, c[6]}
";

/// Redeems a phone/email code of an app, issued to the user with the given
/// openid when one is given (checked first, even with no code to look at);
/// without one, the code names its user.
///
/// KEYS: subject (of the given openid, or the bare prefix)[, code].
/// ARGV: app, now, kind, openid ('' when none), subject key prefix.
/// Answers {0, user id}.
const REDEEM_USER_CODE: &str = r"
local openid = ARGV[4]
if openid ~= '' then
  local s = redis.call('HGET', KEYS[1], 'app')
  if s ~= ARGV[1] then return 4 end
end
if #KEYS < 2 then return 1 end
local c = redis.call('HMGET', KEYS[2], 'app', 'kind', 'exp', 'used', 'openid')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= ARGV[3]
  or (openid ~= '' and c[5] ~= openid)
  or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return 1
end
if c[4] == '1' then return 2 end
redis.call('HSET', KEYS[2], 'used', '1')
local user = redis.call('HGET', ARGV[5] .. c[5], 'user')
return {0, user or ''}
";

/// Replaces a user's session: from now on only this signature verifies.
///
/// KEYS: subject. ARGV: app, user, signature digest, session expiry, subject ttl.
const REPLACE_SESSION: &str = r"
redis.call('HSET', KEYS[1], 'app', ARGV[1], 'user', ARGV[2], 'sig', ARGV[3], 'sexp', ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 0
";

/// Reads what checksession decides on: the token's app and expiry, and the
/// openid's app, session signature digest and session expiry.
///
/// KEYS: token, subject. Answers {} for an unknown token.
const CHECK_SESSION: &str = r"
local t = redis.call('HMGET', KEYS[1], 'app', 'exp')
if not t[1] then return {} end
local s = redis.call('HMGET', KEYS[2], 'app', 'sig', 'sexp')
return {t[1], t[2] or '0', s[1] or '', s[2] or '', s[3] or ''}
";

/// Issues an access token under the app's daily quota: the one before the
/// previous stops now, the previous lives until the overlap ends.
///
/// KEYS: app-tokens, token. ARGV: day, per day, exp, overlap end, app, now,
/// grace, token key prefix, digest, app-tokens ttl.
const ISSUE_TOKEN: &str = r"
local s = redis.call('HMGET', KEYS[1], 'day', 'issued', 'cur', 'prev')
local issued = 0
if s[1] == ARGV[1] then issued = tonumber(s[2]) end
if issued >= tonumber(ARGV[2]) then return 7 end
if s[4] then redis.call('DEL', ARGV[8] .. s[4]) end
if s[3] then
  local previous = ARGV[8] .. s[3]
  local e = redis.call('HGET', previous, 'exp')
  if e and tonumber(e) > tonumber(ARGV[4]) then
    redis.call('HSET', previous, 'exp', ARGV[4])
    redis.call('PEXPIRE', previous, math.max(1, tonumber(ARGV[4]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
  end
  redis.call('HSET', KEYS[1], 'prev', s[3])
else
  redis.call('HDEL', KEYS[1], 'prev')
end
redis.call('HSET', KEYS[2], 'app', ARGV[5], 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[3]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
redis.call('HSET', KEYS[1], 'day', ARGV[1], 'issued', issued + 1, 'cur', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[10])
return 0
";

/// Issues an authCode grant under its user's cap.
///
/// KEYS: grant, user-grants. ARGV: now, exp, per user, digest, app, user,
/// scopes, ttl.
const ISSUE_GRANT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 8 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[8]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
redis.call('HSET', KEYS[1], 'app', ARGV[5], 'user', ARGV[6], 'scopes', ARGV[7], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 0
";

/// Spends an authCode whatever happens; answers its user and scopes when
/// it was the app's and had not expired.
///
/// KEYS: grant. ARGV: app, now, user-grants key prefix, digest.
const REDEEM_GRANT: &str = r"
local g = redis.call('HMGET', KEYS[1], 'app', 'user', 'scopes', 'exp')
if not g[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[3] .. g[2], ARGV[4])
if g[1] ~= ARGV[1] or tonumber(g[4]) <= tonumber(ARGV[2]) then return 0 end
return {g[2], g[3]}
";

impl Store for RedisStore {
    async fn issue_code(
        &self,
        subject: &Arc<Subject>,
        key: CodeKey,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
        limits: CodeLimits,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let digest = code_digest(key);
        let app_id = &subject.app.app_id;
        let code_ttl = ttl(now, expires_at, GC_MARGIN);
        let subject_ttl = ttl(now, expires_at, SUBJECT_RETENTION);
        let value = self
            .eval(
                &self.inner.scripts.issue_code,
                &[
                    &keys.code(&digest),
                    &keys.user_codes(&subject.openid),
                    &keys.app_codes(app_id),
                    &keys.subject(&subject.openid),
                ],
                &[
                    now.to_string().as_bytes(),
                    expires_at.to_string().as_bytes(),
                    limits.per_user.to_string().as_bytes(),
                    limits.per_app.to_string().as_bytes(),
                    digest.as_bytes(),
                    app_id.as_bytes(),
                    subject.user_id.as_bytes(),
                    subject.openid.as_bytes(),
                    kind_name(kind).as_bytes(),
                    code_ttl.to_string().as_bytes(),
                    subject_ttl.to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn redeem_login_code(
        &self,
        app: &Arc<AppState>,
        key: CodeKey,
        now: u64,
        rate_limit: u32,
    ) -> Result<Redeemed, StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.redeem_login_code,
                &[&keys.code(&code_digest(key))],
                &[
                    app.record.app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    rate_limit.to_string().as_bytes(),
                    (now / 60_000).to_string().as_bytes(),
                    keys.subject("").as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [_, user] => Ok(Redeemed::User(string(user)?)),
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn redeem_user_code(
        &self,
        app: &Arc<AppState>,
        openid: Option<&str>,
        key: Option<CodeKey>,
        kind: CodeKind,
        now: u64,
    ) -> Result<String, StoreError> {
        let keys = &self.inner.keys;
        let subject = keys.subject(openid.unwrap_or(""));
        let prefix = keys.subject("");
        let code = key.map(|key| keys.code(&code_digest(key)));
        let mut named: Vec<&str> = vec![&subject];
        named.extend(code.as_deref());
        let value = self
            .eval(
                &self.inner.scripts.redeem_user_code,
                &named,
                &[
                    app.record.app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    kind_name(kind).as_bytes(),
                    openid.unwrap_or("").as_bytes(),
                    prefix.as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [_, user] => string(user),
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn replace_session(
        &self,
        subject: &Subject,
        signature: [u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.replace_session,
                &[&keys.subject(&subject.openid)],
                &[
                    subject.app.app_id.as_bytes(),
                    subject.user_id.as_bytes(),
                    digest(&signature).as_bytes(),
                    expires_at.to_string().as_bytes(),
                    ttl(now, expires_at, SUBJECT_RETENTION)
                        .to_string()
                        .as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn check_session(
        &self,
        token: &str,
        openid: &str,
        signature: Option<&[u8; 32]>,
        now: u64,
        registered: impl Fn(&str) -> bool + Send,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.check_session,
                &[
                    &keys.token(&digest(token.as_bytes())),
                    &keys.subject(openid),
                ],
                &[],
            )
            .await?;
        let fields = match value {
            Value::Array(fields) => fields,
            other => return Err(unexpected(&other)),
        };
        let [token_app, token_exp, subject_app, stored, session_exp] = fields.as_slice() else {
            return Err(Refused::InvalidToken.into());
        };
        let token_app = text(token_app).ok_or_else(|| unexpected(token_app))?;
        if text(token_exp)
            .and_then(millis)
            .is_none_or(|exp| exp <= now)
        {
            return Err(Refused::ExpiredToken.into());
        }
        let token_app = std::str::from_utf8(token_app).map_err(|_| unexpected(&fields[0]))?;
        if !registered(token_app) {
            return Err(Refused::InvalidToken.into());
        }
        if text(subject_app) != Some(token_app.as_bytes()) {
            return Err(Refused::UnknownOpenid.into());
        }
        let signature = signature.ok_or(Refused::BadSignature)?;
        if text(session_exp)
            .and_then(millis)
            .is_none_or(|exp| exp <= now)
        {
            return Err(Refused::BadSignature.into());
        }
        let given = digest(signature);
        let stored = text(stored).unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(stored)) {
            Ok(())
        } else {
            Err(Refused::BadSignature.into())
        }
    }

    async fn has_session(&self, subject: &Subject, now: u64) -> Result<bool, StoreError> {
        let key = self.inner.keys.subject(&subject.openid);
        let fields = self.hmget(&key, &["app", "sexp"]).await?;
        Ok(match fields.as_slice() {
            [Some(app), Some(exp)] => {
                *app == subject.app.app_id.as_bytes() && millis(exp).is_some_and(|exp| exp > now)
            }
            _ => false,
        })
    }

    async fn issue_token(
        &self,
        app: &Arc<AppState>,
        token: &str,
        terms: TokenTerms,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let app_id = &app.record.app_id;
        let now = terms.now;
        // The day's count lives to the day's end, the current token's
        // digest as long as the token is told apart from an unknown one.
        let day_end = (terms.day + 1).saturating_mul(86_400_000);
        let slots_ttl = ttl(
            now,
            day_end.max(terms.expires_at.saturating_add(terms.grace)),
            GC_MARGIN,
        );
        let value = self
            .eval(
                &self.inner.scripts.issue_token,
                &[
                    &keys.app_tokens(app_id),
                    &keys.token(&digest(token.as_bytes())),
                ],
                &[
                    terms.day.to_string().as_bytes(),
                    terms.per_day.to_string().as_bytes(),
                    terms.expires_at.to_string().as_bytes(),
                    terms.overlap_end.to_string().as_bytes(),
                    app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    terms.grace.to_string().as_bytes(),
                    keys.token("").as_bytes(),
                    digest(token.as_bytes()).as_bytes(),
                    slots_ttl.to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn resolve_token(&self, token: &str, now: u64) -> Result<TokenApp, StoreError> {
        let key = self.inner.keys.token(&digest(token.as_bytes()));
        let fields = self.hmget(&key, &["app", "exp"]).await?;
        match fields.as_slice() {
            [Some(app), exp] => {
                if exp.as_deref().and_then(millis).is_none_or(|exp| exp <= now) {
                    return Err(Refused::ExpiredToken.into());
                }
                String::from_utf8(app.clone())
                    .map(TokenApp::Id)
                    .map_err(|_| Refused::InvalidToken.into())
            }
            _ => Err(Refused::InvalidToken.into()),
        }
    }

    async fn issue_grant(
        &self,
        code: &str,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
        terms: GrantTerms,
    ) -> Result<(), StoreError> {
        let GrantTerms {
            now,
            expires_at,
            per_user,
        } = terms;
        let keys = &self.inner.keys;
        let digest = digest(code.as_bytes());
        let scopes = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let value = self
            .eval(
                &self.inner.scripts.issue_grant,
                &[&keys.grant(&digest), &keys.user_grants(user_id)],
                &[
                    now.to_string().as_bytes(),
                    expires_at.to_string().as_bytes(),
                    per_user.to_string().as_bytes(),
                    digest.as_bytes(),
                    app_id.as_bytes(),
                    user_id.as_bytes(),
                    scopes.as_bytes(),
                    ttl(now, expires_at, GC_MARGIN).to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn redeem_grant(
        &self,
        code: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Option<RedeemedGrant>, StoreError> {
        let keys = &self.inner.keys;
        let digest = digest(code.as_bytes());
        let value = self
            .eval(
                &self.inner.scripts.redeem_grant,
                &[&keys.grant(&digest)],
                &[
                    app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    keys.user_grants("").as_bytes(),
                    digest.as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [] => Ok(None),
            [user, scopes] => {
                let scopes = string(scopes)?;
                let scopes = scopes
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<Scope>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::Unavailable(format!("redis: a stored grant: {e}")))?;
                Ok(Some(RedeemedGrant {
                    user_id: string(user)?,
                    scopes,
                }))
            }
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let pong: String =
            self.run(|mut connection| async move {
                redis::cmd("PING").query_async(&mut connection).await
            })
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "redis: PING answered {pong:?}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_no_credentials() {
        assert_eq!(
            shown_url("redis://user:hunter2@10.0.0.7:6379/2"),
            "redis://10.0.0.7:6379/2"
        );
        assert_eq!(shown_url("redis://:p@ss@h:1/0"), "redis://h:1/0");
        assert_eq!(
            shown_url("redis+unix:///run/redis.sock?db=1&pass=hunter2"),
            "redis+unix:///run/redis.sock"
        );
        assert_eq!(shown_url("localhost:6379"), "(not a URL)");
    }

    #[test]
    fn a_ttl_is_never_zero_or_negative() {
        assert_eq!(ttl(10, 5, 0), 1);
        assert_eq!(ttl(10, 15, 100), 105);
        assert_eq!(ttl(0, u64::MAX, GC_MARGIN), MAX_TTL);
    }

    #[test]
    fn status_numbers_map_to_refusals_and_nothing_else() {
        assert_eq!(refusal(2), StoreError::Refused(Refused::CodeUsed));
        assert_eq!(refusal(8), StoreError::Refused(Refused::GrantQuota));
        assert!(matches!(refusal(9), StoreError::Unavailable(_)));
        assert_eq!(answer(Value::Int(0)), Ok(Vec::new()));
    }
}
