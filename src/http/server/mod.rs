//! The axum server: TCMPP's developer-server routes and the SDK routes
//! over an [`OpenServer`].
//!
//! The router here is the parent: `routes` is the route table, each route
//! declared once (path, methods, handler), whence the router, the metrics'
//! labels and the OpenAPI document's paths. The handlers (`developer`,
//! `sdk`, `operations`) share only `state` (what every route reads),
//! `params` (request parameters) and `answer` (how every route answers,
//! errors included). `serve` runs a router on a listener under the
//! `limits`. The clients never import this module: what
//! both sides share is in [`wire`](super::wire).

mod answer;
mod developer;
mod limits;
mod log;
mod metrics;
mod openapi;
mod operations;
mod params;
mod query;
mod refusals;
mod routes;
mod sdk;
mod serve;
mod sharded;
mod state;

use std::fmt;
use std::sync::Arc;

use axum::Router;

pub use self::limits::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SHUTDOWN_DEADLINE, ServerLimits,
};
#[cfg(feature = "rustls")]
pub use self::serve::serve_tls;
pub use self::serve::{serve, serve_with_limits};
use self::state::ServerState;
use crate::http::wire::paths;
use crate::openserver::OpenServer;
use crate::secret::SdkKey;

/// Where the server serves its OpenAPI document.
pub const OPENAPI_PATH: &str = paths::OPENAPI;

/// The OpenAPI document of [`router`], as JSON.
///
/// ```
/// let doc: serde_json::Value = serde_json::from_str(&superapp_openapi::http::openapi_json()).unwrap();
/// assert_eq!(doc["openapi"], "3.1.0");
/// assert!(doc["paths"]["/openserver/sns/jscode2session"]["get"].is_object());
/// ```
pub fn openapi_json() -> String {
    routes::document_json().to_owned()
}

/// The default request-body limit: 64 KiB, far above any request of the API.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How the HTTP server is set up: the SDK keys hosts present on the SDK
/// routes, and the request-body limit.
///
/// ```
/// use superapp_openapi::http::HttpConfig;
/// use superapp_openapi::SdkKey;
/// let config = HttpConfig::new()
///     .sdk_key(SdkKey::new("key-of-host-a"))
///     .sdk_key(SdkKey::new("key-of-host-b"))
///     .body_limit(16 * 1024);
/// assert!(!format!("{config:?}").contains("host-a"));
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    /// Each key, and the apps it may act for (`None`: all).
    sdk_keys: Vec<(SdkKey, Option<Vec<String>>)>,
    body_limit: usize,
}

impl HttpConfig {
    /// No SDK key (the SDK routes answer `40001` to everyone) and a 64 KiB
    /// body limit.
    pub fn new() -> Self {
        HttpConfig {
            sdk_keys: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Adds a key a host may present as `Authorization: Bearer <key>` on the
    /// SDK routes, for every app. Call it once per host; an empty key never
    /// matches.
    pub fn sdk_key(mut self, key: SdkKey) -> Self {
        self.sdk_keys.push((key, None));
        self
    }

    /// Adds a key that may act only for `apps`: used for another app, the
    /// SDK routes answer `48001` (api unauthorized).
    ///
    /// ```
    /// use superapp_openapi::SdkKey;
    /// use superapp_openapi::http::HttpConfig;
    /// let config = HttpConfig::new().sdk_key_for_apps(SdkKey::new("key-of-shop-host"), ["wx-shop"]);
    /// # let _ = config;
    /// ```
    pub fn sdk_key_for_apps<A: Into<String>>(
        mut self,
        key: SdkKey,
        apps: impl IntoIterator<Item = A>,
    ) -> Self {
        self.sdk_keys
            .push((key, Some(apps.into_iter().map(Into::into).collect())));
        self
    }

    /// The largest request body accepted, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]); a larger one is answered with `10002`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new()
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("sdk_keys", &self.sdk_keys.len())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// The platform's HTTP API over `server`: the five developer-server routes
/// of TCMPP's "Mini Program Login" page and the SDK routes of `docs/http.md`.
///
/// Every answer is JSON with `errcode`, `errmsg` and `requestId` and
/// `Cache-Control: no-store`. Errors are HTTP 200 as the platform sends
/// them, except an unknown path (404) and a wrong method (405, with an
/// `Allow` header naming the route's methods), whose bodies are JSON
/// `10002` all the same. Each request is logged at `info` with its method, path, status,
/// errcode and latency — never its query string or body.
///
/// ```
/// use superapp_openapi::http::{HttpConfig, router};
/// use superapp_openapi::{OpenServer, SdkKey};
/// let server = OpenServer::new();
/// let app: axum::Router = router(server, HttpConfig::new().sdk_key(SdkKey::new("k")));
/// # let _ = app;
/// ```
pub fn router(server: OpenServer, config: HttpConfig) -> Router {
    let state = Arc::new(ServerState::new(
        server,
        &config.sdk_keys,
        config.body_limit,
        routes::LABELS,
    ));
    // Every handler is observed (counted, and logged at info) and every
    // route names the methods it takes in its 405s (`refusals`).
    routes::routes(config.body_limit).with_state(state)
}
