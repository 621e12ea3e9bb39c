//! One log line and the metrics of each request, and the body of a 405:
//! one service around the whole router.
//!
//! It is a hand-written service rather than axum's `from_fn` and
//! `map_response` layers: those box a future and clone a boxed service per
//! request each, which a profile of the binary under load showed among its
//! largest costs (BENCHMARKS.md, "HTTP from outside"). Here the router's
//! own future is polled in place, and the log span and its path are made
//! only when the `info` line would be written.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use tower_service::Service;
use tracing::Span;

use super::answer::{ReplyMeta, observe};
use super::metrics::route_index;
use super::refusals::name_allowed_methods;
use super::state::ServerState;

/// The router's routes, observed: each request is counted in the metrics
/// and, when `info` is on, logged with its method, path, status, errcode,
/// requestId and latency — never its query string or body, which carry
/// secrets. A 405's body names the methods the router put in `Allow`,
/// which is why this wraps the whole router rather than each route.
#[derive(Clone)]
pub(super) struct Observed {
    routes: Router,
    state: Arc<ServerState>,
}

impl Observed {
    pub(super) fn new(routes: Router, state: Arc<ServerState>) -> Self {
        Observed { routes, state }
    }
}

impl Service<Request> for Observed {
    type Response = Response;
    type Error = Infallible;
    type Future = ObservedFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> ObservedFuture {
        let route = route_index(request.uri().path());
        // The span (and the path it shows) only when its line is written.
        let span = tracing::enabled!(tracing::Level::INFO).then(|| {
            tracing::info_span!(
                "openserver.http",
                http.method = %request.method(),
                http.path = %shown_path(request.uri().path()),
            )
        });
        let started = Instant::now();
        let inner = {
            let _entered = span.as_ref().map(Span::enter);
            self.routes.call(request)
        };
        ObservedFuture {
            inner,
            span,
            started,
            route,
            state: Arc::clone(&self.state),
        }
    }
}

/// The router's future, polled in place (it is `Unpin`), in the span when
/// there is one.
pub(super) struct ObservedFuture {
    inner: RouteFuture<Infallible>,
    span: Option<Span>,
    started: Instant,
    route: usize,
    state: Arc<ServerState>,
}

impl Future for ObservedFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (polled, meta) = observe(|| {
            let _entered = this.span.as_ref().map(Span::enter);
            match Pin::new(&mut this.inner).poll(cx) {
                Poll::Ready(Ok(response)) => Some(name_allowed_methods(response)),
                Poll::Pending => None,
            }
        });
        let Some(response) = polled else {
            return Poll::Pending;
        };
        let elapsed = this.started.elapsed();
        let meta = meta.as_ref();
        this.state
            .metrics
            .observe(this.route, meta.map(|m| m.errcode), elapsed);
        if let Some(span) = &this.span {
            let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
            span.in_scope(|| {
                tracing::info!(
                    http.status = response.status().as_u16(),
                    errcode = meta.map(|m| m.errcode),
                    request_id = meta.map(ReplyMeta::request_id),
                    latency_ms,
                    "request answered"
                );
            });
        }
        Poll::Ready(Ok(response))
    }
}

/// A path for a message or a log line: not more than 100 characters.
pub(super) fn shown_path(path: &str) -> String {
    let mut shown: String = path.chars().take(100).collect();
    if shown.len() < path.len() {
        shown.push('…');
    }
    shown
}
