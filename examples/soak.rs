//! A bounded soak of the platform over HTTP: does one user's flood lock
//! the others out, does latency hold, does memory come back?
//!
//! It starts an `OpenServer` behind `router` + `serve` on a free loopback
//! port in this process (a 2-worker tokio runtime), with one app for the
//! logins, 256 users, an SDK key, and short lifetimes (codes live 2 s, the
//! sweeper runs every second) so that expiry and sweeping happen within the
//! run. After a warmup that logs every user in once, it runs for the given
//! time in three equal phases:
//!
//! 1. **baseline**: normal logins only. Four tasks each log one of their
//!    users in every 50 ms, the whole developer story over HTTP: the host's
//!    SDK call `POST /openserver/sdk/login_code` (with the SDK key), then the
//!    developer server's `jscode2session` and `checksession`
//!    (`OpenServerClient`);
//! 2. **flood**: the normal logins go on while flooders hammer every route as
//!    fast as they can, with a bounded number of requests in flight (32 by
//!    default): login codes for ONE user (past its per-user quota: 45009),
//!    `cgi-bin/token` (past the daily quota: 45009; on a second app, see
//!    below), jscode2session with unknown codes, checksession with bad
//!    signatures, getuserphonenumber with bad codes, authCodes for the one
//!    user, an unknown path (404) and a wrong method (405);
//! 3. **recovery**: the flooders stop and go away; the normal logins go on
//!    while codes expire and the background sweeper removes them.
//!
//! It prints the answers per route and errcode, the normal logins' p50/p99
//! latency without and during the flood, resident memory (start, after
//! warmup, peak, final), the platform's outstanding codes and tokens, and
//! where the CPU went in each phase. Targets: the p99 during the flood at
//! most 3× the p99 without it, and the final memory within 10% of the
//! memory after warmup; a missed target is printed as "missed" and the run
//! still exits 0. It exits 1 only when the run is broken: above all, when a
//! normal user's login is refused, since one user's flood must never lock
//! the others out.
//!
//! The token flood uses a second app: the daily token quota and the two
//! live tokens are per app, so flooding `cgi-bin/token` with the login app's
//! own secret takes the token away from that app's own developer server
//! (tried: its checksession calls then fail with 40014, and with 45009 once
//! the day's 2,000 tokens are gone). Whoever holds an app's secret can do
//! that; a user cannot.
//!
//! ```sh
//! cargo run --release --example soak -- --seconds 30
//! cargo run --release --example soak -- --seconds 30 --flood 0   # no flood: the machine's own noise
//! cargo run --example soak                 # 3 s, what CI runs
//! ```
//!
//! Loopback only; bounded in time (the given seconds plus a short warmup).

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use superapp_openapi::http::{
    ClientError, HttpConfig, OpenServerClient, RemotePlatform, router, serve,
};
use superapp_openapi::openserver::{AppRegistration, OpenServerConfig, SuperappUser};
use superapp_openapi::platform::{Platform, PlatformError, Principal};
use superapp_openapi::{AccessToken, AppInfo, AppSecret, OpenServer, SdkKey};
use tokio::runtime::Runtime;

const TEAM: &str = "team-soak";
/// The app every user logs in to.
const APP: &str = "wxsoak00000000001";
const APP_SECRET: &str = "soak-app-secret-0123456789";
/// The app whose developer server floods `cgi-bin/token`.
const TOKEN_APP: &str = "wxsoaktokens00001";
const TOKEN_APP_SECRET: &str = "soak-token-app-secret-0123456789";
const SDK_KEY: &str = "soak-host-sdk-key-0123456789";
/// The one user the flooders ask codes and authCodes for.
const FLOOD_USER: &str = "u-flood";

const NORMAL_USERS: usize = 256;
const NORMAL_TASKS: usize = 4;
/// Each normal task logs one of its users in this often: 80 logins/s in
/// all, each user every 3.2 s (19 a minute, under the 100 a minute limit).
const LOGIN_EVERY: Duration = Duration::from_millis(50);
const DEFAULT_SECONDS: u64 = 3;
const DEFAULT_FLOOD: usize = 32;
/// How often memory and the platform's state are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// Linux reports thread CPU time in ticks of 1/USER_HZ s, 100 on Linux.
const USER_HZ: f64 = 100.0;

const P_LOGIN_CODE: &str = "/openserver/sdk/login_code";
const P_AUTH_CODE: &str = "/openserver/sdk/auth_code";
const P_TOKEN: &str = "/openserver/cgi-bin/token";
const P_JSCODE2SESSION: &str = "/openserver/sns/jscode2session";
const P_CHECKSESSION: &str = "/openserver/wxa/checksession";
const P_PHONE: &str = "/openserver/wxa/business/getuserphonenumber";
const P_NO_SUCH: &str = "/openserver/no/such/route";

