//! The reference server's routes and what each answers.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::super::paths::{
    B2B2C_PATH, HOST_AUTH_CODE_PATH, HOST_LOGIN_PATH, PathFamily, UserEndpoint,
};
use super::super::signing::{TC_SIGNATURE, TC_TIMESTAMP};
use super::super::snap::{X_CLIENT_KEY, X_SIGNATURE, X_TIMESTAMP, iso8601};
use super::super::wire::{InfoKind, RETURN_OK, lenient_field, mask, write_envelope};
use super::{Grant, REFERENCE_CODE_TTL, REFERENCE_TOKEN_TTL, Shared};
use crate::api::Scope;
use crate::digest::random_hex;

type Reply = (StatusCode, Json<Value>);

/// The host-facing calls answer in the demo's camelCase envelope.
const HOST_FAMILY: PathFamily = PathFamily::V20251205;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for endpoint in UserEndpoint::ALL {
        let handler = move |State(s): State<Arc<Shared>>,
                            headers: HeaderMap,
                            RawQuery(query): RawQuery,
                            body: Bytes| async move {
            user_call(&s, endpoint, &headers, query.as_deref(), &body)
        };
        // Either method is served: the pages disagree on which, and a
        // reference server should understand a platform of any version.
        router = router.route(
            shared.paths.route(endpoint).path,
            get(handler).post(handler),
        );
    }
    router
        .route(B2B2C_PATH, post(b2b2c))
        .route(HOST_LOGIN_PATH, post(login))
        .route(HOST_AUTH_CODE_PATH, post(auth_code))
        .fallback(not_found)
        .with_state(shared)
}

fn envelope(
    family: PathFamily,
    status: StatusCode,
    code: &str,
    message: &str,
    data: Value,
) -> Reply {
    (
        status,
        Json(write_envelope(
            family,
            code,
            message,
            data,
            &random_hex::<16>(),
        )),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    lenient_field(params, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The query string's parameters, then the JSON body's over them.
fn params(query: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, String> {
    let mut params: Map<String, Value> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
            .collect();
    if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => params.extend(object),
            _ => return Err("invalid param: the body is not a JSON object".to_owned()),
        }
    }
    Ok(params)
}

fn user_call(
    s: &Shared,
    endpoint: UserEndpoint,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let family = s.paths;
    let names = family.names();
    let reply =
        |status, code: &str, message: &str, data| envelope(family, status, code, message, data);
    let ok = |data| reply(StatusCode::OK, RETURN_OK, "success", data);
    if let Err(refusal) = s.signer.verify(
        header(headers, TC_TIMESTAMP),
        header(headers, TC_SIGNATURE),
        s.now(),
        s.window,
    ) {
        return reply(
            StatusCode::UNAUTHORIZED,
            "401",
            &format!("invalid signature: {refusal}"),
            Value::Null,
        );
    }
    let params = match params(query, body) {
        Ok(params) => params,
        Err(why) => return reply(StatusCode::BAD_REQUEST, "10002", &why, Value::Null),
    };
    let Some(user_id) = text(&params, names.user_id) else {
        return reply(
            StatusCode::BAD_REQUEST,
            "10002",
            &format!("invalid param: {} is missing", names.user_id),
            Value::Null,
        );
    };
    let user = match (endpoint, s.users.get(user_id)) {
        (UserEndpoint::CheckUser, None) => return ok(json!(false)),
        (_, None) => return reply(StatusCode::OK, "46001", "user not found", Value::Null),
        (_, Some(user)) if !user.active => {
            return reply(StatusCode::OK, "46002", "user inactive", json!(false));
        }
        (_, Some(user)) => user,
    };
    let redeem = |kind: InfoKind| {
        let Some(code) = text(&params, names.temporary_code) else {
            return reply(
                StatusCode::BAD_REQUEST,
                "10002",
                &format!("invalid param: {} is missing", names.temporary_code),
                Value::Null,
            );
        };
        let value = match kind {
            InfoKind::Phone => user.phone.as_ref().map(|p| p.secret()),
            InfoKind::Email => user.email.as_ref().map(|e| e.secret()),
        };
        match (s.temporary.take(code, s.now()), value) {
            (Some((owner, issued_for)), Some(value)) if owner == user.id && issued_for == kind => {
                ok(json!(value))
            }
            _ => reply(
                StatusCode::OK,
                "40029",
                "invalid temporary code: unknown, expired, used, or another user's",
                Value::Null,
            ),
        }
    };
    match endpoint {
        UserEndpoint::CheckUser => ok(json!(true)),
        UserEndpoint::GetUserNick => ok(json!(user.nickname)),
        UserEndpoint::GetUserAvatar => ok(json!(user.avatar)),
        UserEndpoint::GetUserInfoTemporaryCode => {
            let kind = match text(&params, names.info_type).map(str::parse::<InfoKind>) {
                Some(Ok(kind)) => kind,
                Some(Err(e)) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        "10002",
                        &format!("invalid param: {e}"),
                        Value::Null,
                    );
                }
                None => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        "10002",
                        &format!("invalid param: {} is missing", names.info_type),
                        Value::Null,
                    );
                }
            };
            let value = match kind {
                InfoKind::Phone => user.phone.as_ref().map(|p| p.secret()),
                InfoKind::Email => user.email.as_ref().map(|e| e.secret()),
            };
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                return reply(
                    StatusCode::OK,
                    "46005",
                    &format!("the user has no {kind}"),
                    Value::Null,
                );
            };
            match s.temporary.issue(
                (user.id.clone(), kind),
                s.now(),
                s.expiry(REFERENCE_CODE_TTL),
            ) {
                Ok(code) => ok(json!({"code": code, "data": mask(kind, value)})),
                Err(full) => reply(
                    StatusCode::OK,
                    "45009",
                    &format!(
                        "too many outstanding temporary codes: the limit is {}",
                        full.0
                    ),
                    Value::Null,
                ),
            }
        }
        UserEndpoint::GetUserPhoneNumber => redeem(InfoKind::Phone),
        UserEndpoint::GetUserEmail => redeem(InfoKind::Email),
    }
}

