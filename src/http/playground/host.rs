//! The playground's demo host: the signed-in user is the one the page
//! chose, its version hook answers what the page chose, and its v3
//! `get_auth_code` asks the super-app side of the binary's own platform for
//! an authCode, recording each message.

use async_trait::async_trait;
use serde_json::json;

use super::record::{Message, Party, Recorder};
use crate::app::AppInfo;
use crate::handler::{
    AuthCodeRequest, AuthGrant, HandlerResult, HostError, JsonObject, OpenApiHandler,
};
use crate::http::wire::paths;
use crate::openserver::OpenServer;
use crate::version::ApiVersion;

/// A host whose user and version hook are the page's choices.
#[derive(Debug)]
pub(crate) struct DemoHost {
    pub(crate) server: OpenServer,
    pub(crate) recorder: Recorder,
    pub(crate) user: String,
    pub(crate) hook: Option<ApiVersion>,
}

#[async_trait]
impl OpenApiHandler for DemoHost {
    /// Every scope asked is granted: the demo user consents to everything
    /// (the consent prompt is the dispatcher's, once it has one).
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let scopes: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
        self.recorder.push(Message::request(
            Party::Host,
            Party::SuperappServer,
            "getAuthCode",
            json!({ "appid": app.app_id(), "scopes": scopes }),
        ));
        self.recorder.push(Message::request(
            Party::SuperappServer,
            Party::Platform,
            paths::SDK_AUTH_CODE,
            json!({ "appid": app.app_id(), "user_id": self.user, "scopes": scopes }),
        ));
        let issued = self
            .server
            .issue_auth_code(app.app_id(), &self.user, request.scopes.iter().copied())
            .await;
        let outcome = match &issued {
            Ok(code) => Ok(json!({ "authCode": code.secret() })),
            Err(err) => Err(format!("{} {}", err.errcode(), err.errmsg())),
        };
        self.recorder.push(Message::answer(
            Party::Platform,
            Party::SuperappServer,
            paths::SDK_AUTH_CODE,
            outcome.clone(),
        ));
        let grant = issued
            .map(|code| AuthGrant::from_auth_code(code).granted(request.scopes.iter().copied()));
        let outcome = outcome.map(|mut body| {
            body["authSuccessScopes"] = json!(scopes);
            body
        });
        self.recorder.push(Message::answer(
            Party::SuperappServer,
            Party::Host,
            "getAuthCode",
            outcome,
        ));
        grant.map_err(|err| HostError::failed(err.errmsg()))
    }

    /// The host answers getUserInfo in every version, from the directory.
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        let user = self
            .server
            .memory_directory()
            .and_then(|directory| directory.get(&self.user))
            .ok_or_else(|| HostError::failed("no such user in the directory"))?;
        let mut answer = JsonObject::new();
        answer.insert(
            "userInfo".to_owned(),
            json!({ "nickName": user.nickname, "avatarUrl": user.avatar_url }),
        );
        Ok(answer)
    }

    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        self.hook
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(self.user.clone())
    }
}
