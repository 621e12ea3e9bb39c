//! What the HTTP server and its clients share: the routes, the SDK routes'
//! wire names, and the SDK answer envelope. The server and the clients both
//! import from here; neither imports the other.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::Scope;
use crate::openserver::{ApiResponse, OpenServerError, request_id};
use crate::platform::{Principal, UserCodeKind};

/// Every route's path, in one place for the server's route table
/// (`server/routes.rs`) and both clients; nothing else spells a path.
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
    pub(crate) const SDK_OPEN_DATA: &str = "/openserver/sdk/open_data";
    pub(crate) const OPENAPI: &str = "/openserver/openapi.json";
    pub(crate) const HEALTHZ: &str = "/healthz";
    pub(crate) const READYZ: &str = "/readyz";
    pub(crate) const METRICS: &str = "/metrics";
}

/// `kind` of `/openserver/sdk/user_code` and `/openserver/sdk/open_data`
/// for a phone number.
pub(crate) const PHONE_NUMBER: &str = "phone_number";

/// `kind` of `/openserver/sdk/user_code`.
pub(crate) fn kind_name(kind: UserCodeKind) -> &'static str {
    match kind {
        UserCodeKind::PhoneNumber => PHONE_NUMBER,
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

/// The body of every SDK route: the app, who the call is for, and the
/// route's own field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SdkRequest {
    /// The mini program's app id.
    pub(crate) appid: String,
    pub(crate) principal: PrincipalBody,
    /// `user_code`: `phone_number` or `email`; `open_data`: `phone_number`
    /// (or no `kind`, and `userInfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(phone_number|email)$")]
    pub(crate) kind: Option<String>,
    /// `profile`: `avatar` or `nickname`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(avatar|nickname)$")]
    pub(crate) field: Option<String>,
    /// `auth_code`: the scopes the user granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scopes: Option<Vec<Scope>>,
    /// `open_data`: the user info the host answered, to sign and seal.
    #[serde(rename = "userInfo", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) user_info: Option<Map<String, Value>>,
}

/// `principal`: exactly one of `uid` (v2) and `authCode` (v3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum PrincipalBody {
    /// v2: the host's user id.
    Uid {
        /// The host's user id.
        uid: String,
    },
    /// v3: an authCode from the super-app server.
    AuthCode {
        /// The authCode.
        #[serde(rename = "authCode")]
        auth_code: String,
    },
}

impl SdkRequest {
    /// `{appid, principal}`, the route's field to be set.
    pub(crate) fn new(app_id: &str, principal: &Principal) -> Self {
        SdkRequest {
            appid: app_id.to_owned(),
            principal: match principal {
                Principal::Uid(uid) => PrincipalBody::Uid { uid: uid.clone() },
                Principal::AuthCode(code) => PrincipalBody::AuthCode {
                    auth_code: code.secret().to_owned(),
                },
            },
            kind: None,
            field: None,
            scopes: None,
            user_info: None,
        }
    }
}

/// Every SDK route's answer: `errcode`, `errmsg`, `requestId`, and on
/// success the one result field of the route.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// `open_data` with `userInfo`: the JSON text of the user info signed.
    #[serde(rename = "rawData", default, skip_serializing_if = "Option::is_none")]
    pub(crate) raw_data: Option<String>,
    /// `open_data` with `userInfo`: `sha1(rawData + session_key)`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<String>,
    /// `open_data`: the sealed data, base64.
    #[serde(
        rename = "encryptedData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) encrypted_data: Option<String>,
    /// `open_data`: the iv it was sealed with, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iv: Option<String>,
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
