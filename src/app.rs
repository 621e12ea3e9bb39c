//! The mini program (or mini game) making a call, and what its app.json says.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::ApiVersion;

/// Whether an app is a mini program or a mini game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AppKind {
    /// A mini program.
    #[default]
    MiniProgram,
    /// A mini game.
    MiniGame,
}

/// The app making a call: its id, kind, team, and the `apiVersion` its
/// `app.json` asks for.
///
/// ```
/// use superapp_openapi::{ApiVersion, AppInfo, AppKind};
/// let app = AppInfo::from_app_json("wx1234", r#"{"pages":["index"],"apiVersion":"v2"}"#)?
///     .with_team("team-a");
/// assert_eq!(app.app_id(), "wx1234");
/// assert_eq!(app.api_version(), Some(ApiVersion::V2));
/// assert_eq!(app.kind(), AppKind::MiniProgram);
/// # Ok::<(), superapp_openapi::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    app_id: String,
    kind: AppKind,
    team_id: Option<String>,
    api_version: Option<ApiVersion>,
}

/// An app.json (or app id) that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The document is not JSON.
    #[error("app.json of {app_id} is not valid JSON: {reason}")]
    InvalidJson {
        /// The app whose app.json this is.
        app_id: String,
        /// What the parser said.
        reason: String,
    },
    /// The document is JSON but not an object.
    #[error("app.json of {app_id} must be a JSON object, found {found}")]
    NotAnObject {
        /// The app whose app.json this is.
        app_id: String,
        /// The JSON type that was found.
        found: &'static str,
    },
    /// `apiVersion` is not one of the allowed values.
    #[error(
        "app.json of {app_id}: apiVersion is {found}; allowed values are \"v1\", \"v2\", \"v3\""
    )]
    InvalidApiVersion {
        /// The app whose app.json this is.
        app_id: String,
        /// What was found, as JSON.
        found: String,
    },
    /// The app id is empty.
    #[error("app id must not be empty")]
    EmptyAppId,
}

impl AppInfo {
    /// A mini program with no team and no `apiVersion` in its app.json.
    pub fn new(app_id: impl Into<String>) -> Self {
        AppInfo {
            app_id: app_id.into(),
            kind: AppKind::MiniProgram,
            team_id: None,
            api_version: None,
        }
    }

    /// Reads an app's `app.json` (or a mini game's `game.json`): `apiVersion`,
    /// if present, must be `"v1"`, `"v2"` or `"v3"` (either case).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the app id is empty, the text is not a JSON object,
    /// or `apiVersion` is anything else (another string, a number, null…). The
    /// error names what was found and what is allowed; there is no silent
    /// fallback to another version.
    pub fn from_app_json(app_id: impl Into<String>, text: &str) -> Result<Self, ConfigError> {
        let app_id = app_id.into();
        if app_id.is_empty() {
            return Err(ConfigError::EmptyAppId);
        }
        let doc: Value = serde_json::from_str(text).map_err(|e| ConfigError::InvalidJson {
            app_id: app_id.clone(),
            reason: e.to_string(),
        })?;
        let Value::Object(doc) = doc else {
            return Err(ConfigError::NotAnObject {
                found: json_type(&doc),
                app_id,
            });
        };
        let api_version = match doc.get("apiVersion") {
            None => None,
            Some(Value::String(s)) if s.parse::<ApiVersion>().is_ok() => s.parse().ok(),
            Some(other) => {
                return Err(ConfigError::InvalidApiVersion {
                    app_id,
                    found: other.to_string(),
                });
            }
        };
        Ok(AppInfo {
            api_version,
            ..AppInfo::new(app_id)
        })
    }

    /// Sets the kind (mini program or mini game).
    pub fn with_kind(mut self, kind: AppKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the team the app belongs to.
    pub fn with_team(mut self, team_id: impl Into<String>) -> Self {
        self.team_id = Some(team_id.into());
        self
    }

    /// Sets the `apiVersion` as app.json would.
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = Some(version);
        self
    }

    /// The app id (`wx…`).
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Mini program or mini game.
    pub fn kind(&self) -> AppKind {
        self.kind
    }

    /// The team, if known.
    pub fn team_id(&self) -> Option<&str> {
        self.team_id.as_deref()
    }

    /// The `apiVersion` from app.json, if it sets one.
    pub fn api_version(&self) -> Option<ApiVersion> {
        self.api_version
    }
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
