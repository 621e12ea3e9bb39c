//! One log line per request.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use std::sync::Arc;

use axum::extract::State;

use super::answer::ReplyMeta;
use super::metrics::route_label;
use super::state::ServerState;

/// One `info` event per request, in a span naming the method and path:
/// status, errcode, requestId and latency — never the query string or the
/// body, which carry secrets.
pub(super) async fn log_request(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = route_label(request.uri().path());
    let span = tracing::info_span!(
        "openserver.http",
        http.method = %request.method(),
        http.path = %shown_path(request.uri().path()),
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let meta = response.extensions().get::<ReplyMeta>();
    state
        .metrics
        .observe(route, meta.map(|m| m.errcode), elapsed);
    span.in_scope(|| {
        tracing::info!(
            http.status = response.status().as_u16(),
            errcode = meta.map(|m| m.errcode),
            request_id = meta.map(|m| m.request_id.as_str()),
            latency_ms,
            "request answered"
        );
    });
    response
}

/// A path for a message or a log line: not more than 100 characters.
pub(super) fn shown_path(path: &str) -> String {
    let mut shown: String = path.chars().take(100).collect();
    if shown.len() < path.len() {
        shown.push('…');
    }
    shown
}
