//! The server's OpenAPI 3.1 document: what the API is (here), each
//! route's operation (its handler's `#[utoipa::path]`, under the path the
//! route table gives it in `routes.rs`), and what every operation shares,
//! added once by [`complete`]: the 405 a route answers to another method,
//! and the SDK key, one security scheme the SDK routes name.

use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

use crate::openserver::StatusResponse;

/// The security scheme of the SDK routes.
const SDK_KEY: &str = "sdk_key";
/// The tag of the SDK routes, which [`complete`] gives the SDK key.
const SDK_TAG: &str = "sdk";

/// The document's description of the API; the paths come from the route
/// table.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "superapp-openapi platform",
        description = "The mini-program platform's developer-server API (TCMPP's \"Mini Program Login\" routes, \
            with WeChat's request forms beside them) and the SDK routes a remote host uses. \
            Errors are HTTP 200 with `errcode` ≠ 0, as the platform sends them; an unknown \
            path is 404 and a wrong method 405, both with the same JSON error body.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(StatusResponse)),
    tags(
        (name = "developer server", description = "what a mini program's developer server calls (TCMPP's \"Mini Program Login\" page)"),
        (name = "operations", description = "liveness, readiness and metrics"),
        (name = "sdk", description = "what a host on another machine asks its platform, with `Authorization: Bearer <SDK key>`"),
    )
)]
pub(super) struct Document;

/// What every operation shares, added once: a 405 answer for another
/// method (`refusals.rs` answers every route's other methods so), and on
/// the SDK routes the SDK key, declared as the one security scheme.
pub(super) fn complete(document: &mut OpenApi) {
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            SDK_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Bearer <SDK key>: without it, or with a key this server does not know, \
                         the answer is errcode 40001 (HTTP 200, as every platform error)",
                    ))
                    .build(),
            ),
        );
    for item in document.paths.paths.values_mut() {
        for (method, operation) in [("GET", &mut item.get), ("POST", &mut item.post)] {
            if let Some(operation) = operation {
                refused_otherwise(operation, method);
            }
        }
    }
}

/// Adds to `operation`, the route's `method`, the 405 of other methods, and
/// the SDK key when it is an SDK route.
fn refused_otherwise(operation: &mut Operation, method: &str) {
    let refused = ResponseBuilder::new()
        .description(format!("another method than {method}"))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("StatusResponse")))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert("405".to_owned(), refused.into());
    let tags = operation.tags.as_deref().unwrap_or_default();
    if tags.iter().any(|tag| tag == SDK_TAG) {
        operation.security = Some(vec![SecurityRequirement::new(
            SDK_KEY,
            Vec::<String>::new(),
        )]);
    }
}

/// `document` as pretty JSON (an error's text in a JSON object if it could
/// not be written, which serde_json only fails on for maps with non-string
/// keys: never here).
pub(super) fn to_json(document: &OpenApi) -> String {
    document
        .to_pretty_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"the document could not be written: {e}"}}"#))
}

/// The answer of `GET /openserver/openapi.json`.
pub(super) fn serve(document: &'static str) -> Response {
    let mut response = document.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
