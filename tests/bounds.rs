//! Every store the platform keeps is bounded, and one user cannot use up
//! what an app shares. The rules themselves (per-user code quotas, two
//! live tokens, the daily token quota, the authCode cap) run on every
//! store in `tests/store_rules.rs`; here, what the in-memory store counts
//! and sweeps, and bounded ids.

use std::time::Duration;

use superapp_openapi::openserver::{
    AppRegistration, ManualClock, OpenServerConfig, SuperappUser, TokenRequest,
};
use superapp_openapi::platform::Principal;
use superapp_openapi::{AppInfo, AppSecret, OpenServer, Scope};

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

#[tokio::test]
async fn the_in_memory_store_holds_at_most_two_tokens_per_app() {
    let (server, _) = server_with(OpenServerConfig::default());
    for _ in 0..100 {
        server
            .token(&TokenRequest::new(APP, AppSecret::new(SECRET)))
            .await
            .unwrap();
    }
    assert_eq!(server.access_tokens(), 2);
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
