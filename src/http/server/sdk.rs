//! The SDK routes: what a host on another machine asks the platform
//! (`docs/http.md`). Their wire names are shared with the remote client in
//! [`wire`](crate::http::wire).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde_json::Value;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::answer::{Answer, Failure, invalid};
use super::params::Params;
use super::state::{KnownKey, ServerState, Shared, read_request};
use crate::api::Scope;
use crate::app::{AppInfo, json_type};
use crate::digest::sha256;
use crate::http::wire::{
    FIELD_AVATAR, FIELD_NICKNAME, PHONE_NUMBER, SdkRequest, SdkResponse, kind_from_name,
};
use crate::openserver::{ErrCode, OpenServerError, check_id_len};
use crate::platform::Principal;
use crate::secret::AuthCode;

type Outcome = Result<Answer<SdkResponse>, Failure<SdkResponse>>;

fn parse_principal(params: &Params) -> Result<Principal, OpenServerError> {
    let object = params.required_object("principal")?;
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());
    let string = |name: &str, value: &Value| match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => Err(OpenServerError::missing(&format!("principal.{name}"))),
        other => Err(invalid(format_args!(
            "principal.{name} must be a string, found {}",
            json_type(other)
        ))),
    };
    match (present("uid"), present("authCode")) {
        (Some(uid), None) => Ok(Principal::Uid(string("uid", uid)?)),
        (None, Some(code)) => Ok(Principal::AuthCode(AuthCode::new(string(
            "authCode", code,
        )?))),
        (Some(_), Some(_)) => Err(invalid(
            "principal must have exactly one of uid and authCode",
        )),
        (None, None) => Err(invalid("principal must have uid or authCode")),
    }
}

/// `Authorization: Bearer <SDK key>`, compared in constant time against
/// every configured key; the key that matched.
fn authenticate<'s>(
    state: &'s ServerState,
    headers: &HeaderMap,
) -> Result<&'s KnownKey, OpenServerError> {
    let refuse = |why: &str| {
        OpenServerError::new(ErrCode::InvalidSecret).with_message(format!("invalid SDK key: {why}"))
    };
    if state.sdk_keys.is_empty() {
        return Err(refuse(
            "this server has no SDK key configured, so the SDK routes are closed",
        ));
    }
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Err(refuse("send the header Authorization: Bearer <SDK key>"));
    };
    let presented = header
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|key| !key.is_empty())
        .ok_or_else(|| refuse("the Authorization header must be Bearer <SDK key>"))?;
    let digest = sha256(presented.as_bytes());
    let mut matched = Choice::from(0);
    let mut index = 0u64;
    for (i, key) in (0u64..).zip(&state.sdk_keys) {
        let equal = key.digest.ct_eq(&digest);
        matched |= equal;
        index = u64::conditional_select(&index, &i, equal);
    }
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    match state.sdk_keys.get(index) {
        Some(key) if bool::from(matched) => Ok(key),
        _ => Err(refuse("the key is not one this server knows")),
    }
}

/// Authenticates and reads `{appid, principal, …}`.
fn sdk_request(
    state: &ServerState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(AppInfo, Principal, Params), OpenServerError> {
    let key = authenticate(state, headers)?;
    let body = state.body(body)?;
    let params = Params::from_json_body(headers, &body)?;
    let appid = params.required_string("appid")?;
    check_id_len("appid", &appid)?;
    if key.apps.as_ref().is_some_and(|apps| !apps.contains(&appid)) {
        return Err(
            OpenServerError::new(ErrCode::ApiUnauthorized).with_message(format!(
                "api unauthorized: this SDK key may not act for app {appid}"
            )),
        );
    }
    let principal = parse_principal(&params)?;
    match &principal {
        Principal::Uid(uid) => check_id_len("principal.uid", uid)?,
        Principal::AuthCode(code) => check_id_len("principal.authCode", code.secret())?,
    }
    Ok((AppInfo::new(appid), principal, params))
}

/// An authenticated SDK call (`Authorization`, then the body's `appid`
/// and `principal`), and the body's other fields for the route to read.
pub(super) struct SdkCall {
    app: AppInfo,
    principal: Principal,
    params: Params,
}

impl FromRequest<Arc<ServerState>> for SdkCall {
    type Rejection = Failure<SdkResponse>;

    async fn from_request(
        request: Request,
        state: &Arc<ServerState>,
    ) -> Result<Self, Self::Rejection> {
        let (headers, _, body) = read_request(request, state).await;
        let (app, principal, params) = sdk_request(state, &headers, body)?;
        Ok(SdkCall {
            app,
            principal,
            params,
        })
    }
}

/// `sdk_operation! { "what the answer holds", async fn … }`: the handler
/// with the OpenAPI operation every SDK route shares (POST, the `sdk` tag,
/// an [`SdkRequest`] body, an [`SdkResponse`]), so that each route states
/// only what its answer holds. The path is the route table's.
macro_rules! sdk_operation {
    ($answer:tt, $(#[$doc:meta])* pub(super) async fn $($handler:tt)*) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = "",
            tag = "sdk",
            request_body(content = SdkRequest, content_type = "application/json"),
            responses((status = 200, description = $answer, body = SdkResponse))
        )]
        pub(super) async fn $($handler)*
    };
}

