//! The seed's five developer-server routes: query string or JSON body in,
//! the platform's answer out.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::handler::Handler;
use axum::http::HeaderMap;
use axum::routing::{MethodFilter, MethodRouter, on, post};

use super::answer::{Answer, Failure};
use super::params::{Params, QueryPairs};
use super::refusals::head_refused;
use super::state::{ServerState, Shared};
use crate::http::wire::paths;
use crate::openserver::{
    CheckSessionRequest, EmailAddressResponse, Jscode2SessionRequest, Jscode2SessionResponse,
    OpenServerError, PhoneNumberResponse, StatusResponse, TokenRequest, TokenResponse,
    UserCodeRequest,
};
use crate::secret::{AccessToken, AppSecret, Code};

/// The routes.
pub(super) fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route(paths::JSCODE2SESSION, get_only(jscode2session))
        .route(paths::TOKEN, get_only(token))
        .route(paths::CHECKSESSION, get_only(checksession))
        .route(paths::GET_USER_PHONE_NUMBER, post(getuserphonenumber))
        .route(paths::GET_EMAIL_ADDRESS, post(getemailaddress))
}

/// A GET route that refuses `HEAD` with 405 rather than running the route
/// (axum serves `HEAD` with the `GET` handler, and a `HEAD` on the token
/// route would issue a token nobody sees).
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<ServerState>>
where
    H: Handler<T, Arc<ServerState>>,
    T: 'static,
{
    on(MethodFilter::GET, handler).on(MethodFilter::HEAD, head_refused)
}

type Outcome<T, E = StatusResponse> = Result<Answer<T>, Failure<E>>;

async fn jscode2session(
    State(state): Shared,
    query: QueryPairs,
) -> Outcome<Jscode2SessionResponse, Jscode2SessionResponse> {
    let p = Params::from_query_string(query)?;
    let request = Jscode2SessionRequest {
        appid: p.string("appid")?,
        secret: p.string("secret")?.map(AppSecret::new),
        js_code: p.string("js_code")?.map(Code::new),
        grant_type: p.string("grant_type")?,
    };
    Ok(Answer(state.server.jscode2session(&request).await?))
}

async fn token(State(state): Shared, query: QueryPairs) -> Outcome<TokenResponse> {
    let p = Params::from_query_string(query)?;
    let request = TokenRequest {
        appid: p.string("appid")?,
        secret: p.string("secret")?.map(AppSecret::new),
        grant_type: p.string("grant_type")?,
    };
    Ok(Answer(state.server.token(&request).await?))
}

async fn checksession(State(state): Shared, query: QueryPairs) -> Outcome<StatusResponse> {
    let p = Params::from_query_string(query)?;
    let request = CheckSessionRequest {
        access_token: p.string("access_token")?.map(AccessToken::new),
        openid: p.string("openid")?,
        signature: p.string("signature")?,
        sig_method: p.string("sig_method")?,
    };
    Ok(Answer(state.server.checksession(&request).await?))
}

async fn getuserphonenumber(
    State(state): Shared,
    query: QueryPairs,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome<PhoneNumberResponse> {
    let request = user_code_request(&state, query, &headers, body)?;
    Ok(Answer(state.server.getuserphonenumber(&request).await?))
}

async fn getemailaddress(
    State(state): Shared,
    query: QueryPairs,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome<EmailAddressResponse> {
    let request = user_code_request(&state, query, &headers, body)?;
    Ok(Answer(state.server.getemailaddress(&request).await?))
}

/// The body of getuserphonenumber / getemailaddress; `access_token` from
/// the body, else from the query string.
fn user_code_request(
    state: &ServerState,
    query: QueryPairs,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<UserCodeRequest, OpenServerError> {
    let body = state.body(body)?;
    let params = Params::from_json_body(headers, &body)?;
    let access_token = match params.string("access_token")? {
        Some(token) if !token.is_empty() => Some(token),
        _ => Params::from_query_string(query)?.string("access_token")?,
    };
    Ok(UserCodeRequest {
        access_token: access_token.map(AccessToken::new),
        openid: params.string("openid")?,
        code: params.string("code")?.map(Code::new),
    })
}
