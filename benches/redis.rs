//! The Redis store, measured (BENCHMARKS.md, "The Redis store"):
//!
//! 1. Redis round trips per SDK login code, per jscode2session and per
//!    checksession, read from Redis's `INFO commandstats` over a run of
//!    each (every store operation is one `EVALSHA`; the other commands
//!    listed run inside the scripts, in the same round trip);
//! 2. jscode2session over HTTP with the Redis store against the same
//!    server on the in-memory store, requests per second, same run, same
//!    load generator as `benches/http.rs`.
//!
//! 3. with `--features redis-cluster`, the same on a Redis Cluster of its
//!    own (3 masters + 3 replicas): round trips summed over every node
//!    (`EVALSHA`, `WAIT` after a redeem, and the `HMGET`s checksession
//!    sends to two slots), and jscode2session over HTTP on the cluster in
//!    the same run as on one Redis.
//!
//! Starts its own `redis-server` (Debian's package) on a free loopback port.
//!
//! `cargo bench --features redis --bench redis`
//! `cargo bench --features redis-cluster --bench redis`

#[path = "support/load.rs"]
mod load;
use load::{drive, listen};
#[path = "support/ratios.rs"]
mod ratios;
#[allow(dead_code)] // the bench uses part of the tests' fixture
#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ratios::{Row, Target};
#[cfg(feature = "redis-cluster")]
use redis_server::RedisCluster;
use redis_server::RedisServer;
use superapp_openapi::{
    AppInfo, AppSecret, Code, OpenServer,
    http::{HttpConfig, OpenServerClient, router},
    openserver::{
        AppRegistration, CheckSessionRequest, Jscode2SessionRequest, OpenServerConfig, RedisConfig,
        RedisStore, SuperappUser, TokenRequest,
    },
    platform::Principal,
};
use tokio::runtime::Runtime;

const APP: &str = "wx-bench";
const SECRET: &str = "bench-secret-0123456";
const USER: &str = "u-bench";
/// Calls per operation for the round-trip counts.
const CALLS: u64 = 2_000;

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// No limit a benchmark run could reach.
fn config() -> OpenServerConfig {
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = u32::MAX;
    config.max_outstanding_codes_per_user = 100_000_000;
    config.max_outstanding_codes_per_app = 100_000_000;
    config
}

fn populated(server: OpenServer) -> OpenServer {
    server
        .register_app(AppRegistration::new(APP, AppSecret::new(SECRET), "team"))
        .expect("registered");
    server.add_user(SuperappUser::new(USER)).expect("added");
    server
}

async fn on_redis(redis: &RedisServer) -> OpenServer {
    on_store(RedisConfig::new(redis.url())).await
}

async fn on_store(redis_config: RedisConfig) -> OpenServer {
    let store = RedisStore::connect(redis_config)
        .await
        .expect("the bench's redis-server answers");
    populated(
        OpenServer::builder()
            .config(config())
            .id_secret("bench")
            .redis(store)
            .build(),
    )
}

fn in_memory() -> OpenServer {
    populated(
        OpenServer::builder()
            .config(config())
            .id_secret("bench")
            .build(),
    )
}

async fn login_code(server: &OpenServer) -> Code {
    server
        .issue_login_code(&AppInfo::new(APP), &Principal::Uid(USER.into()))
        .await
        .expect("a code")
}

/// What Redis did while `run` ran, per call: each command's calls, the
/// microseconds Redis spent in the scripts, and the wall time per call.
struct PerCall {
    commands: BTreeMap<String, f64>,
    redis_usec: f64,
    wall_usec: f64,
}

/// Commands that go over the wire; the others run inside the scripts.
/// (`HMGET` is both: checksession's two reads on a cluster are sent as
/// commands, and run inside the scripts elsewhere; `print_row` counts them
/// as round trips when no script ran.)
fn top_level(name: &str) -> bool {
    matches!(name, "evalsha" | "eval" | "script|load" | "ping" | "wait")
}

