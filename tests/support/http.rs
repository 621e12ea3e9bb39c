//! The platform of [`open_server`](super::open_server) over HTTP: served on
//! `127.0.0.1:0` with a counter of requests per path ([`TestServer`]), or its
//! router called in process for what only the router decides ([`TestRouter`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, response};
use axum::middleware::Next;
use serde_json::Value;
use superapp_openapi::{
    AppInfo, AppSecret, Code, OpenServer, SdkKey, SessionKey,
    http::{HttpConfig, OpenServerClient, RemotePlatform, router, serve},
    openserver::{ManualClock, OpenServerConfig},
    platform::{Principal, UserCodeKind},
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt as _;

use super::{APP_A1, SECRET_A1, open_server_with};

pub const SDK_KEY: &str = "sdk-key-for-tests-0123";

// The developer-server routes.
pub const JSCODE2SESSION: &str = "/openserver/sns/jscode2session";
pub const TOKEN: &str = "/openserver/cgi-bin/token";
pub const CHECKSESSION: &str = "/openserver/wxa/checksession";
pub const GETUSERPHONENUMBER: &str = "/openserver/wxa/business/getuserphonenumber";
pub const GETEMAILADDRESS: &str = "/openserver/wxa/business/getemailaddress";

// The SDK routes.
pub const SDK_LOGIN_CODE: &str = "/openserver/sdk/login_code";
pub const SDK_CHECK_SESSION: &str = "/openserver/sdk/check_session";
pub const SDK_USER_CODE: &str = "/openserver/sdk/user_code";
pub const SDK_PROFILE: &str = "/openserver/sdk/profile";
pub const SDK_AUTH_CODE: &str = "/openserver/sdk/auth_code";

/// The HTTP config of [`TestServer::start`] and [`TestRouter::new`]: the SDK
/// routes open to [`SDK_KEY`].
pub fn http_config() -> HttpConfig {
    HttpConfig::new().sdk_key(SdkKey::new(SDK_KEY))
}

/// Requests seen per path.
#[derive(Clone, Default)]
pub struct Hits(Arc<Mutex<HashMap<String, usize>>>);

impl Hits {
    pub fn get(&self, path: &str) -> usize {
        self.0.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Wraps `router` so that every request is counted by path.
    pub fn count(&self, router: axum::Router) -> axum::Router {
        let hits = self.0.clone();
        router.layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let hits = hits.clone();
                async move {
                    *hits
                        .lock()
                        .unwrap()
                        .entry(req.uri().path().to_owned())
                        .or_default() += 1;
                    next.run(req).await
                }
            },
        ))
    }
}

/// Serves `router` on an OS-chosen loopback port until dropped.
pub struct Served {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Served {
    pub async fn start(router: axum::Router) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, async {
            let _ = stopped.await;
        }));
        Served {
            base,
            stop: Some(stop),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The base URL of a loopback port nothing listens on.
pub async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A server that accepts connections and never answers, until dropped.
pub struct Silent {
    pub base: String,
    holder: tokio::task::JoinHandle<()>,
}

impl Silent {
    pub async fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Silent { base, holder }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.holder.abort();
    }
}

/// One answer: status, headers and the JSON body. Reading one fails the
/// test if the body is not JSON or the content type not `application/json`.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    fn read(status: u16, headers: HeaderMap, body: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(body);
        let json = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(content_type, "application/json", "status {status}: {text}");
        Answer {
            status,
            headers,
            json,
        }
    }

    pub fn errcode(&self) -> i64 {
        self.json["errcode"]
            .as_i64()
            .unwrap_or_else(|| panic!("no errcode in {}", self.json))
    }

    pub fn errmsg(&self) -> &str {
        self.json["errmsg"].as_str().unwrap_or_default()
    }

    pub fn str(&self, field: &str) -> &str {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.json))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// errcode and errmsg, for table assertions.
    pub fn error(&self) -> (i64, String) {
        (self.errcode(), self.errmsg().to_owned())
    }
}

/// Sends `request` and reads its [`Answer`].
pub async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body");
    Answer::read(status, headers, &body)
}

/// `query` with the value of each field named in `replace` replaced.
fn replaced<'a>(
    mut query: Vec<(&'a str, &'a str)>,
    replace: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    for &(name, value) in replace {
        let field = query
            .iter_mut()
            .find(|(field, _)| *field == name)
            .unwrap_or_else(|| panic!("the request has no field {name}"));
        field.1 = value;
    }
    query
}

/// The platform under test, served over HTTP.
pub struct TestServer {
    pub server: OpenServer,
    pub clock: ManualClock,
    pub hits: Hits,
    pub base: String,
    http: reqwest::Client,
    _served: Served,
}

impl TestServer {
    /// The default config, with the SDK routes open to [`SDK_KEY`].
    pub async fn start() -> TestServer {
        TestServer::start_with(OpenServerConfig::default(), http_config()).await
    }

