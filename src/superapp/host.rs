//! The host app's calls to its super-app server for a v3 authCode, as
//! TCMPP's demo `LoginApi` makes them: `login` with the user's account
//! and password for a token, then `getMiniProgramAuthCode` with the token
//! and the mini program. Not the platform's protocol (a real host calls
//! its own server its own way): what the conformance check and the
//! playground's demo host call, and what the reference server answers, in
//! the demo's camelCase envelope (docs/superapp-server.md).

use serde_json::{Map, Value, json};

use super::call::Caller;
use super::paths::{Method, PathFamily};
use super::wire::{Envelope, lenient_field};
use crate::api::Scope;

/// The host-facing calls answer in the newest family's envelope.
const HOST_FAMILY: PathFamily = PathFamily::V20251205;

/// `login`'s body: `{appId, userAccount, userPassword}`.
pub(crate) fn login_body(app_id: &str, account: &str, password: &str) -> Map<String, Value> {
    object(json!({ "appId": app_id, "userAccount": account, "userPassword": password }))
}

/// `getMiniProgramAuthCode`'s body: `{appId, miniAppId, token}` and, when
/// given, the scopes the user granted (our extension, `SCOPE_*` names).
pub(crate) fn auth_code_body(
    app_id: &str,
    mini_app_id: &str,
    token: &str,
    scopes: Option<&[Scope]>,
) -> Map<String, Value> {
    let mut body = object(json!({ "appId": app_id, "miniAppId": mini_app_id, "token": token }));
    if let Some(scopes) = scopes {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        body.insert("scopes".to_owned(), json!(names));
    }
    body
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `POST path` with `body`: the `data` of an accepted answer, or what was
/// wrong (the path, the envelope, the refusal), in the conformance
/// check's words.
pub(crate) async fn host_call(
    caller: &Caller,
    path: &str,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let answer = caller
        .send(Method::Post, path, &[], body)
        .await
        .map_err(|e| e.to_string())?;
    if matches!(answer.status, 404 | 405) {
        return Err(format!("path: HTTP {} at POST {path}", answer.status));
    }
    let envelope =
        Envelope::read(HOST_FAMILY, &answer.body).map_err(|e| format!("envelope: {e}"))?;
    if !envelope.is_ok() {
        return Err(format!(
            "refused: returnCode {} {:?}",
            envelope.return_code, envelope.return_message
        ));
    }
    match envelope.data {
        Value::Object(data) => Ok(data),
        _ => Err("field: data is not an object".to_owned()),
    }
}

/// The non-empty string `data.<field>`, or that it is missing.
pub(crate) fn data_field(data: &Map<String, Value>, field: &str) -> Result<String, String> {
    lenient_field(data, field)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("field: data.{field} is missing"))
}
