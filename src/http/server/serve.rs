//! The serve loop: hyper's HTTP/1 connections under [`ServerLimits`].
//!
//! Every limit is a setting of the library that owns the wait, not a timer
//! of ours: hyper's `header_read_timeout` (with hyper-util's `TokioTimer`)
//! for the request head, tower-http's `TimeoutBody` for the request body, a
//! semaphore permit per connection for the cap, and hyper-util's
//! `GracefulShutdown` for stopping; the only deadline here is the one that
//! bounds that graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_http::add_extension::AddExtension;
use tower_http::timeout::RequestBodyTimeout;

use super::limits::ServerLimits;

/// How long accepting pauses after an error that is not one connection's
/// (too many open files, out of buffers): such errors last a while.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` with the default [`ServerLimits`] until
/// `shutdown` completes, then lets the requests in flight finish (for up to
/// 10 s). See [`serve_with_limits`].
///
/// # Errors
///
/// None today: accept errors are logged and retried. The `Result` leaves
/// room for a listener that can fail for good.
///
/// ```
/// use superapp_openapi::OpenServer;
/// use superapp_openapi::http::{HttpConfig, router, serve};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let task = tokio::spawn(serve(listener, router(OpenServer::new(), HttpConfig::new()), async {
///     let _ = stopped.await;
/// }));
/// println!("listening on http://{addr}");
/// let _ = stop.send(());
/// task.await.expect("server task")?;
/// # Ok(()) }
/// ```
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    serve_with_limits(listener, router, ServerLimits::new(), shutdown).await
}

/// Serves `router` on `listener` over HTTP/1.1 under `limits` until
/// `shutdown` completes.
///
/// - A connection that sends no complete request head within
///   `header_read_timeout` (a half-sent request, or a keep-alive connection
///   idle that long) is closed, logged at `debug`.
/// - A request body that stalls for `body_read_timeout` is answered with
///   JSON `10002` by the route reading it.
/// - At most `max_connections` connections are served at once; accepting
///   pauses while they are all open.
/// - A request that hyper refuses before the router sees it (a malformed
///   request line or header: 400; headers too large or too many: 431; a
///   URI over 64 KiB: 414) gets hyper's own answer, with no body, and a
///   `warn` line naming the peer and the reason, never the request bytes.
/// - On `shutdown` the listener is closed, idle connections are closed,
///   requests in flight may finish; after `shutdown_deadline` whatever is
///   still open is dropped and this returns.
///
/// Each request carries the peer's [`ConnectInfo<SocketAddr>`], as with
/// axum's `into_make_service_with_connect_info`.
///
/// # Errors
///
/// None today: accept errors are logged and retried (after a pause of a
/// second when they are not one connection's, such as too many open
/// files). The `Result` leaves room for a listener that can fail for good.
///
/// ```
/// use std::time::Duration;
/// use superapp_openapi::OpenServer;
/// use superapp_openapi::http::{HttpConfig, ServerLimits, router, serve_with_limits};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let limits = ServerLimits::new()
///     .max_connections(64)
///     .shutdown_deadline(Duration::from_secs(2));
/// let app = router(OpenServer::new(), HttpConfig::new());
/// // Stops at once here; pass a future that completes on your shutdown signal.
/// serve_with_limits(listener, app, limits, async {}).await?;
/// # Ok(()) }
/// ```
pub async fn serve_with_limits<F>(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    serve_loop(listener, router, limits, Handshake::Plain, shutdown).await
}

/// [`serve_with_limits`] over HTTPS: each accepted connection completes a
/// TLS handshake with `tls` (within `header_read_timeout`, else it is
/// closed, logged at `debug`) before its first request is read.
///
/// # Errors
///
/// As [`serve_with_limits`].
#[cfg(feature = "rustls")]
pub async fn serve_tls<F>(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    tls: crate::http::tls::TlsConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    serve_loop(listener, router, limits, Handshake::Tls(tls), shutdown).await
}