    pub async fn start_with(config: OpenServerConfig, http: HttpConfig) -> TestServer {
        let (server, clock) = open_server_with(config);
        let hits = Hits::default();
        let served = Served::start(hits.count(router(server.clone(), http))).await;
        TestServer {
            server,
            clock,
            hits,
            base: served.base.clone(),
            http: reqwest::Client::new(),
            _served: served,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        answer(self.http.get(self.url(path)).query(query)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        answer(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn post_sdk(&self, path: &str, key: Option<&str>, body: &Value) -> Answer {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        answer(request).await
    }

    /// Any request, for malformed inputs.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        answer(request).await
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// jscode2session as [`APP_A1`] with its secret, for `code`.
    pub async fn jscode2session(&self, code: &Code) -> Answer {
        self.jscode2session_with(code, &[]).await
    }

    /// [`jscode2session`](Self::jscode2session) with the fields named in
    /// `replace` (`appid`, `secret`, `js_code`, `grant_type`) replaced.
    pub async fn jscode2session_with(&self, code: &Code, replace: &[(&str, &str)]) -> Answer {
        let query = vec![
            ("appid", APP_A1),
            ("secret", SECRET_A1),
            ("js_code", code.secret()),
            ("grant_type", "authorization_code"),
        ];
        self.get(JSCODE2SESSION, &replaced(query, replace)).await
    }

    /// A token request as [`APP_A1`] with its secret.
    pub async fn token(&self) -> Answer {
        self.token_with(&[]).await
    }

    /// [`token`](Self::token) with the fields named in `replace` (`appid`,
    /// `secret`, `grant_type`) replaced.
    pub async fn token_with(&self, replace: &[(&str, &str)]) -> Answer {
        let query = vec![
            ("appid", APP_A1),
            ("secret", SECRET_A1),
            ("grant_type", "client_credential"),
        ];
        self.get(TOKEN, &replaced(query, replace)).await
    }

    /// checksession of `openid` with `access_token` and `signature`.
    pub async fn checksession(&self, access_token: &str, openid: &str, signature: &str) -> Answer {
        self.checksession_with(access_token, openid, signature, &[])
            .await
    }

    /// [`checksession`](Self::checksession) with the fields named in
    /// `replace` (`access_token`, `openid`, `signature`, `sig_method`) replaced.
    pub async fn checksession_with(
        &self,
        access_token: &str,
        openid: &str,
        signature: &str,
        replace: &[(&str, &str)],
    ) -> Answer {
        let query = vec![
            ("access_token", access_token),
            ("openid", openid),
            ("signature", signature),
            ("sig_method", "hmac_sha256"),
        ];
        self.get(CHECKSESSION, &replaced(query, replace)).await
    }

    /// A login code for `uid` in [`APP_A1`], as the built-in wx.login gets it.
    pub async fn login_code(&self, uid: &str) -> Code {
        self.server
            .issue_login_code(&AppInfo::new(APP_A1), &Principal::Uid(uid.into()))
            .await
            .unwrap()
    }

    /// A phone or email code for `uid` in [`APP_A1`].
    pub async fn user_code(&self, uid: &str, kind: UserCodeKind) -> Code {
        self.server
            .issue_user_code(&AppInfo::new(APP_A1), &Principal::Uid(uid.into()), kind)
            .await
            .unwrap()
    }

    /// jscode2session over HTTP for a fresh login of `uid`: (openid, session_key).
    pub async fn session(&self, uid: &str) -> (String, SessionKey) {
        let code = self.login_code(uid).await;
        let a = self.jscode2session(&code).await;
        assert_eq!(a.errcode(), 0, "{}", a.json);
        (
            a.str("openid").to_owned(),
            SessionKey::new(a.str("session_key")),
        )
    }

    /// An access token for [`APP_A1`] over HTTP.
    pub async fn access_token(&self) -> String {
        let a = self.token().await;
        assert_eq!(a.errcode(), 0, "{}", a.json);
        a.str("access_token").to_owned()
    }

    /// A developer server of [`APP_A1`].
    pub fn client(&self) -> OpenServerClient {
        OpenServerClient::new(&self.base, APP_A1, AppSecret::new(SECRET_A1))
    }

    /// A host's platform, with [`SDK_KEY`].
    pub fn remote(&self) -> RemotePlatform {
        RemotePlatform::new(&self.base, SdkKey::new(SDK_KEY))
    }
}

/// The router of [`TestServer`], called in process with
/// `tower::ServiceExt::oneshot`: no socket, for what only the router
/// decides (unknown paths, wrong methods, the headers of every answer).
pub struct TestRouter {
    pub server: OpenServer,
    pub clock: ManualClock,
    router: axum::Router,
}

impl TestRouter {
    /// The default config, with the SDK routes open to [`SDK_KEY`].
    pub fn new() -> TestRouter {
        let (server, clock) = open_server_with(OpenServerConfig::default());
        let router = router(server.clone(), http_config());
        TestRouter {
            server,
            clock,
            router,
        }
    }

    /// The response to `request`, body and all.
    pub async fn call(&self, request: Request) -> axum::response::Response {
        let Ok(response) = self.router.clone().oneshot(request).await;
        response
    }

    /// Any request, for what a helper below does not build.
    pub async fn send(&self, request: Request) -> Answer {
        let (parts, body) = self.call(request).await.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a body");
        Answer::read(parts.status.as_u16(), parts.headers, &body)
    }

    /// A request with no body.
    pub async fn request(&self, method: Method, path: &str, query: &[(&str, &str)]) -> Answer {
        self.send(bodiless(method, path, query)).await
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        self.request(Method::GET, path, query).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_sdk(path, None, body).await
    }

    pub async fn post_sdk(&self, path: &str, key: Option<&str>, body: &Value) -> Answer {
        let mut request = Request::post(path).header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// A HEAD request: its status and headers (a HEAD answer has no body).
    pub async fn head(&self, path: &str, query: &[(&str, &str)]) -> response::Parts {
        let (parts, _) = self
            .call(bodiless(Method::HEAD, path, query))
            .await
            .into_parts();
        parts
    }
}

/// A request to `path` (which may carry a query string of its own) with
/// `query` appended, and no body.
fn bodiless(method: Method, path: &str, query: &[(&str, &str)]) -> Request {
    let mut url = reqwest::Url::parse(&format!("http://router.test{path}")).unwrap();
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let uri = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}
