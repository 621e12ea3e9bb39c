//! The platform over HTTP (feature `http`): the axum server, the remote
//! `Platform` client for hosts, and the client for developer servers.
//!
//! Three pieces, one wire format (`docs/http.md`):
//!
//! - [`router`] serves an [`OpenServer`](crate::OpenServer) as the seed's
//!   `/openserver/...` developer-server API, plus the `/openserver/sdk/...`
//!   routes a host on another machine uses as its platform; [`serve`] runs it
//!   on a listener until a shutdown signal.
//! - [`RemotePlatform`] is a [`Platform`](crate::Platform) that talks to those
//!   SDK routes, so a [`Dispatcher`](crate::Dispatcher) works against a remote
//!   platform with one builder call.
//! - [`OpenServerClient`] is what a mini program's developer server uses:
//!   jscode2session, a cached access token, checksession, and the phone and
//!   email look-ups.

mod client;
mod params;
mod remote;
mod sdk;
mod server;
mod transport;

pub use client::{ClientError, OpenServerClient, OpenServerClientBuilder, Session};
pub use remote::{DEFAULT_PLATFORM_TIMEOUT, RemotePlatform};
pub use server::{DEFAULT_BODY_LIMIT, HttpConfig, router, serve};

/// The routes, in one place for the server and both clients.
pub(crate) mod paths {
    pub(crate) const JSCODE2SESSION: &str = "/openserver/sns/jscode2session";
    pub(crate) const TOKEN: &str = "/openserver/cgi-bin/token";
    pub(crate) const CHECKSESSION: &str = "/openserver/wxa/checksession";
    pub(crate) const GET_USER_PHONE_NUMBER: &str = "/openserver/wxa/business/getuserphonenumber";
    pub(crate) const GET_EMAIL_ADDRESS: &str = "/openserver/wxa/business/getemailaddress";
    pub(crate) const SDK_LOGIN_CODE: &str = "/openserver/sdk/login_code";
    pub(crate) const SDK_CHECK_SESSION: &str = "/openserver/sdk/check_session";
    pub(crate) const SDK_USER_CODE: &str = "/openserver/sdk/user_code";
    pub(crate) const SDK_PROFILE: &str = "/openserver/sdk/profile";
    pub(crate) const SDK_AUTH_CODE: &str = "/openserver/sdk/auth_code";
}
