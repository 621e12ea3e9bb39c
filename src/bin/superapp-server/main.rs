//! `superapp-server`: the reference super-app server (TCMPP's protocol,
//! docs/superapp-server.md), and the conformance check of any super-app
//! server.
//!
//! ```sh
//! cargo run --bin superapp-server -- serve --users examples/superapp-users.json \
//!     --secret-key 0123456789abcdef0123456789abcdef --listen 127.0.0.1:9090
//! cargo run --bin superapp-server -- check --url http://127.0.0.1:9090 \
//!     --secret-key 0123456789abcdef0123456789abcdef --user-id u-1001
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use superapp_openapi::superapp::{
    CheckTarget, HostAccount, PathFamily, ReferenceServer, SecretKey, SignatureMode, SnapSigner,
    SnapVerifier, TcSigner, check_directory, load_users,
};

/// The reference super-app server, and the conformance check.
///
/// `serve` prints one line to stdout, `superapp-server listening on
/// http://ADDR`, and runs until Ctrl-C or SIGTERM. `check` prints one line
/// per endpoint and exits 0 only when every one passed. Exit codes: 1 when
/// it cannot listen or a check failed, 2 for bad arguments or files.
#[derive(Debug, Parser)]
#[command(name = "superapp-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the reference super-app server.
    Serve(Serve),
    /// Check a super-app server: every endpoint, signed, one line each.
    Check(Check),
}

/// The key, the mode and the path family, shared by both commands.
#[derive(Debug, Args)]
struct Protocol {
    /// The console's SecretKey (16, 24 or 32 characters).
    #[arg(long, env = "SUPERAPP_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// aes-ecb (the pages since 2025-09) or aes-cbc (IV = key[..16], before).
    #[arg(long, env = "SUPERAPP_SIGNATURE", default_value = "aes-ecb")]
    signature: SignatureMode,
    /// The "Interface API" page version: 2025-01-08, 2025-04-25 or 2025-12-05.
    #[arg(long, env = "SUPERAPP_PATHS", default_value = "2025-12-05")]
    paths: PathFamily,
    /// The platform's client id (X-CLIENT-KEY) for /access_token/b2b2c.
    #[arg(long, env = "SUPERAPP_CLIENT_KEY")]
    client_key: Option<String>,
}

#[derive(Debug, Args)]
struct Serve {
    /// Address to listen on (port 0 picks one).
    #[arg(long, env = "SUPERAPP_LISTEN", default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// JSON file: {"users": [{"id", "password", "phone", "email", "nickname", "avatar", "active"}]}.
    #[arg(long, env = "SUPERAPP_USERS", value_name = "FILE")]
    users: PathBuf,
    #[command(flatten)]
    protocol: Protocol,
    /// The platform's public key (PEM, `BEGIN PUBLIC KEY`) that
    /// /access_token/b2b2c verifies X-SIGNATURE with (with --client-key).
    #[arg(
        long,
        env = "SUPERAPP_PLATFORM_PUBLIC_KEY",
        value_name = "FILE",
        requires = "client_key"
    )]
    platform_public_key: Option<PathBuf>,
    /// How far a request's timestamp may be from this server's clock, in seconds.
    #[arg(long, default_value_t = 300)]
    window_secs: u64,
}

#[derive(Debug, Args)]
struct Check {
    /// The super-app server's base URL.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    protocol: Protocol,
    /// Each call's timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// An active user with a nickname, an avatar, a phone number and an email.
    #[arg(long)]
    user_id: String,
    /// The platform's private key (PEM) to sign /access_token/b2b2c with (with --client-key).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    private_key: Option<PathBuf>,
    /// A host account to log in with for a real authCode (with --password and --mini-app-id).
    #[arg(long, requires_all = ["password", "mini_app_id"])]
    account: Option<String>,
    /// The account's password.
    #[arg(long, env = "SUPERAPP_CHECK_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The mini program the authCode is asked for.
    #[arg(long)]
    mini_app_id: Option<String>,
    /// The super app's appId sent with `login`.
    #[arg(long, default_value = "superapp")]
    app_id: String,
}

fn usage(message: impl std::fmt::Display) -> (String, u8) {
    (message.to_string(), 2)
}

fn signer(protocol: &Protocol) -> Result<TcSigner, (String, u8)> {
    let key = SecretKey::new(protocol.secret_key.clone())
        .map_err(|e| usage(format!("--secret-key: {e}")))?;
    Ok(TcSigner::new(key, protocol.signature))
}

async fn serve(args: Serve) -> Result<(), (String, u8)> {
    let users = load_users(&args.users).map_err(usage)?;
    let signer = signer(&args.protocol)?;
    let mut builder = ReferenceServer::builder(signer.key().clone(), users)
        .signature(args.protocol.signature)
        .paths(args.protocol.paths)
        .window(Duration::from_secs(args.window_secs));
    if let (Some(path), Some(client)) = (&args.platform_public_key, &args.protocol.client_key) {
        builder =
            builder.platform_key(SnapVerifier::from_pem_file(client.clone(), path).map_err(usage)?);
    }
    let server = builder.build();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| (format!("cannot listen on {}: {e}", args.listen), 1))?;
    let bound = listener
        .local_addr()
        .map_err(|e| (format!("cannot read the bound address: {e}"), 1))?;
    let shutdown =
        shutdown_signal().map_err(|e| (format!("cannot install the signal handlers: {e}"), 1))?;
    println!("superapp-server listening on http://{bound}");
    superapp_openapi::http::serve(listener, server.router(), shutdown)
        .await
        .map_err(|e| (format!("the server stopped: {e}"), 1))
}

async fn check(args: Check) -> Result<(), (String, u8)> {
    let mut target = CheckTarget::new(
        args.url,
        signer(&args.protocol)?.key().clone(),
        args.user_id,
    );
    target.signer = signer(&args.protocol)?;
    target.paths = args.protocol.paths;
    target.timeout = Duration::from_millis(args.timeout_ms);
    if let (Some(path), Some(client)) = (&args.private_key, &args.protocol.client_key) {
        target.snap = Some(SnapSigner::from_pem_file(client.clone(), path).map_err(usage)?);
    }
    if let (Some(account), Some(password), Some(mini_app_id)) =
        (args.account, args.password, args.mini_app_id)
    {
        target.account = Some(HostAccount {
            app_id: args.app_id,
            user_account: account,
            user_password: password,
            mini_app_id,
        });
    }
    let report = check_directory(&target).await;
    println!("{report}");
    if report.passed() {
        Ok(())
    } else {
        Err(("the super-app server does not conform".into(), 1))
    }
}

#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("superapp-server: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Check(args) => check(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((message, code)) => {
            eprintln!("superapp-server: {message}");
            ExitCode::from(code)
        }
    }
}
