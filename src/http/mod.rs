//! The platform over HTTP (feature `http`): the axum server, the remote
//! `Platform` client for hosts, and the client for developer servers.
//!
//! Three pieces, one wire format (`docs/http.md`):
//!
//! - [`router`] serves an [`OpenServer`](crate::OpenServer) as TCMPP's
//!   `/openserver/...` developer-server API, plus the `/openserver/sdk/...`
//!   routes a host on another machine uses as its platform; [`serve`] runs it
//!   on a listener until a shutdown signal, [`serve_with_limits`] under
//!   [`ServerLimits`] of your own (timeouts, connection cap, shutdown
//!   deadline).
//! - [`RemotePlatform`] is a [`Platform`](crate::platform::Platform) that talks to those
//!   SDK routes, so a [`Dispatcher`](crate::Dispatcher) works against a remote
//!   platform with one builder call.
//! - [`OpenServerClient`] is what a mini program's developer server uses:
//!   jscode2session, a cached access token, checksession, and the phone and
//!   email look-ups.
//! - [`Playground`] (`openserver --playground`, off by default) is a page
//!   that drives the parties and draws each message that crosses.

//!
//! The wing runs one way: `server` (the router) and the clients (`remote`,
//! `client`, over `transport`) both build on `wire` (routes, SDK wire names,
//! the SDK answer envelope); the clients never import the server.

mod client;
mod client_open_data;
mod playground;
mod remote;
mod server;
#[cfg(feature = "rustls")]
mod tls;
mod transport;
mod wire;

pub use client::{ClientError, OpenServerClient, OpenServerClientBuilder, Session};
pub use playground::{MAX_PLAYGROUND_CHOICES, PLAYGROUND_PATH, Playground, masked};
pub use remote::{DEFAULT_PLATFORM_TIMEOUT, RemotePlatform, RemotePlatformBuilder};
#[cfg(feature = "rustls")]
pub use server::serve_tls;
pub use server::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_DEADLINE, HttpConfig, OPENAPI_PATH, ServerLimits,
    openapi_json, router, serve, serve_with_limits,
};
#[cfg(feature = "rustls")]
pub use tls::{TlsConfig, TlsError};
