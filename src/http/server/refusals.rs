//! What the router answers itself: an unknown path (404) and a wrong
//! method (405, naming the methods the route takes in the body and in
//! `Allow`), as JSON `10002` like every other answer.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::header::ALLOW;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};

use super::answer::Failure;
use super::log::{Observed, observed, shown_path};
use super::state::ServerState;
use crate::openserver::StatusResponse;

// Each route kind takes the route's index in the route table (its metrics
// label), its handler and the body limit, so that the table in `routes.rs`
// calls them all alike; the GET kinds read no body and ignore the limit.

/// A GET route that refuses `HEAD` with 405 rather than running the route
/// (axum serves `HEAD` with the `GET` handler, and a `HEAD` on the token
/// route would issue a token nobody sees); other methods get a 405 too.
pub(super) fn get_only<H, T>(route: usize, handler: H, _: usize) -> MethodRouter<Arc<ServerState>>
where
    H: Handler<T, Arc<ServerState>, Future: Unpin>,
    T: 'static,
{
    on(MethodFilter::GET, observed(route, handler))
        .on(MethodFilter::HEAD, refuse_methods(route, &["GET"]))
        .fallback(refuse_methods(route, &["GET"]))
}

/// A GET route that serves `HEAD` too, as axum's `get` does (the
/// operations routes, which change nothing); other methods get a 405.
pub(super) fn get_and_head<H, T>(
    route: usize,
    handler: H,
    _: usize,
) -> MethodRouter<Arc<ServerState>>
where
    H: Handler<T, Arc<ServerState>, Future: Unpin>,
    T: 'static,
{
    get(observed(route, handler)).fallback(refuse_methods(route, &["GET"]))
}

/// A POST route reading a body of at most `body_limit` bytes; other
/// methods get a 405.
pub(super) fn post_only<H, T>(
    route: usize,
    handler: H,
    body_limit: usize,
) -> MethodRouter<Arc<ServerState>>
where
    H: Handler<T, Arc<ServerState>, Future: Unpin>,
    T: 'static,
{
    post(observed(route, handler))
        .fallback(refuse_methods(route, &["POST"]))
        .layer(DefaultBodyLimit::max(body_limit))
}

/// The handler that refuses a method on the route, naming `allowed`.
fn refuse_methods(route: usize, allowed: &'static [&'static str]) -> Observed<RefuseMethod> {
    observed(route, RefuseMethod(allowed))
}

/// Answers any request with a 405 naming these methods.
#[derive(Clone, Copy)]
pub(super) struct RefuseMethod(&'static [&'static str]);

impl<S: Send + Sync + 'static> Handler<(), S> for RefuseMethod {
    type Future = std::future::Ready<Response>;

    fn call(self, request: Request, _state: S) -> Self::Future {
        std::future::ready(wrong_method(request.method(), request.uri(), self.0))
    }
}

/// A 405: `10002` naming the method, the path and the methods it takes,
/// which `Allow` lists too.
pub(super) fn wrong_method(method: &Method, uri: &Uri, allowed: &[&str]) -> Response {
    let mut answer = Failure::<StatusResponse>::invalid(format_args!(
        "method {method} is not allowed on {}; use {}",
        shown_path(uri.path()),
        allowed.join(" or ")
    ))
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
