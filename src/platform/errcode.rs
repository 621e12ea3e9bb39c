//! The platform's error codes (`docs/openserver.md`).

use std::borrow::Cow;
use std::fmt;

/// Declares the codes once: each variant with its doc, its number on the
/// wire and its standard message; `ALL` is in the order written (numeric).
macro_rules! errcodes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $message:literal;)+) => {
        /// An `errcode` the platform answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrCode {
            /// Every code, in numeric order.
            pub const ALL: [ErrCode; [$($code),+].len()] = [$(ErrCode::$variant),+];

            /// The number on the wire.
            pub const fn code(self) -> i64 {
                match self {
                    $(ErrCode::$variant => $code,)+
                }
            }

            /// The platform's standard message for the code.
            pub const fn message(self) -> &'static str {
                match self {
                    $(ErrCode::$variant => $message,)+
                }
            }
        }
    };
}

errcodes! {
    /// `-1` system error.
    SystemError = -1, "system error";
    /// `0` ok.
    Ok = 0, "ok";
    /// `10002` invalid param (missing, empty or of the wrong type).
    InvalidParam = 10002, "invalid param";
    /// `40001` invalid AppSecret (or SDK key).
    InvalidSecret = 40001, "invalid appsecret";
    /// `40002` invalid grant_type.
    InvalidGrantType = 40002, "invalid grant_type";
    /// `40003` invalid openid.
    InvalidOpenid = 40003, "invalid openid";
    /// `40013` invalid appid.
    InvalidAppid = 40013, "invalid appid";
    /// `40014` invalid access_token.
    InvalidAccessToken = 40014, "invalid access_token";
    /// `40029` invalid code (unknown, expired, or another app's or user's).
    InvalidCode = 40029, "invalid js_code";
    /// `40163` code been used.
    CodeUsed = 40163, "code been used";
    /// `42001` access_token expired.
    AccessTokenExpired = 42001, "access_token expired";
    /// `45009` too many outstanding codes for the app.
    TooManyCodes = 45009, "too many outstanding codes";
    /// `45011` rate limit.
    RateLimited = 45011, "rate limit";
    /// `46001` the super-app user does not exist.
    UserNotFound = 46001, "user not found";
    /// `46002` the super-app user is not active.
    UserInactive = 46002, "user inactive";
    /// `46003` invalid authCode (unknown, expired, used, or another app's).
    InvalidAuthCode = 46003, "invalid authCode";
    /// `46004` the authCode does not grant the scope the call needs.
    ScopeNotGranted = 46004, "scope not granted";
    /// `46005` the user has no phone number or email to hand out.
    NoSuchUserData = 46005, "user has no such data";
    /// `46006` the user has no live session in the app to seal open data with.
    NoSession = 46006, "no session";
    /// `48001` api unauthorized: the SDK key may not act for this app.
    ApiUnauthorized = 48001, "api unauthorized";
    /// `87009` invalid signature.
    InvalidSignature = 87009, "invalid signature";
}

impl ErrCode {
    /// The code for a number, if it is one of ours.
    pub fn from_code(code: i64) -> Option<ErrCode> {
        ErrCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

/// A platform failure: its code, a message that says what was wrong, and,
/// when it came over the wire, the `requestId` of the answer. The one shape
/// of a platform error: the embedded platform returns it, and
/// [`PlatformError::Api`](crate::platform::PlatformError::Api) and the
/// developer-server client's `ClientError::Api` carry it.
///
/// ```
/// use superapp_openapi::openserver::{ErrCode, OpenServerError};
/// let e = OpenServerError::missing("js_code");
/// assert_eq!(e.errcode(), 10002);
/// assert_eq!(e.errmsg(), "invalid param: js_code is missing");
/// let e = OpenServerError::new(ErrCode::RateLimited).with_message("rate limit: slow down");
/// assert_eq!(e.to_string(), "45011: rate limit: slow down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{errcode}: {message}")]
pub struct OpenServerError {
    errcode: i64,
    message: Cow<'static, str>,
    request_id: Option<String>,
}

impl OpenServerError {
    /// An error with the code's standard message.
    pub fn new(code: ErrCode) -> Self {
        OpenServerError {
            errcode: code.code(),
            message: Cow::Borrowed(code.message()),
            request_id: None,
        }
    }

    /// The error with a message of its own, saying what was wrong.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// The error with the `requestId` of the answer that carried it.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// An error as a platform sent it, whether or not the code is one of ours.
    pub fn from_wire(errcode: i64, errmsg: impl Into<String>) -> Self {
        OpenServerError {
            errcode,
            message: Cow::Owned(errmsg.into()),
            request_id: None,
        }
    }

    /// `10002`, naming the missing parameter.
    pub fn missing(param: &str) -> Self {
        OpenServerError::new(ErrCode::InvalidParam)
            .with_message(format!("invalid param: {param} is missing"))
    }

    /// The code, if it is one of ours.
    pub fn code(&self) -> Option<ErrCode> {
        ErrCode::from_code(self.errcode)
    }

    /// The number on the wire.
    pub fn errcode(&self) -> i64 {
        self.errcode
    }

    /// The message on the wire.
    pub fn errmsg(&self) -> &str {
        &self.message
    }

    /// The `requestId` of the answer that carried the error, when it came
    /// over the wire with one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl From<OpenServerError> for super::PlatformError {
    fn from(err: OpenServerError) -> Self {
        super::PlatformError::Api(err)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrCode;

    #[test]
    fn all_lists_every_errcode_in_numeric_order() {
        let every = every_variant!(ErrCode {
            SystemError,
            Ok,
            InvalidParam,
            InvalidSecret,
            InvalidGrantType,
            InvalidOpenid,
            InvalidAppid,
            InvalidAccessToken,
            InvalidCode,
            CodeUsed,
            AccessTokenExpired,
            TooManyCodes,
            RateLimited,
            UserNotFound,
            UserInactive,
            InvalidAuthCode,
            ScopeNotGranted,
            NoSuchUserData,
            NoSession,
            ApiUnauthorized,
            InvalidSignature,
        });
        assert_eq!(ErrCode::ALL, every);
        assert!(
            ErrCode::ALL
                .windows(2)
                .all(|pair| pair[0].code() < pair[1].code())
        );
    }
}
