//! The embedded platform: every rule of the developer-server API, the SDK
//! side, bounded memory and the races.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use superapp_openapi::{
    AccessToken, AppInfo, AppSecret, Code, OpenServer, Scope,
    openserver::{
        AUTH_CODE_TTL, ApiResponse, AppRegistration, CheckSessionRequest, ErrCode,
        Jscode2SessionRequest, Jscode2SessionResponse, OpenServerConfig, SuperappUser, SweepReport,
        TokenRequest, TokenResponse, UserCodeRequest,
    },
    platform::{Principal, UserCodeKind},
};
use support::*;

fn uid(u: &str) -> Principal {
    Principal::Uid(u.to_owned())
}

async fn login_code(server: &OpenServer, app: &str, user: &str) -> Code {
    server
        .issue_login_code(&AppInfo::new(app), &uid(user))
        .await
        .unwrap()
}

async fn exchange(server: &OpenServer, app: &str, code: Code) -> Jscode2SessionResponse {
    server
        .jscode2session(&Jscode2SessionRequest::new(app, secret_of(app), code))
        .await
        .wire()
}

async fn session(server: &OpenServer, app: &str, user: &str) -> Jscode2SessionResponse {
    let code = login_code(server, app, user).await;
    let s = exchange(server, app, code).await;
    assert_eq!(s.errcode, 0, "{s:?}");
    s
}

async fn token(server: &OpenServer, app: &str) -> AccessToken {
    let t = server
        .token(&TokenRequest::new(app, secret_of(app)))
        .await
        .wire();
    assert_eq!(t.errcode, 0, "{t:?}");
    t.access_token.unwrap()
}

async fn check(server: &OpenServer, token: &AccessToken, openid: &str, sig: &str) -> i64 {
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

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

// ---- login codes

#[tokio::test]
async fn login_codes_are_128_bit_random_hex_and_never_repeat() {
    let (server, _) = open_server();
    let mut seen = HashSet::new();
    // Two users: each may hold 1,000 outstanding codes.
    for i in 0..2000 {
        let user = if i % 2 == 0 { ADA } else { BOB };
        let code = login_code(&server, APP_A1, user).await;
        assert_eq!(code.secret().len(), 32);
        assert!(is_hex(code.secret()));
        assert!(seen.insert(code.into_secret()));
    }
}

#[tokio::test]
async fn a_login_code_exchanges_for_openid_session_key_and_unionid() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    assert_eq!(s.errmsg, "ok");
    assert_eq!(s.openid.len(), 64);
    assert!(is_hex(&s.openid));
    assert!(!s.session_key.is_empty());
    assert!(!s.unionid.is_empty());
    assert_eq!(s.request_id.len(), 32);
}

#[tokio::test]
async fn reused_code_is_rejected_with_40163() {
    let (server, _) = open_server();
    let code = login_code(&server, APP_A1, ADA).await;
    assert_eq!(exchange(&server, APP_A1, code.clone()).await.errcode, 0);
    let again = exchange(&server, APP_A1, code).await;
    assert_eq!(
        (again.errcode, again.errmsg.as_str()),
        (40163, "code been used")
    );
}

#[tokio::test]
async fn a_login_code_expires_after_five_minutes_with_40029() {
    let (server, clock) = open_server();
    let fresh = login_code(&server, APP_A1, ADA).await;
    let stale = login_code(&server, APP_A1, ADA).await;
    clock.advance(Duration::from_secs(299));
    assert_eq!(exchange(&server, APP_A1, fresh).await.errcode, 0);
    clock.advance(Duration::from_secs(1));
    let r = exchange(&server, APP_A1, stale).await;
    assert_eq!((r.errcode, r.errmsg.as_str()), (40029, "invalid js_code"));
}

