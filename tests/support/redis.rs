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

    fn pid(&self) -> String {
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
    fn try_command(&self, args: &[&str]) -> Option<Resp> {
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
