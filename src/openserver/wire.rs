//! Requests and responses of the developer-server API, in the JSON form of TCMPP's
//! "Mini Program Login" page (<https://www.tencentcloud.com/document/product/1219/67646>).
//!
//! Request fields are optional so that a missing one is answered with
//! `10002` naming it rather than a parse error. Every response carries
//! `errcode`, `errmsg` and `requestId`; read back (by the HTTP clients), a
//! missing one is 0 or empty, as some platforms leave them out of
//! successful answers (WeChat sends no `unionid` for a user with none).

use serde::{Deserialize, Serialize};

use crate::digest::to_hex;
use crate::platform::errcode::OpenServerError;
use crate::secret::{AccessToken, AppSecret, Code, EmailAddress, PhoneNumber, SessionKey};

/// `grant_type` of jscode2session.
pub(crate) const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
/// `grant_type` of the token endpoint.
pub(crate) const GRANT_CLIENT_CREDENTIAL: &str = "client_credential";
/// The only `sig_method` of checksession.
pub(crate) const SIG_METHOD_HMAC_SHA256: &str = "hmac_sha256";

/// `GET /openserver/sns/jscode2session`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct Jscode2SessionRequest {
    /// `appid`: the mini program's app id
    #[cfg_attr(feature = "http", param(example = "wxdemo00000000001"))]
    #[serde(default)]
    pub appid: Option<String>,
    /// `secret`: its app secret
    #[cfg_attr(feature = "http", param(value_type = Option<String>))]
    #[serde(default)]
    pub secret: Option<AppSecret>,
    /// `js_code`: the code from wx.login
    #[cfg_attr(feature = "http", param(value_type = Option<String>))]
    #[serde(default)]
    pub js_code: Option<Code>,
    /// `grant_type`: authorization_code
    #[cfg_attr(feature = "http", param(example = "authorization_code"))]
    #[serde(default)]
    pub grant_type: Option<String>,
}

impl Jscode2SessionRequest {
    /// A complete request with `grant_type=authorization_code`.
    pub fn new(appid: impl Into<String>, secret: AppSecret, js_code: Code) -> Self {
        Jscode2SessionRequest {
            appid: Some(appid.into()),
            secret: Some(secret),
            js_code: Some(js_code),
            grant_type: Some(GRANT_AUTHORIZATION_CODE.to_owned()),
        }
    }
}

/// The answer of jscode2session; on error the string fields are empty, as
/// TCMPP's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Jscode2SessionResponse {
    /// `errcode`, 0 on success.
    #[serde(default)]
    pub errcode: i64,
    /// `errmsg`
    #[serde(default)]
    pub errmsg: String,
    /// `openid`: stable per (app, user), 64 hex characters.
    #[serde(default)]
    pub openid: String,
    /// `requestId`
    #[serde(rename = "requestId", default)]
    pub request_id: String,
    /// `session_key`: a new one each exchange.
    #[serde(default)]
    pub session_key: SessionKey,
    /// `unionid`: stable per (team, user).
    #[serde(default)]
    pub unionid: String,
}

/// `GET /openserver/cgi-bin/token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct TokenRequest {
    /// `appid`: the mini program's app id
    #[cfg_attr(feature = "http", param(example = "wxdemo00000000001"))]
    #[serde(default)]
    pub appid: Option<String>,
    /// `secret`: its app secret
    #[cfg_attr(feature = "http", param(value_type = Option<String>))]
    #[serde(default)]
    pub secret: Option<AppSecret>,
    /// `grant_type`: client_credential
    #[cfg_attr(feature = "http", param(example = "client_credential"))]
    #[serde(default)]
    pub grant_type: Option<String>,
}

impl TokenRequest {
    /// A complete request with `grant_type=client_credential`.
    pub fn new(appid: impl Into<String>, secret: AppSecret) -> Self {
        TokenRequest {
            appid: Some(appid.into()),
            secret: Some(secret),
            grant_type: Some(GRANT_CLIENT_CREDENTIAL.to_owned()),
        }
    }
}

/// The answer of the token endpoint (`access_token` and `expires_in` only on success).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// `access_token`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
    /// `errcode`
    #[serde(default)]
    pub errcode: i64,
    /// `errmsg`
    #[serde(default)]
    pub errmsg: String,
    /// `expires_in`, seconds (7200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// `requestId`
    #[serde(rename = "requestId", default)]
    pub request_id: String,
}

/// `GET /openserver/wxa/checksession`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct CheckSessionRequest {
    /// `access_token`: the app's access token
    #[cfg_attr(feature = "http", param(value_type = Option<String>))]
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// `openid`: the user's openid
    #[serde(default)]
    pub openid: Option<String>,
    /// `signature` = hex(hmac_sha256(key = session_key, message = "")).
    #[serde(default)]
    pub signature: Option<String>,
    /// `sig_method`: hmac_sha256
    #[cfg_attr(feature = "http", param(example = "hmac_sha256"))]
    #[serde(default)]
    pub sig_method: Option<String>,
}

