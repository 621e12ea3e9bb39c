//! The three published path families of TCMPP's "Interface API" page
//! (product 1219/67644) for the user calls the platform makes to the
//! super-app server, and the host-facing and v3 paths beside them.
//!
//! One table, [`PathFamily::route`], says for each family and endpoint the
//! path, the method, and whether the page shows it or we inferred it; the
//! field names and the envelope's follow from the family
//! ([`PathFamily::names`]). Both the client and the reference server read
//! them here, so the two cannot drift apart.

use std::str::FromStr;

/// The v3 redemption path (1219/72340: "OpenServer calls superapp through
/// /access_token/b2b2c").
pub const B2B2C_PATH: &str = "/access_token/b2b2c";
/// The host's login (TCMPP's Android demo, `LoginEnvironment.API_LOGIN`:
/// base URL `…/superapp/` + `login`).
pub const HOST_LOGIN_PATH: &str = "/superapp/login";
/// The host's v3 authCode request (the demo's `API_AUTH_CODE`).
pub const HOST_AUTH_CODE_PATH: &str = "/superapp/getMiniProgramAuthCode";

/// One published version of the "Interface API" page.
///
/// ```
/// use superapp_openapi::superapp::{PathFamily, UserEndpoint};
/// let newest = PathFamily::default();
/// assert_eq!(newest.as_str(), "2025-12-05");
/// assert_eq!(newest.route(UserEndpoint::CheckUser).path, "/user/checkUser");
/// let first: PathFamily = "2025-01-08".parse()?;
/// assert_eq!(first.route(UserEndpoint::GetUserNick).path, "/superapp/user/getUserNick");
/// assert_eq!(first.names().user_id, "UserId");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PathFamily {
    /// 2025-01-08: `POST /superapp/user/…`, PascalCase fields,
    /// `ReturnCode` / `ReturnMessage` / `Data`.
    V20250108,
    /// 2025-04-25: `/superapp/inner/user/…`, camelCase `returnCode` /
    /// `returnMessage` / `data` / `requestId`, some routes `GET`.
    V20250425,
    /// 2025-12-05: `POST /user/…`, camelCase, lower-case `type`. The default.
    #[default]
    V20251205,
}

/// A call the platform makes to the super-app server about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserEndpoint {
    /// Whether the user exists (`Data`: boolean).
    CheckUser,
    /// The avatar URL.
    GetUserAvatar,
    /// The nickname.
    GetUserNick,
    /// A one-time code for the phone or the email, and the masked value.
    GetUserInfoTemporaryCode,
    /// The phone number, for a temporary code.
    GetUserPhoneNumber,
    /// The email address, for a temporary code.
    GetUserEmail,
}

impl UserEndpoint {
    /// Every endpoint, in the page's order.
    pub const ALL: [UserEndpoint; 6] = [
        UserEndpoint::CheckUser,
        UserEndpoint::GetUserAvatar,
        UserEndpoint::GetUserNick,
        UserEndpoint::GetUserInfoTemporaryCode,
        UserEndpoint::GetUserPhoneNumber,
        UserEndpoint::GetUserEmail,
    ];

    /// The endpoint's name, the last segment of its path.
    pub const fn name(self) -> &'static str {
        match self {
            UserEndpoint::CheckUser => "checkUser",
            UserEndpoint::GetUserAvatar => "getUserAvatar",
            UserEndpoint::GetUserNick => "getUserNick",
            UserEndpoint::GetUserInfoTemporaryCode => "getUserInfoTemporaryCode",
            UserEndpoint::GetUserPhoneNumber => "getUserPhoneNumber",
            UserEndpoint::GetUserEmail => "getUserEmail",
        }
    }
}

/// `GET` or `POST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters in a JSON body.
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Where a route comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The family's page shows this path and method.
    Page,
    /// The family's page does not list the endpoint: the path follows the
    /// page's others and the method its nearest sibling's
    /// (docs/superapp-server.md says which).
    Inferred,
}

/// One endpoint in one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The path.
    pub path: &'static str,
    /// The method.
    pub method: Method,
    /// Whether the page shows it.
    pub source: Source,
}

/// The field names of one family, for requests and for the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldNames {
    /// The user id (`UserId` / `userId`).
    pub user_id: &'static str,
    /// `email` or `phone` (`Type` / `Type` / `type`).
    pub info_type: &'static str,
    /// The temporary code (`TemporaryCode` / `temporaryCode`).
    pub temporary_code: &'static str,
    /// The envelope's code (`ReturnCode` / `returnCode`); `"0"` is success.
    pub return_code: &'static str,
    /// The envelope's message.
    pub return_message: &'static str,
    /// The envelope's data.
    pub data: &'static str,
    /// The envelope's request id, where the family has one.
    pub request_id: Option<&'static str>,
}

const PASCAL: FieldNames = FieldNames {
    user_id: "UserId",
    info_type: "Type",
    temporary_code: "TemporaryCode",
    return_code: "ReturnCode",
    return_message: "ReturnMessage",
    data: "Data",
    request_id: None,
};

