//! What every route shares: the platform, the SDK keys, the body limit.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Uri};
use tower_http::timeout::TimeoutError;

use super::answer::invalid;
use super::metrics::Metrics;
use crate::digest::sha256;
use crate::openserver::{OpenServer, OpenServerError};
use crate::secret::SdkKey;
use crate::sync::FastSet;

/// What every handler shares.
pub(crate) struct ServerState {
    pub(crate) server: OpenServer,
    pub(crate) metrics: Metrics,
    pub(crate) sdk_keys: Vec<KnownKey>,
    pub(crate) body_limit: usize,
}

/// An SDK key as the server keeps it: its SHA-256, so that comparing takes
/// the same time whatever the length of what a caller presents, and the
/// apps it may act for (`None`: all).
pub(crate) struct KnownKey {
    pub(crate) digest: [u8; 32],
    pub(crate) apps: Option<FastSet<String>>,
}

impl ServerState {
    pub(crate) fn new(
        server: OpenServer,
        sdk_keys: &[(SdkKey, Option<Vec<String>>)],
        body_limit: usize,
        route_labels: &'static [&'static str],
    ) -> Self {
        ServerState {
            server,
            metrics: Metrics::new(route_labels),
            sdk_keys: sdk_keys
                .iter()
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, apps)| KnownKey {
                    digest: sha256(k.secret().as_bytes()),
                    apps: apps.as_ref().map(|apps| apps.iter().cloned().collect()),
                })
                .collect(),
            body_limit,
        }
    }

    /// The body bytes, or `10002` when the body is over the limit, stalled
    /// past the body-read timeout, or unreadable.
    pub(crate) fn body(
        &self,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Bytes, OpenServerError> {
        match body {
            Ok(bytes) => Ok(bytes),
            Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
                Err(invalid(format_args!(
                    "request body too large (the limit is {} bytes)",
                    self.body_limit
                )))
            }
            Err(rejection) if timed_out(&rejection) => Err(invalid(
                "the request body timed out: the client stopped sending it",
            )),
            Err(_) => Err(invalid("the request body could not be read")),
        }
    }
}

/// A request's headers and URI, and its body read under the route's limit
/// (`DefaultBodyLimit`), its error not yet raised: the body extractors of
/// the POST routes (`sdk.rs`, `developer.rs`) check a header first.
pub(crate) async fn read_request<S: Send + Sync>(
    request: Request,
    state: &S,
) -> (HeaderMap, Uri, Result<Bytes, BytesRejection>) {
    let (mut parts, body) = request.into_parts();
    // The body limit is in the extensions, which stay; headers and URI are
    // not needed to read the body, so they are moved out rather than cloned.
    let headers = std::mem::take(&mut parts.headers);
    let uri = std::mem::take(&mut parts.uri);
    let body = Bytes::from_request(Request::from_parts(parts, body), state).await;
    (headers, uri, body)
}

/// Whether reading the body failed because it stalled past the body-read
/// timeout (`ServerLimits::body_read_timeout`, tower-http's `TimeoutBody`).
fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(err) = cause {
        if err.is::<TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// The state extractor of every route.
pub(crate) type Shared = State<Arc<ServerState>>;