#[tokio::test]
async fn a_login_code_works_only_for_the_app_it_was_issued_to() {
    let (server, _) = open_server();
    let code = login_code(&server, APP_A1, ADA).await;
    assert_eq!(exchange(&server, APP_A2, code.clone()).await.errcode, 40029);
    // The failed attempt did not spend it.
    assert_eq!(exchange(&server, APP_A1, code).await.errcode, 0);
}

#[tokio::test]
async fn unknown_or_malformed_codes_are_rejected_with_40029() {
    let (server, _) = open_server();
    for bad in ["0123456789abcdef0123456789abcdef", "not-a-code", "zz", "é"] {
        let r = exchange(&server, APP_A1, Code::new(bad)).await;
        assert_eq!(r.errcode, 40029, "{bad}");
    }
}

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
async fn openid_is_stable_per_app_and_user_and_differs_across_apps_and_users() {
    let (server, _) = open_server();
    let a = session(&server, APP_A1, ADA).await.openid;
    let again = session(&server, APP_A1, ADA).await.openid;
    let other_app = session(&server, APP_A2, ADA).await.openid;
    let other_user = session(&server, APP_A1, BOB).await.openid;
    assert_eq!(a, again);
    assert_ne!(a, other_app);
    assert_ne!(a, other_user);
    assert!(
        !a.contains(ADA) && !a.contains(APP_A1),
        "openid must be opaque"
    );
}

#[tokio::test]
async fn unionid_is_the_same_across_a_team_and_differs_across_teams() {
    let (server, _) = open_server();
    let a1 = session(&server, APP_A1, ADA).await.unionid;
    let a2 = session(&server, APP_A2, ADA).await.unionid;
    let b1 = session(&server, APP_B1, ADA).await.unionid;
    let other_user = session(&server, APP_A1, BOB).await.unionid;
    assert_eq!(a1, a2);
    assert_ne!(a1, b1);
    assert_ne!(a1, other_user);
}

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
async fn checksession_accepts_the_signature_of_the_current_session_key() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let r = server
        .checksession(&CheckSessionRequest::new(
            t,
            &s.openid,
            session_signature(&s.session_key),
        ))
        .await
        .wire();
    assert_eq!((r.errcode, r.errmsg.as_str()), (0, "ok"));
}

#[tokio::test]
async fn each_exchange_issues_a_new_session_key_and_the_old_one_stops_verifying() {
    let (server, _) = open_server();
    let first = session(&server, APP_A1, ADA).await;
    let second = session(&server, APP_A1, ADA).await;
    assert_ne!(first.session_key, second.session_key);
    let t = token(&server, APP_A1).await;
    assert_eq!(
        check(
            &server,
            &t,
            &first.openid,
            &session_signature(&first.session_key)
        )
        .await,
        87009
    );
    assert_eq!(
        check(
            &server,
            &t,
            &first.openid,
            &session_signature(&second.session_key)
        )
        .await,
        0
    );
}

#[tokio::test]
async fn wrong_or_malformed_signatures_are_rejected_with_87009() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let good = session_signature(&s.session_key);

    let decoded = base64::engine::general_purpose::STANDARD
        .decode(s.session_key.secret())
        .unwrap();
    let signed_with_decoded_key = {
        use hmac::{Hmac, Mac};
        let mac = Hmac::<sha2::Sha256>::new_from_slice(&decoded).unwrap();
        hex::encode(mac.finalize().into_bytes())
    };
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let cases = [
        ("odd length", good[..63].to_owned()),
        ("non-hex", format!("{}zz", &good[..62])),
        ("empty", String::new()),
        ("too long", format!("{good}00")),
        ("signed with the decoded key", signed_with_decoded_key),
        ("one digit changed", String::from_utf8(flipped).unwrap()),
    ];
    for (what, sig) in cases {
        let r = server
            .checksession(&CheckSessionRequest::new(t.clone(), &s.openid, sig))
            .await
            .wire();
        assert_eq!(
            (r.errcode, r.errmsg.as_str()),
            (87009, "invalid signature"),
            "{what}"
        );
    }
    assert_eq!(check(&server, &t, &s.openid, &good).await, 0);
    assert_eq!(
        check(&server, &t, &s.openid, &good.to_uppercase()).await,
        0,
        "hex is case-insensitive"
    );
}

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

