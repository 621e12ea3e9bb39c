//! Every store the platform keeps is bounded, and one user cannot use up
//! what an app shares: per-user code quotas, at most two live tokens per
//! app, a daily token quota, bounded authCodes, bounded ids.

use std::time::Duration;

use superapp_openapi::openserver::{
    AppRegistration, CheckSessionRequest, Clock, ManualClock, OpenServerConfig, SuperappUser,
    TokenRequest,
};
use superapp_openapi::platform::{Principal, UserCodeKind};
use superapp_openapi::{AccessToken, AppInfo, AppSecret, OpenServer, Scope};

const APP: &str = "wx-bounds";
const SECRET: &str = "bounds-secret-0123456";

fn server_with(config: OpenServerConfig) -> (OpenServer, ManualClock) {
    let clock = ManualClock::new();
    let server = OpenServer::builder()
        .config(config)
        .clock(clock.clone())
        .build();
    server
        .register_app(AppRegistration::new(APP, AppSecret::new(SECRET), "team"))
        .unwrap();
    for user in ["u-a", "u-b"] {
        server
            .add_user(SuperappUser::new(user).with_phone_number("+8613800000000"))
            .unwrap();
    }
    (server, clock)
}

fn uid(user: &str) -> Principal {
    Principal::Uid(user.into())
}

#[tokio::test]
async fn a_user_at_its_code_quota_leaves_other_users_of_the_app_their_codes() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_user = 5;
    let (server, _) = server_with(config);
    let app = AppInfo::new(APP);
    for _ in 0..5 {
        server.issue_login_code(&app, &uid("u-a")).await.unwrap();
    }
    let err = server
        .issue_login_code(&app, &uid("u-a"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding codes for this user in app wx-bounds: the limit is 5; codes are freed as they expire"
    );
    // Phone codes count against the same quota.
    let phone = server
        .issue_user_code(&app, &uid("u-a"), UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(phone.errcode(), 45009);
    // User B of the same app is not affected.
    for _ in 0..5 {
        server.issue_login_code(&app, &uid("u-b")).await.unwrap();
    }
    assert_eq!(server.outstanding_codes(), 10);
}

#[tokio::test]
async fn a_users_quota_is_freed_when_its_expired_codes_are_swept() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_user = 3;
    let (server, clock) = server_with(config);
    let app = AppInfo::new(APP);
    for _ in 0..3 {
        server.issue_login_code(&app, &uid("u-a")).await.unwrap();
    }
    clock.advance(Duration::from_secs(301));
    assert!(server.issue_login_code(&app, &uid("u-a")).await.is_err());
    assert_eq!(server.sweep().login_codes, 3);
    server.issue_login_code(&app, &uid("u-a")).await.unwrap();
}

async fn token(server: &OpenServer) -> Result<AccessToken, i64> {
    server
        .token(&TokenRequest::new(APP, AppSecret::new(SECRET)))
        .await
        .map(|r| r.access_token.expect("a token"))
        .map_err(|e| e.errcode())
}

async fn check(server: &OpenServer, token: &AccessToken) -> i64 {
    // An unknown openid is 40003 once the token is good: the token is
    // checked first.
    let req = CheckSessionRequest::new(token.clone(), "openid", "00".into());
    server.checksession(&req).await.unwrap_err().errcode()
}

#[tokio::test]
async fn the_third_newest_token_is_refused_and_an_app_holds_at_most_two() {
    let (server, _) = server_with(OpenServerConfig::default());
    let t1 = token(&server).await.unwrap();
    let t2 = token(&server).await.unwrap();
    let t3 = token(&server).await.unwrap();
    assert_eq!(
        check(&server, &t1).await,
        40014,
        "the third-newest token is gone"
    );
    assert_eq!(
        check(&server, &t2).await,
        40003,
        "the previous token lives for the overlap"
    );
    assert_eq!(check(&server, &t3).await, 40003);
    for _ in 0..100 {
        token(&server).await.unwrap();
    }
    assert_eq!(server.access_tokens(), 2);
}

#[tokio::test]
async fn the_2001st_token_of_the_day_is_refused_with_45009_and_the_next_day_is_new() {
    let (server, clock) = server_with(OpenServerConfig::default());
    // Start at a UTC midnight so that the whole run is one day.
    let now = clock.now_millis();
    clock.advance(Duration::from_millis(86_400_000 - now % 86_400_000));
    for _ in 0..2000 {
        token(&server).await.unwrap();
    }
    assert_eq!(token(&server).await.unwrap_err(), 45009);
    let err = server
        .token(&TokenRequest::new(APP, AppSecret::new(SECRET)))
        .await
        .unwrap_err();
    assert_eq!(
        err.errmsg(),
        "access token quota: at most 2000 tokens per app per day (UTC); reuse the token you have"
    );
    clock.advance(Duration::from_secs(24 * 3600));
    token(&server).await.unwrap();
}

#[tokio::test]
async fn an_auth_code_for_an_unknown_app_is_40013() {
    let (server, _) = server_with(OpenServerConfig::default());
    let err = server
        .issue_auth_code("wx-nope", "u-a", [Scope::PhoneNumber])
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 40013);
}

#[tokio::test]
async fn auth_codes_are_capped_per_user_and_expired_ones_are_swept() {
    let mut config = OpenServerConfig::default();
    config.max_auth_codes_per_user = 3;
    let (server, clock) = server_with(config);
    for _ in 0..3 {
        server.issue_auth_code(APP, "u-a", []).await.unwrap();
    }
    let err = server.issue_auth_code(APP, "u-a", []).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    // Another user is not affected.
    let code = server.issue_auth_code(APP, "u-b", []).await.unwrap();
    // Redeeming frees a place.
    let app = AppInfo::new(APP);
    server
        .issue_login_code(&app, &Principal::AuthCode(code))
        .await
        .unwrap();
    server.issue_auth_code(APP, "u-b", []).await.unwrap();
    assert_eq!(server.outstanding_auth_codes(), 4);
    clock.advance(Duration::from_secs(301));
    assert_eq!(server.sweep().auth_codes, 4);
    assert_eq!(server.outstanding_auth_codes(), 0);
    server.issue_auth_code(APP, "u-a", []).await.unwrap();
}

#[tokio::test]
async fn an_id_past_128_bytes_is_10002_naming_the_field_and_the_limit() {
    let (server, _) = server_with(OpenServerConfig::default());
    let long = "u".repeat(129);
    let err = server.issue_auth_code(APP, &long, []).await.unwrap_err();
    assert_eq!(
        (err.errcode(), err.errmsg()),
        (10002, "invalid param: user id is longer than 128 bytes")
    );
}
