//! The platform and its directory, recording: the embedded
//! [`OpenServer`] as the demo host's [`Platform`], and the super-app server
//! the platform asks, each request and answer drawn during a playground
//! call.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::record::{Party, Recorder, exchange};
use crate::app::AppInfo;
use crate::http::wire::paths;
use crate::openserver::{
    OpenServer, OpenServerError, RedeemedGrant, SuperappDirectory, SuperappUser,
};
use crate::platform::{OpenData, Platform, PlatformError, Principal, SealedData, UserCodeKind};
use crate::secret::{AuthCode, Code};
use crate::superapp::{B2B2C_PATH, UserEndpoint};

/// The embedded platform, recording each call the built-in flows make
/// (labelled with the SDK route a remote host would use for it).
#[derive(Debug, Clone)]
pub(crate) struct RecordingPlatform {
    pub(crate) inner: OpenServer,
    pub(crate) recorder: Recorder,
}

/// The request body a built-in flow's call stands for.
fn principal_body(app: &AppInfo, principal: &Principal) -> Value {
    match principal {
        Principal::Uid(uid) => json!({ "appid": app.app_id(), "uid": uid }),
        Principal::AuthCode(code) => json!({ "appid": app.app_id(), "authCode": code.secret() }),
    }
}

impl RecordingPlatform {
    /// Records the request, makes the call, records its answer.
    async fn recorded<T>(
        &self,
        route: &str,
        request: Value,
        call: impl Future<Output = Result<T, PlatformError>>,
        shown: impl FnOnce(&T) -> Value,
    ) -> Result<T, PlatformError> {
        let between = (Party::Host, Party::Platform);
        exchange(
            &self.recorder,
            between,
            route,
            request,
            call,
            shown,
            short_error,
        )
        .await
    }
}

/// A failure as a diagram label: the errcode and the message's first
/// clause (`46006 no session`), else the whole error.
fn short_error(err: &PlatformError) -> String {
    match err {
        PlatformError::Api(api) => short_api_error(api),
        other => other.to_string(),
    }
}

fn short_api_error(err: &OpenServerError) -> String {
    let message = err.errmsg();
    let clause = message.split(':').next().unwrap_or(message);
    format!("{} {}", err.errcode(), clause)
}

/// The code as the answer shows it.
fn code_body(code: &Code) -> Value {
    json!({ "code": code.secret() })
}

#[async_trait]
impl Platform for RecordingPlatform {
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        let call = Platform::issue_login_code(&self.inner, app, principal);
        self.recorded(
            paths::SDK_LOGIN_CODE,
            principal_body(app, principal),
            call,
            code_body,
        )
        .await
    }

    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        let call = Platform::check_session(&self.inner, app, principal);
        self.recorded(
            paths::SDK_CHECK_SESSION,
            principal_body(app, principal),
            call,
            |valid| json!({ "valid": valid }),
        )
        .await
    }

    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let mut request = principal_body(app, principal);
        request["kind"] = json!(match kind {
            UserCodeKind::PhoneNumber => "phone_number",
            UserCodeKind::Email => "email",
        });
        let call = Platform::issue_user_code(&self.inner, app, principal, kind);
        self.recorded(paths::SDK_USER_CODE, request, call, code_body)
            .await
    }

    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let mut request = principal_body(app, principal);
        request["field"] = json!("avatar");
        let call = Platform::avatar_url(&self.inner, app, principal);
        self.recorded(
            paths::SDK_PROFILE,
            request,
            call,
            |url| json!({ "avatarUrl": url }),
        )
        .await
    }

    async fn nickname(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let mut request = principal_body(app, principal);
        request["field"] = json!("nickname");
        let call = Platform::nickname(&self.inner, app, principal);
        self.recorded(
            paths::SDK_PROFILE,
            request,
            call,
            |name| json!({ "nickName": name }),
        )
        .await
    }

    async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &Map<String, Value>,
    ) -> Result<OpenData, PlatformError> {
        let mut request = principal_body(app, principal);
        request["userInfo"] = Value::Object(user_info.clone());
        let call = Platform::seal_user_info(&self.inner, app, principal, user_info);
        self.recorded(paths::SDK_OPEN_DATA, request, call, |sealed| {
            json!({ "rawData": sealed.raw_data, "signature": sealed.signature,
                    "encryptedData": sealed.encrypted_data, "iv": sealed.iv })
        })
        .await
    }

    async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, PlatformError> {
        let mut request = principal_body(app, principal);
        request["data"] = json!("phone_number");
        let call = Platform::seal_phone_number(&self.inner, app, principal);
        self.recorded(
            paths::SDK_OPEN_DATA,
            request,
            call,
            |sealed| json!({ "encryptedData": sealed.encrypted_data, "iv": sealed.iv }),
        )
        .await
    }
}

