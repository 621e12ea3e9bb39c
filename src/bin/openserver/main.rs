//! `openserver`: the embedded platform as an HTTP server — TCMPP's
//! developer-server API plus the SDK routes hosts use (`docs/http.md`).
//!
//! ```text
//! cargo run --bin openserver -- --listen 127.0.0.1:8080 --config examples/openserver.json
//! cargo run --features redis --bin openserver -- --config examples/openserver.json --store redis://127.0.0.1:6379/0
//! ```

mod config;
mod directory;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use superapp_openapi::http::{DEFAULT_BODY_LIMIT, openapi_json, router, serve_with_limits};
use tracing::level_filters::LevelFilter;

use self::config::{ConfigFile, Failure, StoreChoice, load};

/// The mini-program platform's developer-server API over HTTP.
///
/// On start it prints one line to stdout: `openserver listening on
/// http://ADDR`. Exit codes: 0 after Ctrl-C or SIGTERM, 1 when it cannot
/// listen or reach the store, 2 for bad arguments or a bad config file.
#[derive(Debug, Parser)]
#[command(name = "openserver", version)]
struct Cli {
    /// Address to listen on (port 0 picks one).
    #[arg(
        long,
        env = "OPENSERVER_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// JSON file with apps, users, SDK keys, id_secret and limits
    /// (examples/openserver.json; docs/http.md).
    #[arg(long, env = "OPENSERVER_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where codes, sessions and tokens live: memory (lost on exit) or
    /// redis://[:PASSWORD@]HOST:PORT/DB, shared by every instance given the
    /// same Redis, id_secret and apps (feature redis), or
    /// redis-cluster://HOST:PORT[,HOST:PORT…] (feature redis-cluster).
    #[arg(
        long,
        env = "OPENSERVER_STORE",
        value_name = "STORE",
        default_value = "memory",
        hide_env_values = true
    )]
    store: String,
    /// off, error, warn, info, debug or trace (default: the first bare level
    /// in RUST_LOG, else info); logs go to stderr.
    #[arg(long, env = "OPENSERVER_LOG", value_name = "LEVEL")]
    log: Option<String>,
    /// Listen on https with this certificate chain (PEM; with --tls-key;
    /// feature rustls). Overrides the config's tls.cert.
    #[arg(
        long,
        env = "OPENSERVER_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM). Overrides the config's tls.key.
    #[arg(
        long,
        env = "OPENSERVER_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Validate a config file, print what the server would say of it, and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "print_openapi")]
    check_config: Option<PathBuf>,
    /// Print the server's OpenAPI 3.1 document (JSON) and exit.
    #[arg(long)]
    print_openapi: bool,
    /// Serve the playground at /playground: a page that plays the mini
    /// program and its developer server and draws every message. A
    /// development tool: it shows the apps' secrets; never on a public
    /// platform (docs/http.md). OPENSERVER_PLAYGROUND takes true/false,
    /// 1/0, yes/no or on/off.
    #[arg(
        long,
        env = "OPENSERVER_PLAYGROUND",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    playground: bool,
    /// Run the conformance check against the config's `directory` (the
    /// super-app server) with this active user (who has a nickname, an
    /// avatar, a phone number and an email), print one line per endpoint,
    /// and exit: 0 when every one passed.
    #[arg(long, value_name = "USER_ID", requires = "config", conflicts_with_all = ["check_config", "print_openapi"])]
    check_directory: Option<String>,
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

/// `--check-config FILE`: the same checks as a start, without listening.
fn check_config(path: &Path) -> Result<(), Failure> {
    let (_, _, file) = load(Some(path), StoreChoice::Memory, false)?;
    file.server.limits().map_err(|e| Failure::config(path, e))?;
    tls_files(&file, Some(path), None, None)?;
    let directory = file
        .directory
        .as_ref()
        .map(|d| format!(", directory {}", d.url))
        .unwrap_or_default();
    println!(
        "config file {}: ok ({} apps, {} users, {} SDK keys{directory})",
        path.display(),
        file.apps.len(),
        file.users.len(),
        file.sdk_keys.len()
    );
    Ok(())
}

/// `--check-directory USER_ID --config FILE`: the conformance check of
/// the config's super-app server.
async fn check_directory(path: &Path, user_id: &str) -> Result<(), Failure> {
    let (_, _, file) = load(Some(path), StoreChoice::Memory, false)?;
    let Some(directory) = &file.directory else {
        return Err(Failure::config(path, "has no directory section to check"));
    };
    let folder = path.parent().unwrap_or(Path::new(""));
    let target = directory
        .check_target(folder, user_id)
        .map_err(|e| Failure::config(path, e))?;
    let report = superapp_openapi::superapp::check_directory(&target).await;
    println!("{report}");
    if report.passed() {
        Ok(())
    } else {
        Err(Failure {
            message: format!("the super-app server at {} does not conform", directory.url),
            code: 1,
        })
    }
}

/// A certificate chain and its key, PEM, as read from their files.
type PemPair = (Vec<u8>, Vec<u8>);

