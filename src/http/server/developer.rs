//! The seed's five developer-server routes: query string or JSON body in,
//! the platform's answer out.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Uri};

use super::answer::{Answer, Failure};
use super::params::{Params, QueryParams};
use super::state::{ServerState, Shared};
use crate::openserver::{
    CheckSessionRequest, EmailAddressResponse, Jscode2SessionRequest, Jscode2SessionResponse,
    OpenServerError, PhoneNumberResponse, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest,
};
use crate::secret::{AccessToken, AppSecret, Code};

type Outcome<T, E = StatusResponse> = Result<Answer<T>, Failure<E>>;

/// Exchanges a login code for the user's openid, a new session_key and unionid.
///
/// Errors answer with HTTP 200 and `errcode`: 10002 (a parameter missing
/// or repeated), 40001, 40002, 40013, 40029, 40163, 45011, -1; the string
/// fields stay, empty, as the seed shows.
#[utoipa::path(
    get,
    path = "",
    tag = "developer server",
    params(
        ("appid" = Option<String>, Query, description = "the mini program's app id", example = "wxdemo00000000001"),
        ("secret" = Option<String>, Query, description = "its app secret"),
        ("js_code" = Option<String>, Query, description = "the code from wx.login"),
        ("grant_type" = Option<String>, Query, description = "authorization_code", example = "authorization_code"),
    ),
    responses(
        (status = 200, description = "the session, or an error in `errcode`", body = Jscode2SessionResponse),
    )
)]
pub(super) async fn jscode2session(
    State(state): Shared,
    uri: Uri,
) -> Outcome<Jscode2SessionResponse, Jscode2SessionResponse> {
    let p = QueryParams::parse(uri.query());
    let request = Jscode2SessionRequest {
        appid: p.string("appid")?,
        secret: p.string("secret")?.map(AppSecret::new),
        js_code: p.string("js_code")?.map(Code::new),
        grant_type: p.string("grant_type")?,
    };
    Ok(Answer(state.server.jscode2session(&request).await?))
}

/// A new access token, valid 7200 s; the previous one stays valid five
/// more minutes.
///
/// Errors: 10002, 40001, 40002, 40013, 45009 (daily quota), -1.
#[utoipa::path(
    get,
    path = "",
    tag = "developer server",
    params(
        ("appid" = Option<String>, Query, description = "the mini program's app id", example = "wxdemo00000000001"),
        ("secret" = Option<String>, Query, description = "its app secret"),
        ("grant_type" = Option<String>, Query, description = "client_credential", example = "client_credential"),
    ),
    responses(
        (status = 200, description = "the token, or an error in `errcode`", body = TokenResponse),
    )
)]
pub(super) async fn token(State(state): Shared, uri: Uri) -> Outcome<TokenResponse> {
    let p = QueryParams::parse(uri.query());
    let request = TokenRequest {
        appid: p.string("appid")?,
        secret: p.string("secret")?.map(AppSecret::new),
        grant_type: p.string("grant_type")?,
    };
    Ok(Answer(state.server.token(&request).await?))
}

/// Whether `signature` is hex(hmac_sha256(key = the current session_key,
/// message = "")).
///
/// Errors: 10002, 40003, 40014, 42001, 87009, -1.
#[utoipa::path(
    get,
    path = "",
    tag = "developer server",
    params(
        ("access_token" = Option<String>, Query, description = "the app's access token"),
        ("openid" = Option<String>, Query, description = "the user's openid"),
        ("signature" = Option<String>, Query, description = "hex(hmac_sha256(session_key, \"\"))"),
        ("sig_method" = Option<String>, Query, description = "hmac_sha256", example = "hmac_sha256"),
    ),
    responses(
        (status = 200, description = "ok, or an error in `errcode`", body = StatusResponse),
    )
)]
pub(super) async fn checksession(State(state): Shared, uri: Uri) -> Outcome<StatusResponse> {
    let p = QueryParams::parse(uri.query());
    let request = CheckSessionRequest {
        access_token: p.string("access_token")?.map(AccessToken::new),
        openid: p.string("openid")?,
        signature: p.string("signature")?,
        sig_method: p.string("sig_method")?,
    };
    Ok(Answer(state.server.checksession(&request).await?))
}

/// The phone number behind a `wx.getPhoneNumber` code. `access_token` in
/// the body or the query; `openid` optional (WeChat's clients send none).
///
/// Errors: 10002, 40003, 40014, 40029, 40163, 42001, 46001, 46002, 46005, -1.
#[utoipa::path(
    post,
    path = "",
    tag = "developer server",
    params(
        ("access_token" = Option<String>, Query, description = "the app's access token, when not in the body"),
    ),
    request_body(content = UserCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the phone number, or an error in `errcode`", body = PhoneNumberResponse),
    )
)]
pub(super) async fn getuserphonenumber(
    State(state): Shared,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome<PhoneNumberResponse> {
    let request = user_code_request(&state, &uri, &headers, body)?;
    Ok(Answer(state.server.getuserphonenumber(&request).await?))
}

/// The email address behind a `wx.getEmail` code; as getuserphonenumber.
#[utoipa::path(
    post,
    path = "",
    tag = "developer server",
    params(
        ("access_token" = Option<String>, Query, description = "the app's access token, when not in the body"),
    ),
    request_body(content = UserCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the email address, or an error in `errcode`", body = EmailAddressResponse),
    )
)]
pub(super) async fn getemailaddress(
    State(state): Shared,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome<EmailAddressResponse> {
    let request = user_code_request(&state, &uri, &headers, body)?;
    Ok(Answer(state.server.getemailaddress(&request).await?))
}

/// The body of getuserphonenumber / getemailaddress; `access_token` from
/// the body, else from the query string.
fn user_code_request(
    state: &ServerState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<UserCodeRequest, OpenServerError> {
    let body = state.body(body)?;
    let params = Params::from_json_body(headers, &body)?;
    let access_token = match params.string("access_token")? {
        Some(token) if !token.is_empty() => Some(token),
        _ => QueryParams::parse(uri.query()).string("access_token")?,
    };
    Ok(UserCodeRequest {
        access_token: access_token.map(AccessToken::new),
        openid: params.string("openid")?,
        code: params.string("code")?.map(Code::new),
    })
}
