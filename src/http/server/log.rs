//! One log line and the metrics of each request: every handler of the
//! router, its fallbacks included, is wrapped in [`Observed`].
//!
//! The observation is part of each handler rather than a layer around the
//! router: axum already boxes a handler's future once, and a layer (or a
//! router nested in another to carry one) boxes another future, clones a
//! boxed service and matches the path again for every request, which a
//! profile of the binary under load showed among its largest costs
//! (BENCHMARKS.md, "HTTP from outside"). The log span, and the path it
//! shows, are made only when the `info` line would be written.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::Response;
use tracing::Span;

use super::answer::{ReplyMeta, observe};
use super::state::ServerState;

/// A handler of a route (or of no route: `unmatched`), observed:
/// each request is counted in the metrics and, when `info` is on, logged
/// with its method, path, status, errcode, requestId and latency — never
/// its query string or body, which carry secrets.
#[derive(Clone)]
pub(super) struct Observed<H> {
    route: usize,
    handler: H,
}

/// `handler`, observed under the route at index `route` of the route
/// table (`routes.rs`; the last index, or past it, is `unmatched`).
pub(super) fn observed<H>(route: usize, handler: H) -> Observed<H> {
    Observed { route, handler }
}

impl<H, T> Handler<T, Arc<ServerState>> for Observed<H>
where
    H: Handler<T, Arc<ServerState>>,
    H::Future: Unpin,
    T: 'static,
{
    type Future = ObservedFuture<H::Future>;

    fn call(self, request: Request, state: Arc<ServerState>) -> Self::Future {
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
            self.handler.call(request, Arc::clone(&state))
        };
        ObservedFuture {
            inner,
            span,
            started,
            route: self.route,
            state,
        }
    }
}

/// The handler's future (axum's are boxed, so `Unpin`), polled in place in
/// the span when there is one.
pub(super) struct ObservedFuture<F> {
    inner: F,
    span: Option<Span>,
    started: Instant,
    route: usize,
    state: Arc<ServerState>,
}

impl<F: Future<Output = Response> + Unpin> Future for ObservedFuture<F> {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = &mut *self;
        let (polled, meta) = observe(|| {
            let _entered = this.span.as_ref().map(Span::enter);
            Pin::new(&mut this.inner).poll(cx)
        });
        let Poll::Ready(response) = polled else {
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
        Poll::Ready(response)
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
