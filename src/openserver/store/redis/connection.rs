//! One Redis or a Redis Cluster, behind one connection type: a
//! [`ConnectionManager`] (reconnects by itself) or, with the feature
//! `redis-cluster`, redis-rs's async `ClusterConnection`, which routes each
//! command by its first key's slot, follows `MOVED`/`ASK` and learns a new
//! topology after a failover. Scripts run on either ([`redis::Script`]
//! loads itself again on `NOSCRIPT`, on a node that never saw it).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::{RedisConfig, RedisStoreError};

/// A connection to one Redis or to a cluster; cheap to clone.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Connects as `config` says.
    pub(super) async fn open(
        config: &RedisConfig,
        shown: &str,
    ) -> Result<Connection, RedisStoreError> {
        let invalid = |source| RedisStoreError::InvalidUrl {
            url: shown.to_owned(),
            source,
        };
        let unreachable = |e: redis::RedisError| RedisStoreError::Unreachable {
            url: shown.to_owned(),
            reason: e.to_string(),
        };
        if config.cluster {
            return Self::cluster(config, shown).await;
        }
        let url = config.urls.first().map(String::as_str).unwrap_or_default();
        let client = redis::Client::open(url).map_err(invalid)?;
        // One retry, shortly: an operation waits for a reconnection, and
        // the deadline bounds the whole of it anyway.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_with_config(client, manager_config)
            .await
            .map_err(unreachable)?;
        Ok(Connection::Single(manager))
    }

    #[cfg(feature = "redis-cluster")]
    async fn cluster(config: &RedisConfig, shown: &str) -> Result<Connection, RedisStoreError> {
        let client = redis::cluster::ClusterClient::builder(config.urls.iter().map(String::as_str))
            .connection_timeout(config.connection_timeout)
            .response_timeout(config.response_timeout)
            // A command retries while a failover settles (MOVED, a
            // connection refused), within the store's deadline anyway.
            .retries(3)
            .min_retry_wait(50)
            .max_retry_wait(500)
            .build()
            .map_err(|source| RedisStoreError::InvalidUrl {
                url: shown.to_owned(),
                source,
            })?;
        let connection =
            client
                .get_async_connection()
                .await
                .map_err(|e| RedisStoreError::Unreachable {
                    url: shown.to_owned(),
                    reason: e.to_string(),
                })?;
        Ok(Connection::Cluster(connection))
    }

    #[cfg(not(feature = "redis-cluster"))]
    async fn cluster(_config: &RedisConfig, shown: &str) -> Result<Connection, RedisStoreError> {
        Err(RedisStoreError::NoClusterSupport {
            url: shown.to_owned(),
        })
    }

    /// Runs a keyless command (`WAIT`) on the master of `slot`: on one
    /// Redis, that Redis.
    pub(super) async fn on_master_of(mut self, slot: u16, command: Cmd) -> RedisResult<i64> {
        match &mut self {
            Connection::Single(manager) => {
                let _ = slot;
                command.query_async(manager).await
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::new(slot, SlotAddr::Master),
                ));
                let value = cluster.route_command(command, route).await?;
                redis::FromRedisValue::from_redis_value(value).map_err(Into::into)
            }
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(manager) => manager.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(manager) => manager.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(manager) => manager.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.get_db(),
        }
    }
}
