//! The wx open APIs a host answers, and the v3 scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The wx open APIs, each declared once: its variant, wire name, the
/// `OpenApiHandler` method that answers it, whether v2/v3 answer it with a
/// built-in flow (and the v3 scope that flow asks for), and what the host
/// returns. `OpenApi`, `ALL`, the names, `has_builtin`/`scope`, the
/// dispatcher's host-call match and the native bindings' delegate are all
/// generated from it: `with_open_apis!(my_macro)` calls `my_macro!` with
/// every row, built-ins first.
///
/// The "who answers" column is `builtin`: the host's method (v1 always,
/// and for the APIs without a built-in), or the crate's v2/v3 flow. The
/// other names the dispatcher answers are not rows, because every row
/// generates a host method and a method of the native delegate:
/// `authorize`, `getSetting` and `openSetting` are answered by the
/// dispatcher's consent rules from its store (`src/dispatcher/consent.rs`,
/// hooks `consent_prompt`/`open_setting`), `invokeNativePlugin` and the
/// host's custom APIs by the handlers registered on the builder
/// (`src/dispatcher/custom.rs`); a custom API that takes over a row's name
/// answers it instead of the row (`Responder::Custom`).
///
/// Not public API: exported only for the `superapp-openapi-ffi` crate.
#[doc(hidden)]
#[macro_export]
macro_rules! with_open_apis {
    ($callback:ident) => {
        $callback! {
            { Login, "login", login, builtin: true,
              host: "`wx.login` (v1): `{\"code\": …}` for the developer server." }
            { CheckSession, "checkSession", check_session, builtin: true,
              host: "`wx.checkSession` (v1): `{}` while the login session is valid." }
            { GetPhoneNumber, "getPhoneNumber", get_phone_number, builtin: true, scope: PhoneNumber,
              host: "`wx.getPhoneNumber` (v1)." }
            { GetEmail, "getEmail", get_email, builtin: true, scope: Email,
              host: "`wx.getEmail` (v1)." }
            { ChooseAvatar, "chooseAvatar", choose_avatar, builtin: true, scope: Avatar,
              host: "`wx.chooseAvatar` (v1): `{\"avatarUrl\": …}`." }
            { GetNickName, "getNickName", get_nick_name, builtin: true, scope: Nickname,
              host: "`wx.getNickName` (v1): `{\"nickName\": …}`." }
            { GetUserInfo, "getUserInfo", get_user_info, builtin: false,
              host: "`wx.getUserInfo` (every version): `{\"userInfo\": {…}}`." }
            { GetUserProfile, "getUserProfile", get_user_profile, builtin: false,
              host: "`wx.getUserProfile` (every version): `{\"userInfo\": {…}}`." }
            { RequestPayment, "requestPayment", request_payment, builtin: false,
              host: "`wx.requestPayment` (every version)." }
            { RequestMidasPaymentGameItem, "requestMidasPaymentGameItem",
              request_midas_payment_game_item, builtin: false,
              host: "`wx.requestMidasPaymentGameItem` (every version; mini games)." }
            { RequestVirtualPayment, "requestVirtualPayment", request_virtual_payment,
              builtin: false, host: "`wx.requestVirtualPayment` (every version)." }
        }
    };
}

/// `OpenApi` and its names from the table in [`with_open_apis!`].
macro_rules! open_api_enum {
    ($({ $variant:ident, $name:literal, $method:ident, builtin: $builtin:literal
         $(, scope: $scope:ident)?, host: $host:literal })+) => {
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
            $(
                #[doc = concat!("`wx.", $name, "`")]
                $variant,
            )+
        }

        impl OpenApi {
            /// Every supported API, built-ins first.
            pub const ALL: [OpenApi; [$(OpenApi::$variant),+].len()] = [$(OpenApi::$variant),+];

            /// The wire name, as it appears in `errMsg` (`"login"`, `"getPhoneNumber"`…).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(OpenApi::$variant => $name,)+
                }
            }

            /// The `errMsg` of a success: `"login:ok"`, `"getPhoneNumber:ok"`…
            pub const fn ok_msg(self) -> &'static str {
                match self {
                    $(OpenApi::$variant => concat!($name, ":ok"),)+
                }
            }

            /// Parses a wire name, with or without the `wx.` prefix.
            pub fn from_name(name: &str) -> Option<OpenApi> {
                match name.strip_prefix("wx.").unwrap_or(name) {
                    $($name => Some(OpenApi::$variant),)+
                    _ => None,
                }
            }

            /// Whether v2 and v3 answer this API with a built-in flow rather than the host.
            pub const fn has_builtin(self) -> bool {
                match self {
                    $(OpenApi::$variant => $builtin,)+
                }
            }

            /// The scope the v3 built-in asks `get_auth_code` for (login asks for none).
            pub const fn scope(self) -> Option<Scope> {
                match self {
                    $(OpenApi::$variant => open_api_enum!(@scope $($scope)?),)+
                }
            }
        }

        /// The supported names, for [`UnknownApi`]'s message.
        const SUPPORTED: &str = open_api_enum!(@list $($name)+);
    };
    (@scope) => { None };
    (@scope $scope:ident) => { Some(Scope::$scope) };
    (@list $first:literal $($rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

with_open_apis!(open_api_enum);

impl OpenApi {
    /// Whether the v3 built-in asks the host's `get_auth_code` first
    /// (every built-in but checkSession, which follows v2).
    pub const fn needs_auth_code(self) -> bool {
        self.has_builtin() && !matches!(self, OpenApi::CheckSession)
    }
}

impl fmt::Display for OpenApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the supported wx APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is not supported: supported APIs are {SUPPORTED}")]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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