fn snap_reply(
    status: StatusCode,
    code: &str,
    message: &str,
    mut extra: Map<String, Value>,
) -> Reply {
    extra.insert("responseCode".into(), json!(code));
    extra.insert("responseMessage".into(), json!(message));
    (status, Json(Value::Object(extra)))
}

/// SNAP B2B2C Get Token (service code 74), as 1219/72340 has the platform
/// call it.
async fn b2b2c(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Reply {
    let refuse = |status, code, message: &str| snap_reply(status, code, message, Map::new());
    let Some(platform) = &s.platform else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "4017400",
            "Unauthorized. no platform public key is configured",
        );
    };
    let checked = platform.verify(
        header(&headers, X_CLIENT_KEY),
        header(&headers, X_TIMESTAMP),
        header(&headers, X_SIGNATURE),
        s.now(),
        s.window,
    );
    if let Err(refusal) = checked {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "4017400",
            &format!("Unauthorized. {refusal}"),
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "4007400",
            "Bad Request. the body is not a JSON object",
        );
    };
    match text(&body, "grantType") {
        None => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "4007402",
                "Invalid Mandatory Field grantType",
            );
        }
        Some(grant) if !grant.eq_ignore_ascii_case("AUTHORIZATION_CODE") => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "4007401",
                "Invalid Field Format grantType: only AUTHORIZATION_CODE",
            );
        }
        Some(_) => {}
    }
    let Some(code) = text(&body, "authCode") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "4007402",
            "Invalid Mandatory Field authCode",
        );
    };
    let Some(grant) = s.auth_codes.take(code, s.now()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "4017401",
            "Invalid Token (B2B2C): the authCode is unknown, expired or used",
        );
    };
    let now = s.now();
    let mut info = Map::new();
    info.insert("userId".into(), json!(grant.user_id));
    info.insert("miniAppId".into(), json!(grant.mini_app_id));
    if let Some(scopes) = grant.scopes {
        info.insert(
            "scopes".into(),
            json!(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        );
    }
    let mut answer = Map::new();
    answer.insert("accessToken".into(), json!(random_hex::<32>()));
    answer.insert("tokenType".into(), json!("Bearer"));
    answer.insert(
        "accessTokenExpiryTime".into(),
        json!(iso8601(now + 900_000)),
    );
    answer.insert("refreshToken".into(), json!(random_hex::<32>()));
    answer.insert(
        "refreshTokenExpiryTime".into(),
        json!(iso8601(now + 86_400_000)),
    );
    answer.insert("additionalInfo".into(), Value::Object(info));
    snap_reply(StatusCode::OK, "2007400", "Successful", answer)
}

