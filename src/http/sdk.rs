//! The SDK routes: what a host on another machine asks the platform
//! (`docs/http.md`), and their wire names, shared with [`RemotePlatform`].
//!
//! [`RemotePlatform`]: super::RemotePlatform

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use subtle::{Choice, ConstantTimeEq};

use super::params::{Params, invalid, json_type};
use super::server::{ServerState, Shared, reply, request_id, sha256};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::openserver::{ErrCode, OpenServerError};
use crate::platform::{Principal, UserCodeKind};
use crate::secret::AuthCode;

/// `kind` of `/openserver/sdk/user_code`.
pub(crate) fn kind_name(kind: UserCodeKind) -> &'static str {
    match kind {
        UserCodeKind::PhoneNumber => "phone_number",
        UserCodeKind::Email => "email",
    }
}

/// `field` of `/openserver/sdk/profile`.
pub(crate) const FIELD_AVATAR: &str = "avatar";
/// `field` of `/openserver/sdk/profile`.
pub(crate) const FIELD_NICKNAME: &str = "nickname";

/// `principal`: `{"uid": …}` or `{"authCode": …}`.
pub(crate) fn principal_json(principal: &Principal) -> Value {
    match principal {
        Principal::Uid(uid) => json!({ "uid": uid }),
        Principal::AuthCode(code) => json!({ "authCode": code.secret() }),
    }
}

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
/// every configured key.
fn authenticate(state: &ServerState, headers: &HeaderMap) -> Result<(), OpenServerError> {
    let refuse = |why: &str| {
        OpenServerError::with_message(ErrCode::InvalidSecret, format!("invalid SDK key: {why}"))
    };
    if state.sdk_key_digests().is_empty() {
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
    for key in state.sdk_key_digests() {
        matched |= key.ct_eq(&digest);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(refuse("the key is not one this server knows"))
    }
}

/// Authenticates and reads `{appid, principal, …}`.
fn sdk_request(
    state: &ServerState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(AppInfo, Principal, Params), OpenServerError> {
    authenticate(state, headers)?;
    let body = state.body(body)?;
    let params = Params::from_json_body(headers, &body)?;
    let appid = params.required_string("appid")?;
    let principal = parse_principal(&params)?;
    Ok((AppInfo::new(appid), principal, params))
}

/// `{errcode, errmsg, requestId}` plus the one result field on success.
fn sdk_reply(result: Result<(&'static str, Value), OpenServerError>) -> Response {
    let request_id = request_id();
    let mut body = Map::new();
    let errcode = match result {
        Ok((field, value)) => {
            body.insert("errcode".into(), 0.into());
            body.insert("errmsg".into(), "ok".into());
            body.insert(field.into(), value);
            0
        }
        Err(err) => {
            body.insert("errcode".into(), err.errcode().into());
            body.insert("errmsg".into(), err.errmsg().into());
            err.errcode()
        }
    };
    body.insert("requestId".into(), request_id.clone().into());
    reply(StatusCode::OK, &body, errcode, &request_id)
}

pub(crate) async fn login_code(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (app, principal, _) = sdk_request(&state, &headers, body)?;
        let code = state.server.issue_login_code(&app, &principal).await?;
        Ok(("code", Value::String(code.into_secret())))
    };
    sdk_reply(result.await)
}

pub(crate) async fn check_session(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (app, principal, _) = sdk_request(&state, &headers, body)?;
        let valid = state.server.has_valid_session(&app, &principal).await?;
        Ok(("valid", Value::Bool(valid)))
    };
    sdk_reply(result.await)
}

pub(crate) async fn user_code(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (app, principal, params) = sdk_request(&state, &headers, body)?;
        let kind = params.required_string("kind")?;
        let kind = [UserCodeKind::PhoneNumber, UserCodeKind::Email]
            .into_iter()
            .find(|k| kind_name(*k) == kind)
            .ok_or_else(|| invalid("kind must be phone_number or email"))?;
        let code = state.server.issue_user_code(&app, &principal, kind).await?;
        Ok(("code", Value::String(code.into_secret())))
    };
    sdk_reply(result.await)
}

pub(crate) async fn profile(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (app, principal, params) = sdk_request(&state, &headers, body)?;
        let scope = match params.required_string("field")?.as_str() {
            FIELD_AVATAR => Scope::Avatar,
            FIELD_NICKNAME => Scope::Nickname,
            _ => return Err(invalid("field must be avatar or nickname")),
        };
        let value = state.server.profile_field(&app, &principal, scope).await?;
        Ok(("value", Value::String(value)))
    };
    sdk_reply(result.await)
}

/// The emulator standing in for a super-app server's getAuthCode: a v3
/// authCode for a user (`principal.uid`) and the scopes they granted, from
/// the server's in-memory directory. A platform whose users live in a real
/// super-app server answers `-1`: that server issues its own authCodes.
pub(crate) async fn auth_code(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (app, principal, params) = sdk_request(&state, &headers, body)?;
        let Principal::Uid(uid) = principal else {
            return Err(invalid(
                "principal must be a uid: authCodes are issued for a super-app user",
            ));
        };
        let scopes = params.scopes("scopes")?;
        let code = state.server.issue_auth_code(app.app_id(), &uid, scopes)?;
        Ok(("authCode", Value::String(code.into_secret())))
    };
    sdk_reply(result.await)
}
