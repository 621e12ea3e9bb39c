//! The seed's five developer-server routes: query string or JSON body in,
//! the platform's answer out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Uri};

use super::answer::{Answer, Failure};
use super::params::{Params, QueryParams};
use super::query::Query;
use super::state::{ServerState, Shared, read_request};
use crate::openserver::{
    CheckSessionRequest, EmailAddressResponse, Jscode2SessionRequest, Jscode2SessionResponse,
    OpenServerError, PhoneNumberResponse, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest,
};
use crate::secret::{AccessToken, Code};

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
    params(Jscode2SessionRequest),
    responses(
        (status = 200, description = "the session, or an error in `errcode`", body = Jscode2SessionResponse),
    )
)]
pub(super) async fn jscode2session(
    State(state): Shared,
    Query(request, _): Query<Jscode2SessionRequest, Jscode2SessionResponse>,
) -> Outcome<Jscode2SessionResponse, Jscode2SessionResponse> {
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
    params(TokenRequest),
    responses(
        (status = 200, description = "the token, or an error in `errcode`", body = TokenResponse),
    )
)]
pub(super) async fn token(
    State(state): Shared,
    Query(request, _): Query<TokenRequest>,
) -> Outcome<TokenResponse> {
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
    params(CheckSessionRequest),
    responses(
        (status = 200, description = "ok, or an error in `errcode`", body = StatusResponse),
    )
)]
pub(super) async fn checksession(
    State(state): Shared,
    Query(request, _): Query<CheckSessionRequest>,
) -> Outcome<StatusResponse> {
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
    UserCode(request): UserCode,
) -> Outcome<PhoneNumberResponse> {
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
    UserCode(request): UserCode,
) -> Outcome<EmailAddressResponse> {
    Ok(Answer(state.server.getemailaddress(&request).await?))
}

/// The request of getuserphonenumber and getemailaddress, read by
/// [`user_code_request`].
pub(super) struct UserCode(UserCodeRequest);

impl FromRequest<Arc<ServerState>> for UserCode {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &Arc<ServerState>) -> Result<Self, Failure> {
        let (headers, uri, body) = read_request(request, state).await;
        Ok(UserCode(user_code_request(state, &uri, &headers, body)?))
    }
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
