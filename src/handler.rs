//! The host's delegate: what a super app implements to answer its mini programs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{OpenApi, Scope};
use crate::app::AppInfo;
use crate::secret::AuthCode;
use crate::version::ApiVersion;

/// A JSON object: the params of a call, or the result a handler returns.
pub type JsonObject = Map<String, Value>;

/// What a handler method returns: the result object (its fields go into the
/// reply next to `errMsg`) or why the call failed.
pub type HandlerResult = Result<JsonObject, HostError>;

/// Why the host could not answer a call.
///
/// ```
/// use superapp_openapi::HostError;
/// let e = HostError::failed("card declined").with_errno(40100);
/// assert_eq!(e.to_string(), "card declined");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The host does not implement this method (every default body says so).
    #[error("not implemented by the host")]
    NotImplemented,
    /// The user cancelled (replied as `"<api>:fail cancel"`).
    #[error("cancel")]
    Cancelled,
    /// The user or the host refused.
    #[error("{reason}")]
    Denied {
        /// Why, for the mini program.
        reason: String,
    },
    /// Anything else, with a message for the mini program and optionally the
    /// errno to send (otherwise the table's host-error errno).
    #[error("{message}")]
    Failed {
        /// The reason, for the mini program (no secrets).
        message: String,
        /// The errno to reply with.
        errno: Option<i64>,
    },
}

impl HostError {
    /// A failure with a message and the default errno.
    pub fn failed(message: impl Into<String>) -> Self {
        HostError::Failed {
            message: message.into(),
            errno: None,
        }
    }

    /// A refusal with a reason.
    pub fn denied(reason: impl Into<String>) -> Self {
        HostError::Denied {
            reason: reason.into(),
        }
    }

    /// Sets the errno of a [`HostError::Failed`]; other variants keep theirs.
    pub fn with_errno(self, errno: i64) -> Self {
        match self {
            HostError::Failed { message, .. } => HostError::Failed {
                message,
                errno: Some(errno),
            },
            other => other,
        }
    }
}

/// What the v3 built-in asks the host's [`get_auth_code`](OpenApiHandler::get_auth_code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCodeRequest {
    /// The API that needs the authCode.
    pub api: OpenApi,
    /// The scopes it needs granted (empty for login).
    pub scopes: Vec<Scope>,
}

/// The host's answer to [`get_auth_code`](OpenApiHandler::get_auth_code): an
/// `authCode` or `code` from the super-app server, and which scopes the user
/// granted or refused.
///
/// ```
/// use superapp_openapi::{AuthCode, AuthGrant, Scope};
/// let grant = AuthGrant::from_auth_code(AuthCode::new("ac-123"))
///     .granted([Scope::PhoneNumber])
///     .refused(Scope::Email, "user declined");
/// assert!(grant.is_granted(Scope::PhoneNumber));
/// assert!(!format!("{grant:?}").contains("ac-123"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthGrant {
    /// The authCode issued by the super-app server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<AuthCode>,
    /// The same grant under its other name; used when `auth_code` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AuthCode>,
    /// The scopes the user granted.
    #[serde(default)]
    pub auth_success_scopes: Vec<Scope>,
    /// The scopes the user refused, with why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_error_scopes: BTreeMap<Scope, String>,
}

impl AuthGrant {
    /// A grant carrying an `authCode`.
    pub fn from_auth_code(auth_code: AuthCode) -> Self {
        AuthGrant {
            auth_code: Some(auth_code),
            ..AuthGrant::default()
        }
    }

    /// A grant carrying a `code`.
    pub fn from_code(code: AuthCode) -> Self {
        AuthGrant {
            code: Some(code),
            ..AuthGrant::default()
        }
    }

    /// Adds scopes the user granted.
    pub fn granted(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.auth_success_scopes.extend(scopes);
        self
    }

    /// Records a scope the user refused.
    pub fn refused(mut self, scope: Scope, reason: impl Into<String>) -> Self {
        self.auth_error_scopes.insert(scope, reason.into());
        self
    }

    /// Whether `scope` is in `authSuccessScopes`.
    pub fn is_granted(&self, scope: Scope) -> bool {
        self.auth_success_scopes.contains(&scope)
    }

    /// The non-empty `authCode`, else the non-empty `code`, else `None`.
    pub fn credential(&self) -> Option<&AuthCode> {
        [&self.auth_code, &self.code]
            .into_iter()
            .flatten()
            .find(|c| !c.is_empty())
    }
}

/// A user's gender in the wx user-info object (`0` unknown, `1` male, `2` female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Gender {
    /// `0`
    #[default]
    Unknown,
    /// `1`
    Male,
    /// `2`
    Female,
}

impl From<Gender> for u8 {
    fn from(g: Gender) -> u8 {
        match g {
            Gender::Unknown => 0,
            Gender::Male => 1,
            Gender::Female => 2,
        }
    }
}

impl TryFrom<u8> for Gender {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, Self::Error> {
        match n {
            0 => Ok(Gender::Unknown),
            1 => Ok(Gender::Male),
            2 => Ok(Gender::Female),
            _ => Err(format!("gender is {n}; allowed values are 0, 1, 2")),
        }
    }
}