const CAMEL: FieldNames = FieldNames {
    user_id: "userId",
    info_type: "type",
    temporary_code: "temporaryCode",
    return_code: "returnCode",
    return_message: "returnMessage",
    data: "data",
    request_id: Some("requestId"),
};

// The config value is the page's "Last updated" date.
wire_names!(
    /// Every family, oldest first.
    PathFamily {
        V20250108 => "2025-01-08",
        V20250425 => "2025-04-25",
        V20251205 => "2025-12-05",
    }
);

impl PathFamily {
    /// The family's field names.
    pub const fn names(self) -> FieldNames {
        match self {
            PathFamily::V20250108 => PASCAL,
            // 2025-04-25 spells the temporary-code request's type `Type`
            // (its other fields are camelCase).
            PathFamily::V20250425 => FieldNames {
                info_type: "Type",
                ..CAMEL
            },
            PathFamily::V20251205 => CAMEL,
        }
    }

    /// The path and method of `endpoint` in this family.
    pub const fn route(self, endpoint: UserEndpoint) -> Route {
        use Method::{Get, Post};
        use Source::{Inferred, Page};
        use UserEndpoint as E;
        let (path, method, source) = match (self, endpoint) {
            (PathFamily::V20250108, E::CheckUser) => ("/superapp/user/checkUser", Post, Page),
            (PathFamily::V20250108, E::GetUserAvatar) => {
                ("/superapp/user/getUserAvatar", Post, Page)
            }
            (PathFamily::V20250108, E::GetUserNick) => ("/superapp/user/getUserNick", Post, Page),
            (PathFamily::V20250108, E::GetUserInfoTemporaryCode) => {
                ("/superapp/user/getUserInfoTemporaryCode", Post, Page)
            }
            (PathFamily::V20250108, E::GetUserPhoneNumber) => {
                ("/superapp/user/getUserPhoneNumber", Post, Page)
            }
            (PathFamily::V20250108, E::GetUserEmail) => ("/superapp/user/getUserEmail", Post, Page),
            (PathFamily::V20250425, E::CheckUser) => ("/superapp/inner/user/checkUser", Post, Page),
            (PathFamily::V20250425, E::GetUserAvatar) => {
                ("/superapp/inner/user/getUserAvatar", Post, Inferred)
            }
            (PathFamily::V20250425, E::GetUserNick) => {
                ("/superapp/inner/user/getUserNick", Post, Inferred)
            }
            (PathFamily::V20250425, E::GetUserInfoTemporaryCode) => {
                ("/superapp/inner/user/getUserInfoTemporaryCode", Get, Page)
            }
            (PathFamily::V20250425, E::GetUserPhoneNumber) => {
                ("/superapp/inner/user/getUserPhoneNumber", Get, Inferred)
            }
            (PathFamily::V20250425, E::GetUserEmail) => {
                ("/superapp/inner/user/getUserEmail", Get, Page)
            }
            (PathFamily::V20251205, E::CheckUser) => ("/user/checkUser", Post, Page),
            (PathFamily::V20251205, E::GetUserAvatar) => ("/user/getUserAvatar", Post, Inferred),
            (PathFamily::V20251205, E::GetUserNick) => ("/user/getUserNick", Post, Inferred),
            (PathFamily::V20251205, E::GetUserInfoTemporaryCode) => {
                ("/user/getUserInfoTemporaryCode", Post, Page)
            }
            (PathFamily::V20251205, E::GetUserPhoneNumber) => {
                ("/user/getUserPhoneNumber", Post, Inferred)
            }
            (PathFamily::V20251205, E::GetUserEmail) => ("/user/getUserEmail", Post, Page),
        };
        Route {
            path,
            method,
            source,
        }
    }
}

/// A value that names no [`PathFamily`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown paths {0:?}: the allowed values are 2025-01-08, 2025-04-25, 2025-12-05")]
pub struct UnknownPathFamily(pub String);

impl FromStr for PathFamily {
    type Err = UnknownPathFamily;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PathFamily::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| UnknownPathFamily(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_a_family_is_distinct_and_ends_with_the_endpoint_name() {
        for family in PathFamily::ALL {
            let mut paths: Vec<_> = UserEndpoint::ALL
                .into_iter()
                .map(|e| {
                    let route = family.route(e);
                    assert!(route.path.ends_with(e.name()), "{family} {route:?}");
                    route.path
                })
                .collect();
            paths.sort_unstable();
            paths.dedup();
            assert_eq!(paths.len(), UserEndpoint::ALL.len(), "{family}");
        }
    }

    #[test]
    fn families_parse_from_their_dates_and_refuse_others_naming_the_allowed() {
        for family in PathFamily::ALL {
            assert_eq!(family.as_str().parse::<PathFamily>(), Ok(family));
        }
        let err = "2024-01-01".parse::<PathFamily>().unwrap_err().to_string();
        assert!(err.contains("2025-01-08, 2025-04-25, 2025-12-05"), "{err}");
    }
}
