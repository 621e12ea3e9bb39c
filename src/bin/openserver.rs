//! `openserver`: the embedded platform as an HTTP server — the seed's
//! developer-server API plus the SDK routes hosts use (`docs/http.md`).
//!
//! ```text
//! cargo run --bin openserver -- --listen 127.0.0.1:8080 --config examples/openserver.json
//! cargo run --features redis --bin openserver -- --config examples/openserver.json --store redis://127.0.0.1:6379/0
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;
use superapp_openapi::http::{HttpConfig, ServerLimits, router, serve_with_limits};
use superapp_openapi::openserver::{
    AppRegistration, IdSecret, OpenServerBuilder, OpenServerConfig, SuperappUser,
};
#[cfg(feature = "redis")]
use superapp_openapi::openserver::{RedisConfig, RedisStore, RedisStoreError};
use superapp_openapi::{AppKind, AppSecret, EmailAddress, OpenServer, PhoneNumber, SdkKey};
use tracing::level_filters::LevelFilter;

const USAGE: &str = "\
openserver: the mini-program platform's developer-server API over HTTP

USAGE:
    openserver [--listen ADDR] [--config FILE] [--store STORE] [--log LEVEL]

OPTIONS:
    --listen ADDR   address to listen on (default 127.0.0.1:8080; port 0 picks one)
    --config FILE   JSON file with apps, users, SDK keys and id_secret
                    (see examples/openserver.json and docs/http.md)
    --store STORE   where codes, sessions and tokens live: memory (lost on
                    exit) or redis://[:PASSWORD@]HOST:PORT/DB, shared by every
                    instance given the same Redis, id_secret and apps (needs
                    the redis feature; docs/openserver.md, Running several
                    instances). Default: OPENSERVER_STORE, else memory
    --log LEVEL     off, error, warn, info, debug or trace (default: the level
                    in OPENSERVER_LOG or RUST_LOG, else info); logs go to stderr
    -h, --help      print this help

On start it prints one line to stdout: `openserver listening on http://ADDR`.
Exit codes: 0 after Ctrl-C or SIGTERM, 1 when it cannot listen or reach the
store, 2 for bad arguments or a bad config file.";

/// How often expired codes, sessions and tokens are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Args {
    listen: String,
    config: Option<PathBuf>,
    log: Option<String>,
    store: Option<String>,
}

/// The config file. Unknown fields are errors, so a typo does not pass
/// silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Keeps openids and unionids stable across restarts.
    #[serde(default)]
    id_secret: Option<IdSecret>,
    /// The server's limits (timeouts, connection cap, shutdown deadline).
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    apps: Vec<AppEntry>,
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    sdk_keys: Vec<SdkKeyEntry>,
    /// The platform's limits (`docs/openserver.md`); each one optional.
    #[serde(default)]
    limits: LimitsEntry,
}

/// Overrides of `OpenServerConfig`'s limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsEntry {
    max_outstanding_codes_per_app: Option<usize>,
    max_outstanding_codes_per_user: Option<usize>,
    max_access_tokens_per_day: Option<u32>,
    max_auth_codes_per_user: Option<usize>,
    rate_limit_per_minute: Option<u32>,
    sweep_interval_secs: Option<u64>,
}

impl LimitsEntry {
    /// The config with these overrides; a zero is refused, naming the key.
    fn apply(&self, mut config: OpenServerConfig) -> Result<OpenServerConfig, String> {
        set(
            "max_outstanding_codes_per_app",
            self.max_outstanding_codes_per_app,
            &mut config.max_outstanding_codes_per_app,
        )?;
        set(
            "max_outstanding_codes_per_user",
            self.max_outstanding_codes_per_user,
            &mut config.max_outstanding_codes_per_user,
        )?;
        set(
            "max_access_tokens_per_day",
            self.max_access_tokens_per_day,
            &mut config.max_access_tokens_per_day,
        )?;
        set(
            "max_auth_codes_per_user",
            self.max_auth_codes_per_user,
            &mut config.max_auth_codes_per_user,
        )?;
        set(
            "rate_limit_per_minute",
            self.rate_limit_per_minute,
            &mut config.rate_limit_per_minute,
        )?;
        let mut sweep_secs = config.sweep_interval.as_secs();
        set(
            "sweep_interval_secs",
            self.sweep_interval_secs,
            &mut sweep_secs,
        )?;
        config.sweep_interval = Duration::from_secs(sweep_secs);
        Ok(config)
    }
}

