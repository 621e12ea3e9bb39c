//! How the server answers: JSON with `Cache-Control: no-store`, the errcode
//! the log line reads back, and the one error type every route returns.

use std::marker::PhantomData;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::openserver::{ApiResponse, ErrCode, OpenServerError, StatusResponse};

/// What the logging layer reads back from a response.
#[derive(Clone)]
pub(crate) struct ReplyMeta {
    pub(crate) errcode: i64,
    pub(crate) request_id: String,
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
/// seed shows; every other route answers `errcode`, `errmsg`, `requestId`).
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
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        // Our wire types are plain strings and numbers; this is the
        // belt-and-braces answer should that ever change.
        format!(
            r#"{{"errcode":-1,"errmsg":"system error: the answer could not be encoded","requestId":"{}"}}"#,
            body.request_id()
        )
        .into_bytes()
    });
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(ReplyMeta {
        errcode: body.errcode(),
        request_id: body.request_id().to_owned(),
    });
    response
}
