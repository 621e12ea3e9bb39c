//! A `redis-server` of the test's own (Debian's package: `apt-get install
//! redis-server`): on a loopback port the OS picked, no persistence, in a
//! directory of its own, killed when dropped. Talked to over a few lines
//! of RESP, so the tests need no Redis client of their own.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a started `redis-server` may take to answer PING.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// More `redis-server` arguments (a cluster node's).
    extra: Vec<String>,
}

/// One RESP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Resp>),
}

impl Resp {
    pub fn text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Error(s) => s.clone(),
            Resp::Int(n) => n.to_string(),
            Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Resp::Bulk(None) => String::new(),
            Resp::Array(items) => items.iter().map(Resp::text).collect::<Vec<_>>().join("\n"),
        }
    }

    pub fn items(&self) -> Vec<String> {
        match self {
            Resp::Array(items) => items.iter().map(Resp::text).collect(),
            other => panic!("not an array: {other:?}"),
        }
    }
}

impl RedisServer {
    /// Starts one; panics with what to install when `redis-server` is missing.
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Starts one with more `redis-server` arguments.
    pub fn start_with(extra: &[String]) -> RedisServer {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "superapp-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir,
            extra: extra.to_vec(),
        };
        // Another process may take the port between our look and Redis's
        // bind: then Redis exits, and we try another.
        for _ in 0..3 {
            match server.try_spawn() {
                Ok(()) => return server,
                Err(exited) => {
                    eprintln!(
                        "redis-server on port {}: {exited}; another port",
                        server.port
                    );
                    server.port = free_port();
                    // The cluster bus port may have been the one taken.
                    if let Some(at) = server.extra.iter().position(|a| a == "--cluster-port") {
                        server.extra[at + 1] = free_port().to_string();
                    }
                }
            }
        }
        panic!("redis-server did not start on three ports");
    }

    /// Starts redis-server on this port; panics unless it answers.
    fn spawn(&mut self) {
        if let Err(exited) = self.try_spawn() {
            panic!("redis-server on port {} {exited}", self.port);
        }
    }

    /// Starts redis-server on this port and waits for PING; `Err` when it
    /// exits first (its port taken).
    fn try_spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the Redis tests need Debian's \
                     redis-server (apt-get install -y redis-server)"
                )
            });
        self.child = Some(child);
        let start = Instant::now();
        // Bounded polling for a spawned process to come up.
        loop {
            if self
                .try_command(&["PING"])
                .is_some_and(|r| r == Resp::Simple("PONG".into()))
            {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("exited: {status}"));
            }
            assert!(
                start.elapsed() < READY_WITHIN,
                "redis-server on port {} did not answer PING within {READY_WITHIN:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn pid(&self) -> String {
        self.child.as_ref().expect("running").id().to_string()
    }

    /// `kill -9`: gone, with everything it held (no persistence).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGSTOP: connections stay open and nothing answers (a slow Redis).
    pub fn pause(&self) {
        signal("-STOP", &self.pid());
    }

    /// SIGCONT after [`pause`](RedisServer::pause): answers again, state intact.
    pub fn resume(&self) {
        signal("-CONT", &self.pid());
    }

    /// One command, or `None` when the server does not answer.
    pub fn try_command(&self, args: &[&str]) -> Option<Resp> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).ok()?;
        read(&mut BufReader::new(stream))
    }

    /// One command; panics when the server does not answer.
    pub fn command(&self, args: &[&str]) -> Resp {
        self.try_command(args)
            .unwrap_or_else(|| panic!("redis-server on port {} did not answer {args:?}", self.port))
    }

    /// `INFO commandstats` as command → (calls, microseconds spent in it).
    pub fn command_stats(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        self.command(&["INFO", "commandstats"])
            .text()
            .lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let field = |key: &str| {
                    stats
                        .split(',')
                        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                        .parse()
                        .ok()
                };
                Some((name.to_owned(), (field("calls")?, field("usec")?)))
            })
            .collect()
    }

    /// Every key with everything it holds, as text: what a dump shows.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for key in self.command(&["KEYS", "*"]).items() {
            let kind = self.command(&["TYPE", &key]).text();
            let held = match kind.as_str() {
                "hash" => self.command(&["HGETALL", &key]).text(),
                "zset" => self
                    .command(&["ZRANGE", &key, "0", "-1", "WITHSCORES"])
                    .text(),
                _ => self.command(&["DUMP", &key]).text(),
            };
            out.push_str(&format!("{key} ({kind})\n{held}\n"));
        }
        out
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused server still dies of SIGKILL; SIGCONT is for tidiness.
            signal("-CONT", &child.id().to_string());
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signal(which: &str, pid: &str) {
    let _ = Command::new("kill").args([which, pid]).status();
}

/// A loopback port the OS picked, free when this returns.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("an address").port()
}

fn read(reader: &mut impl BufRead) -> Option<Resp> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let line = line.strip_suffix("\r\n")?;
    let (kind, rest) = line.split_at(1);
    Some(match kind {
        "+" => Resp::Simple(rest.to_owned()),
        "-" => Resp::Error(rest.to_owned()),
        ":" => Resp::Int(rest.parse().ok()?),
        "$" => {
            let len: i64 = rest.parse().ok()?;
            if len < 0 {
                Resp::Bulk(None)
            } else {
                let mut bytes = vec![0u8; len as usize + 2];
                reader.read_exact(&mut bytes).ok()?;
                bytes.truncate(len as usize);
                Resp::Bulk(Some(bytes))
            }
        }
        "*" => {
            let len: i64 = rest.parse().ok()?;
            let mut items = Vec::new();
            for _ in 0..len.max(0) {
                items.push(read(reader)?);
            }
            Resp::Array(items)
        }
        _ => return None,
    })
}

