//! The server's OpenAPI 3.1 document, generated from the routes'
//! `#[utoipa::path]` annotations and the wire types' schemas.

use std::sync::OnceLock;

use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use super::{developer, metrics, sdk};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "superapp-openapi platform",
        description = "The mini-program platform's developer-server API (the seed's routes, \
            with WeChat's request forms beside them) and the SDK routes a remote host uses. \
            Errors are HTTP 200 with `errcode` ≠ 0, as the platform sends them; an unknown \
            path is 404 and a wrong method 405, both with the same JSON error body.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        developer::jscode2session,
        developer::token,
        developer::checksession,
        developer::getuserphonenumber,
        developer::getemailaddress,
        sdk::login_code,
        sdk::check_session,
        sdk::user_code,
        sdk::profile,
        sdk::auth_code,
        metrics::healthz,
        metrics::readyz,
        metrics::metrics,
    ),
    tags(
        (name = "developer server", description = "what a mini program's developer server calls (seed 000)"),
        (name = "operations", description = "liveness, readiness and metrics"),
        (name = "sdk", description = "what a host on another machine asks its platform, with `Authorization: Bearer <SDK key>`"),
    )
)]
struct Document;

/// The OpenAPI document of [`router`](super::router), as JSON.
///
/// ```
/// let doc: serde_json::Value = serde_json::from_str(&superapp_openapi::http::openapi_json()).unwrap();
/// assert_eq!(doc["openapi"], "3.1.0");
/// assert!(doc["paths"]["/openserver/sns/jscode2session"]["get"].is_object());
/// ```
pub fn openapi_json() -> String {
    document().to_owned()
}

fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        Document::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!(r#"{{"error":"the document could not be written: {e}"}}"#))
    })
}

/// `GET /openserver/openapi.json`.
pub(super) async fn serve_document() -> Response {
    let mut response = document().into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