/// Sets `field` to `value` when given; zero is refused, naming the key.
fn set<T: Copy + Default + PartialEq>(
    name: &str,
    value: Option<T>,
    field: &mut T,
) -> Result<(), String> {
    match value {
        Some(v) if v == T::default() => Err(format!("limits.{name} must be at least 1")),
        Some(v) => {
            *field = v;
            Ok(())
        }
        None => Ok(()),
    }
}

/// An SDK key: a plain string may act for every app (the first form, kept
/// for compatibility); `{"key": …, "apps": [...]}` only for those apps.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SdkKeyEntry {
    AllApps(SdkKey),
    Scoped(ScopedKey),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopedKey {
    key: SdkKey,
    apps: Vec<String>,
}

/// The shortest app secret or SDK key the config accepts.
const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppEntry {
    appid: String,
    secret: AppSecret,
    team: String,
    #[serde(default)]
    kind: AppKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    id: String,
    #[serde(default)]
    phone: Option<PhoneNumber>,
    #[serde(default)]
    email: Option<EmailAddress>,
    #[serde(default)]
    nickname: String,
    #[serde(default)]
    avatar: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// The `server` section: `ServerLimits` in whole seconds and connections.
/// Every key is optional and keeps its default when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    #[serde(default)]
    header_read_timeout_secs: Option<u64>,
    #[serde(default)]
    body_read_timeout_secs: Option<u64>,
    #[serde(default)]
    max_connections: Option<usize>,
    #[serde(default)]
    shutdown_deadline_secs: Option<u64>,
}

/// The longest timeout the `server` section takes, in seconds: a day.
const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

impl ServerSection {
    /// The limits the section describes; a value out of range is refused
    /// with a message naming its key and what is allowed.
    fn limits(&self) -> Result<ServerLimits, String> {
        let seconds = |key: &str, value: Option<u64>| match value {
            None => Ok(None),
            Some(secs @ 1..=MAX_TIMEOUT_SECS) => Ok(Some(Duration::from_secs(secs))),
            Some(secs) => Err(format!(
                "server.{key} is {secs}: use a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}"
            )),
        };
        let mut limits = ServerLimits::new();
        if let Some(timeout) = seconds("header_read_timeout_secs", self.header_read_timeout_secs)? {
            limits = limits.header_read_timeout(timeout);
        }
        if let Some(timeout) = seconds("body_read_timeout_secs", self.body_read_timeout_secs)? {
            limits = limits.body_read_timeout(timeout);
        }
        if let Some(deadline) = seconds("shutdown_deadline_secs", self.shutdown_deadline_secs)? {
            limits = limits.shutdown_deadline(deadline);
        }
        match self.max_connections {
            None => {}
            Some(0) => {
                return Err(
                    "server.max_connections is 0: use a whole number of connections of at least 1"
                        .to_owned(),
                );
            }
            Some(connections) => limits = limits.max_connections(connections),
        }
        Ok(limits)
    }
}

