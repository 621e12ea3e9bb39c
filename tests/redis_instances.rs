//! Several `OpenServer` instances on one Redis agree about everything: a
//! code issued on one is redeemed on the other, races across them have one
//! winner, tokens, quotas and rate windows are counted once. And what Redis
//! holds: nothing in clear, every key under the prefix; what a Redis that
//! is down or slow gives: `-1` within the deadline, then service again.
#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant};

use superapp_openapi::openserver::{
    ErrCode, OpenServerConfig, RedisConfig, RedisStore, TokenRequest, UserCodeRequest,
};
use superapp_openapi::platform::Principal;
use superapp_openapi::{AppInfo, OpenServer, Scope};
use support::redis::RedisServer;
use support::*;

async fn two_instances(config: OpenServerConfig) -> (Platform, OpenServer) {
    let a = Platform::redis(config).await;
    let b = a.another_instance().await;
    (a, b)
}

#[tokio::test]
async fn a_code_issued_on_one_instance_is_redeemed_on_another_once() {
    let (a, b) = two_instances(OpenServerConfig::default()).await;
    let code = login_code(&a.server, APP_A1, ADA).await;
    let s = exchange(&b, APP_A1, code.clone()).await;
    assert_eq!(s.errcode, 0, "{s:?}");
    assert_eq!(exchange(&a.server, APP_A1, code).await.errcode, 40163);
    // The same openid and unionid from either instance: they share id_secret.
    let again = session(&a.server, APP_A1, ADA).await;
    assert_eq!((again.openid, again.unionid), (s.openid, s.unionid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_split_across_two_instances_racing_one_code_get_one_success() {
    let (a, b) = two_instances(OpenServerConfig::default()).await;
    let code = login_code(&a.server, APP_A1, ADA).await;
    assert_one_success(&race_across(&a.server, &b, &code).await);
}

#[tokio::test]
async fn a_token_from_one_instance_works_on_another_and_a_refresh_keeps_the_previous_for_the_overlap()
 {
    let (a, b) = two_instances(OpenServerConfig::default()).await;
    let s = session(&b, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    let old = token(&a.server, APP_A1).await;
    assert_eq!(check(&b, &old, &s.openid, &sig).await, 0);
    a.clock.advance(Duration::from_secs(600));
    let new = token(&a.server, APP_A1).await;
    a.clock.advance(Duration::from_secs(299));
    assert_eq!(check(&b, &old, &s.openid, &sig).await, 0);
    assert_eq!(check(&b, &new, &s.openid, &sig).await, 0);
    a.clock.advance(Duration::from_secs(1));
    assert_eq!(check(&b, &old, &s.openid, &sig).await, 42001);
    assert_eq!(check(&a.server, &new, &s.openid, &sig).await, 0);
    // A third token on B ends the first at once, everywhere.
    let _third = token(&b, APP_A1).await;
    assert_eq!(check(&a.server, &old, &s.openid, &sig).await, 40014);
}

#[tokio::test]
async fn a_session_replaced_on_one_instance_stops_the_old_signature_on_the_other() {
    let (a, b) = two_instances(OpenServerConfig::default()).await;
    let first = session(&a.server, APP_A1, ADA).await;
    let second = session(&b, APP_A1, ADA).await;
    let t = token(&a.server, APP_A1).await;
    let old = session_signature(&first.session_key);
    let new = session_signature(&second.session_key);
    assert_eq!(check(&a.server, &t, &first.openid, &old).await, 87009);
    assert_eq!(check(&a.server, &t, &first.openid, &new).await, 0);
    assert!(
        b.has_valid_session(&AppInfo::new(APP_A1), &uid(ADA))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_per_user_code_quota_counts_across_instances() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_user = 5;
    let (a, b) = two_instances(config).await;
    for _ in 0..3 {
        login_code(&a.server, APP_A1, ADA).await;
    }
    for _ in 0..2 {
        phone_code(&b, APP_A1, ADA).await;
    }
    for server in [&a.server, &b] {
        let err = server
            .issue_login_code(&AppInfo::new(APP_A1), &uid(ADA))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), 45009);
    }
}

#[tokio::test]
async fn the_jscode2session_rate_limit_counts_across_instances() {
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = 3;
    let (a, b) = two_instances(config).await;
    session(&a.server, APP_A1, ADA).await;
    session(&b, APP_A1, ADA).await;
    session(&a.server, APP_A1, ADA).await;
    let code = login_code(&b, APP_A1, ADA).await;
    assert_eq!(exchange(&b, APP_A1, code.clone()).await.errcode, 45011);
    assert_eq!(
        exchange(&a.server, APP_A1, code.clone()).await.errcode,
        45011
    );
    a.clock.advance(Duration::from_secs(60));
    assert_eq!(exchange(&a.server, APP_A1, code).await.errcode, 0);
}

#[tokio::test]
async fn an_auth_code_issued_on_one_instance_is_redeemed_on_another_once() {
    let (a, b) = two_instances(OpenServerConfig::default()).await;
    let code = a
        .server
        .issue_auth_code(APP_A1, ADA, [Scope::Nickname])
        .await
        .unwrap();
    let principal = Principal::AuthCode(code);
    let app = AppInfo::new(APP_A1);
    assert_eq!(
        b.profile_field(&app, &principal, Scope::Nickname)
            .await
            .unwrap(),
        "Ada"
    );
    let err = a
        .server
        .profile_field(&app, &principal, Scope::Nickname)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46003);
}

#[tokio::test]
async fn a_dump_of_redis_holds_no_code_token_session_key_signature_or_auth_code() {
    let p = Platform::redis(OpenServerConfig::default()).await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
    let login = login_code(server, APP_A1, ADA).await;
    let phone = phone_code(server, APP_A1, ADA).await;
    let auth = server.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    let redis = p.redis.as_ref().unwrap();
    let dump = redis.dump();
    assert!(dump.contains("}:subject:"), "{dump}");
    let secrets = [
        login.secret().to_owned(),
        phone.secret().to_owned(),
        t.secret().to_owned(),
        s.session_key.secret().to_owned(),
        session_signature(&s.session_key),
        auth.secret().to_owned(),
    ];
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "{secret} in\n{dump}");
    }
    // Nor do the keys say whose phone number or email they hold.
    assert!(!dump.contains(ADA_PHONE) && !dump.contains(ADA_EMAIL));
    // The codes still work: the store finds them by their digests.
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t, &s.openid, phone))
        .await
        .wire();
    assert_eq!(r.errcode, 0);
}

