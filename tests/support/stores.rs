//! The platform of [`open_server`](super::open_server) on each store: the
//! in-memory one, or (feature `redis`) a Redis of the test's own. The rule
//! suite (`tests/store_rules.rs`) runs one body per rule on each.

use std::future::Future;

use superapp_openapi::OpenServer;
use superapp_openapi::openserver::{ManualClock, OpenServerConfig};

#[cfg(feature = "redis-cluster")]
use super::redis::RedisCluster;
#[cfg(feature = "redis")]
use super::redis::RedisServer;
use super::{open_server_with, populated};

/// A platform under test: the server, its clock, and the Redis its state
/// lives in (stopped when the platform is dropped).
pub struct Platform {
    pub server: OpenServer,
    pub clock: ManualClock,
    pub config: OpenServerConfig,
    #[cfg(feature = "redis")]
    pub redis: Option<RedisServer>,
    /// The cluster's seed URLs and this platform's key prefix.
    #[cfg(feature = "redis-cluster")]
    pub cluster: Option<(Vec<String>, String)>,
}

impl Platform {
    pub fn memory(config: OpenServerConfig) -> Platform {
        let (server, clock) = open_server_with(config.clone());
        Platform {
            server,
            clock,
            config,
            #[cfg(feature = "redis")]
            redis: None,
            #[cfg(feature = "redis-cluster")]
            cluster: None,
        }
    }

    /// A server whose state is in a fresh `redis-server`.
    #[cfg(feature = "redis")]
    pub async fn redis(config: OpenServerConfig) -> Platform {
        let redis = RedisServer::start();
        let clock = ManualClock::new();
        let server = redis_instance(&redis, &config, &clock).await;
        Platform {
            server,
            clock,
            config,
            redis: Some(redis),
            #[cfg(feature = "redis-cluster")]
            cluster: None,
        }
    }

    /// A server whose state is on the suite's Redis Cluster (one per test
    /// process, started on first use), under a prefix of its own.
    #[cfg(feature = "redis-cluster")]
    pub async fn redis_cluster(config: OpenServerConfig) -> Platform {
        Platform::on_cluster(config, shared_cluster().urls()).await
    }

    /// A server whose state is on the cluster at `urls`, under a fresh prefix.
    #[cfg(feature = "redis-cluster")]
    pub async fn on_cluster(config: OpenServerConfig, urls: Vec<String>) -> Platform {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static PLATFORMS: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!("t{}:", PLATFORMS.fetch_add(1, Ordering::Relaxed));
        let clock = ManualClock::new();
        let server = cluster_instance(&urls, &prefix, &config, &clock).await;
        Platform {
            server,
            clock,
            config,
            redis: None,
            cluster: Some((urls, prefix)),
        }
    }

    /// Another instance on the same Redis, connected on its own: the same
    /// `id_secret`, apps, users, config and clock, nothing else shared.
    #[cfg(feature = "redis")]
    pub async fn another_instance(&self) -> OpenServer {
        #[cfg(feature = "redis-cluster")]
        if let Some((urls, prefix)) = &self.cluster {
            return cluster_instance(urls, prefix, &self.config, &self.clock).await;
        }
        let redis = self.redis.as_ref().expect("a Redis platform");
        redis_instance(redis, &self.config, &self.clock).await
    }
}

#[cfg(feature = "redis")]
async fn redis_instance(
    redis: &RedisServer,
    config: &OpenServerConfig,
    clock: &ManualClock,
) -> OpenServer {
    use superapp_openapi::openserver::{RedisConfig, RedisStore};
    let store = RedisStore::connect(RedisConfig::new(redis.url()))
        .await
        .expect("the test's redis-server answers");
    populated(
        OpenServer::builder()
            .config(config.clone())
            .clock(clock.clone())
            .redis(store),
    )
}

/// The test process's one cluster for the rule suite: the platforms on it
/// keep apart by prefix. Never dropped: its watchdog stops its nodes when
/// the test process ends.
#[cfg(feature = "redis-cluster")]
pub fn shared_cluster() -> &'static RedisCluster {
    static CLUSTER: std::sync::OnceLock<RedisCluster> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::start)
}

#[cfg(feature = "redis-cluster")]
pub async fn cluster_instance(
    urls: &[String],
    prefix: &str,
    config: &OpenServerConfig,
    clock: &ManualClock,
) -> OpenServer {
    use superapp_openapi::openserver::{RedisConfig, RedisStore};
    // A replica on a loaded 2-core test machine may take longer than the
    // production default (100 ms) to acknowledge a redeem; the rules are
    // about what the platform answers, not about that timeout, so the
    // tests wait up to 800 ms (below the 1 s response timeout).
    let redis_config = RedisConfig::cluster(urls.to_vec())
        .prefix(prefix)
        .replica_acks(1, std::time::Duration::from_millis(800));
    let store = RedisStore::connect(redis_config)
        .await
        .expect("the test's cluster answers");
    populated(
        OpenServer::builder()
            .config(config.clone())
            .clock(clock.clone())
            .redis(store),
    )
}

/// Where a rule's platform keeps its state.
pub trait StoreKind {
    /// Whether the per-app cap of outstanding codes is exact (a cluster
    /// counts a share of it per tag: docs/openserver.md).
    const EXACT_APP_CAP: bool = true;

    fn platform(config: OpenServerConfig) -> impl Future<Output = Platform>;

    fn default_platform() -> impl Future<Output = Platform> {
        Self::platform(OpenServerConfig::default())
    }
}

/// The in-memory store (the default).
pub struct Memory;

impl StoreKind for Memory {
    async fn platform(config: OpenServerConfig) -> Platform {
        Platform::memory(config)
    }
}

/// A Redis of the test's own.
#[cfg(feature = "redis")]
pub struct Redis;

#[cfg(feature = "redis")]
impl StoreKind for Redis {
    async fn platform(config: OpenServerConfig) -> Platform {
        Platform::redis(config).await
    }
}

/// The test process's Redis Cluster.
#[cfg(feature = "redis-cluster")]
pub struct Cluster;

#[cfg(feature = "redis-cluster")]
impl StoreKind for Cluster {
    const EXACT_APP_CAP: bool = false;

    async fn platform(config: OpenServerConfig) -> Platform {
        Platform::redis_cluster(config).await
    }
}

/// 64 tasks released together, alternately on `a` and `b`, each
/// exchanging `code`: their errcodes.
pub async fn race_across(
    a: &OpenServer,
    b: &OpenServer,
    code: &superapp_openapi::Code,
) -> Vec<i64> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let server = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (code, barrier) = (code.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                super::exchange(&server, super::APP_A1, code).await.errcode
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Exactly one of the racers' answers is a success, every other 40163.
pub fn assert_one_success(answers: &[i64]) {
    assert_eq!(
        answers.iter().filter(|&&c| c == 0).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|&&c| c == 40163).count(),
        answers.len() - 1,
        "{answers:?}"
    );
}
