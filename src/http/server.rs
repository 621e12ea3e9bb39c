//! The axum server: the seed's developer-server routes and the SDK routes
//! over an [`OpenServer`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, QueryRejection};
use axum::extract::{Query, Request, State};
use axum::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use tracing::Instrument;

use super::params::{Params, invalid};
use super::paths;
use super::sdk;
pub(crate) use crate::digest::sha256;
use crate::openserver::{
    ApiResponse, CheckSessionRequest, Jscode2SessionRequest, Jscode2SessionResponse, OpenServer,
    OpenServerError, StatusResponse, TokenRequest, TokenResponse, UserCodeRequest,
};
use crate::secret::{AccessToken, AppSecret, Code, SdkKey};

/// The default request-body limit: 64 KiB, far above any request of the API.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How the HTTP server is set up: the SDK keys hosts present on the SDK
/// routes, and the request-body limit.
///
/// ```
/// use superapp_openapi::{SdkKey, http::HttpConfig};
/// let config = HttpConfig::new()
///     .sdk_key(SdkKey::new("key-of-host-a"))
///     .sdk_key(SdkKey::new("key-of-host-b"))
///     .body_limit(16 * 1024);
/// assert!(!format!("{config:?}").contains("host-a"));
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    sdk_keys: Vec<SdkKey>,
    body_limit: usize,
}

impl HttpConfig {
    /// No SDK key (the SDK routes answer `40001` to everyone) and a 64 KiB
    /// body limit.
    pub fn new() -> Self {
        HttpConfig {
            sdk_keys: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Adds a key a host may present as `Authorization: Bearer <key>` on the
    /// SDK routes. Call it once per host; an empty key never matches.
    pub fn sdk_key(mut self, key: SdkKey) -> Self {
        self.sdk_keys.push(key);
        self
    }

    /// The largest request body accepted, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]); a larger one is answered with `10002`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new()
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("sdk_keys", &self.sdk_keys.len())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// What every handler shares.
pub(crate) struct ServerState {
    pub(crate) server: OpenServer,
    /// SHA-256 of each SDK key, so that comparing takes the same time
    /// whatever the length of what a caller presents.
    sdk_key_digests: Vec<[u8; 32]>,
    body_limit: usize,
}

impl ServerState {
    pub(crate) fn sdk_key_digests(&self) -> &[[u8; 32]] {
        &self.sdk_key_digests
    }

    /// The body bytes, or `10002` when the body is over the limit or unreadable.
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
            Err(_) => Err(invalid("the request body could not be read")),
        }
    }
}

pub(crate) type Shared = State<Arc<ServerState>>;
type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The platform's HTTP API over `server`: the five developer-server routes
/// of the seed and the four SDK routes of `docs/http.md`.
///
/// Every answer is JSON with `errcode`, `errmsg` and `requestId` and
/// `Cache-Control: no-store`. Errors are HTTP 200 as the platform sends
/// them, except an unknown path (404) and a wrong method (405, with
/// `Allow`), whose bodies are JSON `10002` all the same. Each request is
/// logged at `info` with its method, path, status, errcode and latency —
/// never its query string or body.
///
/// ```
/// use superapp_openapi::{OpenServer, SdkKey, http::{HttpConfig, router}};
/// let server = OpenServer::new();
/// let app: axum::Router = router(server, HttpConfig::new().sdk_key(SdkKey::new("k")));
/// # let _ = app;
/// ```
pub fn router(server: OpenServer, config: HttpConfig) -> Router {
    let state = Arc::new(ServerState {
        server,
        sdk_key_digests: config
            .sdk_keys
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| sha256(k.secret().as_bytes()))
            .collect(),
        body_limit: config.body_limit,
    });
    Router::new()
        .route(paths::JSCODE2SESSION, get(jscode2session))
        .route(paths::TOKEN, get(token))
        .route(paths::CHECKSESSION, get(checksession))
        .route(paths::GET_USER_PHONE_NUMBER, post(getuserphonenumber))
        .route(paths::GET_EMAIL_ADDRESS, post(getemailaddress))
        .route(paths::SDK_LOGIN_CODE, post(sdk::login_code))
        .route(paths::SDK_CHECK_SESSION, post(sdk::check_session))
        .route(paths::SDK_USER_CODE, post(sdk::user_code))
        .route(paths::SDK_PROFILE, post(sdk::profile))
        .route(paths::SDK_AUTH_CODE, post(sdk::auth_code))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
///
/// # Errors
///
/// What the listener reports when accepting fails for good.
///
/// ```
/// use superapp_openapi::{OpenServer, http::{HttpConfig, router, serve}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let task = tokio::spawn(serve(listener, router(OpenServer::new(), HttpConfig::new()), async {
///     let _ = stopped.await;
/// }));
/// println!("listening on http://{addr}");
/// let _ = stop.send(());
/// task.await.expect("server task")?;
/// # Ok(()) }
/// ```
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// What the logging layer reads back from a response.
#[derive(Clone)]
pub(crate) struct ReplyMeta {
    errcode: i64,
    request_id: String,
}

/// A JSON answer with the no-store header and the errcode for the log.
pub(crate) fn reply(
    status: StatusCode,
    body: &impl Serialize,
    errcode: i64,
    request_id: &str,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        // Our wire types are plain strings and numbers; this is the
        // belt-and-braces answer should that ever change.
        format!(
            r#"{{"errcode":-1,"errmsg":"system error: the answer could not be encoded","requestId":"{request_id}"}}"#
        )
        .into_bytes()
    });
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(ReplyMeta {
        errcode,
        request_id: request_id.to_owned(),
    });
    response
}