/// The certificate and key files, from the flags or the config's `tls`
/// section (relative to the config file's folder), read now.
fn tls_files(
    file: &ConfigFile,
    config_path: Option<&Path>,
    cert_flag: Option<&Path>,
    key_flag: Option<&Path>,
) -> Result<Option<PemPair>, Failure> {
    let shown = config_path.unwrap_or(Path::new("(none)"));
    let folder = config_path.and_then(Path::parent).unwrap_or(Path::new(""));
    let (cert, key) = match (cert_flag, key_flag, &file.tls) {
        (Some(cert), Some(key), _) => (cert.to_owned(), key.to_owned()),
        (_, _, Some(tls)) => (folder.join(&tls.cert), folder.join(&tls.key)),
        _ => return Ok(None),
    };
    let read = |what: &str, path: &Path| {
        std::fs::read(path).map_err(|e| {
            Failure::config(
                shown,
                format_args!("tls.{what} {}: cannot be read: {e}", path.display()),
            )
        })
    };
    Ok(Some((read("cert", &cert)?, read("key", &key)?)))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let store = StoreChoice::open(Some(cli.store.as_str())).await?;
    let store_name = store.name();
    let config_path = cli.config.as_deref();
    let (server, http, file) = load(config_path, store, cli.playground)?;
    let shown = config_path.unwrap_or(Path::new("(none)"));
    let limits = file
        .server
        .limits()
        .map_err(|e| Failure::config(shown, e))?;
    let tls = tls_files(
        &file,
        config_path,
        cli.tls_cert.as_deref(),
        cli.tls_key.as_deref(),
    )?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| Failure {
            message: format!("cannot listen on {}: {e}", cli.listen),
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
        https = tls.is_some(),
        "openserver configured"
    );
    if file.apps.is_empty() {
        tracing::warn!("no app is registered: every developer-server call will answer 40013");
    }
    let app = if cli.playground {
        tracing::warn!("the playground is on at /playground: never on a public platform");
        if file.directory.is_some() && file.playground.is_none() {
            tracing::warn!(
                "the playground offers no user: with a directory, list its users in the playground section's accounts"
            );
        }
        let playground = config::playground(&file);
        router(server.clone(), http).merge(playground.router(server, DEFAULT_BODY_LIMIT))
    } else {
        router(server, http)
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let served = match tls {
        None => {
            announce(scheme, bound);
            serve_with_limits(listener, app, limits, shutdown).await
        }
        Some((cert, key)) => {
            serve_https(listener, app, limits, &cert, &key, shutdown, shown, bound).await?
        }
    };
    served.map_err(|e| Failure {
        message: format!("serving on {bound} failed: {e}"),
        code: 1,
    })
}

/// The one line a supervisor (or a test) reads to learn where we listen.
fn announce(scheme: &str, bound: SocketAddr) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "openserver listening on {scheme}://{bound}");
    let _ = stdout.flush();
}

#[cfg(feature = "rustls")]
#[allow(clippy::too_many_arguments)]
async fn serve_https(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: superapp_openapi::http::ServerLimits,
    cert: &[u8],
    key: &[u8],
    shutdown: impl Future<Output = ()>,
    shown: &Path,
    bound: SocketAddr,
) -> Result<std::io::Result<()>, Failure> {
    let tls = superapp_openapi::http::TlsConfig::from_pem(cert, key)
        .map_err(|e| Failure::config(shown, format_args!("tls: {e}")))?;
    announce("https", bound);
    Ok(superapp_openapi::http::serve_tls(listener, app, limits, tls, shutdown).await)
}

#[cfg(not(feature = "rustls"))]
#[allow(clippy::too_many_arguments)]
async fn serve_https(
    _listener: tokio::net::TcpListener,
    _app: axum::Router,
    _limits: superapp_openapi::http::ServerLimits,
    _cert: &[u8],
    _key: &[u8],
    _shutdown: impl Future<Output = ()>,
    _shown: &Path,
    _bound: SocketAddr,
) -> Result<std::io::Result<()>, Failure> {
    Err(Failure::usage(
        "https (tls in the config, or --tls-cert): this openserver was built without the \
         `rustls` feature (cargo build --features rustls)",
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_openapi {
        println!("{}", openapi_json());
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &cli.check_config {
        return match check_config(path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("openserver: {}", failure.message);
                ExitCode::from(failure.code)
            }
        };
    }
    if let (Some(user_id), Some(path)) = (&cli.check_directory, &cli.config) {
        return match check_directory(path, user_id).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("openserver: {}", failure.message);
                ExitCode::from(failure.code)
            }
        };
    }
    let level = match log_level(cli.log.as_deref()) {
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
    match run(cli).await {
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

    fn cli(list: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("openserver").chain(list.iter().copied()))
    }

    #[test]
    fn flags_take_a_separate_or_inline_value() {
        let parsed = cli(&[
            "--listen=0.0.0.0:9",
            "--config",
            "c.json",
            "--log",
            "debug",
            "--store",
            "redis://r:6379/1",
        ])
        .expect("parses");
        assert_eq!(parsed.listen, "0.0.0.0:9".parse::<SocketAddr>().unwrap());
        assert_eq!(parsed.config.as_deref(), Some(Path::new("c.json")));
        assert_eq!(parsed.log.as_deref(), Some("debug"));
        assert_eq!(parsed.store, "redis://r:6379/1");
    }

    #[test]
    fn an_unknown_flag_or_a_missing_value_is_a_usage_error() {
        for args in [
            &["--port", "1"][..],
            &["--listen"],
            &["--listen", "nowhere"],
        ] {
            let err = cli(args).expect_err("refused");
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
        let err = cli(&["--tls-cert", "c.pem"]).expect_err("needs the key");
        assert!(err.to_string().contains("--tls-key"), "{err}");
    }
    #[test]
    fn the_example_config_loads() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/openserver.json"
        ));
        let (server, _, file) = load(Some(path), StoreChoice::Memory, false)
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
        let (_, _, file) = load(Some(path), StoreChoice::Memory, false)
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