/// Runs `run` (`calls` sequential calls) and reads `INFO commandstats`,
/// the counters summed over `nodes` (one Redis, or a cluster's).
async fn per_call_on<F: Future<Output = ()>>(
    nodes: &[&RedisServer],
    calls: u64,
    run: F,
) -> PerCall {
    for node in nodes {
        node.command(&["CONFIG", "RESETSTAT"]);
    }
    let start = Instant::now();
    run.await;
    let wall = start.elapsed();
    let mut stats: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for node in nodes {
        for (name, (calls, usec)) in node.command_stats() {
            let entry = stats.entry(name).or_default();
            entry.0 += calls;
            entry.1 += usec;
        }
    }
    // The cluster's own gossip and the nodes' replication are not the run's.
    for name in [
        "cluster|nodes",
        "cluster|slots",
        "cluster|shards",
        "replconf",
        "ping",
    ] {
        stats.remove(name);
    }
    // The commands that reset and read the counters are not the run's.
    stats.remove("config|resetstat");
    stats.remove("info");
    let n = calls as f64;
    PerCall {
        redis_usec: stats
            .iter()
            .filter(|(name, _)| top_level(name))
            .map(|(_, (_, usec))| *usec as f64 / n)
            .sum(),
        commands: stats
            .into_iter()
            .map(|(name, (c, _))| (name, c as f64 / n))
            .collect(),
        wall_usec: wall.as_secs_f64() * 1e6 / n,
    }
}

fn print_row(what: &str, redis: &PerCall, memory_usec: f64) {
    let scripted = redis.commands.contains_key("evalsha");
    let sent = |name: &str| top_level(name) || (!scripted && name == "hmget");
    let round_trips: f64 = redis
        .commands
        .iter()
        .filter(|(name, _)| sent(name))
        .map(|(_, n)| n)
        .sum();
    let inside: Vec<String> = redis
        .commands
        .iter()
        .filter(|(name, _)| !sent(name))
        .map(|(name, n)| format!("{name} {n:.2}"))
        .collect();
    println!(
        "| {what} | **{round_trips:.2}** | {:.1} µs | {:.1} µs | {memory_usec:.1} µs | {} |",
        redis.redis_usec,
        redis.wall_usec,
        inside.join(", ")
    );
}

