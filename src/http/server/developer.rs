//! The five developer-server routes of TCMPP's "Mini Program Login" page: query string or JSON body in,
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

/// `developer_route! { docs name: GET(Request) -> Answer / ErrorForm, "what the answer holds" }`
/// (or `POST(UserCodeRequest)`): the handler, which reads the request and
/// answers what the platform's method of the same name answers, with its
/// OpenAPI operation (the path is the route table's).
macro_rules! developer_route {
    ($(#[$doc:meta])* $name:ident: GET($request:ident) -> $answer:ident / $form:ident, $what:tt) => {
        $(#[$doc])*
        #[utoipa::path(
            get,
            path = "",
            tag = "developer server",
            params($request),
            responses((status = 200, description = $what, body = $answer))
        )]
        pub(super) async fn $name(
            State(state): Shared,
            Query(request, _): Query<$request, $form>,
        ) -> Outcome<$answer, $form> {
            Ok(Answer(state.server.$name(&request).await?))
        }
    };
    ($(#[$doc:meta])* $name:ident: POST(UserCodeRequest) -> $answer:ident, $what:tt) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = "",
            tag = "developer server",
            params(
                ("access_token" = Option<String>, Query, description = "the app's access token, when not in the body"),
            ),
            request_body(content = UserCodeRequest, content_type = "application/json"),
            responses((status = 200, description = $what, body = $answer))
        )]
        pub(super) async fn $name(
            State(state): Shared,
            UserCode(request): UserCode,
        ) -> Outcome<$answer> {
            Ok(Answer(state.server.$name(&request).await?))
        }
    };
}

developer_route! {
    /// Exchanges a login code for the user's openid, a new session_key and unionid.
    ///
    /// Errors answer with HTTP 200 and `errcode`: 10002 (a parameter missing
    /// or repeated), 40001, 40002, 40013, 40029, 40163, 45011, -1; the string
    /// fields stay, empty, as TCMPP's page shows.
    jscode2session: GET(Jscode2SessionRequest) -> Jscode2SessionResponse / Jscode2SessionResponse,
        "the session, or an error in `errcode`"
}

developer_route! {
    /// A new access token, valid 7200 s; the previous one stays valid five
    /// more minutes.
    ///
    /// Errors: 10002, 40001, 40002, 40013, 45009 (daily quota), -1.
    token: GET(TokenRequest) -> TokenResponse / StatusResponse,
        "the token, or an error in `errcode`"
}

developer_route! {
    /// Whether `signature` is hex(hmac_sha256(key = the current session_key,
    /// message = "")).
    ///
    /// Errors: 10002, 40003, 40014, 42001, 87009, -1.
    checksession: GET(CheckSessionRequest) -> StatusResponse / StatusResponse,
        "ok, or an error in `errcode`"
}

developer_route! {
    /// The phone number behind a `wx.getPhoneNumber` code. `access_token` in
    /// the body or the query; `openid` optional (WeChat's clients send none).
    ///
    /// Errors: 10002, 40003, 40014, 40029, 40163, 42001, 46001, 46002, 46005, -1.
    getuserphonenumber: POST(UserCodeRequest) -> PhoneNumberResponse,
        "the phone number, or an error in `errcode`"
}

developer_route! {
    /// The email address behind a `wx.getEmail` code; as getuserphonenumber.
    getemailaddress: POST(UserCodeRequest) -> EmailAddressResponse,
        "the email address, or an error in `errcode`"
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