// ---------------------------------------------------------------- arguments

struct Args {
    seconds: u64,
    flood: usize,
}

fn usage() {
    eprintln!(
        "usage: soak [--seconds N] [--flood N]\n\
         \n  --seconds N   how long the three phases take together (default {DEFAULT_SECONDS})\
         \n  --flood N     flood requests in flight during phase 2 (default {DEFAULT_FLOOD}; 0: no flood)\
         \n  -h, --help    this text"
    );
}

/// The arguments, `Ok(None)` for `--help`.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        seconds: DEFAULT_SECONDS,
        flood: DEFAULT_FLOOD,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut number = |name: &str| {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("{name} needs a whole number"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--seconds" => args.seconds = number("--seconds")?,
            "--flood" => {
                args.flood = usize::try_from(number("--flood")?).map_err(|e| e.to_string())?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.seconds == 0 {
        return Err("--seconds must be at least 1".into());
    }
    if args.flood > 1024 {
        return Err("--flood is at most 1024 (the run must stay bounded)".into());
    }
    Ok(Some(args))
}

// ------------------------------------------------------------------- phases

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Baseline = 0,
    Flood = 1,
    Recovery = 2,
    Done = 3,
}

const PHASES: [Phase; 3] = [Phase::Baseline, Phase::Flood, Phase::Recovery];

impl Phase {
    fn from_u8(n: u8) -> Phase {
        match n {
            0 => Phase::Baseline,
            1 => Phase::Flood,
            2 => Phase::Recovery,
            _ => Phase::Done,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Baseline => "1 baseline",
            Phase::Flood => "2 flood",
            Phase::Recovery => "3 recovery",
            Phase::Done => "done",
        }
    }
}

/// The current phase, shared with every task.
#[derive(Clone, Default)]
struct PhaseFlag(Arc<AtomicU8>);

impl PhaseFlag {
    fn get(&self) -> Phase {
        Phase::from_u8(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Relaxed);
    }
}

// ------------------------------------------------------------------ answers

/// Which request: who sends it and where.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Route {
    NormalLoginCode,
    NormalJscode2Session,
    NormalCheckSession,
    FloodLoginCode,
    FloodToken,
    FloodJscode2Session,
    FloodCheckSession,
    FloodPhone,
    FloodAuthCode,
    FloodNotFound,
    FloodWrongMethod,
}

const FLOOD_ROUTES: [Route; 8] = [
    Route::FloodLoginCode,
    Route::FloodToken,
    Route::FloodJscode2Session,
    Route::FloodCheckSession,
    Route::FloodPhone,
    Route::FloodAuthCode,
    Route::FloodNotFound,
    Route::FloodWrongMethod,
];

impl Route {
    fn who(self) -> &'static str {
        match self {
            Route::NormalLoginCode | Route::NormalJscode2Session | Route::NormalCheckSession => {
                "normal"
            }
            _ => "flood",
        }
    }

    fn label(self) -> String {
        match self {
            Route::NormalLoginCode => format!("POST {P_LOGIN_CODE} (own user)"),
            Route::NormalJscode2Session => format!("GET  {P_JSCODE2SESSION}"),
            Route::NormalCheckSession => format!("GET  {P_CHECKSESSION}"),
            Route::FloodLoginCode => format!("POST {P_LOGIN_CODE} ({FLOOD_USER})"),
            Route::FloodToken => format!("GET  {P_TOKEN} (2nd app)"),
            Route::FloodJscode2Session => format!("GET  {P_JSCODE2SESSION} (unknown code)"),
            Route::FloodCheckSession => format!("GET  {P_CHECKSESSION} (bad signature)"),
            Route::FloodPhone => format!("POST {P_PHONE} (bad code)"),
            Route::FloodAuthCode => format!("POST {P_AUTH_CODE} ({FLOOD_USER})"),
            Route::FloodNotFound => format!("GET  {P_NO_SUCH}"),
            Route::FloodWrongMethod => format!("POST {P_TOKEN} (wrong method)"),
        }
    }
}

/// What came back: an errcode (with the HTTP status when not 200), or no
/// answer of the API at all.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Outcome {
    Answer { status: u16, errcode: i64 },
    Transport,
    Timeout,
    NotTheApi,
}

impl Outcome {
    const OK: Outcome = Outcome::Answer {
        status: 200,
        errcode: 0,
    };

    fn is_error(self) -> bool {
        self != Outcome::OK
    }

