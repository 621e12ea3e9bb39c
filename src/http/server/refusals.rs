//! What the router answers itself: an unknown path (404) and a wrong
//! method (405), as JSON `10002` like every other answer.

use axum::http::header::ALLOW;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::answer::Failure;
use super::log::shown_path;
use crate::openserver::StatusResponse;

/// The request line of a 405, kept until the router has set `Allow`.
#[derive(Clone)]
struct WrongMethod(String);

/// A wrong method. The router adds `Allow` to this answer after it leaves
/// the route; [`name_allowed_methods`] then writes the JSON body naming them.
pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response.extensions_mut().insert(WrongMethod(format!(
        "method {method} is not allowed on {}",
        shown_path(uri.path())
    )));
    response
}

/// `HEAD` on a GET route: a 405 naming `GET` (the router gives a matched
/// method no `Allow` of its own).
pub(super) async fn head_refused(method: Method, uri: Uri) -> Response {
    let mut response = method_not_allowed(method, uri).await;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET"));
    response
}

/// A 405's body: `10002`, naming the methods of the `Allow` header the
/// router set. No route serves `HEAD` (see `developer::get_only`), so it is
/// left out of the header the router wrote. Any other answer is returned
/// as it is.
pub(super) fn name_allowed_methods(mut response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let Some(WrongMethod(what)) = response.extensions_mut().remove::<WrongMethod>() else {
        return response;
    };
    let allowed: Vec<String> = response
        .headers()
        .get(ALLOW)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "HEAD")
        .map(str::to_owned)
        .collect();
    let mut answer =
        Failure::<StatusResponse>::invalid(format_args!("{what}; use {}", allowed.join(" or ")))
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .into_response();
    if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
        answer.headers_mut().insert(ALLOW, allow);
    }
    answer
}

pub(super) async fn not_found(method: Method, uri: Uri) -> Failure {
    Failure::invalid(format_args!(
        "no such route: {method} {}; the routes are listed in docs/http.md",
        shown_path(uri.path())
    ))
    .with_status(StatusCode::NOT_FOUND)
}
