//! The platform of [`open_server`](super::open_server) on each store: the
//! in-memory one, or (feature `redis`) a Redis of the test's own. The rule
//! suite (`tests/store_rules.rs`) runs one body per rule on each.

use std::future::Future;

use superapp_openapi::OpenServer;
use superapp_openapi::openserver::{ManualClock, OpenServerConfig};

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
        }
    }

    /// Another instance on the same Redis, connected on its own: the same
    /// `id_secret`, apps, users, config and clock, nothing else shared.
    #[cfg(feature = "redis")]
    pub async fn another_instance(&self) -> OpenServer {
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

/// Where a rule's platform keeps its state.
pub trait StoreKind {
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