impl CheckSessionRequest {
    /// A complete request with `sig_method=hmac_sha256`.
    pub fn new(access_token: AccessToken, openid: impl Into<String>, signature: String) -> Self {
        CheckSessionRequest {
            access_token: Some(access_token),
            openid: Some(openid.into()),
            signature: Some(signature),
            sig_method: Some(SIG_METHOD_HMAC_SHA256.to_owned()),
        }
    }
}

/// An answer with only the status fields (checksession, and errors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    /// `errcode`
    #[serde(default)]
    pub errcode: i64,
    /// `errmsg`
    #[serde(default)]
    pub errmsg: String,
    /// `requestId`
    #[serde(rename = "requestId", default)]
    pub request_id: String,
}

/// `POST /openserver/wxa/business/getuserphonenumber` and `.../getemailaddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct UserCodeRequest {
    /// `access_token`
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// `openid`: TCMPP's page sends it; WeChat's own clients do not (the code
    /// names the user). When given, it must be the code's user.
    #[serde(default)]
    pub openid: Option<String>,
    /// `code` from wx.getPhoneNumber / wx.getEmail.
    #[serde(default)]
    pub code: Option<Code>,
}

impl UserCodeRequest {
    /// A complete request in TCMPP's form, with the user's openid.
    pub fn new(access_token: AccessToken, openid: impl Into<String>, code: Code) -> Self {
        UserCodeRequest {
            access_token: Some(access_token),
            openid: Some(openid.into()),
            code: Some(code),
        }
    }

    /// A request in WeChat's form: the code alone names the user.
    pub fn for_code(access_token: AccessToken, code: Code) -> Self {
        UserCodeRequest {
            access_token: Some(access_token),
            openid: None,
            code: Some(code),
        }
    }
}

/// `phone_info` of getuserphonenumber: TCMPP's `phoneNumber`, and
/// WeChat's `purePhoneNumber` and `countryCode` beside it (derived from the
/// stored number by [`PhoneInfo::from_number`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PhoneInfo {
    /// `phoneNumber`: the number as the super app stores it.
    #[serde(rename = "phoneNumber")]
    pub phone_number: PhoneNumber,
    /// `purePhoneNumber`: the national number, without country code.
    #[serde(rename = "purePhoneNumber", default)]
    pub pure_phone_number: PhoneNumber,
    /// `countryCode`: the calling code, without `+`.
    #[serde(rename = "countryCode", default)]
    pub country_code: String,
}

/// Where a number without its own calling code is: mainland China, the
/// platform's home region (WeChat answers `86` for such numbers too).
const DEFAULT_COUNTRY_CODE: &str = "86";

impl PhoneInfo {
    /// The three forms of a stored number:
    ///
    /// - `+CC NATIONAL` or `+CC-NATIONAL` (a separator after the calling
    ///   code): `countryCode` CC, `purePhoneNumber` the national digits;
    /// - `+86…` with no separator: `86` and the rest (the only calling
    ///   code read without a separator, since calling codes have 1 to 3
    ///   digits and only a separator tells them apart in general);
    /// - anything else (`13800138000`, or `+` and another code with no
    ///   separator): `86` for a national number, and the digits as they
    ///   are.
    ///
    /// ```
    /// use superapp_openapi::PhoneNumber;
    /// use superapp_openapi::openserver::PhoneInfo;
    /// let info = PhoneInfo::from_number(PhoneNumber::new("+8613800138000"));
    /// assert_eq!((info.pure_phone_number.secret(), info.country_code.as_str()), ("13800138000", "86"));
    /// let info = PhoneInfo::from_number(PhoneNumber::new("+1 4155550100"));
    /// assert_eq!((info.pure_phone_number.secret(), info.country_code.as_str()), ("4155550100", "1"));
    /// ```
    pub fn from_number(phone_number: PhoneNumber) -> Self {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let text = phone_number.secret().trim();
        let (country_code, pure) = match text.strip_prefix('+') {
            Some(rest) => match rest.split_once([' ', '-']) {
                Some((code, national)) if !code.is_empty() && code.len() <= 3 => {
                    (digits(code), digits(national))
                }
                _ if rest.starts_with(DEFAULT_COUNTRY_CODE) => (
                    DEFAULT_COUNTRY_CODE.to_owned(),
                    digits(&rest[DEFAULT_COUNTRY_CODE.len()..]),
                ),
                _ => (String::new(), digits(rest)),
            },
            None => (DEFAULT_COUNTRY_CODE.to_owned(), digits(text)),
        };
        PhoneInfo {
            pure_phone_number: PhoneNumber::new(pure),
            country_code,
            phone_number,
        }
    }
}

/// The answer of getuserphonenumber (`phone_info` only on success).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PhoneNumberResponse {
    /// `errcode`
    #[serde(default)]
    pub errcode: i64,
    /// `errmsg`
    #[serde(default)]
    pub errmsg: String,
    /// `phone_info`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_info: Option<PhoneInfo>,
    /// `requestId`
    #[serde(rename = "requestId", default)]
    pub request_id: String,
}