/// What went wrong before serving, and the exit code that says so.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: format!("{}\n\nrun `openserver --help` for usage", message.into()),
            code: 2,
        }
    }

    fn config(path: &Path, message: impl std::fmt::Display) -> Failure {
        Failure {
            message: format!("config file {}: {message}", path.display()),
            code: 2,
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, Failure> {
    let mut parsed = Args {
        listen: "127.0.0.1:8080".to_owned(),
        config: None,
        log: None,
        store: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Failure::usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => parsed.listen = value("--listen")?,
            "--config" => parsed.config = Some(PathBuf::from(value("--config")?)),
            "--log" => parsed.log = Some(value("--log")?),
            "--store" => parsed.store = Some(value("--store")?),
            other => return Err(Failure::usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(Some(parsed))
}

/// A level from `--log`, else `OPENSERVER_LOG`, else the first bare level in
/// `RUST_LOG` (`info`, or `warn,hyper=info`), else info.
fn log_level(flag: Option<&str>) -> Result<LevelFilter, Failure> {
    if let Some(flag) = flag {
        return flag.parse().map_err(|_| {
            Failure::usage(format!(
                "--log {flag:?}: use off, error, warn, info, debug or trace"
            ))
        });
    }
    let from_env = ["OPENSERVER_LOG", "RUST_LOG"].into_iter().find_map(|name| {
        let value = std::env::var(name).ok()?;
        value
            .split(',')
            .filter(|d| !d.contains('='))
            .find_map(|d| d.trim().parse::<LevelFilter>().ok())
    });
    Ok(from_env.unwrap_or(LevelFilter::INFO))
}

/// Where the platform keeps its state (`--store`, else `OPENSERVER_STORE`).
enum StoreChoice {
    Memory,
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

impl StoreChoice {
    /// Reads `--store` (else `OPENSERVER_STORE`, else `memory`) and connects.
    async fn open(flag: Option<&str>) -> Result<StoreChoice, Failure> {
        let from_env = std::env::var("OPENSERVER_STORE")
            .ok()
            .filter(|v| !v.is_empty());
        let spec = flag.map(str::to_owned).or(from_env);
        let Some(spec) = spec.filter(|s| s != "memory") else {
            return Ok(StoreChoice::Memory);
        };
        // Only the scheme is shown: the rest may hold a password.
        let scheme = spec.split_once("://").map_or("", |(scheme, _)| scheme);
        if !matches!(scheme, "redis" | "redis+unix") {
            return Err(Failure::usage(format!(
                "--store: use memory or redis://HOST:PORT/DB (got a {:?} URL)",
                scheme
            )));
        }
        Self::redis(spec).await
    }

    #[cfg(feature = "redis")]
    async fn redis(url: String) -> Result<StoreChoice, Failure> {
        match RedisStore::connect(RedisConfig::new(url)).await {
            Ok(store) => Ok(StoreChoice::Redis(store)),
            Err(e @ RedisStoreError::InvalidUrl { .. }) => {
                Err(Failure::usage(format!("--store: {e}")))
            }
            Err(e) => Err(Failure {
                message: format!("--store: {e}"),
                code: 1,
            }),
        }
    }

    #[cfg(not(feature = "redis"))]
    async fn redis(_url: String) -> Result<StoreChoice, Failure> {
        Err(Failure::usage(
            "--store redis://…: this openserver was built without the `redis` feature \
             (cargo build --features redis)",
        ))
    }

    fn name(&self) -> &'static str {
        match self {
            StoreChoice::Memory => "memory",
            #[cfg(feature = "redis")]
            StoreChoice::Redis(_) => "redis",
        }
    }

    fn apply(self, builder: OpenServerBuilder) -> OpenServerBuilder {
        match self {
            StoreChoice::Memory => builder,
            #[cfg(feature = "redis")]
            StoreChoice::Redis(store) => builder.redis(store),
        }
    }
}

/// Reads the config file and builds the server (on `store`) and router it
/// describes.
fn load(
    path: Option<&Path>,
    store: StoreChoice,
) -> Result<(OpenServer, HttpConfig, ConfigFile), Failure> {
    let file = match path {
        None => ConfigFile::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::config(path, format_args!("cannot be read: {e}")))?;
            serde_json::from_str(&text).map_err(|e| Failure::config(path, e))?
        }
    };
    let shown = path.unwrap_or(Path::new("(none)"));
    let config = file
        .limits
        .apply(OpenServerConfig::default())
        .map_err(|e| Failure::config(shown, e))?;
    if file.id_secret.is_none() && !matches!(store, StoreChoice::Memory) {
        return Err(Failure::config(
            shown,
            "id_secret is required with a shared store: every instance must derive the same openids",
        ));
    }
    let mut builder = store.apply(OpenServer::builder().config(config));
    if let Some(secret) = &file.id_secret {
        if secret.is_empty() {
            return Err(Failure::config(shown, "id_secret must not be empty"));
        }
        builder = builder.id_secret(secret.secret().as_bytes());
    }
    let server = builder.build();
    for (i, app) in file.apps.iter().enumerate() {
        if app.secret.secret().len() < MIN_SECRET_LEN {
            return Err(Failure::config(
                shown,
                format_args!(
                    "apps[{i}].secret: an app secret must be at least {MIN_SECRET_LEN} characters"
                ),
            ));
        }
        let registration =
            AppRegistration::new(&app.appid, app.secret.clone(), &app.team).with_kind(app.kind);
        server
            .register_app(registration)
            .map_err(|e| Failure::config(shown, format_args!("apps[{i}]: {}", e.errmsg())))?;
    }
    for (i, user) in file.users.iter().enumerate() {
        if user.id.is_empty() {
            return Err(Failure::config(
                shown,
                format_args!("users[{i}]: id must not be empty"),
            ));
        }
        let mut entry = SuperappUser::new(&user.id)
            .with_nickname(&user.nickname)
            .with_avatar_url(&user.avatar);
        if let Some(phone) = &user.phone {
            entry = entry.with_phone_number(phone.secret());
        }
        if let Some(email) = &user.email {
            entry = entry.with_email(email.secret());
        }
        if !user.active {
            entry = entry.inactive();
        }
        server
            .add_user(entry)
            .map_err(|e| Failure::config(shown, format_args!("users[{i}]: {}", e.errmsg())))?;
    }
    let mut http = HttpConfig::new();
    for (i, entry) in file.sdk_keys.iter().enumerate() {
        let key = match entry {
            SdkKeyEntry::AllApps(key) | SdkKeyEntry::Scoped(ScopedKey { key, .. }) => key,
        };
        if key.secret().len() < MIN_SECRET_LEN {
            return Err(Failure::config(
                shown,
                format_args!(
                    "sdk_keys[{i}]: an SDK key must be at least {MIN_SECRET_LEN} characters"
                ),
            ));
        }
        http = match entry {
            SdkKeyEntry::AllApps(key) => http.sdk_key(key.clone()),
            SdkKeyEntry::Scoped(ScopedKey { key, apps }) => {
                if apps.is_empty() {
                    return Err(Failure::config(
                        shown,
                        format_args!(
                            "sdk_keys[{i}].apps: list at least one app (a plain string key acts for all apps)"
                        ),
                    ));
                }
                if let Some(unknown) = apps.iter().find(|a| server.app_info(a).is_none()) {
                    return Err(Failure::config(
                        shown,
                        format_args!("sdk_keys[{i}].apps: {unknown:?} is not one of the apps"),
                    ));
                }
                http.sdk_key_for_apps(key.clone(), apps.iter().cloned())
            }
        };
    }
    Ok((server, http, file))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed here, before
/// the address is printed, so that a signal sent as soon as the line is read
/// shuts the server down cleanly instead of killing it.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Failure {
            message: format!("cannot install the {name} handler: {e}"),
            code: 1,
        })
    };
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, Failure> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
}