sdk_operation! { "`code`, or an error in `errcode`",
/// A fresh single-use login code for the principal (`wx.login`).
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 45009, 46001, 46002, 46003, 48001, -1.
pub(super) async fn login_code(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall { app, principal, .. } = call;
    let code = state.server.issue_login_code(&app, &principal).await?;
    Ok(Answer(SdkResponse {
        code: Some(code.into_secret()),
        ..SdkResponse::ok()
    }))
}
}

sdk_operation! { "`valid`, or an error in `errcode`",
/// Whether the principal's session in the app is valid (`wx.checkSession`).
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 46001, 46002, 46003, 48001, -1.
pub(super) async fn check_session(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall { app, principal, .. } = call;
    let valid = state.server.has_valid_session(&app, &principal).await?;
    Ok(Answer(SdkResponse {
        valid: Some(valid),
        ..SdkResponse::ok()
    }))
}
}

sdk_operation! { "`code`, or an error in `errcode`",
/// A one-time phone or email code (`kind`) for the developer server to redeem.
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 45009, 46001–46005, 48001, -1.
pub(super) async fn user_code(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall {
        app,
        principal,
        params,
    } = call;
    let kind = kind_from_name(&params.required_string("kind")?)
        .ok_or_else(|| invalid("kind must be phone_number or email"))?;
    let code = state.server.issue_user_code(&app, &principal, kind).await?;
    Ok(Answer(SdkResponse {
        code: Some(code.into_secret()),
        ..SdkResponse::ok()
    }))
}
}

sdk_operation! { "`value`, or an error in `errcode`",
/// The user's avatar URL or nickname (`field`).
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 46001–46004, 48001, -1.
pub(super) async fn profile(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall {
        app,
        principal,
        params,
    } = call;
    let scope = match params.required_string("field")?.as_str() {
        FIELD_AVATAR => Scope::Avatar,
        FIELD_NICKNAME => Scope::Nickname,
        _ => return Err(Failure::invalid("field must be avatar or nickname")),
    };
    let value = state.server.profile_field(&app, &principal, scope).await?;
    Ok(Answer(SdkResponse {
        value: Some(value),
        ..SdkResponse::ok()
    }))
}
}

sdk_operation! { "`authCode`, or an error in `errcode`",
/// The emulator standing in for a super-app server's getAuthCode: a v3
/// authCode for a user (`principal.uid`) and the scopes they granted, from
/// the server's in-memory directory. A platform whose users live in a real
/// super-app server answers `-1`: that server issues its own authCodes.
/// A v3 authCode for `principal.uid` and the `scopes` granted (the emulator's super-app server).
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 45009, 46001, 46002, 48001, -1.
pub(super) async fn auth_code(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall {
        app,
        principal,
        params,
    } = call;
    let Principal::Uid(uid) = principal else {
        return Err(Failure::invalid(
            "principal must be a uid: authCodes are issued for a super-app user",
        ));
    };
    let scopes = params.scopes("scopes")?;
    let code = state
        .server
        .issue_auth_code(app.app_id(), &uid, scopes)
        .await?;
    Ok(Answer(SdkResponse {
        auth_code: Some(code.into_secret()),
        ..SdkResponse::ok()
    }))
}
}

sdk_operation! { "`rawData`, `signature`, `encryptedData` and `iv` (only the last two for `kind: phone_number`), or an error in `errcode`",
/// Open data sealed with the user's current session key: with `userInfo`,
/// that user info as `rawData` and its `signature`, and sealed with the
/// user's openId and unionId (`wx.getUserInfo` / `wx.getUserProfile`); with
/// `kind: phone_number`, the phone number sealed (the phone-number button).
///
/// Errors (HTTP 200, in `errcode`): 10002, 40001, 40013, 46001–46006, 48001, -1.
pub(super) async fn open_data(State(state): Shared, call: SdkCall) -> Outcome {
    let SdkCall {
        app,
        principal,
        params,
    } = call;
    let sealed = match params.string("kind")?.as_deref() {
        None => {
            let user_info = params.required_object("userInfo")?;
            let sealed = state.server.seal_user_info(&app, &principal, user_info).await?;
            SdkResponse {
                raw_data: Some(sealed.raw_data),
                signature: Some(sealed.signature),
                encrypted_data: Some(sealed.encrypted_data),
                iv: Some(sealed.iv),
                ..SdkResponse::ok()
            }
        }
        Some(PHONE_NUMBER) => {
            let sealed = state.server.seal_phone_number(&app, &principal).await?;
            SdkResponse {
                encrypted_data: Some(sealed.encrypted_data),
                iv: Some(sealed.iv),
                ..SdkResponse::ok()
            }
        }
        Some(_) => {
            return Err(Failure::invalid(
                "kind must be phone_number, or left out with userInfo given",
            ));
        }
    };
    Ok(Answer(sealed))
}
}