/// The user-info object of `wx.getUserInfo` / `wx.getUserProfile`.
///
/// ```
/// use superapp_openapi::{Gender, UserInfo};
/// let info = UserInfo {
///     nick_name: "xcode".into(),
///     avatar_url: "https://example.com/a.png".into(),
///     gender: Gender::Male,
///     country: "China".into(),
///     province: "ChongQing".into(),
///     city: "ChongQing".into(),
///     language: "zh_CN".into(),
/// };
/// let result = info.into_result();
/// assert_eq!(result["userInfo"]["nickName"], "xcode");
/// assert_eq!(result["userInfo"]["gender"], 1);
/// ```
///
/// `UserInfo::default()` is an unknown user with `language: "zh_CN"`:
/// WeChat's typings allow `en`, `zh_CN` and `zh_TW` only, and WeChat now
/// always answers `zh_CN` (the country, province and city it used to
/// localize are no longer sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// `nickName`
    pub nick_name: String,
    /// `avatarUrl`
    pub avatar_url: String,
    /// `gender`
    pub gender: Gender,
    /// `country`
    pub country: String,
    /// `province`
    pub province: String,
    /// `city`
    pub city: String,
    /// `language`: `en`, `zh_CN` or `zh_TW` (what WeChat's typings allow).
    pub language: String,
}

impl Default for UserInfo {
    fn default() -> Self {
        UserInfo {
            nick_name: String::new(),
            avatar_url: String::new(),
            gender: Gender::Unknown,
            country: String::new(),
            province: String::new(),
            city: String::new(),
            language: "zh_CN".into(),
        }
    }
}

impl UserInfo {
    /// The fields as a flat JSON object (`{"nickName":…, "avatarUrl":…, …}`).
    pub fn to_object(&self) -> JsonObject {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            // A struct of strings and a u8 always serializes to an object.
            _ => JsonObject::new(),
        }
    }

    /// The result wx.getUserInfo / wx.getUserProfile return: `{"userInfo": {…}}`.
    pub fn into_result(self) -> JsonObject {
        let mut result = JsonObject::new();
        result.insert("userInfo".into(), Value::Object(self.to_object()));
        result
    }
}

/// The host's delegate: one method per wx open API, plus the hooks the
/// built-in flows need.
///
/// Every method has a default body that answers [`HostError::NotImplemented`],
/// so a host implements only what it offers. Under v1 every call comes here;
/// under v2/v3 the six built-in APIs are answered by the crate instead (see
/// `docs/versions.md`), and the others still come here.
///
/// ```
/// use async_trait::async_trait;
/// use superapp_openapi::{AppInfo, HandlerResult, JsonObject, OpenApiHandler};
///
/// struct MyHost;
///
/// #[async_trait]
/// impl OpenApiHandler for MyHost {
///     async fn login(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
///         let mut result = JsonObject::new();
///         result.insert("code".into(), "code-from-my-backend".into());
///         Ok(result)
///     }
///
///     fn app_uid(&self, _app: &AppInfo) -> Option<String> {
///         Some("user-42".into())
///     }
/// }
/// ```
#[async_trait]
#[allow(unused_variables)]
pub trait OpenApiHandler: Send + Sync + 'static {
    /// `wx.login` (v1): the login code for the mini program's developer server.
    async fn login(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.checkSession` (v1): `Ok` while the login session is valid.
    async fn check_session(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.getPhoneNumber` (v1).
    async fn get_phone_number(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.getEmail` (v1).
    async fn get_email(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.chooseAvatar` (v1): `{avatarUrl}`.
    async fn choose_avatar(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.getNickName` (v1): `{nickName}`.
    async fn get_nick_name(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.getUserInfo` (every version): see [`UserInfo::into_result`].
    async fn get_user_info(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.getUserProfile` (every version): see [`UserInfo::into_result`].
    async fn get_user_profile(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.requestPayment` (every version).
    async fn request_payment(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.requestMidasPaymentGameItem` (every version; mini games).
    async fn request_midas_payment_game_item(
        &self,
        app: &AppInfo,
        params: JsonObject,
    ) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// `wx.requestVirtualPayment` (every version).
    async fn request_virtual_payment(&self, app: &AppInfo, params: JsonObject) -> HandlerResult {
        Err(HostError::NotImplemented)
    }

    /// v3 mutual trust: ask the super-app server for an authCode for the
    /// current user and the requested scopes. A host without this cannot run v3.
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        Err(HostError::NotImplemented)
    }

    /// The version this host wants for `app` when app.json sets none
    /// (iOS `openApiVersion`). `None` leaves it to the dispatcher's default.
    fn open_api_version(&self, app: &AppInfo) -> Option<ApiVersion> {
        None
    }

    /// The host's current user id (iOS `getAppUID`), which v2 built-ins use to
    /// identify the user. `None` means nobody is logged in to the host.
    fn app_uid(&self, app: &AppInfo) -> Option<String> {
        None
    }
}