/// What a connection does before HTTP.
#[derive(Clone)]
enum Handshake {
    Plain,
    #[cfg(feature = "rustls")]
    Tls(crate::http::tls::TlsConfig),
}

async fn serve_loop<F>(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    handshake: Handshake,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let mut http = http1::Builder::new();
    // hyper starts this timer whenever the connection waits for a request
    // head: on accept, and after each answer on a keep-alive connection
    // (`proto::h1::conn`, `poll_read_head`). So it is the idle keep-alive
    // timeout too; hyper has no separate knob, and a longer idle wait could
    // only be had by replacing this timer with one of ours.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);

    loop {
        while connections.try_join_next().is_some() {}
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::info!(
                    max_connections = limits.max_connections,
                    "every connection slot is taken: accepting paused until one closes"
                );
                tokio::select! {
                    () = &mut shutdown => break,
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break, // never closed
                    },
                }
            }
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                }
            }
        };
        let service = TowerToHyperService::new(AddExtension::new(
            RequestBodyTimeout::new(router.clone(), limits.body_read_timeout),
            ConnectInfo(peer),
        ));
        match &handshake {
            Handshake::Plain => {
                let connection =
                    graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    let served = connection.await;
                    drop(permit);
                    if let Err(e) = served {
                        log_connection_error(&e, peer);
                    }
                });
            }
            #[cfg(feature = "rustls")]
            Handshake::Tls(tls) => {
                let acceptor = tls.acceptor().clone();
                let (http, watcher) = (http.clone(), graceful.watcher());
                let timeout = limits.header_read_timeout;
                connections.spawn(async move {
                    let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let served = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                    drop(permit);
                    if let Err(e) = served {
                        log_connection_error(&e, peer);
                    }
                });
            }
        }
    }

    drop(listener);
    while connections.try_join_next().is_some() {}
    tracing::info!(
        connections = connections.len(),
        deadline_ms = millis(limits.shutdown_deadline),
        "stopping: no new connection is accepted; waiting for the requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_deadline, graceful.shutdown())
        .await
        .is_err()
    {
        while connections.try_join_next().is_some() {}
        tracing::warn!(
            connections = connections.len(),
            deadline_ms = millis(limits.shutdown_deadline),
            "shutdown deadline passed: closing the connections still open"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// An accept error that concerns one connection only (it went away before
/// it was accepted): the next accept is tried at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// One line for a connection hyper ended with an error. A request hyper
/// refused before routing is a `warn` (hyper answered it itself, with no
/// body: our JSON never reaches that client); a timeout or a client going
/// away is routine and only a `debug`. Never the request bytes: hyper's
/// messages name the kind of error only.
fn log_connection_error(e: &hyper::Error, peer: SocketAddr) {
    if e.is_timeout() {
        tracing::debug!(
            %peer,
            "closed a connection that sent no complete request head in time (idle, or a stalled request)"
        );
    } else if e.is_parse() {
        match parser_status(e) {
            Some(status) => tracing::warn!(
                %peer,
                http.status = status,
                reason = %e,
                "request refused by the HTTP parser before routing; hyper answered without a body"
            ),
            None => tracing::warn!(
                %peer,
                reason = %e,
                "request refused by the HTTP parser before routing; the connection was closed without an answer"
            ),
        }
    } else {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// The status hyper answers a request it cannot parse with (hyper 1.x,
/// `proto::h1::role::Server::on_error`): 431 for a head too large or with
/// too many headers, 414 for a URI too long, 400 for the rest. An HTTP/2
/// preface gets no answer. `is_parse_too_large` covers both 414 and 431;
/// only the message tells them apart.
fn parser_status(e: &hyper::Error) -> Option<u16> {
    if e.is_parse_version_h2() {
        None
    } else if e.is_parse_too_large() {
        Some(if e.to_string().starts_with("URI too long") {
            414
        } else {
            431
        })
    } else {
        Some(400)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
