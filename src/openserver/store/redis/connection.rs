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

    /// How many replicas the master of `slot` has that a failover could
    /// promote (not marked failed): on one Redis, its connected replicas
    /// do not matter (no cluster failover), so none.
    pub(super) async fn promotable_replicas(mut self, slot: u16) -> RedisResult<usize> {
        match &mut self {
            Connection::Single(_) => {
                let _ = slot;
                Ok(0)
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::new(slot, SlotAddr::Master),
                ));
                let mut command = redis::cmd("CLUSTER");
                command.arg("NODES");
                let value = cluster.route_command(command, route).await?;
                let text: String = redis::FromRedisValue::from_redis_value(value)?;
                Ok(live_replicas(&text))
            }
        }
    }

    /// Runs `pipeline` (`count` commands) on the master of `slot` in one
    /// round trip: on one Redis, that Redis.
    pub(super) async fn pipeline_on_master_of(
        mut self,
        slot: u16,
        pipeline: Pipeline,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match &mut self {
            Connection::Single(manager) => {
                let _ = (slot, count);
                pipeline.query_async(manager).await
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => {
                use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
                let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                cluster.route_pipeline(pipeline, 0, count, route).await
            }
        }
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

/// How many replicas the node that wrote `CLUSTER NODES` (the `myself`
/// line) has that are not marked failed: the ones a failover could promote.
#[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
pub(super) fn live_replicas(cluster_nodes: &str) -> usize {
    let lines: Vec<Vec<&str>> = cluster_nodes
        .lines()
        .map(|line| line.split(' ').collect())
        .collect();
    let Some(me) = lines
        .iter()
        .find(|f| f.get(2).is_some_and(|flags| flags.contains("myself")))
        .and_then(|f| f.first())
    else {
        return 0;
    };
    lines
        .iter()
        .filter(|f| f.get(3) == Some(me))
        .filter(|f| {
            f.get(2)
                .is_some_and(|flags| !flags.split(',').any(|x| x == "fail"))
        })
        .count()
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

#[cfg(test)]
mod tests {
    use super::live_replicas;

    #[test]
    fn promotable_replicas_are_the_masters_replicas_not_marked_failed() {
        let nodes = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b1 127.0.0.1:7001@17001 slave a1 0 0 1 connected
c1 127.0.0.1:7002@17002 slave,fail a1 0 0 1 connected
d1 127.0.0.1:7003@17003 slave z9 0 0 2 connected
e1 127.0.0.1:7004@17004 slave,fail? a1 0 0 1 connected
";
        // b1, and e1 (only suspected): c1 failed, d1 is another's.
        assert_eq!(live_replicas(nodes), 2);
        assert_eq!(live_replicas(""), 0);
    }
}
