//! `OpenServerClient` over real sockets: the access-token cache, its refresh
//! under concurrency and on stale-token answers, and its errors.
#![cfg(feature = "http")]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use axum::routing::{get, post};
use serde_json::json;
use superapp_openapi::{
    AppSecret, Code,
    http::{ClientError, OpenServerClient},
    openserver::{ErrCode, ManualClock, OpenServerError},
    platform::UserCodeKind,
};
use support::*;

fn client_on(t: &TestServer, clock: &ManualClock) -> OpenServerClient {
    OpenServerClient::builder(&t.base, APP_A1, AppSecret::new(SECRET_A1))
        .clock(clock.clone())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_access_token_calls_make_exactly_one_token_request() {
    let t = TestServer::start().await;
    let client = client_on(&t, &ManualClock::new());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.access_token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap().unwrap().into_secret());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(t.hits.get(TOKEN), 1);
}

#[tokio::test]
async fn a_cached_token_is_reused_until_five_minutes_before_expiry_then_refreshed() {
    let t = TestServer::start().await;
    let clock = ManualClock::new();
    let client = client_on(&t, &clock);
    let first = client.access_token().await.unwrap();
    clock.advance(Duration::from_secs(7200 - 300 - 1));
    assert_eq!(client.access_token().await.unwrap(), first);
    assert_eq!(t.hits.get(TOKEN), 1);
    clock.advance(Duration::from_secs(1));
    let second = client.access_token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(t.hits.get(TOKEN), 2);
    assert_eq!(client.access_token().await.unwrap(), second);
    assert_eq!(t.hits.get(TOKEN), 2);
}

#[tokio::test]
async fn a_40014_answer_triggers_exactly_one_refresh_and_retry() {
    let t = TestServer::start().await;
    let client = client_on(&t, &ManualClock::new());
    let (openid, _) = t.session(ADA).await;
    client.access_token().await.unwrap();
    // The platform forgets the token; the client's clock says it is fresh.
    t.clock.advance(Duration::from_secs(4 * 3600 + 1));
    t.server.sweep();
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let phone = client.get_user_phone_number(&openid, &code).await.unwrap();
    assert_eq!(phone.secret(), ADA_PHONE);
    assert_eq!(t.hits.get(TOKEN), 2);
    assert_eq!(t.hits.get(GETUSERPHONENUMBER), 2);
}

#[tokio::test]
async fn a_42001_answer_triggers_exactly_one_refresh_and_retry() {
    let t = TestServer::start().await;
    let client = client_on(&t, &ManualClock::new());
    let session = {
        let code = t.login_code(ADA).await;
        client.jscode2session(&code).await.unwrap()
    };
    client.access_token().await.unwrap();
    t.clock.advance(Duration::from_secs(7201));
    client
        .check_session(&session.openid, &session.session_key)
        .await
        .unwrap();
    assert_eq!(t.hits.get(TOKEN), 2);
    assert_eq!(t.hits.get(CHECKSESSION), 2);
}

#[tokio::test]
async fn a_token_the_platform_keeps_refusing_is_retried_only_once() {
    let platform = axum::Router::new()
        .route(
            TOKEN,
            get(|| async {
                axum::Json(json!({"errcode": 0, "errmsg": "ok", "access_token": "t", "expires_in": 7200, "requestId": "r"}))
            }),
        )
        .route(
            GETUSERPHONENUMBER,
            post(|| async {
                axum::Json(json!({"errcode": 40014, "errmsg": "invalid access_token", "requestId": "r-40014"}))
            }),
        );
    let hits = Hits::default();
    let served = Served::start(hits.count(platform)).await;
    let client = OpenServerClient::new(&served.base, APP_A1, AppSecret::new(SECRET_A1));
    let err = client
        .get_user_phone_number("openid", &Code::new("code"))
        .await
        .unwrap_err();
    match &err {
        ClientError::Api(e) => assert_eq!(
            e,
            &OpenServerError::from_wire(40014, "invalid access_token").with_request_id("r-40014")
        ),
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(hits.get(TOKEN), 2);
    assert_eq!(hits.get(GETUSERPHONENUMBER), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_a_40001_error_after_one_token_request() {
    let t = TestServer::start().await;
    let client = OpenServerClient::new(&t.base, APP_A1, AppSecret::new("wrong-secret"));
    let err = client
        .get_user_phone_number("openid", &Code::new("c"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrCode::InvalidSecret));
    assert_eq!(t.hits.get(TOKEN), 1);
    assert_eq!(t.hits.get(GETUSERPHONENUMBER), 0);
}

#[tokio::test]
async fn client_errors_carry_errcode_errmsg_and_request_id() {
    let t = TestServer::start().await;
    let client = t.client();
    let err = client
        .jscode2session(&Code::new("0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    match &err {
        ClientError::Api(e) => {
            assert_eq!(e.errcode(), 40029);
            assert_eq!(e.errmsg(), "invalid js_code");
            assert_eq!(e.request_id().map(str::len), Some(32));
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("platform error 40029: invalid js_code (requestId ")
    );
    let code = t.user_code(ADA, UserCodeKind::Email).await;
    let unknown = client.get_email_address("nobody", &code).await.unwrap_err();
    assert_eq!(unknown.code(), Some(ErrCode::InvalidOpenid));
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_that_does_not_show_the_secret() {
    let base = closed_port().await;
    let client = OpenServerClient::new(&base, APP_A1, AppSecret::new("very-secret-value"));
    let err = client
        .jscode2session(&Code::new("login-code-value"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains("login-code-value"), "{shown}");
    }
}

#[tokio::test]
async fn a_silent_platform_is_a_timeout() {
    let silent = Silent::start().await;
    let client = OpenServerClient::builder(&silent.base, APP_A1, AppSecret::new(SECRET_A1))
        .timeout(Duration::from_millis(200))
        .build();
    let err = client.access_token().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout(d) if d == Duration::from_millis(200)),
        "{err:?}"
    );
}

#[tokio::test]
async fn answers_that_are_not_the_api_are_bad_responses() {
    let platform = axum::Router::new()
        .route(
            TOKEN,
            get(|| async { axum::Json(json!({"errcode": 0, "access_token": "t"})) }),
        )
        .route(
            JSCODE2SESSION,
            get(|| async { ([("content-type", "text/html")], "<h1>502 Bad Gateway</h1>") }),
        );
    let served = Served::start(platform).await;
    let client = OpenServerClient::new(&served.base, APP_A1, AppSecret::new(SECRET_A1));
    let token = client.access_token().await.unwrap_err();
    assert!(
        matches!(&token, ClientError::BadResponse(why) if why.contains("expires_in")),
        "{token:?}"
    );
    let session = client.jscode2session(&Code::new("c")).await.unwrap_err();
    assert!(
        matches!(&session, ClientError::BadResponse(why) if why.contains("not JSON")),
        "{session:?}"
    );
}

#[tokio::test]
async fn debug_shows_neither_the_secret_nor_the_token() {
    let t = TestServer::start().await;
    let client = t.client();
    let token = client.access_token().await.unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains(SECRET_A1), "{shown}");
    assert!(!shown.contains(token.secret()), "{shown}");
    assert!(shown.contains("token_cached: true"), "{shown}");
    let session = client
        .jscode2session(&t.login_code(ADA).await)
        .await
        .unwrap();
    let shown = format!("{session:?}");
    assert!(!shown.contains(session.session_key.secret()), "{shown}");
}