/// The in-process time per call of `run` on the in-memory store.
async fn memory_usec<F: Future<Output = ()>>(calls: u64, run: F) -> f64 {
    let start = Instant::now();
    run.await;
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

async fn login_codes(server: &OpenServer, calls: u64) -> Vec<Code> {
    let mut codes = Vec::new();
    for _ in 0..calls {
        codes.push(login_code(server).await);
    }
    codes
}

/// Exchanges every code; answers a checksession request (without its
/// token) for the last session.
async fn exchange_all(server: &OpenServer, codes: Vec<Code>) -> CheckSessionRequest {
    let mut last = None;
    for code in codes {
        last = Some(
            server
                .jscode2session(&Jscode2SessionRequest::new(
                    APP,
                    AppSecret::new(SECRET),
                    code,
                ))
                .await
                .expect("a session"),
        );
    }
    let last = last.expect("a session");
    CheckSessionRequest::new(
        superapp_openapi::AccessToken::new(""),
        &last.openid,
        OpenServerClient::signature(&last.session_key),
    )
}

async fn token(server: &OpenServer) -> superapp_openapi::AccessToken {
    server
        .token(&TokenRequest::new(APP, AppSecret::new(SECRET)))
        .await
        .expect("a token")
        .access_token
        .expect("a token")
}

async fn check_all(server: &OpenServer, request: &CheckSessionRequest, calls: u64) {
    for _ in 0..calls {
        server.checksession(request).await.expect("a valid session");
    }
}

async fn login_all(server: &OpenServer, calls: u64) {
    for _ in 0..calls {
        login_code(server).await;
    }
}

/// Round trips per operation, from Redis's own counters, with Redis's time
/// in the scripts and the wall time of sequential calls (in-memory store
/// for comparison).
fn round_trips() {
    let redis = RedisServer::start();
    round_trips_on(
        "one Redis",
        &[&redis],
        RedisConfig::new(redis.url()),
        Some(&redis),
    );
}

/// [`round_trips`] on a Redis Cluster of the bench's own.
#[cfg(feature = "redis-cluster")]
fn cluster_round_trips(cluster: &RedisCluster) {
    let nodes: Vec<&RedisServer> = cluster.nodes.iter().collect();
    round_trips_on(
        "a Redis Cluster, 3 masters + 3 replicas, WAIT 1 replica after a redeem",
        &nodes,
        RedisConfig::cluster(cluster.urls()),
        None,
    );
}

/// Round trips of each operation on the store `config` names, counted on
/// `nodes`; memory per code read from `memory_of` when given.
fn round_trips_on(
    what: &str,
    nodes: &[&RedisServer],
    config: RedisConfig,
    memory_of: Option<&RedisServer>,
) {
    let rt = runtime(1);
    rt.block_on(async {
        let server = on_store(config).await;
        let memory = in_memory();
        // Warm both up (connections, scripts, caches).
        login_all(&server, 100).await;
        login_all(&memory, 100).await;

        let login = per_call_on(nodes, CALLS, login_all(&server, CALLS)).await;
        let login_mem = memory_usec(CALLS, login_all(&memory, CALLS)).await;

        let codes = login_codes(&server, CALLS).await;
        let mut request = None;
        let exchange = per_call_on(nodes, CALLS, async {
            request = Some(exchange_all(&server, codes).await);
        })
        .await;
        let codes = login_codes(&memory, CALLS).await;
        let mut request_mem = None;
        let exchange_mem = memory_usec(CALLS, async {
            request_mem = Some(exchange_all(&memory, codes).await);
        })
        .await;

        let mut request = request.expect("a session");
        request.access_token = Some(token(&server).await);
        let mut request_mem = request_mem.expect("a session");
        request_mem.access_token = Some(token(&memory).await);
        let check = per_call_on(nodes, CALLS, check_all(&server, &request, CALLS)).await;
        let check_mem = memory_usec(CALLS, check_all(&memory, &request_mem, CALLS)).await;

        println!("\n{what}: {CALLS} sequential calls of each on one task (INFO commandstats):\n");
        println!(
            "| operation | Redis round trips (EVALSHA) | Redis time in the scripts | wall time per call, Redis store | in-memory store | commands run inside the scripts, per call |"
        );
        println!("|---|---|---|---|---|---|");
        print_row("SDK login code (`issue_login_code`, v2 UID)", &login, login_mem);
        print_row("`jscode2session`", &exchange, exchange_mem);
        print_row("`checksession`", &check, check_mem);
        // What an outstanding code costs Redis: its hash and its two
        // sorted-set entries, for a user and an app holding many.
        if let Some(redis) = memory_of {
            let before = used_memory(redis);
            login_all(&server, MEMORY_CODES).await;
            let per_code = (used_memory(redis) - before) as f64 / MEMORY_CODES as f64;
            println!(
                "\nRedis memory per outstanding login code ({MEMORY_CODES} codes, INFO memory): {per_code:.0} bytes"
            );
        }
    });
}

/// Codes issued to measure Redis's memory per code.
const MEMORY_CODES: u64 = 20_000;

/// `used_memory` from `INFO memory`, in bytes.
fn used_memory(redis: &RedisServer) -> i64 {
    redis
        .command(&["INFO", "memory"])
        .text()
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:")?.trim().parse().ok())
        .expect("used_memory")
}

/// CPU time this process's threads have used (`/proc/self/task/*/schedstat`,
/// nanoseconds), on Linux; 0 elsewhere.
fn process_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// CPU time redis-server has used (`INFO cpu`).
fn redis_cpu(redis: &RedisServer) -> Duration {
    let info = redis.command(&["INFO", "cpu"]).text();
    let seconds: f64 = info
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            matches!(name, "used_cpu_sys" | "used_cpu_user")
                .then(|| value.trim().parse::<f64>().ok())?
        })
        .sum();
    Duration::from_secs_f64(seconds)
}

/// What the timed batches of one store cost.
#[derive(Default)]
struct Spent {
    requests: u64,
    wall: Duration,
    process: Duration,
    redis: Duration,
}

