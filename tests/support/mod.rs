//! Shared fixtures: a host handler that records what it is asked, a platform
//! that records what the built-ins ask it, and a populated OpenServer.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, AuthCodeRequest, AuthGrant, Code, HandlerResult, HostError,
    JsonObject, OpenApiHandler, OpenServer, SessionKey,
    openserver::{AppRegistration, ManualClock, OpenServerConfig, SuperappUser},
    platform::{Platform, PlatformError, Principal, UserCodeKind},
};

/// What a [`RecordingHandler`] method does when called.
#[derive(Clone)]
pub enum Behavior {
    Answer(JsonObject),
    Fail(HostError),
    Panic,
    Hang,
}

#[derive(Default)]
struct HandlerState {
    calls: Vec<String>,
    behaviors: HashMap<&'static str, Behavior>,
    version: Option<ApiVersion>,
    uid: Option<String>,
    grant: Option<Result<AuthGrant, HostError>>,
    auth_requests: Vec<AuthCodeRequest>,
}

/// A host whose every method records its name and answers
/// `{"answeredBy":"host","method":<name>}` unless told otherwise.
#[derive(Clone, Default)]
pub struct RecordingHandler {
    state: Arc<Mutex<HandlerState>>,
}

impl RecordingHandler {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_version(self, version: ApiVersion) -> Self {
        self.state.lock().unwrap().version = Some(version);
        self
    }

    pub fn with_uid(self, uid: &str) -> Self {
        self.state.lock().unwrap().uid = Some(uid.to_owned());
        self
    }

    pub fn with_grant(self, grant: Result<AuthGrant, HostError>) -> Self {
        self.state.lock().unwrap().grant = Some(grant);
        self
    }

    pub fn on(self, method: &'static str, behavior: Behavior) -> Self {
        self.state
            .lock()
            .unwrap()
            .behaviors
            .insert(method, behavior);
        self
    }

    /// The methods called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn auth_requests(&self) -> Vec<AuthCodeRequest> {
        self.state.lock().unwrap().auth_requests.clone()
    }

    async fn answer(&self, method: &'static str, params: JsonObject) -> HandlerResult {
        let behavior = {
            let mut state = self.state.lock().unwrap();
            state.calls.push(method.to_owned());
            state.behaviors.get(method).cloned()
        };
        match behavior {
            None => {
                let mut result = object(json!({"answeredBy": "host", "method": method}));
                result.insert("params".into(), Value::Object(params));
                Ok(result)
            }
            Some(Behavior::Answer(result)) => Ok(result),
            Some(Behavior::Fail(err)) => Err(err),
            Some(Behavior::Panic) => panic!("test handler panics in {method}"),
            Some(Behavior::Hang) => std::future::pending().await,
        }
    }
}

#[async_trait]
impl OpenApiHandler for RecordingHandler {
    async fn login(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("login", params).await
    }

    async fn check_session(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("check_session", params).await
    }

    async fn get_phone_number(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("get_phone_number", params).await
    }

    async fn get_email(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("get_email", params).await
    }

    async fn choose_avatar(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("choose_avatar", params).await
    }

    async fn get_nick_name(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("get_nick_name", params).await
    }

    async fn get_user_info(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("get_user_info", params).await
    }

    async fn get_user_profile(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("get_user_profile", params).await
    }

    async fn request_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("request_payment", params).await
    }

    async fn request_midas_payment_game_item(
        &self,
        _app: &AppInfo,
        params: JsonObject,
    ) -> HandlerResult {
        self.answer("request_midas_payment_game_item", params).await
    }

    async fn request_virtual_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        self.answer("request_virtual_payment", params).await
    }

    async fn get_auth_code(
        &self,
        _app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push("get_auth_code".into());
        state.auth_requests.push(request);
        state
            .grant
            .clone()
            .unwrap_or(Err(HostError::NotImplemented))
    }

    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        self.state.lock().unwrap().version
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        self.state.lock().unwrap().uid.clone()
    }
}

/// A platform that records each request as `"<op> <principal>"` and answers
/// with values derived from the principal.
#[derive(Clone, Default)]
pub struct RecordingPlatform {
    calls: Arc<Mutex<Vec<String>>>,
    session_valid: Arc<Mutex<bool>>,
    failure: Arc<Mutex<Option<PlatformError>>>,
}

