//! The embedded platform beyond its store's rules (those run on every store
//! in `tests/store_rules.rs`): parameters, identities across restarts, the
//! SDK side's user checks, what the in-memory store counts and sweeps, and
//! the wire forms.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use superapp_openapi::{
    AppInfo, AppSecret, Code, OpenServer,
    openserver::{
        ApiResponse, AppRegistration, CheckSessionRequest, ErrCode, Jscode2SessionRequest,
        Jscode2SessionResponse, OpenServerConfig, SuperappUser, SweepReport, TokenRequest,
        TokenResponse, UserCodeRequest,
    },
    platform::UserCodeKind,
};
use support::*;

// ---- login codes

#[tokio::test]
async fn jscode2session_checks_appid_secret_and_grant_type() {
    let (server, _) = open_server();
    let code = login_code(&server, APP_A1, ADA).await;
    let mut req = Jscode2SessionRequest::new(APP_A1, AppSecret::new("wrong"), code.clone());
    assert_eq!(server.jscode2session(&req).await.wire().errcode, 40001);
    req.appid = Some("wx-nope".into());
    assert_eq!(server.jscode2session(&req).await.wire().errcode, 40013);
    let mut req = Jscode2SessionRequest::new(APP_A1, secret_of(APP_A1), code);
    req.grant_type = Some("client_credential".into());
    let r = server.jscode2session(&req).await.wire();
    assert_eq!(r.errcode, 40002);
    assert_eq!(r.errmsg, "invalid grant_type: expected authorization_code");
}

#[tokio::test]
async fn a_missing_parameter_is_10002_naming_it() {
    let (server, _) = open_server();
    let full = Jscode2SessionRequest::new(APP_A1, secret_of(APP_A1), Code::new("c"));
    for field in ["appid", "secret", "js_code", "grant_type"] {
        let mut req = full.clone();
        match field {
            "appid" => req.appid = None,
            "secret" => req.secret = Some(AppSecret::new("")),
            "js_code" => req.js_code = None,
            _ => req.grant_type = None,
        }
        let r = server.jscode2session(&req).await.wire();
        assert_eq!(r.errcode, 10002);
        assert_eq!(r.errmsg, format!("invalid param: {field} is missing"));
    }
    let r = server.token(&TokenRequest::default()).await.wire();
    assert_eq!(
        (r.errcode, r.errmsg.as_str()),
        (10002, "invalid param: appid is missing")
    );
    let r = server
        .checksession(&CheckSessionRequest::default())
        .await
        .wire();
    assert_eq!(r.errmsg, "invalid param: access_token is missing");
    let r = server
        .getuserphonenumber(&UserCodeRequest::default())
        .await
        .wire();
    assert_eq!(r.errmsg, "invalid param: access_token is missing");
}

// ---- identities

#[tokio::test]
async fn ids_are_stable_across_restarts_given_the_same_id_secret() {
    let build = || {
        let s = OpenServer::builder().id_secret(b"fixed".to_vec()).build();
        s.register_app(AppRegistration::new(APP_A1, secret_of(APP_A1), TEAM_A))
            .unwrap();
        s.add_user(SuperappUser::new(ADA)).unwrap();
        s
    };
    let one = session(&build(), APP_A1, ADA).await;
    let two = session(&build(), APP_A1, ADA).await;
    assert_eq!((one.openid, one.unionid), (two.openid, two.unionid));
}

// ---- sessions and checksession

#[tokio::test]
async fn checksession_with_another_sig_method_is_10002() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let mut req = CheckSessionRequest::new(
        token(&server, APP_A1).await,
        &s.openid,
        session_signature(&s.session_key),
    );
    req.sig_method = Some("md5".into());
    let r = server.checksession(&req).await.wire();
    assert_eq!(
        (r.errcode, r.errmsg.as_str()),
        (10002, "invalid param: sig_method must be hmac_sha256")
    );
}

// ---- access tokens

// ---- phone and email codes

