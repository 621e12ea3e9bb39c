//! The one host of the tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::{
    ApiVersion, AppInfo, AuthCodeRequest, AuthGrant, HandlerResult, HostError, JsonObject,
    OpenApiHandler, OpenServer, Scope,
};

use super::object;

/// What a [`TestHost`] method does when called.
#[derive(Clone)]
pub enum Behavior {
    Answer(JsonObject),
    Fail(HostError),
    Panic,
    Hang,
}

#[derive(Default)]
struct HostState {
    calls: Vec<String>,
    behaviors: HashMap<&'static str, Behavior>,
    version: Option<ApiVersion>,
    uid: Option<String>,
    grant: Option<Result<AuthGrant, HostError>>,
    server: Option<OpenServer>,
    consent: Option<Vec<Scope>>,
    auth_requests: Vec<AuthCodeRequest>,
    issued_auth_codes: Vec<String>,
}

/// A host that records every method called, in order, and answers:
///
/// - the open APIs with `{"answeredBy":"host","method":<name>,"params":<params>}`,
///   unless told otherwise with [`on`](TestHost::on);
/// - `open_api_version` and `app_uid` with [`with_version`](TestHost::with_version)
///   and [`with_uid`](TestHost::with_uid) (none by default);
/// - `get_auth_code` with the grant of [`with_grant`](TestHost::with_grant), else,
///   as a super-app server does, with an authCode that the OpenServer of
///   [`with_server`](TestHost::with_server) issues for its user and the scopes
///   the user consents to ([`with_consent`](TestHost::with_consent); every
///   scope asked by default), else `NotImplemented`.
#[derive(Clone, Default)]
pub struct TestHost {
    state: Arc<Mutex<HostState>>,
}

impl TestHost {
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

    /// The super-app server that issues the user's authCodes.
    pub fn with_server(self, server: OpenServer) -> Self {
        self.state.lock().unwrap().server = Some(server);
        self
    }

    /// The only scopes the user grants; the others are refused with
    /// "the user said no".
    pub fn with_consent(self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.state.lock().unwrap().consent = Some(scopes.into_iter().collect());
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

    /// The authCodes the server of `with_server` issued, as their secrets.
    pub fn issued_auth_codes(&self) -> Vec<String> {
        self.state.lock().unwrap().issued_auth_codes.clone()
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

    /// An authCode from the super-app server for the scopes the user consents to.
    async fn grant_from_server(
        &self,
        server: &OpenServer,
        app: &AppInfo,
        scopes: Vec<Scope>,
    ) -> Result<AuthGrant, HostError> {
        let (uid, consent) = {
            let state = self.state.lock().unwrap();
            let uid = state.uid.clone().expect("with_server needs with_uid");
            (uid, state.consent.clone())
        };
        let (granted, refused): (Vec<Scope>, Vec<Scope>) = match consent {
            None => (scopes, Vec::new()),
            Some(consent) => scopes.into_iter().partition(|s| consent.contains(s)),
        };
        let code = server
            .issue_auth_code(app.app_id(), &uid, granted.clone())
            .await
            .map_err(|e| HostError::failed(e.to_string()))?;
        self.state
            .lock()
            .unwrap()
            .issued_auth_codes
            .push(code.secret().to_owned());
        let mut grant = AuthGrant::from_auth_code(code).granted(granted);
        for scope in refused {
            grant = grant.refused(scope, "the user said no");
        }
        Ok(grant)
    }
}

#[async_trait]
impl OpenApiHandler for TestHost {
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
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let (grant, server) = {
            let mut state = self.state.lock().unwrap();
            state.calls.push("get_auth_code".into());
            state.auth_requests.push(request.clone());
            (state.grant.clone(), state.server.clone())
        };
        match (grant, server) {
            (Some(grant), _) => grant,
            (None, Some(server)) => self.grant_from_server(&server, app, request.scopes).await,
            (None, None) => Err(HostError::NotImplemented),
        }
    }

    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        self.state.lock().unwrap().version
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        self.state.lock().unwrap().uid.clone()
    }
}