    fn from_client(result: &Result<impl Sized, ClientError>) -> Outcome {
        match result {
            Ok(_) => Outcome::OK,
            Err(ClientError::Timeout(_)) => Outcome::Timeout,
            Err(ClientError::Transport(_)) => Outcome::Transport,
            Err(err) => err
                .errcode()
                .map_or(Outcome::NotTheApi, |errcode| Outcome::Answer {
                    status: 200,
                    errcode,
                }),
        }
    }

    fn from_platform(result: &Result<impl Sized, PlatformError>) -> Outcome {
        match result {
            Ok(_) => Outcome::OK,
            Err(PlatformError::Timeout) => Outcome::Timeout,
            Err(PlatformError::Unreachable(_)) => Outcome::Transport,
            Err(err) => err
                .errcode()
                .map_or(Outcome::NotTheApi, |errcode| Outcome::Answer {
                    status: 200,
                    errcode,
                }),
        }
    }

    /// Reads a raw answer: its status and the body's `errcode`.
    async fn from_response(response: reqwest::Result<reqwest::Response>) -> Outcome {
        let response = match response {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Outcome::Timeout,
            Err(_) => return Outcome::Transport,
        };
        let status = response.status().as_u16();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => return Outcome::Timeout,
            Err(_) => return Outcome::Transport,
        };
        match serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("errcode").and_then(Value::as_i64))
        {
            Some(errcode) => Outcome::Answer { status, errcode },
            None => Outcome::NotTheApi,
        }
    }
}

impl Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Answer {
                status: 200,
                errcode,
            } => write!(f, "{errcode}"),
            Outcome::Answer { status, errcode } => write!(f, "HTTP {status} {errcode}"),
            Outcome::Transport => f.write_str("transport error"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::NotTheApi => f.write_str("not the API"),
        }
    }
}

/// Answers counted per route and outcome (each task keeps its own, merged
/// at the end, so counting costs no shared write).
#[derive(Default)]
struct Counts(BTreeMap<Route, BTreeMap<Outcome, u64>>);

impl Counts {
    fn add(&mut self, route: Route, outcome: Outcome) {
        *self.0.entry(route).or_default().entry(outcome).or_default() += 1;
    }

    fn merge(&mut self, other: Counts) {
        for (route, outcomes) in other.0 {
            for (outcome, n) in outcomes {
                *self.0.entry(route).or_default().entry(outcome).or_default() += n;
            }
        }
    }

    fn total(&self, pick: impl Fn(Route) -> bool) -> u64 {
        self.0
            .iter()
            .filter(|(r, _)| pick(**r))
            .flat_map(|(_, o)| o.values())
            .sum()
    }
}

// ---------------------------------------------------------- normal logins

/// The normal users' side: the host (its SDK calls) and the developer server.
struct Normal {
    host: RemotePlatform,
    developer: OpenServerClient,
}

/// What the normal tasks saw.
#[derive(Default)]
struct NormalReport {
    counts: Counts,
    /// Each full login's wall time, by the phase it started in.
    latencies: [Vec<Duration>; 3],
    /// Every refused or failed login: the run is broken if there is one.
    failures: Vec<String>,
}

impl NormalReport {
    fn merge(&mut self, other: NormalReport) {
        self.counts.merge(other.counts);
        for (mine, theirs) in self.latencies.iter_mut().zip(other.latencies) {
            mine.extend(theirs);
        }
        self.failures.extend(other.failures);
    }
}

fn user_id(n: usize) -> String {
    format!("u-{n:04}")
}

/// One full login: the host gets a code for the user, the developer server
/// exchanges it and checks the session. Returns the openid.
async fn login(normal: &Normal, user: &str, counts: &mut Counts) -> Result<String, String> {
    let principal = Principal::Uid(user.to_owned());
    let code = normal
        .host
        .issue_login_code(&AppInfo::new(APP), &principal)
        .await;
    counts.add(Route::NormalLoginCode, Outcome::from_platform(&code));
    let code = code.map_err(|e| format!("{user}: login_code: {e}"))?;

    let session = normal.developer.jscode2session(&code).await;
    counts.add(Route::NormalJscode2Session, Outcome::from_client(&session));
    let session = session.map_err(|e| format!("{user}: jscode2session: {e}"))?;

    let checked = normal
        .developer
        .check_session(&session.openid, &session.session_key)
        .await;
    counts.add(Route::NormalCheckSession, Outcome::from_client(&checked));
    checked.map_err(|e| format!("{user}: checksession: {e}"))?;
    Ok(session.openid)
}

