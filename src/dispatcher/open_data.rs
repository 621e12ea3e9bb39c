//! WeChat's open data in v2/v3 replies: `rawData`, `signature`,
//! `encryptedData` and `iv` added to a host's `getUserInfo` /
//! `getUserProfile` answer, and `encryptedData` / `iv` to the built-in
//! `getPhoneNumber` reply, sealed by the platform with the user's session
//! key (`docs/openserver.md`, "Open data").
//!
//! The user is the host's UID, as for checkSession in both versions: the
//! data is sealed for a session the user already has, and under v3 the
//! phone number's authCode was already checked by the built-in flow. No
//! UID, no live session, or a platform that does not seal: the reply goes
//! without open data, as WeChat's does for `withCredentials: false`.

use serde_json::Value;

use super::builtin::uid_principal;
use super::platform::PlatformRef;
use crate::api::OpenApi;
use crate::app::AppInfo;
use crate::handler::{JsonObject, OpenApiHandler};
use crate::platform::PlatformError;

/// Whether `api`'s replies carry open data, and the mini program asked for
/// it (`withCredentials` is not `false`).
pub(super) fn wanted(api: OpenApi, params: &JsonObject) -> bool {
    matches!(
        api,
        OpenApi::GetUserInfo | OpenApi::GetUserProfile | OpenApi::GetPhoneNumber
    ) && params.get("withCredentials") != Some(&Value::Bool(false))
}

/// Adds the open data of `api` to `result`, when the platform seals it.
pub(super) async fn add(
    handler: &dyn OpenApiHandler,
    platform: &PlatformRef,
    app: &AppInfo,
    api: OpenApi,
    result: &mut JsonObject,
) {
    let Ok(principal) = uid_principal(handler, app) else {
        return;
    };
    let sealed = match api {
        OpenApi::GetPhoneNumber => platform
            .seal_phone_number(app, &principal)
            .await
            .map(|sealed| [("encryptedData", sealed.encrypted_data), ("iv", sealed.iv)].to_vec()),
        _ => {
            // Only a `userInfo` object (the crate's `UserInfo`) is signed.
            let Some(Value::Object(user_info)) = result.get("userInfo") else {
                return;
            };
            platform
                .seal_user_info(app, &principal, user_info)
                .await
                .map(|sealed| {
                    [
                        ("rawData", sealed.raw_data),
                        ("signature", sealed.signature),
                        ("encryptedData", sealed.encrypted_data),
                        ("iv", sealed.iv),
                    ]
                    .to_vec()
                })
        }
    };
    match sealed {
        Ok(fields) => {
            for (name, value) in fields {
                result.insert(name.to_owned(), Value::String(value));
            }
        }
        // A platform that seals nothing, or a user with no session: the
        // reply is the host's (or the built-in's) alone.
        Err(err @ (PlatformError::Unsupported(_) | PlatformError::Api(_))) => {
            tracing::debug!(api.name = api.as_str(), reason = %err, "no open data");
        }
        Err(err) => {
            tracing::warn!(api.name = api.as_str(), reason = %err, "no open data: the platform failed");
        }
    }
}
