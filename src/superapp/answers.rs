//! Reading a super-app server's answers: the user calls' envelope and the
//! b2b2c token, each to the data, the platform's errcode for a refusal, or
//! `-1` for an outage.

use std::fmt;

use serde_json::Value;

use super::call::{Answer, CallFailure};
use super::paths::{B2B2C_PATH, PathFamily, UserEndpoint};
use super::wire::{Envelope, lenient_field};
use crate::api::Scope;
use crate::openserver::{ErrCode, OpenServerError, RedeemedGrant};

pub(crate) fn outage(why: impl fmt::Display) -> OpenServerError {
    OpenServerError::new(ErrCode::SystemError)
        .with_message(format!("system error: the super-app server: {why}"))
}

pub(crate) fn transport_outage(path: &str, failure: &CallFailure) -> OpenServerError {
    outage(format!("{path}: {failure}"))
}

/// A user call's answer: its data, or the refusal as a platform errcode.
pub(crate) fn read_user_answer(
    family: PathFamily,
    endpoint: UserEndpoint,
    answer: &Answer,
) -> Result<Value, OpenServerError> {
    let name = endpoint.name();
    if matches!(answer.status, 401 | 403) {
        return Err(outage(format!(
            "{name}: the platform's TC-Signature was refused (HTTP {})",
            answer.status
        )));
    }
    let envelope = Envelope::read(family, &answer.body)
        .map_err(|e| outage(format!("{name}: HTTP {}: {e}", answer.status)))?;
    if envelope.is_ok() && (200..300).contains(&answer.status) {
        return Ok(envelope.data);
    }
    let message: String = envelope.return_message.chars().take(200).collect();
    let mapped = envelope
        .return_code
        .parse::<i64>()
        .ok()
        .and_then(ErrCode::from_code)
        .filter(|code| {
            matches!(
                code,
                ErrCode::UserNotFound
                    | ErrCode::UserInactive
                    | ErrCode::NoSuchUserData
                    | ErrCode::InvalidCode
                    | ErrCode::CodeUsed
            )
        });
    Err(match mapped {
        Some(code) => OpenServerError::new(code).with_message(format!(
            "{}: the super-app server says: {message}",
            code.message()
        )),
        None => outage(format!(
            "{name}: returnCode {} ({message})",
            envelope.return_code
        )),
    })
}

/// The b2b2c answer: the user and scopes, `None` for a refused code.
pub(crate) fn read_b2b2c(
    app_id: &str,
    answer: &Answer,
) -> Result<Option<RedeemedGrant>, OpenServerError> {
    let object = answer.body.as_object().ok_or_else(|| {
        outage(format!(
            "{B2B2C_PATH}: HTTP {}: the answer is not a JSON object",
            answer.status
        ))
    })?;
    let code = lenient_field(object, "responseCode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Success is HTTP 200 + any service code + case 00 ("2007400" for
    // service 74); a server numbering the service otherwise still succeeds.
    let success = code.len() == 7 && code.starts_with("200") && code.ends_with("00");
    if !success {
        // SNAP: 401xx01-04 are token / authCode refusals; 401xx00 is
        // "Unauthorized" (the signature or the client key): an outage.
        return if code.len() == 7 && code.starts_with("401") && !code.ends_with("00") {
            Ok(None)
        } else {
            Err(outage(format!(
                "{B2B2C_PATH}: HTTP {}: responseCode {code:?}",
                answer.status
            )))
        };
    }
    let info = lenient_field(object, "additionalInfo").and_then(Value::as_object);
    let field = |name| info.and_then(|i| lenient_field(i, name));
    // Where the user id goes is said nowhere: ours puts it in
    // additionalInfo.userId; a top-level userId or additionalInfo.customerId
    // (SNAP's account-binding name) is read too.
    let user_id = field("userId")
        .or_else(|| lenient_field(object, "userId"))
        .or_else(|| field("customerId"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            outage(format!(
                "{B2B2C_PATH}: the answer has no additionalInfo.userId"
            ))
        })?;
    if field("miniAppId")
        .and_then(Value::as_str)
        .is_some_and(|id| id != app_id)
    {
        return Ok(None);
    }
    // A server that lists no scopes vouches for the user alone: consent is
    // the host's, recorded in the grant it gave the mini program.
    let scopes = match field("scopes").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| s.parse::<Scope>().ok())
            .collect(),
        None => Scope::ALL.to_vec(),
    };
    Ok(Some(RedeemedGrant {
        user_id: user_id.to_owned(),
        scopes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    #[test]
    fn a_b2b2c_answer_gives_the_user_or_says_why_not() {
        let ok = json!({"responseCode": "2007400", "additionalInfo": {"userId": "u-1", "miniAppId": "wx-a", "scopes": ["SCOPE_EMAIL", "SCOPE_UNKNOWN"]}});
        let grant = read_b2b2c("wx-a", &answer(200, ok.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (grant.user_id.as_str(), grant.scopes),
            ("u-1", vec![Scope::Email])
        );
        assert_eq!(
            read_b2b2c("wx-b", &answer(200, ok)).unwrap(),
            None,
            "another app's code"
        );
        // Other servers' spellings: a top-level userId, no scopes (all).
        let other = json!({"responseCode": "2007300", "userId": "u-2"});
        let grant = read_b2b2c("wx-a", &answer(200, other)).unwrap().unwrap();
        assert_eq!(
            (grant.user_id.as_str(), grant.scopes.len()),
            ("u-2", Scope::ALL.len())
        );
        let refused = json!({"responseCode": "4017401", "responseMessage": "Invalid Token"});
        assert_eq!(read_b2b2c("wx-a", &answer(401, refused)).unwrap(), None);
        for outage in [
            json!({"responseCode": "4017400"}),
            json!({"responseCode": "5007400"}),
            json!({"responseCode": "2007400"}),
            json!([]),
        ] {
            let err = read_b2b2c("wx-a", &answer(200, outage.clone())).unwrap_err();
            assert_eq!(err.errcode(), -1, "{outage}: {err}");
        }
    }
}
