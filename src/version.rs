//! Open-API versions and how one is chosen for an app.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which implementation answers the built-in APIs (see `docs/versions.md`).
///
/// ```
/// use superapp_openapi::ApiVersion;
/// let v: ApiVersion = "V2".parse()?;
/// assert_eq!(v, ApiVersion::V2);
/// assert_eq!(v.to_string(), "v2");
/// # Ok::<(), superapp_openapi::ParseApiVersionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ApiVersion {
    /// The host answers every API.
    #[serde(rename = "v1", alias = "V1")]
    V1,
    /// Built-in flows identify the user by the host's UID.
    #[serde(rename = "v2", alias = "V2")]
    V2,
    /// Built-in flows first ask the host for an authCode (mutual trust).
    #[serde(rename = "v3", alias = "V3")]
    V3,
}

wire_names!(
    /// Every version, in order.
    ApiVersion { V1 => "v1", V2 => "v2", V3 => "v3" }
);

/// A string that is not `v1`, `v2` or `v3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown open-api version {found:?}: allowed values are \"v1\", \"v2\", \"v3\"")]
pub struct ParseApiVersionError {
    /// What was found.
    pub found: String,
}

impl FromStr for ApiVersion {
    type Err = ParseApiVersionError;

    /// Parses `v1`/`v2`/`v3`, in either case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseApiVersionError {
                found: s.to_owned(),
            })
    }
}

/// Where the version of a call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum VersionSource {
    /// `apiVersion` in the mini program's `app.json`.
    AppJson,
    /// The handler's [`open_api_version`](crate::OpenApiHandler::open_api_version) hook.
    Hook,
    /// The dispatcher's configured default.
    Default,
}

wire_names!(
    /// Every source, in the order resolution asks them.
    VersionSource { AppJson => "app_json", Hook => "hook", Default => "default" }
);

/// Chooses the version of a call: app.json first, then the host's hook, then
/// the default. The first that answers wins, and every API of the call
/// follows it (no mixing).
///
/// ```
/// use superapp_openapi::{ApiVersion, VersionSource, resolve_version};
/// let (v, src) = resolve_version(None, Some(ApiVersion::V3), ApiVersion::V1);
/// assert_eq!((v, src), (ApiVersion::V3, VersionSource::Hook));
/// let (v, src) = resolve_version(Some(ApiVersion::V2), Some(ApiVersion::V3), ApiVersion::V1);
/// assert_eq!((v, src), (ApiVersion::V2, VersionSource::AppJson));
/// ```
pub fn resolve_version(
    app_json: Option<ApiVersion>,
    hook: Option<ApiVersion>,
    default: ApiVersion,
) -> (ApiVersion, VersionSource) {
    match (app_json, hook) {
        (Some(v), _) => (v, VersionSource::AppJson),
        (None, Some(v)) => (v, VersionSource::Hook),
        (None, None) => (default, VersionSource::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::ApiVersion;

    #[test]
    fn all_lists_every_version_in_order() {
        let every = every_variant!(ApiVersion { V1, V2, V3 });
        assert_eq!(ApiVersion::ALL, every);
        assert!(ApiVersion::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
