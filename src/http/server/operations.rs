//! The operations routes: liveness, readiness and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::ServerState;

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "",
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
    path = "",
    tag = "operations",
    responses((status = 200, description = "the server is up", body = Object, example = json!({"status": "ok"})))
)]
pub(super) async fn healthz() -> Response {
    status_json(StatusCode::OK, "ok")
}

/// `GET /readyz`: the platform's store answers.
#[utoipa::path(
    get,
    path = "",
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
