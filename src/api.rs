//! The wx open APIs a host answers, and the v3 scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the eleven wx open APIs the host answers.
///
/// The wire name is the wx method without its `wx.` prefix; both forms parse.
///
/// ```
/// use superapp_openapi::{OpenApi, Scope};
/// let api: OpenApi = "wx.getPhoneNumber".parse()?;
/// assert_eq!(api, OpenApi::GetPhoneNumber);
/// assert_eq!(api.as_str(), "getPhoneNumber");
/// assert!(api.has_builtin());
/// assert_eq!(api.scope(), Some(Scope::PhoneNumber));
/// # Ok::<(), superapp_openapi::UnknownApi>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OpenApi {
    /// `wx.login`
    Login,
    /// `wx.checkSession`
    CheckSession,
    /// `wx.getPhoneNumber`
    GetPhoneNumber,
    /// `wx.getEmail`
    GetEmail,
    /// `wx.chooseAvatar`
    ChooseAvatar,
    /// `wx.getNickName`
    GetNickName,
    /// `wx.getUserInfo`
    GetUserInfo,
    /// `wx.getUserProfile`
    GetUserProfile,
    /// `wx.requestPayment`
    RequestPayment,
    /// `wx.requestMidasPaymentGameItem`
    RequestMidasPaymentGameItem,
    /// `wx.requestVirtualPayment`
    RequestVirtualPayment,
}

impl OpenApi {
    /// Every supported API, built-ins first.
    pub const ALL: [OpenApi; 11] = [
        OpenApi::Login,
        OpenApi::CheckSession,
        OpenApi::GetPhoneNumber,
        OpenApi::GetEmail,
        OpenApi::ChooseAvatar,
        OpenApi::GetNickName,
        OpenApi::GetUserInfo,
        OpenApi::GetUserProfile,
        OpenApi::RequestPayment,
        OpenApi::RequestMidasPaymentGameItem,
        OpenApi::RequestVirtualPayment,
    ];

    /// The wire name, as it appears in `errMsg` (`"login"`, `"getPhoneNumber"`…).
    pub const fn as_str(self) -> &'static str {
        match self {
            OpenApi::Login => "login",
            OpenApi::CheckSession => "checkSession",
            OpenApi::GetPhoneNumber => "getPhoneNumber",
            OpenApi::GetEmail => "getEmail",
            OpenApi::ChooseAvatar => "chooseAvatar",
            OpenApi::GetNickName => "getNickName",
            OpenApi::GetUserInfo => "getUserInfo",
            OpenApi::GetUserProfile => "getUserProfile",
            OpenApi::RequestPayment => "requestPayment",
            OpenApi::RequestMidasPaymentGameItem => "requestMidasPaymentGameItem",
            OpenApi::RequestVirtualPayment => "requestVirtualPayment",
        }
    }

    /// The `errMsg` of a success: `"login:ok"`, `"getPhoneNumber:ok"`…
    pub const fn ok_msg(self) -> &'static str {
        match self {
            OpenApi::Login => "login:ok",
            OpenApi::CheckSession => "checkSession:ok",
            OpenApi::GetPhoneNumber => "getPhoneNumber:ok",
            OpenApi::GetEmail => "getEmail:ok",
            OpenApi::ChooseAvatar => "chooseAvatar:ok",
            OpenApi::GetNickName => "getNickName:ok",
            OpenApi::GetUserInfo => "getUserInfo:ok",
            OpenApi::GetUserProfile => "getUserProfile:ok",
            OpenApi::RequestPayment => "requestPayment:ok",
            OpenApi::RequestMidasPaymentGameItem => "requestMidasPaymentGameItem:ok",
            OpenApi::RequestVirtualPayment => "requestVirtualPayment:ok",
        }
    }

    /// Parses a wire name, with or without the `wx.` prefix.
    pub fn from_name(name: &str) -> Option<OpenApi> {
        let bare = name.strip_prefix("wx.").unwrap_or(name);
        OpenApi::ALL.into_iter().find(|api| api.as_str() == bare)
    }

    /// Whether v2 and v3 answer this API with a built-in flow rather than the host.
    pub const fn has_builtin(self) -> bool {
        matches!(
            self,
            OpenApi::Login
                | OpenApi::CheckSession
                | OpenApi::GetPhoneNumber
                | OpenApi::GetEmail
                | OpenApi::ChooseAvatar
                | OpenApi::GetNickName
        )
    }

    /// Whether the v3 built-in asks the host's `get_auth_code` first
    /// (every built-in but checkSession, which follows v2).
    pub const fn needs_auth_code(self) -> bool {
        self.has_builtin() && !matches!(self, OpenApi::CheckSession)
    }

    /// The scope the v3 built-in asks `get_auth_code` for (login asks for none).
    pub const fn scope(self) -> Option<Scope> {
        match self {
            OpenApi::GetPhoneNumber => Some(Scope::PhoneNumber),
            OpenApi::GetEmail => Some(Scope::Email),
            OpenApi::ChooseAvatar => Some(Scope::Avatar),
            OpenApi::GetNickName => Some(Scope::Nickname),
            _ => None,
        }
    }
}