#[tokio::test]
async fn an_unknown_openid_or_another_apps_openid_is_40003() {
    let (server, _) = open_server();
    let other = session(&server, APP_A2, ADA).await;
    let t = token(&server, APP_A1).await;
    let sig = session_signature(&other.session_key);
    assert_eq!(check(&server, &t, &other.openid, &sig).await, 40003);
    assert_eq!(check(&server, &t, &"0".repeat(64), &sig).await, 40003);
}

#[tokio::test]
async fn a_session_expires_after_the_session_ttl() {
    let (server, clock) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    clock.advance(server.config().session_ttl - Duration::from_secs(1));
    let t = token(&server, APP_A1).await;
    assert_eq!(check(&server, &t, &s.openid, &sig).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(check(&server, &t, &s.openid, &sig).await, 87009);
}

// ---- access tokens

#[tokio::test]
async fn an_access_token_lives_7200_seconds_then_answers_42001() {
    let (server, clock) = open_server();
    let r = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .wire();
    assert_eq!(r.expires_in, Some(7200));
    assert_eq!(r.access_token.as_ref().unwrap().secret().len(), 64);
    let t = r.access_token.unwrap();
    let s = session(&server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    clock.advance(Duration::from_secs(7199));
    assert_eq!(check(&server, &t, &s.openid, &sig).await, 0);
    clock.advance(Duration::from_secs(1));
    let r = server
        .checksession(&CheckSessionRequest::new(t, &s.openid, sig))
        .await
        .wire();
    assert_eq!(
        (r.errcode, r.errmsg.as_str()),
        (42001, "access_token expired")
    );
}

#[tokio::test]
async fn a_new_token_leaves_the_previous_one_valid_for_five_more_minutes() {
    let (server, clock) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    let old = token(&server, APP_A1).await;
    clock.advance(Duration::from_secs(600));
    let new = token(&server, APP_A1).await;
    assert_ne!(old, new);
    clock.advance(Duration::from_secs(299));
    assert_eq!(check(&server, &old, &s.openid, &sig).await, 0);
    assert_eq!(check(&server, &new, &s.openid, &sig).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(check(&server, &old, &s.openid, &sig).await, 42001);
    assert_eq!(check(&server, &new, &s.openid, &sig).await, 0);
}

#[tokio::test]
async fn an_unknown_access_token_is_40014_and_the_token_endpoint_checks_its_input() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let r = server
        .checksession(&CheckSessionRequest::new(
            AccessToken::new("nope"),
            &s.openid,
            "00".into(),
        ))
        .await
        .wire();
    assert_eq!(
        (r.errcode, r.errmsg.as_str()),
        (40014, "invalid access_token")
    );

    let mut req = TokenRequest::new(APP_A1, AppSecret::new("wrong"));
    assert_eq!(server.token(&req).await.wire().errcode, 40001);
    req.appid = Some("wx-nope".into());
    assert_eq!(server.token(&req).await.wire().errcode, 40013);
    let mut req = TokenRequest::new(APP_A1, secret_of(APP_A1));
    req.grant_type = Some("authorization_code".into());
    let r = server.token(&req).await.wire();
    assert_eq!(r.errcode, 40002);
    assert_eq!(r.access_token, None);
}

#[tokio::test]
async fn a_token_of_one_app_cannot_read_another_apps_users() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A2).await;
    assert_eq!(
        check(&server, &t, &s.openid, &session_signature(&s.session_key)).await,
        40003
    );
}

// ---- phone and email codes

