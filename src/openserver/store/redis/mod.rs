//! The Redis store (feature `redis`): the platform's state in a Redis that
//! every instance shares, so that a restart logs no one out and two
//! instances behind a load balancer agree.
//!
//! Each operation is a Lua script loaded once ([`redis::Script`], run
//! with `EVALSHA`, so Redis runs it atomically) or a single read command,
//! one round trip (the exceptions are below). Expiry is compared with the platform clock's `now`,
//! passed to every script, never with Redis's own clock, so the rules give
//! the same answers as the in-memory store on an injected clock; TTLs
//! (relative, computed from the same `now`, with a margin) only collect
//! the garbage. Codes, tokens, authCodes and session signatures are keys
//! or values only as the hex SHA-256 of the secret: a dump of Redis holds
//! nothing a caller could present.
//!
//! The keys (prefix `superapp:` by default, then a hash tag `{tt}`, two
//! hex digits: `keys.rs` says whose; docs/openserver.md, "Running several
//! instances"):
//!
//! | key | type | fields |
//! |---|---|---|
//! | `{t(openid)}:code:<sha256(code)>` | hash | app, user, openid, kind, exp, used |
//! | `{t(openid)}:user-codes:<openid>` | sorted set | the user's code digests, scored by expiry |
//! | `app-codes:<appid>`, on a cluster `{tt}:app-codes:<appid>` | sorted set | the app's code digests (of one tag's users on a cluster), scored by expiry |
//! | `{t(openid)}:subject:<openid>` | hash | app, user; sig (sha256 of the session's signature), sexp |
//! | `{tt}:rate:<minute>` | hash | openid → jscode2session calls that minute |
//! | `{t(sha256(token))}:token:<sha256(token)>` | hash | app, exp, gone (retired) |
//! | `{t(appid)}:app-tokens:<appid>` | hash | cur, prev (token digests), day, issued |
//! | `{t(userid)}:grant:<sha256(authCode)>` | hash | app, user, scopes, exp |
//! | `{t(userid)}:user-grants:<userid>` | sorted set | the user's authCode digests, scored by expiry |
//!
//! Every key a script touches is passed in its KEYS, none is named inside
//! Lua, and the keys of one script share a tag, so every script runs on a
//! Redis Cluster too. A code (and an authCode) carries its user's tag in
//! its first byte, so redeeming one needs no key name read first: a login
//! code, an SDK login and checksession are one round trip each. Only
//! `issue_token` (its app's slot, then the three tokens' slots together)
//! and `redeem_grant` (the grant names its user, read first) take two.
//! On a cluster, checksession reads its two slots together, and a redeem
//! may `WAIT` for a replica ([`RedisConfig::replica_acks`]).

mod connection;
mod decode;
mod keys;
mod scripts;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::{FromRedisValue, ScriptInvocation};

