//! What the HTTP server and its clients share: the routes, the SDK routes'
//! wire names, and the SDK answer envelope. The server and the clients both
//! import from here; neither imports the other.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::openserver::{ApiResponse, OpenServerError, request_id};
use crate::platform::{Principal, UserCodeKind};

/// The routes, in one place for the server and both clients.
pub(crate) mod paths {
    pub(crate) const JSCODE2SESSION: &str = "/openserver/sns/jscode2session";
    pub(crate) const TOKEN: &str = "/openserver/cgi-bin/token";
    pub(crate) const CHECKSESSION: &str = "/openserver/wxa/checksession";
    pub(crate) const GET_USER_PHONE_NUMBER: &str = "/openserver/wxa/business/getuserphonenumber";
    pub(crate) const GET_EMAIL_ADDRESS: &str = "/openserver/wxa/business/getemailaddress";
    pub(crate) const SDK_LOGIN_CODE: &str = "/openserver/sdk/login_code";
    pub(crate) const SDK_CHECK_SESSION: &str = "/openserver/sdk/check_session";
    pub(crate) const SDK_USER_CODE: &str = "/openserver/sdk/user_code";
    pub(crate) const SDK_PROFILE: &str = "/openserver/sdk/profile";
    pub(crate) const SDK_AUTH_CODE: &str = "/openserver/sdk/auth_code";
}

/// `kind` of `/openserver/sdk/user_code`.
pub(crate) fn kind_name(kind: UserCodeKind) -> &'static str {
    match kind {
        UserCodeKind::PhoneNumber => "phone_number",
        UserCodeKind::Email => "email",
    }
}

/// The [`UserCodeKind`] a `kind` names.
pub(crate) fn kind_from_name(name: &str) -> Option<UserCodeKind> {
    [UserCodeKind::PhoneNumber, UserCodeKind::Email]
        .into_iter()
        .find(|k| kind_name(*k) == name)
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

/// Every SDK route's answer: `errcode`, `errmsg`, `requestId`, and on
/// success the one result field of the route.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SdkResponse {
    /// A missing `errcode` counts as 0, as some platforms leave it out of
    /// successful answers.
    #[serde(default)]
    pub(crate) errcode: i64,
    #[serde(default)]
    pub(crate) errmsg: String,
    #[serde(rename = "requestId", default)]
    pub(crate) request_id: String,
    /// `login_code`, `user_code`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    /// `check_session`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) valid: Option<bool>,
    /// `profile`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
    /// `auth_code`
    #[serde(rename = "authCode", default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_code: Option<String>,
}

impl SdkResponse {
    /// A success: fill in the route's result field.
    pub(crate) fn ok() -> Self {
        SdkResponse {
            errcode: 0,
            errmsg: "ok".into(),
            request_id: request_id(),
            ..SdkResponse::default()
        }
    }

    /// An error.
    pub(crate) fn from_error(err: &OpenServerError) -> Self {
        SdkResponse {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            request_id: request_id(),
            ..SdkResponse::default()
        }
    }
}

impl ApiResponse for SdkResponse {
    fn errcode(&self) -> i64 {
        self.errcode
    }
    fn errmsg(&self) -> &str {
        &self.errmsg
    }
    fn request_id(&self) -> &str {
        &self.request_id
    }
    fn from_error(err: &OpenServerError) -> Self {
        SdkResponse::from_error(err)
    }
}