fn api_reply<T: Serialize + ApiResponse>(body: &T) -> Response {
    reply(StatusCode::OK, body, body.errcode(), body.request_id())
}

pub(crate) use crate::openserver::request_id;

fn query_params(query: QueryPairs) -> Result<Params, OpenServerError> {
    query
        .map(|Query(pairs)| Params::from_query(pairs))
        .map_err(|_| invalid("the query string is malformed"))
}

async fn jscode2session(State(state): Shared, query: QueryPairs) -> Response {
    let request = query_params(query).and_then(|p| {
        Ok(Jscode2SessionRequest {
            appid: p.string("appid")?,
            secret: p.string("secret")?.map(AppSecret::new),
            js_code: p.string("js_code")?.map(Code::new),
            grant_type: p.string("grant_type")?,
        })
    });
    let response = match request {
        Ok(request) => state.server.jscode2session(&request).await,
        // The seed keeps the empty string fields on errors.
        Err(err) => Jscode2SessionResponse::from_error(&err),
    };
    api_reply(&response)
}

async fn token(State(state): Shared, query: QueryPairs) -> Response {
    let request = query_params(query).and_then(|p| {
        Ok(TokenRequest {
            appid: p.string("appid")?,
            secret: p.string("secret")?.map(AppSecret::new),
            grant_type: p.string("grant_type")?,
        })
    });
    let response = match request {
        Ok(request) => state.server.token(&request).await,
        Err(err) => TokenResponse::from_error(&err),
    };
    api_reply(&response)
}

async fn checksession(State(state): Shared, query: QueryPairs) -> Response {
    let request = query_params(query).and_then(|p| {
        Ok(CheckSessionRequest {
            access_token: p.string("access_token")?.map(AccessToken::new),
            openid: p.string("openid")?,
            signature: p.string("signature")?,
            sig_method: p.string("sig_method")?,
        })
    });
    let response = match request {
        Ok(request) => state.server.checksession(&request).await,
        Err(err) => StatusResponse::from_error(&err),
    };
    api_reply(&response)
}

/// The body of getuserphonenumber / getemailaddress; `access_token` from
/// the body, else from the query string.
fn user_code_request(
    state: &ServerState,
    query: QueryPairs,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<UserCodeRequest, OpenServerError> {
    let body = state.body(body)?;
    let params = Params::from_json_body(headers, &body)?;
    let access_token = match params.string("access_token")? {
        Some(token) if !token.is_empty() => Some(token),
        _ => query_params(query)?.string("access_token")?,
    };
    Ok(UserCodeRequest {
        access_token: access_token.map(AccessToken::new),
        openid: params.string("openid")?,
        code: params.string("code")?.map(Code::new),
    })
}

async fn getuserphonenumber(
    State(state): Shared,
    query: QueryPairs,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match user_code_request(&state, query, &headers, body) {
        Ok(request) => api_reply(&state.server.getuserphonenumber(&request).await),
        Err(err) => api_reply(&StatusResponse::from_error(&err)),
    }
}

async fn getemailaddress(
    State(state): Shared,
    query: QueryPairs,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match user_code_request(&state, query, &headers, body) {
        Ok(request) => api_reply(&state.server.getemailaddress(&request).await),
        Err(err) => api_reply(&StatusResponse::from_error(&err)),
    }
}

/// The method each route takes, for 405 answers.
fn allowed_method(path: &str) -> Option<&'static str> {
    match path {
        paths::JSCODE2SESSION | paths::TOKEN | paths::CHECKSESSION => Some("GET"),
        paths::GET_USER_PHONE_NUMBER
        | paths::GET_EMAIL_ADDRESS
        | paths::SDK_LOGIN_CODE
        | paths::SDK_CHECK_SESSION
        | paths::SDK_USER_CODE
        | paths::SDK_PROFILE => Some("POST"),
        _ => None,
    }
}

/// A path for a message or a log line: not more than 100 characters.
fn shown_path(path: &str) -> String {
    let mut shown: String = path.chars().take(100).collect();
    if shown.len() < path.len() {
        shown.push('…');
    }
    shown
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let allowed = allowed_method(path).unwrap_or("GET");
    let err = invalid(format_args!(
        "method {method} is not allowed on {}; use {allowed}",
        shown_path(path)
    ));
    let body = StatusResponse::from_error(&err);
    let mut response = reply(
        StatusCode::METHOD_NOT_ALLOWED,
        &body,
        body.errcode,
        &body.request_id,
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let err = invalid(format_args!(
        "no such route: {method} {}; the routes are listed in docs/http.md",
        shown_path(uri.path())
    ));
    let body = StatusResponse::from_error(&err);
    reply(StatusCode::NOT_FOUND, &body, body.errcode, &body.request_id)
}

/// One `info` event per request, in a span naming the method and path:
/// status, errcode, requestId and latency — never the query string or the
/// body, which carry secrets.
async fn log_request(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "openserver.http",
        http.method = %request.method(),
        http.path = %shown_path(request.uri().path()),
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let meta = response.extensions().get::<ReplyMeta>();
    span.in_scope(|| {
        tracing::info!(
            http.status = response.status().as_u16(),
            errcode = meta.map(|m| m.errcode),
            request_id = meta.map(|m| m.request_id.as_str()),
            latency_ms,
            "request answered"
        );
    });
    response
}
