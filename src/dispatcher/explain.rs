//! What [`Dispatcher::explain`](super::Dispatcher::explain) answers: who
//! answers an API for an app, and why.

use std::fmt;

use crate::api::OpenApi;
use crate::version::{ApiVersion, VersionSource};

/// Who answers an API for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Responder {
    /// The host's [`OpenApiHandler`](crate::OpenApiHandler).
    Host,
    /// The crate's built-in flow of the resolved version (v2 or v3).
    BuiltIn,
    /// A custom API the host registered in its place
    /// ([`CustomApi::take_over_builtin`](crate::CustomApi::take_over_builtin)).
    Custom,
}

/// What [`Dispatcher::explain`](crate::Dispatcher::explain) says about an app and an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The API.
    pub api: OpenApi,
    /// The version that applies.
    pub version: ApiVersion,
    /// Where the version came from.
    pub source: VersionSource,
    /// Who answers.
    pub answered_by: Responder,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            VersionSource::AppJson => "apiVersion in app.json",
            VersionSource::Hook => "the host's open_api_version",
            VersionSource::Default => "the dispatcher's default",
        };
        write!(f, "{}: {} (from {source}) -> ", self.api, self.version)?;
        match (self.answered_by, self.version) {
            (Responder::Host, _) => f.write_str("the host's handler"),
            (Responder::Custom, _) => f.write_str("the host's custom API (taken over)"),
            (Responder::BuiltIn, ApiVersion::V3) if self.api.needs_auth_code() => {
                match self.api.scope() {
                    Some(scope) => {
                        write!(f, "built-in v3 flow (asks get_auth_code for {scope})")
                    }
                    None => f.write_str("built-in v3 flow (asks get_auth_code)"),
                }
            }
            (Responder::BuiltIn, _) => f.write_str("built-in v2 flow (uses app_uid)"),
        }
    }
}
