//! Fixtures for the HTTP tests: an `OpenServer` on a `ManualClock` served on
//! `127.0.0.1:0`, with a counter of requests per path, and a raw client.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::Request;
use axum::middleware::Next;
use serde_json::Value;
use superapp_openapi::{
    AppInfo, AppSecret, AuthCodeRequest, AuthGrant, Code, HostError, OpenApiHandler, OpenServer,
    SdkKey, SessionKey,
    http::{HttpConfig, OpenServerClient, RemotePlatform, router, serve},
    openserver::{AppRegistration, ManualClock, OpenServerConfig, SuperappUser},
    platform::{Principal, UserCodeKind},
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const APP: &str = "wx-app";
pub const SECRET: &str = "app-secret-1";
pub const TEAM: &str = "team-a";
pub const OTHER_APP: &str = "wx-other";
pub const OTHER_SECRET: &str = "other-secret-2";
pub const SDK_KEY: &str = "sdk-key-for-tests-0123";

/// Has a phone number, an email, a nickname and an avatar.
pub const ADA: &str = "u-ada";
pub const ADA_PHONE: &str = "+8613800000001";
pub const ADA_EMAIL: &str = "ada@example.com";
/// Has neither phone nor email.
pub const BOB: &str = "u-bob";
/// Inactive.
pub const GONE: &str = "u-gone";

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

/// The platform under test, served over HTTP.
pub struct TestServer {
    pub server: OpenServer,
    pub clock: ManualClock,
    pub hits: Hits,
    pub base: String,
    http: reqwest::Client,
    _served: Served,
}

/// One answer: status, headers and the JSON body (the test fails if the
/// body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Answer {
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

pub fn populated_server(config: OpenServerConfig, clock: ManualClock) -> OpenServer {
    let server = OpenServer::builder()
        .config(config)
        .clock(clock)
        .id_secret("tests")
        .build();
    server
        .register_app(AppRegistration::new(APP, AppSecret::new(SECRET), TEAM))
        .unwrap();
    server
        .register_app(AppRegistration::new(
            OTHER_APP,
            AppSecret::new(OTHER_SECRET),
            TEAM,
        ))
        .unwrap();
    server
        .add_user(
            SuperappUser::new(ADA)
                .with_phone_number(ADA_PHONE)
                .with_email(ADA_EMAIL)
                .with_nickname("Ada")
                .with_avatar_url("https://example.com/ada.png"),
        )
        .unwrap();
    server
        .add_user(SuperappUser::new(BOB).with_nickname("Bob"))
        .unwrap();
    server.add_user(SuperappUser::new(GONE).inactive()).unwrap();
    server
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(
            OpenServerConfig::default(),
            HttpConfig::new().sdk_key(SdkKey::new(SDK_KEY)),
        )
        .await
    }

    pub async fn start_with(config: OpenServerConfig, http: HttpConfig) -> TestServer {
        let clock = ManualClock::new();
        let server = populated_server(config, clock.clone());
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

    /// A login code for `uid` in APP, as the built-in wx.login gets it.
    pub async fn login_code(&self, uid: &str) -> Code {
        self.server
            .issue_login_code(&AppInfo::new(APP), &Principal::Uid(uid.into()))
            .await
            .unwrap()
    }

    /// A phone or email code for `uid` in APP.
    pub async fn user_code(&self, uid: &str, kind: UserCodeKind) -> Code {
        self.server
            .issue_user_code(&AppInfo::new(APP), &Principal::Uid(uid.into()), kind)
            .await
            .unwrap()
    }

    /// jscode2session over HTTP for a fresh login of `uid`: (openid, session_key).
    pub async fn session(&self, uid: &str) -> (String, String) {
        let code = self.login_code(uid).await;
        let a = self
            .get(
                "/openserver/sns/jscode2session",
                &[
                    ("appid", APP),
                    ("secret", SECRET),
                    ("js_code", code.secret()),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await;
        assert_eq!(a.errcode(), 0, "{}", a.json);
        (a.str("openid").to_owned(), a.str("session_key").to_owned())
    }

    /// An access token for APP over HTTP.
    pub async fn token(&self) -> String {
        let a = self
            .get(
                "/openserver/cgi-bin/token",
                &[
                    ("appid", APP),
                    ("secret", SECRET),
                    ("grant_type", "client_credential"),
                ],
            )
            .await;
        assert_eq!(a.errcode(), 0, "{}", a.json);
        a.str("access_token").to_owned()
    }

    pub fn client(&self) -> OpenServerClient {
        OpenServerClient::new(&self.base, APP, AppSecret::new(SECRET))
    }

    pub fn remote(&self) -> RemotePlatform {
        RemotePlatform::new(&self.base, SdkKey::new(SDK_KEY))
    }
}

pub async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text)
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

/// hex(hmac_sha256(key = session_key, message = "")).
pub fn signature(session_key: &str) -> String {
    OpenServerClient::signature(&SessionKey::new(session_key))
}

/// A host whose user is `uid` (v2) and whose `get_auth_code` asks the
/// platform's directory for an authCode with the requested scopes (v3).
pub struct TestHost {
    pub uid: String,
    pub server: OpenServer,
}

#[async_trait]
impl OpenApiHandler for TestHost {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(self.uid.clone())
    }

    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let code = self
            .server
            .issue_auth_code(app.app_id(), &self.uid, request.scopes.clone())
            .map_err(|e| HostError::failed(e.to_string()))?;
        Ok(AuthGrant::from_auth_code(code).granted(request.scopes))
    }
}
