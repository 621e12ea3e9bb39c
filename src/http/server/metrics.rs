//! The server's metrics, and their Prometheus (OpenMetrics) text
//! exposition (served by `operations`).
//!
//! One registry per router, no global recorder: a library must not install
//! process-wide state. Labels are a route template from the router's own
//! table (`routes.rs`, or `unmatched`) and an errcode: never a secret, an
//! id or a path a client chose. This module imports nothing of the
//! server's: the state holds a `Metrics`, and the labels are handed in.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::sharded::{ShardedCounter, ShardedHistogram};
use crate::openserver::{ErrCode, OpenServer};

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
    /// The route labels, by route index; the last is `unmatched`.
    routes: &'static [&'static str],
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
    /// The metrics of a router whose route labels are `routes`, by route
    /// index, the last standing for a request no route matched.
    pub(crate) fn new(routes: &'static [&'static str]) -> Self {
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
            routes,
            requests,
            latency,
            request_handles: (0..routes.len() * ERRCODE_SLOTS)
                .map(|_| OnceLock::new())
                .collect(),
            latency_handles: (0..routes.len()).map(|_| OnceLock::new()).collect(),
            outstanding_codes,
            access_tokens,
            live_sessions,
            auth_codes,
            store_errors,
        }
    }

    /// Counts one answered request of the route at index `route` of the
    /// labels (past the end: `unmatched`).
    pub(crate) fn observe(&self, route: usize, errcode: Option<i64>, elapsed: Duration) {
        let route = route.min(self.routes.len() - 1);
        let labels = || RequestLabels {
            route: self.routes[route],
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
                        route: self.routes[route],
                    })
                    .clone()
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the platform's gauges read now.
    pub(crate) fn encode(&self, server: &OpenServer) -> String {
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