fn host_body(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(envelope(
            HOST_FAMILY,
            StatusCode::BAD_REQUEST,
            "10002",
            "invalid param: the body is not a JSON object",
            Value::Null,
        )),
    }
}

/// The host's `login` {appId, userAccount, userPassword} → {userName, iconUrl, token}.
async fn login(State(s): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = match host_body(&body) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let reply = |code: &str, message: &str, data| {
        envelope(HOST_FAMILY, StatusCode::OK, code, message, data)
    };
    let account = text(&body, "userAccount").unwrap_or_default();
    let password = text(&body, "userPassword").unwrap_or_default();
    let user = s.users.get(account).filter(|u| {
        u.password
            .as_deref()
            .is_some_and(|p| crate::digest::secrets_equal(p.as_bytes(), password.as_bytes()))
    });
    let Some(user) = user else {
        return reply("100001", "invalid userAccount or userPassword", Value::Null);
    };
    if !user.active {
        return reply("46002", "user inactive", Value::Null);
    }
    match s
        .tokens
        .issue(user.id.clone(), s.now(), s.expiry(REFERENCE_TOKEN_TTL))
    {
        Ok(token) => reply(
            RETURN_OK,
            "success",
            json!({"userName": user.nickname, "iconUrl": user.avatar, "token": token}),
        ),
        Err(full) => reply(
            "45009",
            &format!("too many outstanding login tokens: the limit is {}", full.0),
            Value::Null,
        ),
    }
}

/// The host's `getMiniProgramAuthCode` {appId, miniAppId, token[, scopes]} → {code}.
async fn auth_code(State(s): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = match host_body(&body) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let reply = |code: &str, message: &str, data| {
        envelope(HOST_FAMILY, StatusCode::OK, code, message, data)
    };
    let Some(mini_app_id) = text(&body, "miniAppId") else {
        return reply("10002", "invalid param: miniAppId is missing", Value::Null);
    };
    let user_id = text(&body, "token").and_then(|t| s.tokens.get(t, s.now()));
    let Some(user_id) = user_id else {
        return reply("100006", "token invalid", Value::Null);
    };
    // Our extension: the scopes the user consented to, SCOPE_* names. Absent,
    // the redemption lists none and the platform trusts the host's grant.
    let scopes = match lenient_field(&body, "scopes") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let parsed: Result<Vec<Scope>, _> = list
                .iter()
                .map(|v| v.as_str().unwrap_or_default().parse::<Scope>())
                .collect();
            match parsed {
                Ok(scopes) => Some(scopes),
                Err(e) => {
                    return reply("10002", &format!("invalid param: scopes: {e}"), Value::Null);
                }
            }
        }
        Some(_) => {
            return reply(
                "10002",
                "invalid param: scopes is not an array of SCOPE_* names",
                Value::Null,
            );
        }
    };
    let grant = Grant {
        user_id,
        mini_app_id: mini_app_id.to_owned(),
        scopes,
    };
    match s
        .auth_codes
        .issue(grant, s.now(), s.expiry(REFERENCE_CODE_TTL))
    {
        Ok(code) => reply(RETURN_OK, "success", json!({"code": code})),
        Err(full) => reply(
            "45009",
            &format!("too many outstanding authCodes: the limit is {}", full.0),
            Value::Null,
        ),
    }
}

async fn not_found(State(s): State<Arc<Shared>>, uri: Uri) -> Reply {
    let path: String = uri.path().chars().take(200).collect();
    envelope(
        s.paths,
        StatusCode::NOT_FOUND,
        "404",
        &format!(
            "no such path {path}: this server serves the {} paths",
            s.paths
        ),
        Value::Null,
    )
}