async fn run(args: Args) -> Result<(), Failure> {
    let store = StoreChoice::open(args.store.as_deref()).await?;
    let store_name = store.name();
    let (server, http, file) = load(args.config.as_deref(), store)?;
    let limits = file
        .server
        .limits()
        .map_err(|e| Failure::config(args.config.as_deref().unwrap_or(Path::new("(none)")), e))?;
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        ))
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure {
            message: format!("cannot listen on {addr}: {e}"),
            code: 1,
        })?;
    let bound = listener.local_addr().map_err(|e| Failure {
        message: format!("cannot read the bound address: {e}"),
        code: 1,
    })?;
    let shutdown = shutdown_signal()?;
    tracing::info!(
        apps = file.apps.len(),
        users = file.users.len(),
        sdk_keys = file.sdk_keys.len(),
        stable_ids = file.id_secret.is_some(),
        ?limits,
        store = store_name,
        "openserver configured"
    );
    if file.apps.is_empty() {
        tracing::warn!("no app is registered: every developer-server call will answer 40013");
    }

    let sweeper = server.clone();
    let sweep_task = tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await; // the first tick is immediate; nothing has expired yet
        loop {
            every.tick().await;
            let report = sweeper.sweep();
            tracing::debug!(
                login_codes = report.login_codes,
                user_codes = report.user_codes,
                access_tokens = report.access_tokens,
                sessions = report.sessions,
                "swept expired state"
            );
        }
    });

    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "openserver listening on http://{bound}");
        let _ = stdout.flush();
    }
    let served = serve_with_limits(listener, router(server, http), limits, shutdown).await;
    sweep_task.abort();
    served.map_err(|e| Failure {
        message: format!("serving on {bound} failed: {e}"),
        code: 1,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(failure) => {
            eprintln!("openserver: {}", failure.message);
            return ExitCode::from(failure.code);
        }
    };
    let level = match log_level(args.log.as_deref()) {
        Ok(level) => level,
        Err(failure) => {
            eprintln!("openserver: {}", failure.message);
            return ExitCode::from(failure.code);
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("openserver: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, Failure> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_take_a_separate_or_inline_value() {
        let parsed = args(&[
            "--listen=0.0.0.0:9",
            "--config",
            "c.json",
            "--log",
            "debug",
            "--store",
            "redis://r:6379/1",
        ])
        .ok()
        .flatten()
        .expect("parses");
        assert_eq!(parsed.listen, "0.0.0.0:9");
        assert_eq!(parsed.config.as_deref(), Some(Path::new("c.json")));
        assert_eq!(parsed.log.as_deref(), Some("debug"));
        assert_eq!(parsed.store.as_deref(), Some("redis://r:6379/1"));
    }

    #[test]
    fn an_unknown_flag_or_a_missing_value_is_a_usage_error() {
        assert_eq!(args(&["--port", "1"]).err().map(|f| f.code), Some(2));
        assert_eq!(args(&["--listen"]).err().map(|f| f.code), Some(2));
    }

    #[test]
    fn the_example_config_loads() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/openserver.json"
        ));
        let (server, _, file) = load(Some(path), StoreChoice::Memory)
            .map_err(|f| f.message)
            .expect("loads");
        assert!(!file.apps.is_empty());
        assert!(server.app_info(&file.apps[0].appid).is_some());
    }

    #[test]
    fn the_config_debug_shows_no_secret() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/openserver.json"
        ));
        let text = std::fs::read_to_string(path).expect("reads");
        let raw: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let (_, _, file) = load(Some(path), StoreChoice::Memory)
            .map_err(|f| f.message)
            .expect("loads");
        let shown = format!("{file:?}");
        let mut secrets = vec![raw["id_secret"].as_str().expect("an id_secret")];
        secrets.extend(
            raw["apps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["secret"].as_str()),
        );
        secrets.extend(
            raw["sdk_keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str()),
        );
        secrets.extend(
            raw["users"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["phone"].as_str()),
        );
        assert!(secrets.len() >= 4, "{secrets:?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
