//! How long the server waits for a client, how many it serves at once, and
//! how long it waits for them when it stops: [`ServerLimits`].

use std::time::Duration;

use tokio::sync::Semaphore;

/// The default [`ServerLimits::header_read_timeout`]: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ServerLimits::body_read_timeout`]: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`ServerLimits::max_connections`]: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default [`ServerLimits::shutdown_deadline`]: 10 s.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// The longest duration a limit takes: a year.
const LONGEST: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// What [`serve_with_limits`](super::serve_with_limits) enforces on every
/// connection, so that slow or stalled clients cannot hold the server.
///
/// | limit | default | past it |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s | the connection is closed, no answer |
/// | [`body_read_timeout`](Self::body_read_timeout) | 30 s | JSON `10002` (`the request body timed out…`), then the connection is closed |
/// | [`max_connections`](Self::max_connections) | 1024 | accepting pauses; new clients wait in the listen backlog |
/// | [`shutdown_deadline`](Self::shutdown_deadline) | 10 s | the connections still open are dropped and `serve` returns |
///
/// A duration above a year counts as a year (hyper adds the header-read
/// timeout to the clock, which would overflow near `Duration::MAX`).
///
/// There is no separate idle keep-alive timeout: hyper (1.x) starts the
/// header-read timer whenever a connection starts waiting for a request,
/// right after it is accepted and again after every answer on a keep-alive
/// connection. A connection that sends no complete request head for
/// `header_read_timeout`, idle or half-sent, is closed (`docs/http.md`,
/// "Limits").
///
/// ```
/// use std::time::Duration;
/// use superapp_openapi::http::ServerLimits;
///
/// let limits = ServerLimits::new()
///     .header_read_timeout(Duration::from_secs(5))
///     .body_read_timeout(Duration::from_secs(15))
///     .max_connections(256)
///     .shutdown_deadline(Duration::from_secs(3));
/// assert!(format!("{limits:?}").contains("max_connections: 256"));
/// assert_eq!(ServerLimits::new(), ServerLimits::default());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    pub(super) header_read_timeout: Duration,
    pub(super) body_read_timeout: Duration,
    pub(super) max_connections: usize,
    pub(super) shutdown_deadline: Duration,
}

impl ServerLimits {
    /// The defaults: 10 s to send a request head, 30 s of silence at most
    /// in a request body, 1024 connections, 10 s to finish when stopping.
    pub fn new() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
        }
    }

    /// How long a connection may wait for a complete request head (request
    /// line and headers): from when it is accepted, and on a keep-alive
    /// connection from the end of the previous answer. Past it the
    /// connection is closed without an answer. This is also the idle
    /// keep-alive timeout (hyper's `header_read_timeout`, which runs while
    /// the connection waits for the next request). Default 10 s; zero
    /// closes every connection that has not sent its head at once.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.min(LONGEST);
        self
    }

    /// How long a request body may stall: the longest wait for its next
    /// bytes once a route reads it (tower-http's `TimeoutBody`; the timer
    /// restarts with each piece that arrives, so it bounds a stall, not the
    /// whole upload). Past it the route answers `10002` `invalid param: the
    /// request body timed out…` and the connection is closed. Default 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout.min(LONGEST);
        self
    }

    /// How many connections are served at once. When that many are open,
    /// the server stops accepting until one closes; new clients wait in the
    /// listen backlog of the OS meanwhile. Default 1024; 0 counts as 1.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How long stopping may take: after the shutdown signal the server
    /// stops accepting, lets the requests in flight finish and closes idle
    /// connections; whatever is still open after this deadline is dropped
    /// and `serve` returns. Default 10 s.
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = deadline.min(LONGEST);
        self
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits::new()
    }
}