/// The platform's directory (a super-app server), drawing each request
/// the platform makes to it during a playground call (labelled with the
/// endpoint `HttpDirectory` calls for it); outside a call, it only forwards.
#[derive(Debug)]
pub(crate) struct RecordingDirectory(pub(crate) Arc<dyn SuperappDirectory>);

impl RecordingDirectory {
    async fn recorded<T>(
        &self,
        label: &str,
        request: Value,
        call: impl Future<Output = Result<T, OpenServerError>>,
        shown: impl FnOnce(&T) -> Value,
    ) -> Result<T, OpenServerError> {
        match Recorder::current() {
            None => call.await,
            Some(recorder) => {
                let between = (Party::Platform, Party::SuperappServer);
                exchange(
                    &recorder,
                    between,
                    label,
                    request,
                    call,
                    shown,
                    short_api_error,
                )
                .await
            }
        }
    }
}

fn value_field(kind: UserCodeKind) -> &'static str {
    match kind {
        UserCodeKind::PhoneNumber => "phoneNumber",
        UserCodeKind::Email => "email",
    }
}

#[async_trait]
impl SuperappDirectory for RecordingDirectory {
    async fn user(&self, user_id: &str) -> Result<Option<Arc<SuperappUser>>, OpenServerError> {
        let label = UserEndpoint::CheckUser.name();
        let call = self.0.user(user_id);
        self.recorded(
            label,
            json!({ "userId": user_id }),
            call,
            |user| json!({ "exists": user.is_some() }),
        )
        .await
    }

    async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        let request = json!({ "appid": app_id, "authCode": auth_code.secret() });
        let call = self.0.redeem_auth_code(app_id, auth_code);
        self.recorded(B2B2C_PATH, request, call, |grant| match grant {
            Some(grant) => json!({ "userId": grant.user_id, "scopes": grant.scopes }),
            None => json!({ "redeemed": false }),
        })
        .await
    }

    async fn nickname(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        let label = UserEndpoint::GetUserNick.name();
        let call = self.0.nickname(user);
        self.recorded(
            label,
            json!({ "userId": user.id }),
            call,
            |name| json!({ "nickName": name }),
        )
        .await
    }

    async fn avatar_url(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        let label = UserEndpoint::GetUserAvatar.name();
        let call = self.0.avatar_url(user);
        self.recorded(
            label,
            json!({ "userId": user.id }),
            call,
            |url| json!({ "avatarUrl": url }),
        )
        .await
    }

    async fn issue_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
    ) -> Result<Option<Code>, OpenServerError> {
        let label = UserEndpoint::GetUserInfoTemporaryCode.name();
        let request = json!({ "userId": user.id, "kind": value_field(kind) });
        let call = self.0.issue_temporary_code(user, kind);
        self.recorded(
            label,
            request,
            call,
            |code| json!({ "code": code.as_ref().map(Code::secret) }),
        )
        .await
    }

    async fn redeem_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
        code: Option<&Code>,
    ) -> Result<String, OpenServerError> {
        let label = match kind {
            UserCodeKind::PhoneNumber => UserEndpoint::GetUserPhoneNumber,
            UserCodeKind::Email => UserEndpoint::GetUserEmail,
        }
        .name();
        let request = json!({ "userId": user.id, "code": code.map(Code::secret) });
        let call = self.0.redeem_temporary_code(user, kind, code);
        self.recorded(
            label,
            request,
            call,
            |value| json!({ value_field(kind): value }),
        )
        .await
    }
}
