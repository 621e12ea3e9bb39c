//! The v2 and v3 built-in flows for login, checkSession, getPhoneNumber,
//! getEmail, chooseAvatar and getNickName.

use std::panic::AssertUnwindSafe;

use serde_json::Value;

use super::platform::PlatformRef;
use crate::api::OpenApi;
use crate::api::Scope;
use crate::app::AppInfo;
use crate::handler::{AuthCodeRequest, HostError, JsonObject, OpenApiHandler};
use crate::platform::{Principal, UserCodeKind};
use crate::reply::{CallError, FailureKind};
use crate::version::ApiVersion;

/// Runs the built-in flow of `api` under `version` (v2 or v3).
pub(crate) async fn run(
    handler: &dyn OpenApiHandler,
    platform: &PlatformRef,
    app: &AppInfo,
    api: OpenApi,
    version: ApiVersion,
) -> Result<JsonObject, CallError> {
    // v3 asks the host for an authCode first; its checkSession follows v2.
    let principal = if version == ApiVersion::V3 && api.needs_auth_code() {
        auth_code_principal(handler, app, api).await?
    } else {
        uid_principal(handler, app)?
    };
    let one = |field: &str, value: String| {
        let mut result = JsonObject::new();
        result.insert(field.to_owned(), Value::String(value));
        result
    };
    Ok(match api {
        OpenApi::Login => one(
            "code",
            platform
                .issue_login_code(app, &principal)
                .await?
                .into_secret(),
        ),
        OpenApi::CheckSession => {
            if !platform.check_session(app, &principal).await? {
                return Err(CallError::new(
                    FailureKind::SessionExpired,
                    "session expired",
                ));
            }
            JsonObject::new()
        }
        OpenApi::GetPhoneNumber => one(
            "code",
            platform
                .issue_user_code(app, &principal, UserCodeKind::PhoneNumber)
                .await?
                .into_secret(),
        ),
        OpenApi::GetEmail => one(
            "code",
            platform
                .issue_user_code(app, &principal, UserCodeKind::Email)
                .await?
                .into_secret(),
        ),
        OpenApi::ChooseAvatar => one(
            "avatarUrl",
            platform
                .profile_field(app, &principal, Scope::Avatar)
                .await?,
        ),
        OpenApi::GetNickName => one(
            "nickName",
            platform
                .profile_field(app, &principal, Scope::Nickname)
                .await?,
        ),
        other => {
            return Err(CallError::new(
                FailureKind::Internal,
                format!("internal error: {other} has no built-in flow"),
            ));
        }
    })
}

/// v2: the user is whoever the host says is logged in.
pub(super) fn uid_principal(
    handler: &dyn OpenApiHandler,
    app: &AppInfo,
) -> Result<Principal, CallError> {
    let uid = std::panic::catch_unwind(AssertUnwindSafe(|| handler.app_uid(app)))
        .map_err(|_| CallError::new(FailureKind::Internal, "internal error: app_uid panicked"))?;
    match uid {
        Some(uid) if !uid.is_empty() => Ok(Principal::Uid(uid)),
        _ => Err(CallError::new(
            FailureKind::NotLoggedIn,
            "the host user is not logged in (app_uid returned no user)",
        )),
    }
}

/// v3: the user is whoever the super-app server's authCode names, and the
/// user must have granted the API's scope.
async fn auth_code_principal(
    handler: &dyn OpenApiHandler,
    app: &AppInfo,
    api: OpenApi,
) -> Result<Principal, CallError> {
    let request = AuthCodeRequest {
        api,
        scopes: api.scope().into_iter().collect(),
    };
    let grant = handler
        .get_auth_code(app, request)
        .await
        .map_err(|err| match err {
            HostError::NotImplemented => CallError::new(
                FailureKind::AuthCodeUnsupported,
                "v3 needs the host to implement get_auth_code",
            ),
            other => CallError::from_host(api.as_str(), other),
        })?;
    let credential = grant
        .credential()
        .ok_or_else(|| CallError::new(FailureKind::AuthCodeNull, "authCode is null"))?;
    if let Some(scope) = api.scope() {
        if !grant.is_granted(scope) {
            let why = grant
                .auth_error_scopes
                .get(&scope)
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default();
            return Err(CallError::new(
                FailureKind::Denied,
                format!("auth deny: {scope} was not granted{why}"),
            ));
        }
    }
    Ok(Principal::AuthCode(credential.clone()))
}