use self::connection::Connection;
use self::keys::Keys;
use self::scripts::Scripts;
use super::StoreError;

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
    /// One Redis's URL, or a cluster's seed nodes.
    urls: Vec<String>,
    cluster: bool,
    prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
    replica_acks: u32,
    replica_timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url` (`redis://[:PASSWORD@]HOST:PORT/DB`, or
    /// `redis+unix:///PATH?db=DB`), keys under `superapp:`, 1 s to connect
    /// and 1 s for an answer.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            urls: vec![url.into()],
            cluster: false,
            prefix: DEFAULT_PREFIX.to_owned(),
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            replica_acks: 0,
            replica_timeout: Duration::from_millis(100),
        }
    }

    /// A Redis Cluster (feature `redis-cluster`) reached through any of
    /// `nodes` (`redis://[:PASSWORD@]HOST:PORT` each; the client learns
    /// the rest of the cluster from them). A redeemed code waits for one
    /// replica by default ([`RedisConfig::replica_acks`]).
    ///
    /// ```
    /// use superapp_openapi::openserver::RedisConfig;
    /// let config = RedisConfig::cluster(["redis://10.0.0.7:7000", "redis://10.0.0.8:7000"]);
    /// assert!(format!("{config:?}").contains("10.0.0.8:7000"));
    /// ```
    pub fn cluster<I>(nodes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisConfig {
            urls: nodes.into_iter().map(Into::into).collect(),
            cluster: true,
            replica_acks: 1,
            ..RedisConfig::new("")
        }
    }

    /// After each redeem of a code or authCode, wait for `acks` replicas
    /// of its master to have it (`WAIT`), at most `timeout`; when fewer
    /// did, the redeem answers `-1`, so that a failover before the
    /// replicas saw it cannot let the code be redeemed again
    /// (docs/openserver.md, "Running several instances"). Default: 0 on
    /// one Redis, 1 within 100 ms on a cluster. Costs a replica's
    /// acknowledgement per redeem (a login code's `WAIT` goes in the
    /// redeem's pipeline; a phone/email code's or authCode's is one round
    /// trip more).
    pub fn replica_acks(mut self, acks: u32, timeout: Duration) -> Self {
        self.replica_acks = acks;
        self.replica_timeout = timeout;
        self
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
    /// connection attempt plus one answer (a redeem waiting for replicas
    /// waits their timeout more).
    pub fn deadline(&self) -> Duration {
        self.connection_timeout + self.response_timeout
    }

    /// Where the URLs point, without their credentials.
    fn shown(&self) -> String {
        let shown: Vec<String> = self.urls.iter().map(|url| shown_url(url)).collect();
        shown.join(",")
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
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("replica_acks", &self.replica_acks)
            .field("replica_timeout", &self.replica_timeout)
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
    /// The prefix holds `{` or `}`, which would change the keys' hash tags.
    #[error("invalid redis key prefix {prefix:?}: a prefix may not hold {{ or }}")]
    InvalidPrefix {
        /// The prefix given.
        prefix: String,
    },
    /// A cluster was asked for, and this build has no feature `redis-cluster`.
    #[error(
        "redis cluster at {url}: this build has no Redis Cluster support (feature redis-cluster)"
    )]
    NoClusterSupport {
        /// The URLs without their credentials.
        url: String,
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
    connection: Connection,
    /// A Redis Cluster: checksession reads two slots.
    cluster: bool,
    replica_acks: u32,
    replica_timeout: Duration,
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
    /// The connection is a [`redis::aio::ConnectionManager`] (on a cluster
    /// a `ClusterConnection`, which follows `MOVED`, `ASK` and failovers):
    /// when Redis goes away, each
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
        if config.prefix.contains(['{', '}']) {
            return Err(RedisStoreError::InvalidPrefix {
                prefix: config.prefix,
            });
        }
        let deadline = config.deadline();
        let unreachable = |reason: String| RedisStoreError::Unreachable {
            url: shown.clone(),
            reason,
        };
        let scripts = Scripts::new();
        let connected = async {
            let mut connection = Connection::open(&config, &shown).await?;
            for script in scripts.all() {
                script
                    .prepare_invoke()
                    .load_async(&mut connection)
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
            }
            Ok::<_, RedisStoreError>(connection)
        };
        // Connecting is one attempt, plus one command per script.
        let connection = tokio::time::timeout(deadline * 4, connected)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", deadline * 4)))??;
        let waits = config.replica_acks > 0;
        Ok(RedisStore {
            inner: Arc::new(Shared {
                connection,
                cluster: config.cluster,
                replica_acks: config.replica_acks,
                replica_timeout: config.replica_timeout,
                keys: Keys {
                    prefix: config.prefix,
                    sharded_app_cap: config.cluster,
                },
                scripts,
                deadline: deadline
                    + if waits {
                        config.replica_timeout
                    } else {
                        Duration::ZERO
                    },
                shown,
            }),
        })
    }

    /// `WAIT <acks> <timeout>` for the configured replicas.
    fn wait_command(&self) -> redis::Cmd {
        let mut command = redis::cmd("WAIT");
        command
            .arg(self.inner.replica_acks)
            .arg(self.inner.replica_timeout.as_millis() as u64);
        command
    }

    /// Runs a redeem script (`evalsha`, built by [`evalsha`]) and, when the
    /// store waits for replicas, `WAIT` with it in one pipeline to the
    /// master of `key`'s slot: one round trip. Its reply, once the
    /// replicas have what it wrote (checked only when it wrote: data).
    /// A node that never saw the script (`NOSCRIPT`: a promoted replica)
    /// is given it, and the call runs again.
    async fn redeem<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        evalsha: redis::Cmd,
        key: &str,
    ) -> Result<decode::Reply<T>, StoreError> {
        let slot = keys::slot(key);
        let mut pipeline = redis::pipe();
        pipeline.add_command(evalsha);
        let waits = self.inner.replica_acks > 0;
        if waits {
            pipeline.add_command(self.wait_command());
        }
        let count = pipeline.len();
        let values: Vec<redis::Value> = self
            .run(|connection| async move {
                // NOSCRIPT comes back as the script's answer in the
                // pipeline's, or as the pipeline's error.
                let no_script = |e: &redis::RedisError| {
                    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
                };
                let first = connection
                    .clone()
                    .pipeline_on_master_of(slot, pipeline.clone(), count)
                    .await;
                let missing = match &first {
                    Ok(values) => matches!(
                        values.first(),
                        Some(redis::Value::ServerError(e))
                            if e.kind() == Some(redis::ServerErrorKind::NoScript)
                    ),
                    Err(e) => no_script(e),
                };
                if !missing {
                    return first;
                }
                let mut loading = connection.clone();
                script.prepare_invoke().load_async(&mut loading).await?;
                connection
                    .pipeline_on_master_of(slot, pipeline, count)
                    .await
            })
            .await?;
        let mut values = values.into_iter();
        let reply: decode::Reply<T> = values
            .next()
            .map(FromRedisValue::from_redis_value)
            .transpose()
            .map_err(|e| StoreError::Unavailable(format!("redis: {e}")))?
            .ok_or_else(|| decode::unexpected(&redis::Value::Nil))?;
        if waits && matches!(reply, decode::Reply::Data(_)) {
            let acked = values
                .next()
                .and_then(|v| i64::from_redis_value(v).ok())
                .unwrap_or(0);
            self.acknowledged(slot, acked).await?;
        }
        Ok(reply)
    }

    /// After a redeem: waits for the configured replicas of the master
    /// holding `key` to have it; `-1` when fewer acknowledged in time.
    async fn replicated(&self, key: &str) -> Result<(), StoreError> {
        if self.inner.replica_acks == 0 {
            return Ok(());
        }
        let command = self.wait_command();
        let slot = keys::slot(key);
        let acked: i64 = self
            .run(|connection| async move { connection.on_master_of(slot, command).await })
            .await?;
        self.acknowledged(slot, acked).await
    }

    /// Whether `acked` replicas of the master of `slot` are enough.
    async fn acknowledged(&self, slot: u16, acked: i64) -> Result<(), StoreError> {
        let wanted = self.inner.replica_acks;
        let timeout = self.inner.replica_timeout;
        if acked >= i64::from(wanted) {
            return Ok(());
        }
        // Too few: safe only when no replica could be promoted over the
        // write (a cluster master whose replicas all failed, after a
        // failover); a replica that is merely behind could be.
        let promotable = self
            .run(|connection| async move { connection.promotable_replicas(slot).await })
            .await?;
        if self.inner.cluster && promotable == 0 {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "redis: the redeem reached {acked} of {wanted} replicas within {timeout:?}"
            )))
        }
    }

    /// Runs one command or script invocation within the deadline.
    async fn run<F, T>(&self, call: impl FnOnce(Connection) -> F) -> Result<T, StoreError>
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

    /// Runs a script invocation within the deadline, its answer read as `T`.
    async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }

    /// `HMGET key fields…`, read as `T`.
    async fn hmget<T: FromRedisValue>(&self, key: &str, fields: &[&str]) -> Result<T, StoreError> {
        let mut command = redis::cmd("HMGET");
        command.arg(key).arg(fields);
        self.run(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }

    /// `HGET key field`.
    async fn hget(&self, key: &str, field: &str) -> Result<Option<String>, StoreError> {
        let mut command = redis::cmd("HGET");
        command.arg(key).arg(field);
        self.run(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }
}

/// `EVALSHA <sha> <number of keys> <keys…>`: a script call whose
/// arguments the caller appends, for a pipeline ([`redis::ScriptInvocation`]
/// builds its command privately).
fn evalsha(script: &redis::Script, keys: &[&str]) -> redis::Cmd {
    let mut command = redis::cmd("EVALSHA");
    command.arg(script.get_hash()).arg(keys.len()).arg(keys);
    command
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::decode::{answer, refusal};
    use super::keys::{MAX_TTL, ttl};
    use super::*;
    use crate::openserver::store::Refused;

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