/// `email_address` of getemailaddress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct EmailInfo {
    /// `emailAddress`
    #[serde(rename = "emailAddress")]
    pub email_address: EmailAddress,
}

/// The answer of getemailaddress (`email_address` only on success).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct EmailAddressResponse {
    /// `errcode`
    #[serde(default)]
    pub errcode: i64,
    /// `errmsg`
    #[serde(default)]
    pub errmsg: String,
    /// `email_address`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<EmailInfo>,
    /// `requestId`
    #[serde(rename = "requestId", default)]
    pub request_id: String,
}

impl Jscode2SessionResponse {
    /// TCMPP's error form: the string fields stay, empty.
    pub fn from_error(err: &OpenServerError) -> Self {
        Jscode2SessionResponse {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            openid: String::new(),
            request_id: request_id(),
            session_key: SessionKey::new(""),
            unionid: String::new(),
        }
    }
}

impl TokenResponse {
    /// An error: no `access_token`, no `expires_in`.
    pub fn from_error(err: &OpenServerError) -> Self {
        TokenResponse {
            access_token: None,
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            expires_in: None,
            request_id: request_id(),
        }
    }
}

impl StatusResponse {
    /// `errcode` 0, `errmsg` "ok".
    pub fn ok() -> Self {
        StatusResponse {
            errcode: 0,
            errmsg: "ok".into(),
            request_id: request_id(),
        }
    }

    /// An error.
    pub fn from_error(err: &OpenServerError) -> Self {
        StatusResponse {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            request_id: request_id(),
        }
    }
}

impl PhoneNumberResponse {
    /// An error: no `phone_info`.
    pub fn from_error(err: &OpenServerError) -> Self {
        PhoneNumberResponse {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            phone_info: None,
            request_id: request_id(),
        }
    }
}

impl EmailAddressResponse {
    /// An error: no `email_address`.
    pub fn from_error(err: &OpenServerError) -> Self {
        EmailAddressResponse {
            errcode: err.errcode(),
            errmsg: err.errmsg().to_owned(),
            email_address: None,
            request_id: request_id(),
        }
    }
}

/// What every response has in common, so callers and the HTTP layer treat
/// them alike.
pub trait ApiResponse {
    /// `errcode`
    fn errcode(&self) -> i64;
    /// `errmsg`
    fn errmsg(&self) -> &str;
    /// `requestId`
    fn request_id(&self) -> &str;
    /// Whether `errcode` is 0.
    fn is_ok(&self) -> bool {
        self.errcode() == 0
    }
    /// The error of a failed response.
    fn error(&self) -> Option<OpenServerError> {
        match self.errcode() {
            0 => None,
            code => Some(OpenServerError::from_wire(code, self.errmsg())),
        }
    }
    /// The response's error form: `errcode`, `errmsg`, a new `requestId`,
    /// and the result fields empty (jscode2session keeps them as empty
    /// strings, as TCMPP's page shows; the others leave them out).
    fn from_error(err: &OpenServerError) -> Self
    where
        Self: Sized;
    /// The answer the wire carries for a call's result: the success as it
    /// is, an error in the response's error form.
    ///
    /// ```
    /// use superapp_openapi::openserver::{ApiResponse, OpenServerError, TokenResponse, ErrCode};
    /// let answer = TokenResponse::from_result(Err(OpenServerError::new(ErrCode::InvalidAppid)));
    /// assert_eq!((answer.errcode, answer.access_token), (40013, None));
    /// ```
    fn from_result(result: Result<Self, OpenServerError>) -> Self
    where
        Self: Sized,
    {
        result.unwrap_or_else(|err| Self::from_error(&err))
    }
}

macro_rules! api_response {
    ($($ty:ty),*) => {$(
        impl ApiResponse for $ty {
            fn errcode(&self) -> i64 { self.errcode }
            fn errmsg(&self) -> &str { &self.errmsg }
            fn request_id(&self) -> &str { &self.request_id }
            fn from_error(err: &OpenServerError) -> Self { <$ty>::from_error(err) }
        }
    )*};
}
api_response!(
    Jscode2SessionResponse,
    TokenResponse,
    StatusResponse,
    PhoneNumberResponse,
    EmailAddressResponse
);

/// A `requestId`: 32 hex characters, as on TCMPP's page, unique per response.
///
/// It names a response in logs and is no secret, so it needs no CSPRNG draw:
/// a random per-thread prefix and a per-thread counter make it unique
/// without a shared atomic on the hot path.
pub(crate) fn request_id() -> String {
    thread_local! {
        static NEXT: std::cell::Cell<(u64, u64)> = std::cell::Cell::new((rand::random(), 0));
    }
    let (prefix, n) = NEXT.with(|next| {
        let (prefix, n) = next.get();
        next.set((prefix, n.wrapping_add(1)));
        (prefix, n)
    });
    to_hex(&((u128::from(prefix) << 64) | u128::from(n)).to_be_bytes())
}
