//! The vocabulary that crosses the boundary: JSON text, apps, the v3
//! grant, secrets and the two error types, each with its conversion to and
//! from the core crate's. The core's plain enums (`ApiVersion`, `AppKind`,
//! `Scope`…) cross as they are: the core derives UniFFI's traits for them
//! behind its `uniffi` feature, which this crate enables.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use superapp_openapi as openapi;
use superapp_openapi::{ApiVersion, AppKind, Scope};

/// JSON text: the params of a call, a host's result object, a reply.
///
/// A string in every generated language (`JsonText` is an alias of `str`,
/// `String`, `kotlin.String`), so a host parses and writes it with its own
/// JSON library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(pub String);

uniffi::custom_newtype!(JsonText, String);

impl JsonText {
    /// The text of a JSON object.
    pub(crate) fn from_object(object: &openapi::JsonObject) -> Self {
        // A map of JSON values always serializes.
        JsonText(serde_json::to_string(object).unwrap_or_else(|_| "{}".to_owned()))
    }

    /// The JSON object a host returned, or why it is not one.
    pub(crate) fn into_object(self, what: &str) -> Result<openapi::JsonObject, openapi::HostError> {
        match serde_json::from_str::<serde_json::Value>(&self.0) {
            Ok(serde_json::Value::Object(object)) => Ok(object),
            Ok(_) => Err(openapi::HostError::failed(format!(
                "the host's {what} is not a JSON object"
            ))),
            Err(err) => Err(openapi::HostError::failed(format!(
                "the host's {what} is not JSON ({err})"
            ))),
        }
    }
}

/// The app making a call, as in the core's `AppInfo`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppInfo {
    /// The app id (`wx…`).
    pub app_id: String,
    /// Mini program or mini game (`None`: a mini program).
    #[uniffi(default = None)]
    pub kind: Option<AppKind>,
    /// The team the app belongs to, if known.
    #[uniffi(default = None)]
    pub team_id: Option<String>,
    /// The `apiVersion` of the app's app.json, if it sets one.
    #[uniffi(default = None)]
    pub api_version: Option<ApiVersion>,
}

impl From<AppInfo> for openapi::AppInfo {
    fn from(app: AppInfo) -> Self {
        let mut info = openapi::AppInfo::new(app.app_id);
        if let Some(kind) = app.kind {
            info = info.with_kind(kind);
        }
        if let Some(team) = app.team_id {
            info = info.with_team(team);
        }
        if let Some(version) = app.api_version {
            info = info.with_api_version(version);
        }
        info
    }
}

impl From<&openapi::AppInfo> for AppInfo {
    fn from(app: &openapi::AppInfo) -> Self {
        AppInfo {
            app_id: app.app_id().to_owned(),
            kind: Some(app.kind()),
            team_id: app.team_id().map(str::to_owned),
            api_version: app.api_version(),
        }
    }
}

/// Reads an app's `app.json` (or a mini game's `game.json`): its
/// `apiVersion`, if present, must be `"v1"`, `"v2"` or `"v3"`.
///
/// # Errors
///
/// [`OpenApiError::InvalidArgument`] for an empty app id, text that is not
/// a JSON object, or any other `apiVersion`.
#[uniffi::export]
pub fn app_info_from_app_json(app_id: String, app_json: String) -> Result<AppInfo, OpenApiError> {
    let info = openapi::AppInfo::from_app_json(app_id, &app_json).map_err(|err| {
        OpenApiError::InvalidArgument {
            detail: err.to_string(),
        }
    })?;
    Ok(AppInfo::from(&info))
}

/// What the v3 built-in asks the host's `get_auth_code`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuthCodeRequest {
    /// The API that needs the authCode, by its wx name (`"login"`,
    /// `"getPhoneNumber"`…).
    pub api: String,
    /// The scopes it needs granted (empty for login).
    pub scopes: Vec<Scope>,
}

impl From<openapi::AuthCodeRequest> for AuthCodeRequest {
    fn from(request: openapi::AuthCodeRequest) -> Self {
        AuthCodeRequest {
            api: request.api.as_str().to_owned(),
            scopes: request.scopes,
        }
    }
}

/// The host's answer to `get_auth_code`: an `authCode` (or `code`) from
/// the super-app server, the scopes the user granted, and those refused
/// with why.
///
/// Its `repr`/`toString`/`description` hide the codes.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct AuthGrant {
    /// The authCode issued by the super-app server.
    #[uniffi(default = None)]
    pub auth_code: Option<String>,
    /// The same grant under its other name; used when `auth_code` is empty.
    #[uniffi(default = None)]
    pub code: Option<String>,
    /// The scopes the user granted.
    #[uniffi(default)]
    pub auth_success_scopes: Vec<Scope>,
    /// The scopes the user refused, each with why; a refused scope reaches
    /// the mini program as an auth deny.
    #[uniffi(default)]
    pub auth_error_scopes: HashMap<Scope, String>,
}