impl RecordingPlatform {
    pub fn new() -> Self {
        let p = Self::default();
        *p.session_valid.lock().unwrap() = true;
        p
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub fn set_session_valid(&self, valid: bool) {
        *self.session_valid.lock().unwrap() = valid;
    }

    pub fn fail_with(&self, err: PlatformError) {
        *self.failure.lock().unwrap() = Some(err);
    }

    fn record(&self, op: &str, principal: &Principal) -> Result<String, PlatformError> {
        let who = match principal {
            Principal::Uid(uid) => format!("uid:{uid}"),
            Principal::AuthCode(code) => format!("authcode:{}", code.secret()),
            other => format!("{other:?}"),
        };
        self.calls.lock().unwrap().push(format!("{op} {who}"));
        match self.failure.lock().unwrap().clone() {
            Some(err) => Err(err),
            None => Ok(who),
        }
    }
}

#[async_trait]
impl Platform for RecordingPlatform {
    async fn issue_login_code(&self, _app: &AppInfo, p: &Principal) -> Result<Code, PlatformError> {
        self.record("login_code", p)
            .map(|who| Code::new(format!("login-code-for-{who}")))
    }

    async fn check_session(&self, _app: &AppInfo, p: &Principal) -> Result<bool, PlatformError> {
        self.record("check_session", p)?;
        Ok(*self.session_valid.lock().unwrap())
    }

    async fn issue_user_code(
        &self,
        _app: &AppInfo,
        p: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let op = match kind {
            UserCodeKind::PhoneNumber => "phone_code",
            UserCodeKind::Email => "email_code",
        };
        self.record(op, p)
            .map(|who| Code::new(format!("{op}-for-{who}")))
    }

    async fn avatar_url(&self, _app: &AppInfo, p: &Principal) -> Result<String, PlatformError> {
        self.record("avatar", p)
            .map(|who| format!("https://avatars.test/{who}.png"))
    }

    async fn nickname(&self, _app: &AppInfo, p: &Principal) -> Result<String, PlatformError> {
        self.record("nickname", p).map(|who| format!("nick-{who}"))
    }
}

pub fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub const TEAM_A: &str = "team-a";
pub const TEAM_B: &str = "team-b";
pub const APP_A1: &str = "wx-a1";
pub const APP_A2: &str = "wx-a2";
pub const APP_B1: &str = "wx-b1";
pub const PHONE: &str = "+8613800138000";
pub const EMAIL: &str = "ada@example.com";

pub fn secret_of(app_id: &str) -> AppSecret {
    AppSecret::new(format!("secret-of-{app_id}"))
}

/// An OpenServer on a manual clock with three apps (two in team A, one in
/// team B) and users `u-1` (full profile), `u-2` (inactive), `u-3` (no phone,
/// no email).
pub fn open_server_with(config: OpenServerConfig) -> (OpenServer, ManualClock) {
    let clock = ManualClock::new();
    let server = OpenServer::builder()
        .clock(clock.clone())
        .config(config)
        .build();
    for (app, team) in [(APP_A1, TEAM_A), (APP_A2, TEAM_A), (APP_B1, TEAM_B)] {
        server
            .register_app(AppRegistration::new(app, secret_of(app), team))
            .unwrap();
    }
    server
        .add_user(
            SuperappUser::new("u-1")
                .with_phone_number(PHONE)
                .with_email(EMAIL)
                .with_nickname("Ada")
                .with_avatar_url("https://avatars.test/ada.png"),
        )
        .unwrap();
    server
        .add_user(
            SuperappUser::new("u-2")
                .with_phone_number("+8613900000000")
                .inactive(),
        )
        .unwrap();
    server
        .add_user(SuperappUser::new("u-3").with_nickname("Bo"))
        .unwrap();
    (server, clock)
}

pub fn open_server() -> (OpenServer, ManualClock) {
    open_server_with(OpenServerConfig::default())
}

/// What a developer server computes for checksession:
/// hex(hmac_sha256(key = session_key, message = "")).
pub fn session_signature(session_key: &SessionKey) -> String {
    use hmac::{Hmac, Mac};
    let mac = Hmac::<sha2::Sha256>::new_from_slice(session_key.secret().as_bytes()).unwrap();
    hex::encode(mac.finalize().into_bytes())
}

/// The answer the wire carries for an embedded developer-server call: the
/// success, or the error in the response's error form, so a test asserts
/// on `errcode` and `errmsg` as a developer server reads them.
pub trait Wire<T> {
    fn wire(self) -> T;
}

impl<T: superapp_openapi::openserver::ApiResponse> Wire<T>
    for Result<T, superapp_openapi::openserver::OpenServerError>
{
    fn wire(self) -> T {
        T::from_result(self)
    }
}