/// One normal task: its users in turn, one login every `LOGIN_EVERY`, until
/// the phases are over.
async fn normal_task(
    task: usize,
    normal: Arc<Normal>,
    phase: PhaseFlag,
    mut report: NormalReport,
) -> NormalReport {
    let users: Vec<String> = (task..NORMAL_USERS)
        .step_by(NORMAL_TASKS)
        .map(user_id)
        .collect();
    let mut ticks = tokio::time::interval(LOGIN_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for user in users.iter().cycle() {
        ticks.tick().await;
        let started_in = phase.get();
        if started_in == Phase::Done {
            break;
        }
        let started = Instant::now();
        let result = login(&normal, user, &mut report.counts).await;
        let took = started.elapsed();
        match result {
            Ok(_) => report.latencies[started_in as usize].push(took),
            Err(e) => report
                .failures
                .push(format!("phase {}: {e}", started_in.name())),
        }
    }
    report
}

/// Logs every user in once, from as many tasks as the load uses (so the
/// sessions, connections and allocator arenas of the normal load exist
/// before the memory baseline is taken), then the flood user, and returns
/// the flood user's openid.
async fn warmup(normal: Arc<Normal>) -> Result<String, String> {
    let tasks: Vec<_> = (0..NORMAL_TASKS)
        .map(|task| {
            let normal = normal.clone();
            tokio::spawn(async move {
                let mut counts = Counts::default();
                for user in (task..NORMAL_USERS).step_by(NORMAL_TASKS).map(user_id) {
                    login(&normal, &user, &mut counts).await?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| format!("a warmup task died: {e}"))??;
    }
    login(&normal, FLOOD_USER, &mut Counts::default()).await
}

// ------------------------------------------------------------------ floods

/// What every flooder needs.
struct Flood {
    http: reqwest::Client,
    base: String,
    /// The login app's token, as its developer server holds it: the bad
    /// signatures and phone codes come in through that server.
    token: AccessToken,
    /// An openid of the login app (the flood user's).
    openid: String,
    stop: AtomicBool,
    sent: AtomicU64,
}

impl Flood {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, route: Route, n: u64) -> Outcome {
        let http = &self.http;
        let unknown_code = format!("{n:032x}");
        let request = match route {
            Route::FloodLoginCode => http
                .post(self.url(P_LOGIN_CODE))
                .bearer_auth(SDK_KEY)
                .json(&json!({"appid": APP, "principal": {"uid": FLOOD_USER}})),
            Route::FloodAuthCode => {
                http.post(self.url(P_AUTH_CODE))
                    .bearer_auth(SDK_KEY)
                    .json(&json!({
                        "appid": APP,
                        "principal": {"uid": FLOOD_USER},
                        "scopes": [],
                    }))
            }
            Route::FloodToken => http.get(self.url(P_TOKEN)).query(&[
                ("appid", TOKEN_APP),
                ("secret", TOKEN_APP_SECRET),
                ("grant_type", "client_credential"),
            ]),
            Route::FloodJscode2Session => http.get(self.url(P_JSCODE2SESSION)).query(&[
                ("appid", APP),
                ("secret", APP_SECRET),
                ("js_code", unknown_code.as_str()),
                ("grant_type", "authorization_code"),
            ]),
            Route::FloodCheckSession => http.get(self.url(P_CHECKSESSION)).query(&[
                ("access_token", self.token.secret()),
                ("openid", self.openid.as_str()),
                ("signature", &"0".repeat(64)),
                ("sig_method", "hmac_sha256"),
            ]),
            Route::FloodPhone => http.post(self.url(P_PHONE)).json(&json!({
                "access_token": self.token.secret(),
                "openid": self.openid,
                "code": unknown_code,
            })),
            Route::FloodNotFound => http.get(self.url(P_NO_SUCH)),
            Route::FloodWrongMethod => http.post(self.url(P_TOKEN)),
            // The normal users' routes go through the clients, not here.
            _ => return Outcome::NotTheApi,
        };
        Outcome::from_response(request.send().await).await
    }
}

/// One flooder: one request in flight at a time, every route in turn, as
/// fast as the answers come, until told to stop.
async fn flooder(worker: usize, flood: Arc<Flood>) -> Counts {
    let mut counts = Counts::default();
    let mut i = worker;
    while !flood.stop.load(Ordering::Relaxed) {
        let route = FLOOD_ROUTES[i % FLOOD_ROUTES.len()];
        let n = flood.sent.fetch_add(1, Ordering::Relaxed);
        counts.add(route, flood.send(route, n).await);
        i += 1;
    }
    counts
}

// --------------------------------------------------------- measurements

/// A field of `/proc/self/status` in bytes, Linux only.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resident memory of this process (`VmRSS`): anonymous memory (the heap,
/// stacks) plus the pages of the binary and libraries read so far.
fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS")
}

/// The anonymous part of the resident memory (`RssAnon`).
fn rss_anon_bytes() -> Option<u64> {
    status_bytes("RssAnon")
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a".into(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    )
}

/// CPU ticks so far: this process's threads by role, the process as a
/// whole, and the machine (busy, all processes). Linux only.
#[derive(Clone, Default)]
struct CpuSnapshot {
    /// Per thread id: (role, ticks).
    threads: BTreeMap<u32, (Role, u64)>,
    process: u64,
    machine_busy: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Role {
    Server,
    FloodClient,
    NormalClients,
    Other,
}

const ROLES: [Role; 3] = [Role::Server, Role::FloodClient, Role::NormalClients];

/// utime + stime of a `/proc/.../stat` line (fields 14 and 15).
fn stat_ticks(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

fn cpu_snapshot() -> Option<CpuSnapshot> {
    let mut snap = CpuSnapshot::default();
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        if let Some((comm, ticks)) = stat_ticks(&stat) {
            let role = if comm.starts_with("soak-server") {
                Role::Server
            } else if comm.starts_with("soak-flood") {
                Role::FloodClient
            } else if comm.starts_with("soak-normal") {
                Role::NormalClients
            } else {
                Role::Other
            };
            snap.threads.insert(tid, (role, ticks));
        }
    }
    snap.process = stat_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?.1;
    let machine = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = machine
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
    snap.machine_busy = cpu
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| v)
        .sum();
    Some(snap)
}

/// Cores kept busy between two snapshots, by role, for `wall`.
struct CpuUse {
    roles: BTreeMap<Role, f64>,
    process: f64,
    machine: f64,
}

fn cpu_use(from: &CpuSnapshot, to: &CpuSnapshot, wall: Duration) -> CpuUse {
    let cores = |ticks: u64| ticks as f64 / USER_HZ / wall.as_secs_f64().max(1e-9);
    let mut roles = BTreeMap::new();
    for (tid, (role, ticks)) in &to.threads {
        let before = from.threads.get(tid).map_or(0, |(_, t)| *t);
        *roles.entry(*role).or_insert(0.0) += cores(ticks.saturating_sub(before));
    }
    CpuUse {
        roles,
        process: cores(to.process.saturating_sub(from.process)),
        machine: cores(to.machine_busy.saturating_sub(from.machine_busy)),
    }
}

/// Memory and platform state sampled while a phase runs.
#[derive(Default)]
struct Samples {
    peak_rss: Option<(u64, Phase)>,
    peak_codes: [usize; 3],
}

impl Samples {
    fn take(&mut self, phase: Phase, server: &OpenServer) {
        if let Some(rss) = rss_bytes() {
            if self.peak_rss.is_none_or(|(peak, _)| rss > peak) {
                self.peak_rss = Some((rss, phase));
            }
        }
        let codes = &mut self.peak_codes[phase as usize];
        *codes = (*codes).max(server.outstanding_codes());
    }
}

/// Runs `phase` for `length`, sampling as it goes; returns its CPU use.
fn run_phase(
    phase: Phase,
    length: Duration,
    server: &OpenServer,
    samples: &mut Samples,
) -> Option<CpuUse> {
    let before = cpu_snapshot();
    let started = Instant::now();
    while started.elapsed() < length {
        samples.take(phase, server);
        std::thread::sleep(SAMPLE_EVERY.min(length.saturating_sub(started.elapsed())));
    }
    samples.take(phase, server);
    let after = cpu_snapshot();
    Some(cpu_use(&before?, &after?, started.elapsed()))
}

/// The `q` quantile (nearest rank) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, last + 1) - 1;
    sorted.get(rank).copied()
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "n/a".into(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

/// A count with thousands separators.
fn n(count: impl Into<u64>) -> String {
    let digits = count.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// -------------------------------------------------------------------- main

fn runtime(name: &str, workers: usize) -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the {name} runtime: {e}"))
}

fn platform() -> Result<OpenServer, String> {
    let mut config = OpenServerConfig::default();
    config.login_code_ttl = Duration::from_secs(2);
    config.user_code_ttl = Duration::from_secs(2);
    config.access_token_overlap = Duration::from_secs(1);
    config.sweep_interval = Duration::from_secs(1);
    let server = OpenServer::builder().config(config).build();
    let register = |id: &str, secret: &str| {
        server
            .register_app(AppRegistration::new(id, AppSecret::new(secret), TEAM))
            .map_err(|e| format!("register {id}: {e}"))
    };
    register(APP, APP_SECRET)?;
    register(TOKEN_APP, TOKEN_APP_SECRET)?;
    for user in (0..NORMAL_USERS)
        .map(user_id)
        .chain([FLOOD_USER.to_owned()])
    {
        server
            .add_user(SuperappUser::new(user))
            .map_err(|e| format!("add a user: {e}"))?;
    }
    Ok(server)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            usage();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("soak: {err}");
            usage();
            return ExitCode::from(2);
        }
    };
    match soak(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("\nsoak: the run is broken: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run; `Ok(false)` when a normal login was refused.
fn soak(args: &Args) -> Result<bool, String> {
    let rss_start = (rss_bytes(), rss_anon_bytes());
    let phase_length = Duration::from_secs_f64(args.seconds as f64 / 3.0);

    // The platform, on its own 2-worker runtime.
    let server = platform()?;
    let server_rt = runtime("soak-server", 2)?;
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(
        server.clone(),
        HttpConfig::new().sdk_key(SdkKey::new(SDK_KEY)),
    );
    let serving = server_rt.spawn(serve(listener, app, async {
        let _ = stopped.await;
    }));

    println!("== Soak: {} s in three phases, on {base}", args.seconds);
    println!(
        "platform: apps {APP} (logins) and {TOKEN_APP} (token flood), {NORMAL_USERS} users + {FLOOD_USER}; \
         codes live 2 s, sweep every 1 s, token overlap 1 s"
    );
    println!(
        "normal: {NORMAL_TASKS} tasks, one login each per {} ms ({} logins/s); flood: {} requests in flight",
        LOGIN_EVERY.as_millis(),
        NORMAL_TASKS as u128 * 1000 / LOGIN_EVERY.as_millis(),
        args.flood
    );

    // The normal users' host and developer server, on their own thread. The
    // warmup runs there too, so that what the normal load holds (its
    // connections, the thread's malloc arena) exists before the memory
    // baseline is taken.
    let normal_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the normal runtime: {e}"))?;
    let normal = Arc::new(Normal {
        host: RemotePlatform::new(&base, SdkKey::new(SDK_KEY)),
        developer: OpenServerClient::new(&base, APP, AppSecret::new(APP_SECRET)),
    });
    let phase = PhaseFlag::default();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(String, AccessToken), String>>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let warmup_started = Instant::now();
    let normal_thread = {
        let (normal, phase) = (normal.clone(), phase.clone());
        std::thread::Builder::new()
            .name("soak-normal".into())
            .spawn(move || {
                normal_rt.block_on(async {
                    let warm = async {
                        let openid = warmup(normal.clone()).await?;
                        let token = normal
                            .developer
                            .access_token()
                            .await
                            .map_err(|e| format!("the developer server's token: {e}"))?;
                        Ok((openid, token))
                    }
                    .await;
                    // Room for every latency, taken before the memory baseline.
                    let per_phase =
                        (phase_length.as_millis() / LOGIN_EVERY.as_millis()) as usize + 8;
                    let reports: Vec<NormalReport> = (0..NORMAL_TASKS)
                        .map(|_| NormalReport {
                            latencies: std::array::from_fn(|_| Vec::with_capacity(per_phase)),
                            ..NormalReport::default()
                        })
                        .collect();
                    let warmed = warm.is_ok();
                    let _ = ready_tx.send(warm);
                    // The load starts when main says so (after the baseline).
                    if !warmed || go_rx.await.is_err() {
                        return NormalReport::default();
                    }
                    let tasks: Vec<_> = reports
                        .into_iter()
                        .enumerate()
                        .map(|(t, r)| {
                            tokio::spawn(normal_task(t, normal.clone(), phase.clone(), r))
                        })
                        .collect();
                    let mut report = NormalReport::default();
                    for task in tasks {
                        match task.await {
                            Ok(r) => report.merge(r),
                            Err(e) => report.failures.push(format!("a normal task died: {e}")),
                        }
                    }
                    report
                })
            })
            .map_err(|e| format!("cannot start the normal thread: {e}"))?
    };
    let (flood_openid, token) = ready_rx
        .recv()
        .map_err(|_| "the normal thread ended during the warmup".to_string())??;
    let rss_warm = rss_bytes();
    let anon_warm = rss_anon_bytes();
    let codes_warm = server.outstanding_codes();
    println!(
        "warmup: every user logged in once in {:.2} s",
        warmup_started.elapsed().as_secs_f64()
    );

    let mut samples = Samples::default();
    let mut cpu: Vec<Option<CpuUse>> = Vec::new();

    println!("phase 1: baseline, normal logins only ({phase_length:.1?})");
    phase.set(Phase::Baseline);
    let _ = go_tx.send(());
    cpu.push(run_phase(
        Phase::Baseline,
        phase_length,
        &server,
        &mut samples,
    ));

    println!("phase 2: flood, {} requests in flight", args.flood);
    let flood_rt = runtime("soak-flood", 1)?;
    let flood = Arc::new(Flood {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the flood's HTTP client: {e}"))?,
        base: base.clone(),
        token,
        openid: flood_openid,
        stop: AtomicBool::new(false),
        sent: AtomicU64::new(0),
    });
    phase.set(Phase::Flood);
    let flooders: Vec<_> = (0..args.flood)
        .map(|w| flood_rt.spawn(flooder(w, flood.clone())))
        .collect();
    cpu.push(run_phase(Phase::Flood, phase_length, &server, &mut samples));
    flood.stop.store(true, Ordering::Relaxed);
    let mut flood_counts = Counts::default();
    let mut flood_broken = Vec::new();
    flood_rt.block_on(async {
        for f in flooders {
            match f.await {
                Ok(c) => flood_counts.merge(c),
                Err(e) => flood_broken.push(format!("a flooder died: {e}")),
            }
        }
    });
    // The flooders go away, connections and all.
    drop(flood);
    flood_rt.shutdown_timeout(Duration::from_secs(1));

    println!("phase 3: recovery, normal logins only ({phase_length:.1?})");
    phase.set(Phase::Recovery);
    cpu.push(run_phase(
        Phase::Recovery,
        phase_length,
        &server,
        &mut samples,
    ));
    let rss_final = rss_bytes();
    let anon_final = rss_anon_bytes();
    let codes_final = server.outstanding_codes();
    let tokens_final = server.access_tokens();
    let auth_codes_final = Some(server.outstanding_auth_codes());

    phase.set(Phase::Done);
    let mut normal_report = normal_thread
        .join()
        .map_err(|_| "the normal thread panicked".to_string())?;
    let _ = stop_server.send(());
    let _ =
        server_rt.block_on(async { tokio::time::timeout(Duration::from_secs(2), serving).await });
    server_rt.shutdown_timeout(Duration::from_secs(1));
    normal_report.failures.extend(flood_broken);

    // ------------------------------------------------------------ report
    let mut counts = Counts::default();
    counts.merge(std::mem::take(&mut normal_report.counts));
    counts.merge(flood_counts);

    println!("\n== Requests per route (errcode × count; HTTP status when not 200)");
    println!("{:<6}  {:<62} {:>10}  answers", "who", "route", "requests");
    for (route, outcomes) in &counts.0 {
        let total: u64 = outcomes.values().sum();
        let answers: Vec<String> = outcomes
            .iter()
            .map(|(o, c)| format!("{o} ×{}", n(*c)))
            .collect();
        println!(
            "{:<6}  {:<62} {:>10}  {}",
            route.who(),
            route.label(),
            n(total),
            answers.join(", ")
        );
    }
    let flood_total = counts.total(|r| r.who() == "flood");
    println!(
        "normal: {} requests; flood: {} requests in {:.1} s ({} requests/s)",
        n(counts.total(|r| r.who() == "normal")),
        n(flood_total),
        phase_length.as_secs_f64(),
        n((flood_total as f64 / phase_length.as_secs_f64()) as u64)
    );

    println!("\n== Errors by errcode (all routes)");
    let mut errors: BTreeMap<Outcome, u64> = BTreeMap::new();
    for outcomes in counts.0.values() {
        for (o, c) in outcomes.iter().filter(|(o, _)| o.is_error()) {
            *errors.entry(*o).or_default() += c;
        }
    }
    if errors.is_empty() {
        println!("none");
    }
    for (o, c) in &errors {
        println!("{:<16} {:>10}", o.to_string(), n(*c));
    }

    println!(
        "\n== Normal logins (login_code -> jscode2session -> checksession), by the phase they started in"
    );
    println!(
        "{:<12} {:>7} {:>10} {:>10} {:>10}",
        "phase", "logins", "p50", "p99", "max"
    );
    let mut p = [(None, None); 3];
    for phase in PHASES {
        let lat = &mut normal_report.latencies[phase as usize];
        lat.sort();
        p[phase as usize] = (quantile(lat, 0.50), quantile(lat, 0.99));
        println!(
            "{:<12} {:>7} {:>10} {:>10} {:>10}",
            phase.name(),
            n(lat.len() as u64),
            ms(p[phase as usize].0),
            ms(p[phase as usize].1),
            ms(lat.last().copied())
        );
    }
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => Some(a.as_secs_f64() / b.as_secs_f64()),
        _ => None,
    };
    let p50_ratio = ratio(p[1].0, p[0].0);
    let p99_ratio = ratio(p[1].1, p[0].1);
    let show_ratio = |r: Option<f64>| r.map_or_else(|| "n/a".into(), |r| format!("{r:.2}×"));
    println!(
        "during the flood / without: p50 {}, p99 {} (target p99 ≤ 3×: {})",
        show_ratio(p50_ratio),
        show_ratio(p99_ratio),
        p99_ratio.map_or("n/a", |r| verdict(r <= 3.0))
    );

    println!("\n== CPU by phase (cores kept busy; the machine has {})", {
        std::thread::available_parallelism().map_or(0, |n| n.get())
    });
    println!(
        "{:<12} {:>8} {:>14} {:>16} {:>14} {:>16}",
        "phase", "server", "flood client", "normal clients", "this process", "other processes"
    );
    for (phase, use_) in PHASES.iter().zip(&cpu) {
        match use_ {
            Some(u) => {
                let role = |r| u.roles.get(&r).copied().unwrap_or(0.0);
                let [server, flood, normal] = ROLES.map(role);
                println!(
                    "{:<12} {:>8.2} {:>14.2} {:>16.2} {:>14.2} {:>16.2}",
                    phase.name(),
                    server,
                    flood,
                    normal,
                    u.process,
                    (u.machine - u.process).max(0.0)
                );
            }
            None => println!("{:<12} n/a (no /proc)", phase.name()),
        }
    }

    if let (Some(Some(u)), true) = (cpu.get(1), flood_total > 0) {
        let per = |cores: f64| {
            if cores > 0.0 {
                n((flood_total as f64 / phase_length.as_secs_f64() / cores) as u64)
            } else {
                "n/a".into()
            }
        };
        println!(
            "flood per core-second: {} requests for this process, {} for the server alone",
            per(u.process),
            per(u.roles.get(&Role::Server).copied().unwrap_or(0.0))
        );
    }

    println!("\n== Memory (VmRSS)");
    let change = match (rss_warm, rss_final) {
        (Some(w), Some(f)) if w > 0 => Some((f as f64 - w as f64) / w as f64 * 100.0),
        _ => None,
    };
    println!(
        "at start          {} (anonymous {})",
        mib(rss_start.0),
        mib(rss_start.1)
    );
    println!(
        "after warmup      {} (anonymous {})",
        mib(rss_warm),
        mib(anon_warm)
    );
    match samples.peak_rss {
        Some((peak, at)) => println!(
            "peak              {} (phase {})",
            mib(Some(peak)),
            at.name()
        ),
        None => println!("peak              n/a"),
    }
    println!(
        "final             {} (anonymous {}){}",
        mib(rss_final),
        mib(anon_final),
        change.map_or_else(
            || " (target: within 10% of after warmup: n/a)".into(),
            |c| format!(
                " ({c:+.1}% vs after warmup; target within 10%: {})",
                verdict(c.abs() <= 10.0)
            )
        )
    );

    println!("\n== Platform state");
    println!(
        "outstanding codes: after warmup {}, peak by phase {} / {} / {}, at the end {}",
        n(codes_warm as u64),
        n(samples.peak_codes[0] as u64),
        n(samples.peak_codes[1] as u64),
        n(samples.peak_codes[2] as u64),
        n(codes_final as u64)
    );
    println!("access tokens at the end: {tokens_final} (at most 2 per app)");
    println!(
        "outstanding authCodes at the end: {} (they live 5 minutes, longer than the run)",
        auth_codes_final.map_or_else(|| "n/a".into(), |c| n(c as u64))
    );

    let logins: usize = normal_report.latencies.iter().map(Vec::len).sum();
    let failed = normal_report.failures.len();
    println!("\n== Targets");
    println!(
        "normal logins that succeeded   {}/{}  {}",
        n(logins as u64),
        n((logins + failed) as u64),
        if failed == 0 {
            "ok (required)"
        } else {
            "BROKEN"
        }
    );
    println!(
        "p99 during flood / without     {:<10} {}",
        show_ratio(p99_ratio),
        p99_ratio.map_or("n/a", |r| verdict(r <= 3.0))
    );
    println!(
        "final RSS vs after warmup      {:<10} {}",
        change.map_or_else(|| "n/a".into(), |c| format!("{c:+.1}%")),
        change.map_or("n/a", |c| verdict(c.abs() <= 10.0))
    );
    let others = cpu
        .iter()
        .flatten()
        .map(|u| u.machine - u.process)
        .fold(0.0_f64, f64::max);
    if others > 0.5 {
        println!(
            "note: other processes kept up to {others:.2} cores busy during a phase; latency tails \
             then reflect them too (`--flood 0` shows this machine's phase-to-phase noise)"
        );
    }
    if failed > 0 {
        eprintln!("\n{failed} normal login(s) failed, the first ones:");
        for f in normal_report.failures.iter().take(10) {
            eprintln!("  - {f}");
        }
        return Ok(false);
    }
    if logins == 0 {
        return Err("no normal login completed".into());
    }
    Ok(true)
}