async fn phone_code(server: &OpenServer, app: &str, user: &str) -> Code {
    server
        .issue_user_code(&AppInfo::new(app), &uid(user), UserCodeKind::PhoneNumber)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_phone_code_reads_the_phone_number_once() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let code = phone_code(&server, APP_A1, ADA).await;
    let req = UserCodeRequest::new(t, &s.openid, code);
    let r = server.getuserphonenumber(&req).await.wire();
    assert_eq!(r.errcode, 0);
    assert_eq!(r.phone_info.unwrap().phone_number.secret(), ADA_PHONE);
    let again = server.getuserphonenumber(&req).await.wire();
    assert_eq!(
        (again.errcode, again.errmsg.as_str()),
        (40163, "code been used")
    );
    assert_eq!(again.phone_info, None);
}

#[tokio::test]
async fn an_email_code_reads_the_email_address_and_a_phone_code_cannot() {
    let (server, _) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let phone = phone_code(&server, APP_A1, ADA).await;
    let r = server
        .getemailaddress(&UserCodeRequest::new(t.clone(), &s.openid, phone))
        .await
        .wire();
    assert_eq!((r.errcode, r.errmsg.as_str()), (40029, "invalid code"));
    let email = server
        .issue_user_code(&AppInfo::new(APP_A1), &uid(ADA), UserCodeKind::Email)
        .await
        .unwrap();
    let r = server
        .getemailaddress(&UserCodeRequest::new(t.clone(), &s.openid, email.clone()))
        .await
        .wire();
    assert_eq!(r.email_address.unwrap().email_address.secret(), ADA_EMAIL);
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t, &s.openid, email))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
}

#[tokio::test]
async fn a_phone_code_expires_after_five_minutes() {
    let (server, clock) = open_server();
    let s = session(&server, APP_A1, ADA).await;
    let t = token(&server, APP_A1).await;
    let code = phone_code(&server, APP_A1, ADA).await;
    clock.advance(Duration::from_secs(300));
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t, &s.openid, code))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
}

#[tokio::test]
async fn a_phone_code_is_bound_to_its_user_and_app() {
    let (server, _) = open_server();
    server
        .add_user(SuperappUser::new("u-4").with_phone_number("+10"))
        .unwrap();
    let s1 = session(&server, APP_A1, ADA).await;
    let s4 = session(&server, APP_A1, "u-4").await;
    let code = phone_code(&server, APP_A1, ADA).await;
    let t1 = token(&server, APP_A1).await;
    // Another user's openid in the same app.
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t1.clone(), &s4.openid, code.clone()))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
    // The same user in another app of the team.
    let s1_other = session(&server, APP_A2, ADA).await;
    let t2 = token(&server, APP_A2).await;
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t2, &s1_other.openid, code.clone()))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
    // Still good for its own user and app.
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t1, &s1.openid, code))
        .await
        .wire();
    assert_eq!(r.errcode, 0);
}

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

#[tokio::test]
async fn jscode2session_is_rate_limited_per_user_per_minute_with_45011() {
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = 3;
    let (server, clock) = open_server_with(config);
    for _ in 0..3 {
        session(&server, APP_A1, ADA).await;
    }
    let code = login_code(&server, APP_A1, ADA).await;
    let r = exchange(&server, APP_A1, code.clone()).await;
    assert_eq!(r.errcode, 45011);
    assert_eq!(
        r.errmsg,
        "rate limit: at most 3 jscode2session calls per user per minute"
    );
    // Another user is not limited by u-1's calls.
    session(&server, APP_A1, BOB).await;
    // The next minute, the refused code is still good.
    clock.advance(Duration::from_secs(60));
    assert_eq!(exchange(&server, APP_A1, code).await.errcode, 0);
}

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