/// How long a new cluster may take to agree on its slots.
const CLUSTER_READY_WITHIN: Duration = Duration::from_secs(30);

/// The cluster's node timeout: how long a master may be silent before its
/// replica is promoted. Small, so that failover tests stay short.
pub const NODE_TIMEOUT: Duration = Duration::from_millis(1000);

/// A Redis Cluster of the test's own: three masters with a replica each,
/// `redis-server --cluster-enabled yes` on free loopback ports, joined by
/// `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`.
/// Every node is killed when it is dropped, and, should the test process
/// die without dropping it (a static, an abort), by a watchdog shell that
/// outlives the test process by at most half a second.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    watchdog: Option<Child>,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                let bus = free_port();
                RedisServer::start_with(&[
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-config-file".into(),
                    "nodes.conf".into(),
                    "--cluster-node-timeout".into(),
                    NODE_TIMEOUT.as_millis().to_string(),
                    "--cluster-port".into(),
                    bus.to_string(),
                    // A replica may be promoted however long it was cut
                    // off (the failover test stops one).
                    "--cluster-replica-validity-factor".into(),
                    "0".into(),
                ])
            })
            .collect();
        let pids: Vec<String> = nodes.iter().map(RedisServer::pid).collect();
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 0.5; done; kill -9 {} 2>/dev/null",
                std::process::id(),
                pids.join(" ")
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        let cluster = RedisCluster { nodes, watchdog };
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli (Debian's redis-tools) runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.wait_until_ok();
        cluster
    }

    /// Bounded polling until every live node says `cluster_state:ok` and
    /// sees three masters, each with a replica.
    pub fn wait_until_ok(&self) {
        let start = Instant::now();
        loop {
            let ok = self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
                n.try_command(&["CLUSTER", "INFO"])
                    .is_some_and(|r| r.text().contains("cluster_state:ok"))
            }) && self.masters().len() == 3
                && self.masters().iter().all(|m| {
                    // Its replica synced: a WAIT after a write can succeed.
                    m.try_command(&["INFO", "replication"])
                        .is_some_and(|r| r.text().contains("state=online"))
                });
            if ok {
                return;
            }
            assert!(
                start.elapsed() < CLUSTER_READY_WITHIN,
                "the cluster was not ok within {CLUSTER_READY_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port()))
            .collect()
    }

    /// `redis-cluster://127.0.0.1:P1,127.0.0.1:P2,…`, as the binary takes it.
    pub fn store_url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis-cluster://{}", nodes.join(","))
    }

    /// `CLUSTER NODES` as a live node sees it: (port, is a master, master's
    /// node id or own id, failed).
    fn topology(&self) -> Vec<(u16, bool, String, String)> {
        let Some(text) = self
            .nodes
            .iter()
            .filter(|n| n.child.is_some())
            .find_map(|n| n.try_command(&["CLUSTER", "NODES"]))
            .map(|r| r.text())
        else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let port = fields.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
                let flags = fields.get(2)?;
                Some((
                    port,
                    flags.contains("master") && !flags.contains("fail"),
                    fields[0].to_owned(),
                    fields.get(3)?.to_string(),
                ))
            })
            .collect()
    }

    /// The nodes that are live masters now.
    pub fn masters(&self) -> Vec<&RedisServer> {
        let masters: Vec<u16> = self
            .topology()
            .into_iter()
            .filter(|(_, master, _, _)| *master)
            .map(|(port, ..)| port)
            .collect();
        self.nodes
            .iter()
            .filter(|n| n.child.is_some() && masters.contains(&n.port()))
            .collect()
    }

    /// The index in `nodes` of the master holding `key`'s slot.
    pub fn master_of(&self, key: &str) -> usize {
        for (i, node) in self.nodes.iter().enumerate() {
            if node.child.is_none() {
                continue;
            }
            let role = node.command(&["ROLE"]).items();
            if role.first().map(String::as_str) != Some("master") {
                continue;
            }
            // A master answers a key of its slot (no MOVED).
            let answer = node.command(&["EXISTS", key]);
            if !matches!(answer, Resp::Error(_)) {
                return i;
            }
        }
        panic!("no master holds {key}");
    }

    /// The index in `nodes` of the replica of master `master`.
    pub fn replica_of(&self, master: usize) -> usize {
        let port = self.nodes[master].port();
        let topology = self.topology();
        let id = topology
            .iter()
            .find(|(p, ..)| *p == port)
            .map(|(_, _, id, _)| id.clone())
            .expect("the master in CLUSTER NODES");
        let replica_port = topology
            .iter()
            .find(|(_, _, _, of)| *of == id)
            .map(|(p, ..)| *p)
            .expect("a replica of the master");
        self.nodes
            .iter()
            .position(|n| n.port() == replica_port)
            .expect("the replica among the nodes")
    }

    /// Every key on every live master (KEYS *), by node index.
    pub fn keys_by_master(&self) -> Vec<(usize, Vec<String>)> {
        let masters: Vec<u16> = self.masters().iter().map(|n| n.port()).collect();
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| masters.contains(&n.port()))
            .map(|(i, n)| (i, n.command(&["KEYS", "*"]).items()))
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}
