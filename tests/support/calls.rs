//! The platform calls the rule tests make, each checked where it must
//! succeed: a login code, an exchange, a session, a token, a check.

use superapp_openapi::{
    AccessToken, AppInfo, Code, OpenServer,
    openserver::{
        CheckSessionRequest, Jscode2SessionRequest, Jscode2SessionResponse, TokenRequest,
    },
    platform::{Principal, UserCodeKind},
};

use super::{Wire, secret_of};

pub fn uid(u: &str) -> Principal {
    Principal::Uid(u.to_owned())
}

pub async fn login_code(server: &OpenServer, app: &str, user: &str) -> Code {
    server
        .issue_login_code(&AppInfo::new(app), &uid(user))
        .await
        .unwrap()
}

pub async fn phone_code(server: &OpenServer, app: &str, user: &str) -> Code {
    server
        .issue_user_code(&AppInfo::new(app), &uid(user), UserCodeKind::PhoneNumber)
        .await
        .unwrap()
}

pub async fn exchange(server: &OpenServer, app: &str, code: Code) -> Jscode2SessionResponse {
    server
        .jscode2session(&Jscode2SessionRequest::new(app, secret_of(app), code))
        .await
        .wire()
}

/// A new session of `user` in `app`: a login code, exchanged.
pub async fn session(server: &OpenServer, app: &str, user: &str) -> Jscode2SessionResponse {
    let code = login_code(server, app, user).await;
    let s = exchange(server, app, code).await;
    assert_eq!(s.errcode, 0, "{s:?}");
    s
}

pub async fn token(server: &OpenServer, app: &str) -> AccessToken {
    let t = server
        .token(&TokenRequest::new(app, secret_of(app)))
        .await
        .wire();
    assert_eq!(t.errcode, 0, "{t:?}");
    t.access_token.unwrap()
}

/// checksession's errcode.
pub async fn check(server: &OpenServer, token: &AccessToken, openid: &str, sig: &str) -> i64 {
    server
        .checksession(&CheckSessionRequest::new(
            token.clone(),
            openid,
            sig.to_owned(),
        ))
        .await
        .wire()
        .errcode
}