#[tokio::test]
async fn every_key_is_under_the_prefix_and_prefixes_keep_platforms_apart() {
    let redis = RedisServer::start();
    let on = |prefix: &'static str| {
        let url = redis.url();
        async move {
            let store = RedisStore::connect(RedisConfig::new(url).prefix(prefix))
                .await
                .unwrap();
            populated(OpenServer::builder().redis(store))
        }
    };
    let shop = on("shop:").await;
    let game = on("game:").await;
    let code = login_code(&shop, APP_A1, ADA).await;
    session(&shop, APP_A1, BOB).await;
    token(&shop, APP_A1).await;
    shop.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    assert_eq!(exchange(&game, APP_A1, code.clone()).await.errcode, 40029);
    let keys = redis.command(&["KEYS", "*"]).items();
    assert!(keys.len() >= 7, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("shop:")), "{keys:?}");
    assert_eq!(exchange(&shop, APP_A1, code).await.errcode, 0);
}

/// A platform on its own Redis with short timeouts: a deadline of 600 ms.
async fn impatient() -> (RedisServer, OpenServer) {
    let redis = RedisServer::start();
    let store = RedisStore::connect(
        RedisConfig::new(redis.url())
            .connection_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    (redis, populated(OpenServer::builder().redis(store)))
}

/// How long a `-1` may take: the deadline, and room for a loaded machine.
const WITHIN: Duration = Duration::from_millis(600 + 1_000);

async fn token_answer(server: &OpenServer) -> (i64, Duration) {
    let start = Instant::now();
    let answer = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .wire();
    (answer.errcode, start.elapsed())
}

/// Polls until the store answers again; bounded, since the Redis process
/// was just started.
async fn until_the_store_answers(server: &OpenServer) {
    let start = Instant::now();
    while server.check_store().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the store did not come back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stopped_redis_gives_minus_one_within_the_deadline_and_a_restarted_one_serves_again() {
    let (mut redis, server) = impatient().await;
    token(&server, APP_A1).await;
    redis.kill();
    for _ in 0..3 {
        let (errcode, took) = token_answer(&server).await;
        assert_eq!(errcode, -1);
        assert!(took < WITHIN, "{took:?}");
    }
    let err = server
        .issue_login_code(&AppInfo::new(APP_A1), &uid(ADA))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrCode::SystemError));
    assert_eq!(
        err.errmsg(),
        "system error: the platform store is unavailable; try again"
    );
    assert!(server.check_store().await.is_err());
    redis.restart();
    until_the_store_answers(&server).await;
    // A Redis without persistence comes back empty: a new login works.
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    assert_eq!(
        check(&server, &t, &s.openid, &session_signature(&s.session_key)).await,
        0
    );
}

#[tokio::test]
async fn a_redis_that_does_not_answer_gives_minus_one_within_the_deadline_and_then_its_state_again()
{
    let (redis, server) = impatient().await;
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let sig = session_signature(&s.session_key);
    redis.pause();
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(check(&server, &t, &s.openid, &sig).await, -1);
        assert!(start.elapsed() < WITHIN, "{:?}", start.elapsed());
    }
    let (errcode, took) = token_answer(&server).await;
    assert_eq!(errcode, -1);
    assert!(took < WITHIN, "{took:?}");
    redis.resume();
    until_the_store_answers(&server).await;
    assert_eq!(check(&server, &t, &s.openid, &sig).await, 0);
}