#[tokio::test]
async fn a_v3_auth_code_is_single_use_bound_to_its_app_and_short_lived() {
    let (server, clock) = open_server();
    let app = AppInfo::new(APP_A1);
    let ac = server.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    let principal = Principal::AuthCode(ac);
    let code = server.issue_login_code(&app, &principal).await.unwrap();
    assert_eq!(exchange(&server, APP_A1, code).await.errcode, 0);
    let err = server.issue_login_code(&app, &principal).await.unwrap_err();
    assert_eq!((err.errcode(), err.errmsg()), (46003, "invalid authCode"));

    let other_app = Principal::AuthCode(server.issue_auth_code(APP_A2, ADA, []).await.unwrap());
    assert_eq!(
        server
            .issue_login_code(&app, &other_app)
            .await
            .unwrap_err()
            .errcode(),
        46003
    );

    let stale = Principal::AuthCode(server.issue_auth_code(APP_A1, ADA, []).await.unwrap());
    clock.advance(AUTH_CODE_TTL);
    assert_eq!(
        server
            .issue_login_code(&app, &stale)
            .await
            .unwrap_err()
            .errcode(),
        46003
    );

    assert_eq!(
        server
            .issue_auth_code(APP_A1, GONE, [])
            .await
            .unwrap_err()
            .errcode(),
        46002
    );
}

#[tokio::test]
async fn a_v3_auth_code_reads_only_the_scopes_it_grants() {
    let (server, _) = open_server();
    let app = AppInfo::new(APP_A1);
    let ac = || async {
        Principal::AuthCode(
            server
                .issue_auth_code(APP_A1, ADA, [Scope::Nickname])
                .await
                .unwrap(),
        )
    };
    assert_eq!(
        server
            .profile_field(&app, &ac().await, Scope::Nickname)
            .await
            .unwrap(),
        "Ada"
    );
    let err = server
        .profile_field(&app, &ac().await, Scope::Avatar)
        .await
        .unwrap_err();
    assert_eq!(
        (err.errcode(), err.errmsg()),
        (46004, "scope not granted: SCOPE_AVATAR")
    );
    let err = server
        .issue_user_code(&app, &ac().await, UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46004);
}

#[tokio::test]
async fn check_session_is_true_only_after_an_exchange_and_until_expiry() {
    let (server, clock) = open_server();
    let app = AppInfo::new(APP_A1);
    assert!(!server.has_valid_session(&app, &uid(ADA)).await.unwrap());
    session(&server, APP_A1, ADA).await;
    assert!(server.has_valid_session(&app, &uid(ADA)).await.unwrap());
    assert!(
        !server
            .has_valid_session(&AppInfo::new(APP_A2), &uid(ADA))
            .await
            .unwrap()
    );
    clock.advance(server.config().session_ttl);
    assert!(!server.has_valid_session(&app, &uid(ADA)).await.unwrap());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_racing_to_exchange_one_code_produce_exactly_one_success() {
    let (server, _) = open_server();
    let code = login_code(&server, APP_A1, ADA).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (server, code, barrier) = (server.clone(), code.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                exchange(&server, APP_A1, code).await.errcode
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1);
    assert_eq!(codes.iter().filter(|&&c| c == 40163).count(), 63);
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_issuers_get_exactly_the_cap_and_no_more() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_app = 200;
    let (server, _) = open_server_with(config);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (server, barrier) = (server.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let app = AppInfo::new(APP_A1);
                let mut issued = 0;
                for i in 0..500 / 8 {
                    let result = if (t + i) % 3 == 0 {
                        server
                            .issue_user_code(&app, &uid(ADA), UserCodeKind::Email)
                            .await
                    } else {
                        server.issue_login_code(&app, &uid(ADA)).await
                    };
                    match result {
                        Ok(_) => issued += 1,
                        Err(err) => assert_eq!(err.errcode(), 45009),
                    }
                }
                issued
            })
        })
        .collect();
    let mut issued = 0;
    for t in tasks {
        issued += t.await.unwrap();
    }
    assert_eq!(issued, 200);
    assert_eq!(server.outstanding_codes(), 200);
}
