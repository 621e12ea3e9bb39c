//! `/metrics` in the Prometheus (OpenMetrics) text format, and the
//! liveness and readiness routes.
//!
//! One registry per router, no global recorder: a library must not install
//! process-wide state. Labels are a route template from the router's own
//! list (or `unmatched`) and an errcode: never a secret, an id or a path a
//! client chose.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;

use super::sharded::{ShardedCounter, ShardedHistogram};
use super::state::ServerState;
use crate::http::wire::paths;
use crate::openserver::{ErrCode, OpenServer};

/// `GET /healthz`, `GET /readyz`, `GET /metrics`.
pub(crate) const HEALTHZ: &str = "/healthz";
pub(crate) const READYZ: &str = "/readyz";
pub(crate) const METRICS: &str = "/metrics";
/// The route label of a request no route matched.
pub(crate) const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    errcode: i64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// The server's metrics.
///
/// A request is counted through handles kept per route (and per route and
/// errcode of the platform's own): the families' maps are locked and their
/// labels hashed once per handle, not once per request; and the counters
/// and histograms are sharded by thread (`sharded.rs`), so that workers
/// write no common cache line. The families still hold every series, so
/// the exposition is the same.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, ShardedCounter>,
    latency: Family<RouteLabels, ShardedHistogram>,
    /// `requests` by `route index * ERRCODE_SLOTS + errcode slot`.
    request_handles: Box<[OnceLock<ShardedCounter>]>,
    /// `latency` by route index.
    latency_handles: Box<[OnceLock<ShardedHistogram>]>,
    outstanding_codes: Gauge,
    access_tokens: Gauge,
    live_sessions: Gauge,
    auth_codes: Gauge,
    store_errors: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("openserver");
        let requests = Family::<RequestLabels, ShardedCounter>::default();
        registry.register(
            "requests",
            "Requests answered, by route and errcode (-2: no JSON answer, e.g. a 405 body)",
            requests.clone(),
        );
        // 50 µs to ~1.6 s, doubling.
        let latency = Family::<RouteLabels, ShardedHistogram>::new_with_constructor(
            ShardedHistogram::latency,
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let outstanding_codes = gauge(
            &mut registry,
            "outstanding_codes",
            "Login and phone/email codes not yet swept (in-memory store)",
        );
        let access_tokens = gauge(
            &mut registry,
            "access_tokens",
            "Access tokens held (in-memory store)",
        );
        let live_sessions = gauge(
            &mut registry,
            "live_sessions",
            "Users with an unexpired session (in-memory store)",
        );
        let auth_codes = gauge(
            &mut registry,
            "outstanding_auth_codes",
            "v3 authCodes not yet redeemed or swept (in-memory store)",
        );
        let store_errors = gauge(
            &mut registry,
            "store_errors",
            "Store operations that found the store unavailable, since start",
        );
        Metrics {
            registry,
            requests,
            latency,
            request_handles: (0..ROUTES.len() * ERRCODE_SLOTS)
                .map(|_| OnceLock::new())
                .collect(),
            latency_handles: (0..ROUTES.len()).map(|_| OnceLock::new()).collect(),
            outstanding_codes,
            access_tokens,
            live_sessions,
            auth_codes,
            store_errors,
        }
    }

    /// Counts one answered request of the route at `route` in [`ROUTES`]
    /// (see [`route_index`]).
    pub(crate) fn observe(&self, route: usize, errcode: Option<i64>, elapsed: Duration) {
        let route = route.min(ROUTES.len() - 1);
        let labels = || RequestLabels {
            route: ROUTES[route],
            errcode: errcode.unwrap_or(-2),
        };
        match errcode_slot(errcode) {
            Some(slot) => self.request_handles[route * ERRCODE_SLOTS + slot]
                .get_or_init(|| self.requests.get_or_create(&labels()).clone())
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
        self.latency_handles[route]
            .get_or_init(|| {
                self.latency
                    .get_or_create(&RouteLabels {
                        route: ROUTES[route],
                    })
                    .clone()
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the platform's gauges read now.
    fn encode(&self, server: &OpenServer) -> String {
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.outstanding_codes
            .set(as_gauge(server.outstanding_codes()));
        self.access_tokens.set(as_gauge(server.access_tokens()));
        self.live_sessions.set(as_gauge(server.live_sessions()));
        self.auth_codes
            .set(as_gauge(server.outstanding_auth_codes()));
        self.store_errors
            .set(i64::try_from(server.store_errors()).unwrap_or(i64::MAX));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text = "# the metrics could not be encoded\n# EOF\n".to_owned();
        }
        text
    }
}

/// The route labels: the router's own list, and `unmatched` last, so that
/// a client's path never becomes a label.
const ROUTES: [&str; 15] = [
    paths::JSCODE2SESSION,
    paths::TOKEN,
    paths::CHECKSESSION,
    paths::GET_USER_PHONE_NUMBER,
    paths::GET_EMAIL_ADDRESS,
    paths::SDK_LOGIN_CODE,
    paths::SDK_CHECK_SESSION,
    paths::SDK_USER_CODE,
    paths::SDK_PROFILE,
    paths::SDK_AUTH_CODE,
    super::OPENAPI_PATH,
    HEALTHZ,
    READYZ,
    METRICS,
    UNMATCHED,
];

/// Where a path is in [`ROUTES`]: its route, else `unmatched`.
pub(super) fn route_index(path: &str) -> usize {
    ROUTES[..ROUTES.len() - 1]
        .iter()
        .position(|route| *route == path)
        .unwrap_or(ROUTES.len() - 1)
}

/// A handle per platform errcode, and one for "no JSON answer" (-2).
const ERRCODE_SLOTS: usize = ErrCode::ALL.len() + 1;

/// The handle slot of an errcode; `None` for a number that is not one of
/// the platform's (counted through the family, as it comes).
fn errcode_slot(errcode: Option<i64>) -> Option<usize> {
    match errcode {
        None => Some(ErrCode::ALL.len()),
        Some(code) => ErrCode::ALL.iter().position(|c| c.code() == code),
    }
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = METRICS,
    tag = "operations",
    responses((status = 200, description = "the metrics, in the Prometheus text format", content_type = "application/openmetrics-text", body = String))
)]
pub(super) async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    let mut response = state.metrics.encode(&state.server).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = HEALTHZ,
    tag = "operations",
    responses((status = 200, description = "the server is up", body = Object, example = json!({"status": "ok"})))
)]
pub(super) async fn healthz() -> Response {
    status_json(StatusCode::OK, "ok")
}

/// `GET /readyz`: the platform's store answers.
#[utoipa::path(
    get,
    path = READYZ,
    tag = "operations",
    responses(
        (status = 200, description = "the store answers", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "the store does not answer", body = Object, example = json!({"status": "store unavailable"})),
    )
)]
pub(super) async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    match state.server.check_store().await {
        Ok(()) => status_json(StatusCode::OK, "ready"),
        Err(_) => status_json(StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

fn status_json(status: StatusCode, what: &'static str) -> Response {
    let mut response = (status, json!({ "status": what }).to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