impl Spent {
    fn row(&self, store: &str) {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / self.requests.max(1) as f64;
        println!(
            "| {store} | {} | {:.1} µs | {:.1} µs | {:.1} µs |",
            self.requests,
            per(self.wall),
            per(self.process),
            per(self.redis)
        );
    }
}

/// CPU time the nodes have used.
fn nodes_cpu(nodes: &[&RedisServer]) -> Duration {
    nodes.iter().map(|node| redis_cpu(node)).sum()
}

/// jscode2session over HTTP on the in-memory store, one Redis and (with
/// `cluster`) a Redis Cluster, in one run.
fn jscode2session_over_http(c: &mut Criterion, redis: &RedisServer, cluster: &[&RedisServer]) {
    let server_rt = runtime(1);
    let client_rt = runtime(1);
    let mut stores: Vec<(&str, OpenServer, Vec<&RedisServer>)> = server_rt.block_on(async {
        vec![
            ("memory_store", in_memory(), vec![redis]),
            ("redis_store", on_redis(redis).await, vec![redis]),
        ]
    });
    if !cluster.is_empty() {
        let urls = cluster
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port()));
        let server = server_rt.block_on(on_store(RedisConfig::cluster(urls)));
        stores.push(("cluster_store", server, cluster.to_vec()));
    }
    let bases: Vec<String> = server_rt.block_on(async {
        let mut bases = Vec::new();
        for (_, server, _) in &stores {
            bases.push(listen(router(server.clone(), HttpConfig::new())).await);
        }
        bases
    });
    let client = reqwest::Client::new();

    let mut spent: Vec<Spent> = stores.iter().map(|_| Spent::default()).collect();
    let mut g = c.benchmark_group("redis_http_jscode2session");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (((name, server, nodes), base), spent) in stores.iter().zip(&bases).zip(&mut spent) {
        let redis = nodes.as_slice();
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let urls = server_rt.block_on(async {
                    let mut urls = Vec::with_capacity(iters as usize);
                    for _ in 0..iters {
                        let code = login_code(server).await;
                        urls.push(format!(
                            "{base}/openserver/sns/jscode2session?appid={APP}&secret={SECRET}&js_code={}&grant_type=authorization_code",
                            code.secret()
                        ));
                    }
                    urls
                });
                let (process, in_redis) = (process_cpu(), nodes_cpu(redis));
                let wall = client_rt.block_on(drive(&client, urls));
                spent.requests += iters;
                spent.wall += wall;
                spent.process += process_cpu().saturating_sub(process);
                spent.redis += nodes_cpu(redis).saturating_sub(in_redis);
                wall
            })
        });
    }
    g.finish();
    println!("\nCPU per request over the timed batches (warm-up included):\n");
    println!(
        "| store | requests | wall time | this process's CPU (server and load generator) | redis-server's CPU (every node's) |"
    );
    println!("|---|---|---|---|---|");
    for (spent, store) in spent.iter().zip(["in-memory", "Redis", "Redis Cluster"]) {
        spent.row(store);
    }
}

fn main() {
    round_trips();
    #[cfg(feature = "redis-cluster")]
    let cluster = RedisCluster::start();
    #[cfg(feature = "redis-cluster")]
    cluster_round_trips(&cluster);
    #[cfg(feature = "redis-cluster")]
    let cluster_nodes: Vec<&RedisServer> = cluster.nodes.iter().collect();
    #[cfg(not(feature = "redis-cluster"))]
    let cluster_nodes: Vec<&RedisServer> = Vec::new();
    let redis = RedisServer::start();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    jscode2session_over_http(&mut c, &redis, &cluster_nodes);
    c.final_summary();
    let mut rows = vec![Row {
        what: "jscode2session over HTTP on the Redis store, requests per second",
        group: "redis_http_jscode2session",
        measured: "redis_store",
        baseline: "memory_store",
        target: Target::Throughput,
    }];
    if !cluster_nodes.is_empty() {
        rows.push(Row {
            what: "jscode2session over HTTP on a Redis Cluster against one Redis, requests per second",
            group: "redis_http_jscode2session",
            measured: "cluster_store",
            baseline: "redis_store",
            target: Target::Throughput,
        });
    }
    ratios::report(&rows);
}