impl fmt::Display for OpenApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the supported wx APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name} is not supported: supported APIs are login, checkSession, getPhoneNumber, getEmail, chooseAvatar, getNickName, getUserInfo, getUserProfile, requestPayment, requestMidasPaymentGameItem, requestVirtualPayment"
)]
pub struct UnknownApi {
    /// The name that was asked for.
    pub name: String,
}

impl FromStr for OpenApi {
    type Err = UnknownApi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OpenApi::from_name(s).ok_or_else(|| UnknownApi { name: s.to_owned() })
    }
}

/// A v3 authorization scope: what a user lets a mini program read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum Scope {
    /// `SCOPE_PHONE_NUMBER`, for wx.getPhoneNumber.
    #[serde(rename = "SCOPE_PHONE_NUMBER")]
    PhoneNumber,
    /// `SCOPE_EMAIL`, for wx.getEmail.
    #[serde(rename = "SCOPE_EMAIL")]
    Email,
    /// `SCOPE_AVATAR`, for wx.chooseAvatar.
    #[serde(rename = "SCOPE_AVATAR")]
    Avatar,
    /// `SCOPE_NICKNAME`, for wx.getNickName.
    #[serde(rename = "SCOPE_NICKNAME")]
    Nickname,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [
        Scope::PhoneNumber,
        Scope::Email,
        Scope::Avatar,
        Scope::Nickname,
    ];

    /// The wire name, e.g. `"SCOPE_PHONE_NUMBER"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::PhoneNumber => "SCOPE_PHONE_NUMBER",
            Scope::Email => "SCOPE_EMAIL",
            Scope::Avatar => "SCOPE_AVATAR",
            Scope::Nickname => "SCOPE_NICKNAME",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the v3 scopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope {found:?}: allowed values are SCOPE_PHONE_NUMBER, SCOPE_EMAIL, SCOPE_AVATAR, SCOPE_NICKNAME"
)]
pub struct UnknownScope {
    /// What was found.
    pub found: String,
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope {
                found: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{OpenApi, Scope};

    #[test]
    fn all_lists_every_api_with_the_built_ins_first() {
        let every = every_variant!(OpenApi {
            Login,
            CheckSession,
            GetPhoneNumber,
            GetEmail,
            ChooseAvatar,
            GetNickName,
            GetUserInfo,
            GetUserProfile,
            RequestPayment,
            RequestMidasPaymentGameItem,
            RequestVirtualPayment,
        });
        assert_eq!(OpenApi::ALL, every);
        assert!(
            OpenApi::ALL
                .windows(2)
                .all(|pair| pair[0].has_builtin() || !pair[1].has_builtin())
        );
    }

    #[test]
    fn all_lists_every_scope() {
        let every = every_variant!(Scope {
            PhoneNumber,
            Email,
            Avatar,
            Nickname,
        });
        assert_eq!(Scope::ALL, every);
    }
}