impl From<AuthGrant> for openapi::AuthGrant {
    fn from(grant: AuthGrant) -> Self {
        let mut out = openapi::AuthGrant {
            auth_code: grant.auth_code.map(openapi::AuthCode::new),
            code: grant.code.map(openapi::AuthCode::new),
            ..openapi::AuthGrant::default()
        }
        .granted(grant.auth_success_scopes);
        for (scope, reason) in grant.auth_error_scopes {
            out = out.refused(scope, reason);
        }
        out
    }
}

impl fmt::Debug for AuthGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |code: &Option<String>| code.as_ref().map(|_| "[redacted]");
        f.debug_struct("AuthGrant")
            .field("auth_code", &redacted(&self.auth_code))
            .field("code", &redacted(&self.code))
            .field("auth_success_scopes", &self.auth_success_scopes)
            .field("auth_error_scopes", &self.auth_error_scopes)
            .finish()
    }
}

impl fmt::Display for AuthGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A secret the library hands back (a session key, an access token, a
/// phone number, an authCode…): its `repr`, `toString` and `description`
/// say `Secret([redacted])`; read it with `reveal()` only where it is sent
/// on or compared, never to log it.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display, Eq)]
pub struct Secret {
    value: String,
}

#[uniffi::export]
impl Secret {
    /// Wraps a value the host holds (an access token from elsewhere, say)
    /// to pass it where the library takes a `Secret`.
    #[uniffi::constructor]
    pub fn new(value: String) -> Arc<Self> {
        Arc::new(Secret { value })
    }

    /// The value.
    pub fn reveal(&self) -> String {
        self.value.clone()
    }
}

impl Secret {
    pub(crate) fn wrap(value: impl Into<String>) -> Arc<Self> {
        Arc::new(Secret {
            value: value.into(),
        })
    }

    pub(crate) fn value(&self) -> &str {
        &self.value
    }
}

/// Compared in constant time, as the core's secret types.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        openapi::AppSecret::new(self.value.as_str())
            == openapi::AppSecret::new(other.value.as_str())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why the host could not answer a call: what a host's delegate method
/// throws (`HostException` in Kotlin, `HostError` in Swift and Python).
///
/// No field is named `message`: it would collide with Kotlin's
/// `Throwable.message` and the generated Kotlin would not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HostError {
    /// The host does not implement this method (errno 103).
    #[error("not implemented by the host")]
    NotImplemented,
    /// The user cancelled (`"<api>:fail cancel"`, errno 201).
    #[error("cancel")]
    Cancelled,
    /// The user or the host refused (errno 202).
    #[error("{reason}")]
    Denied {
        /// Why, for the mini program.
        reason: String,
    },
    /// Anything else: the reason for the mini program (no secrets) and the
    /// errno to reply with (`None`: the table's host-error errno, 301).
    #[error("{detail}")]
    Failed {
        /// The reason, for the mini program.
        detail: String,
        /// The errno to reply with.
        errno: Option<i64>,
    },
}

impl From<HostError> for openapi::HostError {
    fn from(err: HostError) -> Self {
        match err {
            HostError::NotImplemented => openapi::HostError::NotImplemented,
            HostError::Cancelled => openapi::HostError::Cancelled,
            HostError::Denied { reason } => openapi::HostError::denied(reason),
            HostError::Failed { detail, errno } => {
                let failed = openapi::HostError::failed(detail);
                match errno {
                    Some(errno) => failed.with_errno(errno),
                    None => failed,
                }
            }
        }
    }
}

/// What UniFFI reports when a host method throws something other than a
/// `HostError` (a Python `RuntimeError`, a Kotlin `IllegalStateException`):
/// a failure naming the exception. Python's generated protocol answers
/// `NotImplementedError` for a method the host left out, which is the
/// core's "not implemented".
impl From<uniffi::UnexpectedUniFFICallbackError> for HostError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        if err.reason.starts_with("NotImplementedError") {
            return HostError::NotImplemented;
        }
        HostError::Failed {
            detail: format!("the host raised {}", err.reason),
            errno: None,
        }
    }
}

/// A failure of a call into the library that is not a mini program's call
/// (those always answer a reply): the platform's error code, or an
/// argument the library cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum OpenApiError {
    /// The platform answered with an error code (`docs/openserver.md`).
    #[error("platform error {errcode}: {errmsg}")]
    Platform {
        /// `errcode`, e.g. 40163 for a used code.
        errcode: i64,
        /// `errmsg`.
        errmsg: String,
    },
    /// An argument the library cannot use (an unknown API name, a bad app.json…).
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What was wrong.
        detail: String,
    },
    /// The consent store failed, or a consent argument was refused.
    #[error("consent: {detail}")]
    Consent {
        /// What went wrong.
        detail: String,
    },
    /// An intermediate state was refused (past the per-call limit, or
    /// after the final reply).
    #[error("state refused: {detail}")]
    State {
        /// Why.
        detail: String,
    },
    /// The dispatcher could not be built (a refused custom API).
    #[error("cannot build the dispatcher: {detail}")]
    Build {
        /// Why.
        detail: String,
    },
}

impl From<openapi::openserver::OpenServerError> for OpenApiError {
    fn from(err: openapi::openserver::OpenServerError) -> Self {
        OpenApiError::Platform {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
        }
    }
}
