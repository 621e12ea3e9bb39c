//! How the server answers: JSON with `Cache-Control: no-store`, the errcode
//! the log line reads back, and the one error type every route returns.

use std::marker::PhantomData;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::openserver::{ApiResponse, ErrCode, OpenServerError, StatusResponse};

/// What the observing service (`log.rs`) reads back from an answer: its
/// errcode, and its requestId (32 hex characters) kept inline.
///
/// It is handed over on the thread rather than in the response's
/// extensions (three allocations per response): [`json`] runs inside the
/// observer's poll of the router, on its thread, and records the answer in
/// the slot [`observe`] opened for that poll. Outside such a poll nothing is
/// recorded.
#[derive(Clone, Copy)]
pub(crate) struct ReplyMeta {
    pub(crate) errcode: i64,
    request_id: [u8; REQUEST_ID_LEN],
    request_id_len: u8,
}

/// The length of the requestIds the platform makes.
const REQUEST_ID_LEN: usize = 32;

impl ReplyMeta {
    fn new(errcode: i64, request_id: &str) -> Self {
        // Ours are 32 ASCII characters; anything longer is cut at a
        // character boundary (the log line is all that reads it).
        let mut len = request_id.len().min(REQUEST_ID_LEN);
        while !request_id.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0u8; REQUEST_ID_LEN];
        bytes[..len].copy_from_slice(&request_id.as_bytes()[..len]);
        ReplyMeta {
            errcode,
            request_id: bytes,
            request_id_len: len as u8,
        }
    }

    /// The answer's requestId.
    pub(crate) fn request_id(&self) -> &str {
        std::str::from_utf8(&self.request_id[..usize::from(self.request_id_len)])
            .unwrap_or_default()
    }
}

/// The slot of the poll being observed on this thread: `None` when no
/// observer is polling, `Some(None)` while one is and no answer was made.
#[derive(Clone, Copy)]
struct Slot(Option<Option<ReplyMeta>>);

thread_local! {
    static OBSERVED: std::cell::Cell<Slot> = const { std::cell::Cell::new(Slot(None)) };
}

/// Runs `poll` with a slot open for the answers it makes, and gives back
/// the last one (the slot of an enclosing observer is restored).
pub(crate) fn observe<T>(poll: impl FnOnce() -> T) -> (T, Option<ReplyMeta>) {
    let outer = OBSERVED.replace(Slot(Some(None)));
    // Restores the enclosing slot even if `poll` unwinds.
    struct Restore(Slot);
    impl Drop for Restore {
        fn drop(&mut self) {
            OBSERVED.set(self.0);
        }
    }
    let restore = Restore(outer);
    let polled = poll();
    let meta = OBSERVED.get().0.flatten();
    drop(restore);
    (polled, meta)
}

/// Records an answer in the open slot, if there is one.
fn record(meta: ReplyMeta) {
    OBSERVED.with(|slot| {
        if slot.get().0.is_some() {
            slot.set(Slot(Some(Some(meta))));
        }
    });
}

/// A successful answer of a route.
pub(crate) struct Answer<T>(pub(crate) T);

impl<T: Serialize + ApiResponse> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        json(StatusCode::OK, &self.0)
    }
}

/// A failed answer: the platform error in the error form of the route's
/// response type `E` (jscode2session keeps its empty string fields, as the
/// TCMPP's page shows; every other route answers `errcode`, `errmsg`, `requestId`).
/// HTTP 200, as the platform sends errors, unless the router itself refused
/// the request (404, 405).
pub(crate) struct Failure<E = StatusResponse> {
    err: OpenServerError,
    status: StatusCode,
    shape: PhantomData<E>,
}

impl<E> Failure<E> {
    /// `10002` with `invalid param: <what>`.
    pub(crate) fn invalid(what: impl std::fmt::Display) -> Self {
        Failure::from(invalid(what))
    }

    /// The same error under another HTTP status.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl<E> From<OpenServerError> for Failure<E> {
    fn from(err: OpenServerError) -> Self {
        Failure {
            err,
            status: StatusCode::OK,
            shape: PhantomData,
        }
    }
}

impl<E: Serialize + ApiResponse> IntoResponse for Failure<E> {
    fn into_response(self) -> Response {
        json(self.status, &E::from_error(&self.err))
    }
}

/// `10002` with `invalid param: <what>`.
pub(crate) fn invalid(what: impl std::fmt::Display) -> OpenServerError {
    OpenServerError::new(ErrCode::InvalidParam).with_message(format!("invalid param: {what}"))
}

/// A JSON answer with the no-store header and the errcode for the log.
fn json<T: Serialize + ApiResponse>(status: StatusCode, body: &T) -> Response {
    // Every answer of the API fits: one allocation, no regrowth.
    let mut bytes = Vec::with_capacity(256);
    let bytes = match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => bytes,
        Err(_) => {
            // Our wire types are plain strings and numbers; this is the
            // belt-and-braces answer should that ever change.
            format!(
            r#"{{"errcode":-1,"errmsg":"system error: the answer could not be encoded","requestId":"{}"}}"#,
            body.request_id()
        )
        .into_bytes()
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    record(ReplyMeta::new(body.errcode(), body.request_id()));
    response
}