#[tokio::test]
async fn a_user_without_a_phone_number_gets_no_phone_code() {
    let (server, _) = open_server();
    let err = server
        .issue_user_code(&AppInfo::new(APP_A1), &uid(BOB), UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(
        (err.errcode(), err.errmsg()),
        (46005, "the user has no phone number")
    );
}

// ---- rate limit

#[test]
fn the_default_rate_limit_is_100_per_minute() {
    assert_eq!(OpenServerConfig::default().rate_limit_per_minute, 100);
}

// ---- SDK side

#[tokio::test]
async fn unknown_or_inactive_users_get_no_login_code() {
    let (server, _) = open_server();
    let app = AppInfo::new(APP_A1);
    let err = server
        .issue_login_code(&app, &uid("nobody"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46001);
    let err = server.issue_login_code(&app, &uid(GONE)).await.unwrap_err();
    assert_eq!((err.errcode(), err.errmsg()), (46002, "user inactive"));
    let err = server
        .issue_login_code(&AppInfo::new("wx-nope"), &uid(ADA))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 40013);
}

// ---- bounded memory

#[tokio::test]
async fn outstanding_codes_per_app_are_capped_with_a_clear_error_and_freed_on_expiry() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_app = 10;
    let (server, clock) = open_server_with(config);
    for _ in 0..10 {
        login_code(&server, APP_A1, ADA).await;
    }
    let app = AppInfo::new(APP_A1);
    let err = server.issue_login_code(&app, &uid(ADA)).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding codes for app wx-a1: the limit is 10; codes are freed as they expire"
    );
    // Phone codes count too; other apps are not affected.
    assert_eq!(
        server
            .issue_user_code(&app, &uid(ADA), UserCodeKind::PhoneNumber)
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    login_code(&server, APP_A2, ADA).await;
    assert_eq!(server.outstanding_codes(), 11);

    clock.advance(Duration::from_secs(300));
    // A refusal never sweeps: the expired ten count until a sweep frees them.
    assert_eq!(
        server
            .issue_login_code(&app, &uid(ADA))
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    server.sweep();
    login_code(&server, APP_A1, ADA).await;
    assert_eq!(server.outstanding_codes(), 1);
}

#[tokio::test]
async fn sweep_removes_expired_codes_tokens_and_sessions() {
    let (server, clock) = open_server();
    for _ in 0..5 {
        login_code(&server, APP_A1, ADA).await;
    }
    phone_code(&server, APP_A1, ADA).await;
    session(&server, APP_A1, ADA).await;
    token(&server, APP_A1).await;
    assert_eq!(server.sweep(), SweepReport::default());
    clock.advance(server.config().session_ttl);
    let report = server.sweep();
    assert_eq!(
        report,
        SweepReport {
            login_codes: 6,
            user_codes: 1,
            access_tokens: 1,
            sessions: 1,
            auth_codes: 0,
        }
    );
    assert_eq!(server.outstanding_codes(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_background_sweeper_removes_expired_codes_every_sweep_interval() {
    let (server, clock) = open_server();
    for _ in 0..100 {
        login_code(&server, APP_A1, ADA).await;
    }
    // The first code started the sweeper: let it take its first tick.
    tokio::task::yield_now().await;
    clock.advance(Duration::from_secs(301));
    // Issuing sweeps nothing itself.
    login_code(&server, APP_A1, ADA).await;
    assert_eq!(server.outstanding_codes(), 101);
    // The sweeper started with the first code runs every sweep_interval.
    tokio::time::advance(server.config().sweep_interval).await;
    for _ in 0..16 {
        if server.outstanding_codes() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(server.outstanding_codes(), 1);
}

// ---- concurrency

#[test]
fn the_server_is_send_sync_and_cheap_to_share() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<OpenServer>();
}

// ---- wire forms

#[tokio::test]
async fn a_jscode2session_error_keeps_the_empty_string_fields_of_the_seed() {
    let (server, _) = open_server();
    let r = exchange(&server, APP_A1, Code::new("nope")).await;
    let mut v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["requestId"].as_str().unwrap().len(), 32);
    v["requestId"] = json!("84574d84227943298cb25e26a6d2b816");
    assert_eq!(
        v,
        json!({
            "errcode": 40029,
            "errmsg": "invalid js_code",
            "openid": "",
            "requestId": "84574d84227943298cb25e26a6d2b816",
            "session_key": "",
            "unionid": ""
        })
    );
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn successful_responses_have_exactly_the_seed_fields() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    assert_eq!(
        keys(&serde_json::to_value(&s).unwrap()),
        [
            "errcode",
            "errmsg",
            "openid",
            "requestId",
            "session_key",
            "unionid"
        ]
    );
    let t = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .wire();
    assert_eq!(
        keys(&serde_json::to_value(&t).unwrap()),
        [
            "access_token",
            "errcode",
            "errmsg",
            "expires_in",
            "requestId"
        ]
    );
    let token = t.access_token.unwrap();
    let c = server
        .checksession(&CheckSessionRequest::new(
            token.clone(),
            &s.openid,
            session_signature(&s.session_key),
        ))
        .await
        .wire();
    assert_eq!(
        keys(&serde_json::to_value(&c).unwrap()),
        ["errcode", "errmsg", "requestId"]
    );
    let code = phone_code(&server, APP_A1, ADA).await;
    let p = server
        .getuserphonenumber(&UserCodeRequest::new(token.clone(), &s.openid, code))
        .await
        .wire();
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(keys(&v), ["errcode", "errmsg", "phone_info", "requestId"]);
    // The seed's phoneNumber, and WeChat's two forms beside it
    // (docs/openserver.md, "Beyond the seed").
    assert_eq!(
        v["phone_info"],
        json!({"phoneNumber": ADA_PHONE, "purePhoneNumber": "13800138000", "countryCode": "86"})
    );
    let code = server
        .issue_user_code(&AppInfo::new(APP_A1), &uid(ADA), UserCodeKind::Email)
        .await
        .unwrap();
    let e = server
        .getemailaddress(&UserCodeRequest::new(token, &s.openid, code))
        .await
        .wire();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(
        keys(&v),
        ["email_address", "errcode", "errmsg", "requestId"]
    );
    assert_eq!(v["email_address"], json!({"emailAddress": ADA_EMAIL}));
}

#[test]
fn the_seed_examples_parse_into_the_response_types() {
    let token: TokenResponse = serde_json::from_str(
        r#"{"access_token":"ATZrSqJXfZkAZVRIJxTNZJwyZLZJjPJhKpibbjuGgHpQzZwbCDPvGGfWKSbJlSMX","errcode":0,"errmsg":"ok","expires_in":7200,"requestId":"5486f23fd3b64c2c84c9798ead510aa7"}"#,
    )
    .unwrap();
    assert_eq!(token.expires_in, Some(7200));
    assert!(token.is_ok());
    let err: Jscode2SessionResponse = serde_json::from_str(
        r#"{"errcode":40029,"errmsg":"invalid js_code","openid":"","requestId":"84574d84227943298cb25e26a6d2b816","session_key":"","unionid":""}"#,
    )
    .unwrap();
    assert_eq!(err.error().unwrap().code(), Some(ErrCode::InvalidCode));
    let req: UserCodeRequest = serde_json::from_str(
        r#"{"access_token":"ATIfWyEpUVHcyGHHqCEspuuALGNyoBFpLwTNdRMLsdJAdJPEJHvrEYSlhZQtJojF","openid":"b642cf744a16d2010b60242ab6b7ded99a895a60e857a9dc17eadcb73f790cfd","code":"807636166d9c4155aacc7fbeae7b9bfa"}"#,
    )
    .unwrap();
    assert_eq!(
        req.code.unwrap().secret(),
        "807636166d9c4155aacc7fbeae7b9bfa"
    );
}

#[test]
fn registering_an_app_twice_or_with_empty_fields_is_refused() {
    let (server, _) = open_server();
    let err = server
        .register_app(AppRegistration::new(APP_A1, secret_of(APP_A1), TEAM_A))
        .unwrap_err();
    assert_eq!(
        err.errmsg(),
        "invalid param: app wx-a1 is already registered"
    );
    let err = server
        .register_app(AppRegistration::new("wx-new", AppSecret::new(""), TEAM_A))
        .unwrap_err();
    assert_eq!(err.errmsg(), "invalid param: app secret is empty");
    assert_eq!(server.app_info(APP_A1).unwrap().team_id(), Some(TEAM_A));
}

/// `ErrCode::ALL` names every code: a unit test in
/// `src/platform/errcode.rs` checks it against a `match` with no wildcard arm.
#[test]
fn every_errcode_has_a_distinct_number() {
    let mut seen = HashSet::new();
    for code in ErrCode::ALL {
        assert!(seen.insert(code.code()), "{code:?}");
        assert_eq!(ErrCode::from_code(code.code()), Some(code));
    }
}

#[tokio::test]
async fn a_user_deactivated_in_the_directory_gets_no_more_codes() {
    let (server, _) = open_server();
    let app = AppInfo::new(APP_A1);
    login_code(&server, APP_A1, ADA).await;
    let directory = server.memory_directory().unwrap();
    assert!(directory.set_active(ADA, false));
    assert!(!directory.set_active("nobody", false));
    let err = server.issue_login_code(&app, &uid(ADA)).await.unwrap_err();
    assert_eq!(err.errcode(), 46002);
    assert!(directory.set_active(ADA, true));
    assert!(server.issue_login_code(&app, &uid(ADA)).await.is_ok());
    assert_eq!(directory.get(ADA).unwrap().nickname, "Ada");
}

#[tokio::test]
async fn a_large_cap_counted_in_shards_still_stops_at_the_cap_for_one_issuer() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_app = 64; // 2 per shard before a full count
    let (server, _) = open_server_with(config);
    let app = AppInfo::new(APP_A1);
    for _ in 0..40 {
        login_code(&server, APP_A1, ADA).await;
    }
    for _ in 0..24 {
        phone_code(&server, APP_A1, ADA).await;
    }
    assert_eq!(server.outstanding_codes(), 64);
    let err = server.issue_login_code(&app, &uid(ADA)).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    let err = server
        .issue_user_code(&app, &uid(ADA), UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 45009);
    // Another app has a cap of its own.
    login_code(&server, APP_A2, ADA).await;
}
