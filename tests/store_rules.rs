//! Every rule of docs/openserver.md that the platform's store decides, one
//! body per rule, run against each store: the in-memory store in plain
//! `cargo test`, and a Redis of the test's own with `--features redis`
//! (`memory::…` and `redis::…` in the test names).
//!
//! A rule gets its platform from `S::platform(config)`, on a manual clock
//! the test moves; the stores compare expiry with that clock, so both give
//! the same answers. What only the in-memory store has (sweep reports,
//! counts, shards) is tested in `tests/openserver.rs` and `tests/bounds.rs`.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use superapp_openapi::{
    AccessToken, AppInfo, AppSecret, Code, OpenServer, Scope,
    openserver::{
        AUTH_CODE_TTL, CheckSessionRequest, Clock, OpenServerConfig, SuperappUser, TokenRequest,
        UserCodeRequest,
    },
    platform::{Principal, UserCodeKind},
};
use support::*;

/// One `#[tokio::test]` per rule, for the store `$store`.
macro_rules! rule_suite {
    ($store:ty) => {
        rule_suite!(@tests $store;
            current_thread:
                login_codes_are_128_bit_random_hex_and_never_repeat,
                a_login_code_exchanges_for_openid_session_key_and_unionid,
                reused_code_is_rejected_with_40163,
                a_used_code_answers_40163_until_it_would_have_expired_then_40029,
                a_login_code_expires_after_five_minutes_with_40029,
                a_login_code_works_only_for_the_app_it_was_issued_to,
                unknown_or_malformed_codes_are_rejected_with_40029,
                openid_is_stable_per_app_and_user_and_differs_across_apps_and_users,
                unionid_is_the_same_across_a_team_and_differs_across_teams,
                checksession_accepts_the_signature_of_the_current_session_key,
                each_exchange_issues_a_new_session_key_and_the_old_one_stops_verifying,
                wrong_or_malformed_signatures_are_rejected_with_87009,
                an_unknown_openid_or_another_apps_openid_is_40003,
                a_session_expires_after_the_session_ttl,
                an_access_token_lives_7200_seconds_then_answers_42001,
                a_new_token_leaves_the_previous_one_valid_for_five_more_minutes,
                an_unknown_access_token_is_40014_and_the_token_endpoint_checks_its_input,
                a_token_of_one_app_cannot_read_another_apps_users,
                the_third_newest_token_is_refused_and_an_app_holds_at_most_two,
                the_2001st_token_of_the_day_is_refused_with_45009_and_the_next_day_is_new,
                a_phone_code_reads_the_phone_number_once,
                an_email_code_reads_the_email_address_and_a_phone_code_cannot,
                a_phone_code_expires_after_five_minutes,
                a_phone_code_is_bound_to_its_user_and_app,
                an_unknown_openid_is_40003_before_the_code_is_looked_at,
                jscode2session_is_rate_limited_per_user_per_minute_with_45011,
                a_v3_auth_code_is_single_use_bound_to_its_app_and_short_lived,
                an_auth_code_shown_for_another_app_is_spent,
                a_v3_auth_code_reads_only_the_scopes_it_grants,
                auth_codes_are_capped_per_user_and_freed_when_redeemed_or_expired,
                check_session_is_true_only_after_an_exchange_and_until_expiry,
                a_user_at_its_code_quota_leaves_other_users_of_the_app_their_codes,
                a_users_code_quota_is_freed_once_its_codes_expire,
                the_app_code_cap_counts_login_and_phone_codes_and_is_freed_once_they_expire;
            multi_thread:
                sixty_four_tasks_racing_to_exchange_one_code_produce_exactly_one_success,
                racing_issuers_get_exactly_the_cap_and_no_more;
        );
    };
    (@tests $store:ty;
        current_thread: $($rule:ident),+;
        multi_thread: $($race:ident),+;
    ) => {
        $(
            #[tokio::test]
            async fn $rule() {
                crate::$rule::<$store>().await;
            }
        )+
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $race() {
                crate::$race::<$store>().await;
            }
        )+
    };
}

mod memory {
    rule_suite!(crate::support::Memory);
}

#[cfg(feature = "redis")]
mod redis {
    rule_suite!(crate::support::Redis);
}

/// The same rules on a Redis Cluster of the test process's own
/// (`--features redis-cluster`), each platform under a prefix of its own.
#[cfg(feature = "redis-cluster")]
mod cluster {
    rule_suite!(crate::support::Cluster);
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub async fn login_codes_are_128_bit_random_hex_and_never_repeat<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let mut seen = HashSet::new();
    // Two users: each may hold 1,000 outstanding codes.
    for i in 0..2000 {
        let user = if i % 2 == 0 { ADA } else { BOB };
        let code = login_code(server, APP_A1, user).await;
        assert_eq!(code.secret().len(), 32);
        assert!(is_hex(code.secret()));
        assert!(seen.insert(code.into_secret()));
    }
}

pub async fn a_login_code_exchanges_for_openid_session_key_and_unionid<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    assert_eq!(s.errmsg, "ok");
    assert_eq!(s.openid.len(), 64);
    assert!(is_hex(&s.openid));
    assert!(!s.session_key.is_empty());
    assert!(!s.unionid.is_empty());
    assert_eq!(s.request_id.len(), 32);
}

pub async fn reused_code_is_rejected_with_40163<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let code = login_code(server, APP_A1, ADA).await;
    assert_eq!(exchange(server, APP_A1, code.clone()).await.errcode, 0);
    let again = exchange(server, APP_A1, code).await;
    assert_eq!(
        (again.errcode, again.errmsg.as_str()),
        (40163, "code been used")
    );
}

pub async fn a_login_code_expires_after_five_minutes_with_40029<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let fresh = login_code(server, APP_A1, ADA).await;
    let stale = login_code(server, APP_A1, ADA).await;
    clock.advance(Duration::from_secs(299));
    assert_eq!(exchange(server, APP_A1, fresh).await.errcode, 0);
    clock.advance(Duration::from_secs(1));
    let r = exchange(server, APP_A1, stale).await;
    assert_eq!((r.errcode, r.errmsg.as_str()), (40029, "invalid js_code"));
}

pub async fn a_login_code_works_only_for_the_app_it_was_issued_to<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let code = login_code(server, APP_A1, ADA).await;
    assert_eq!(exchange(server, APP_A2, code.clone()).await.errcode, 40029);
    // The failed attempt did not spend it.
    assert_eq!(exchange(server, APP_A1, code).await.errcode, 0);
}

pub async fn unknown_or_malformed_codes_are_rejected_with_40029<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    for bad in ["0123456789abcdef0123456789abcdef", "not-a-code", "zz", "é"] {
        let r = exchange(server, APP_A1, Code::new(bad)).await;
        assert_eq!(r.errcode, 40029, "{bad}");
    }
}

pub async fn openid_is_stable_per_app_and_user_and_differs_across_apps_and_users<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let a = session(server, APP_A1, ADA).await.openid;
    let again = session(server, APP_A1, ADA).await.openid;
    let other_app = session(server, APP_A2, ADA).await.openid;
    let other_user = session(server, APP_A1, BOB).await.openid;
    assert_eq!(a, again);
    assert_ne!(a, other_app);
    assert_ne!(a, other_user);
    assert!(
        !a.contains(ADA) && !a.contains(APP_A1),
        "openid must be opaque"
    );
}

pub async fn unionid_is_the_same_across_a_team_and_differs_across_teams<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let a1 = session(server, APP_A1, ADA).await.unionid;
    let a2 = session(server, APP_A2, ADA).await.unionid;
    let b1 = session(server, APP_B1, ADA).await.unionid;
    let other_user = session(server, APP_A1, BOB).await.unionid;
    assert_eq!(a1, a2);
    assert_ne!(a1, b1);
    assert_ne!(a1, other_user);
}

pub async fn checksession_accepts_the_signature_of_the_current_session_key<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
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

pub async fn each_exchange_issues_a_new_session_key_and_the_old_one_stops_verifying<
    S: StoreKind,
>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let first = session(server, APP_A1, ADA).await;
    let second = session(server, APP_A1, ADA).await;
    assert_ne!(first.session_key, second.session_key);
    let t = token(server, APP_A1).await;
    assert_eq!(
        check(
            server,
            &t,
            &first.openid,
            &session_signature(&first.session_key)
        )
        .await,
        87009
    );
    assert_eq!(
        check(
            server,
            &t,
            &first.openid,
            &session_signature(&second.session_key)
        )
        .await,
        0
    );
}

pub async fn wrong_or_malformed_signatures_are_rejected_with_87009<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
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
    assert_eq!(check(server, &t, &s.openid, &good).await, 0);
    assert_eq!(
        check(server, &t, &s.openid, &good.to_uppercase()).await,
        0,
        "hex is case-insensitive"
    );
}

pub async fn an_unknown_openid_or_another_apps_openid_is_40003<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let other = session(server, APP_A2, ADA).await;
    let t = token(server, APP_A1).await;
    let sig = session_signature(&other.session_key);
    assert_eq!(check(server, &t, &other.openid, &sig).await, 40003);
    assert_eq!(check(server, &t, &"0".repeat(64), &sig).await, 40003);
}

pub async fn a_session_expires_after_the_session_ttl<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let s = session(server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    clock.advance(server.config().session_ttl - Duration::from_secs(1));
    let t = token(server, APP_A1).await;
    assert_eq!(check(server, &t, &s.openid, &sig).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(check(server, &t, &s.openid, &sig).await, 87009);
}

pub async fn an_access_token_lives_7200_seconds_then_answers_42001<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let r = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .wire();
    assert_eq!(r.expires_in, Some(7200));
    assert_eq!(r.access_token.as_ref().unwrap().secret().len(), 64);
    let t = r.access_token.unwrap();
    let s = session(server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    clock.advance(Duration::from_secs(7199));
    assert_eq!(check(server, &t, &s.openid, &sig).await, 0);
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

pub async fn a_new_token_leaves_the_previous_one_valid_for_five_more_minutes<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let s = session(server, APP_A1, ADA).await;
    let sig = session_signature(&s.session_key);
    let old = token(server, APP_A1).await;
    clock.advance(Duration::from_secs(600));
    let new = token(server, APP_A1).await;
    assert_ne!(old, new);
    clock.advance(Duration::from_secs(299));
    assert_eq!(check(server, &old, &s.openid, &sig).await, 0);
    assert_eq!(check(server, &new, &s.openid, &sig).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(check(server, &old, &s.openid, &sig).await, 42001);
    assert_eq!(check(server, &new, &s.openid, &sig).await, 0);
}

pub async fn an_unknown_access_token_is_40014_and_the_token_endpoint_checks_its_input<
    S: StoreKind,
>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
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

pub async fn a_token_of_one_app_cannot_read_another_apps_users<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A2).await;
    assert_eq!(
        check(server, &t, &s.openid, &session_signature(&s.session_key)).await,
        40003
    );
}

pub async fn a_phone_code_reads_the_phone_number_once<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
    let code = phone_code(server, APP_A1, ADA).await;
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

pub async fn an_email_code_reads_the_email_address_and_a_phone_code_cannot<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
    let phone = phone_code(server, APP_A1, ADA).await;
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

pub async fn a_phone_code_expires_after_five_minutes<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let s = session(server, APP_A1, ADA).await;
    let t = token(server, APP_A1).await;
    let code = phone_code(server, APP_A1, ADA).await;
    clock.advance(Duration::from_secs(300));
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t, &s.openid, code))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
}

pub async fn a_phone_code_is_bound_to_its_user_and_app<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    server
        .add_user(SuperappUser::new("u-4").with_phone_number("+10"))
        .unwrap();
    let s1 = session(server, APP_A1, ADA).await;
    let s4 = session(server, APP_A1, "u-4").await;
    let code = phone_code(server, APP_A1, ADA).await;
    let t1 = token(server, APP_A1).await;
    // Another user's openid in the same app.
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t1.clone(), &s4.openid, code.clone()))
        .await
        .wire();
    assert_eq!(r.errcode, 40029);
    // The same user in another app of the team.
    let s1_other = session(server, APP_A2, ADA).await;
    let t2 = token(server, APP_A2).await;
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

pub async fn jscode2session_is_rate_limited_per_user_per_minute_with_45011<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = 3;
    let p = S::platform(config).await;
    let (server, clock) = (&p.server, &p.clock);
    for _ in 0..3 {
        session(server, APP_A1, ADA).await;
    }
    let code = login_code(server, APP_A1, ADA).await;
    let r = exchange(server, APP_A1, code.clone()).await;
    assert_eq!(r.errcode, 45011);
    assert_eq!(
        r.errmsg,
        "rate limit: at most 3 jscode2session calls per user per minute"
    );
    // Another user is not limited by u-1's calls.
    session(server, APP_A1, BOB).await;
    // The next minute, the refused code is still good.
    clock.advance(Duration::from_secs(60));
    assert_eq!(exchange(server, APP_A1, code).await.errcode, 0);
}

pub async fn a_v3_auth_code_is_single_use_bound_to_its_app_and_short_lived<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let app = AppInfo::new(APP_A1);
    let ac = server.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    let principal = Principal::AuthCode(ac);
    let code = server.issue_login_code(&app, &principal).await.unwrap();
    assert_eq!(exchange(server, APP_A1, code).await.errcode, 0);
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

pub async fn a_v3_auth_code_reads_only_the_scopes_it_grants<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
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

pub async fn check_session_is_true_only_after_an_exchange_and_until_expiry<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let app = AppInfo::new(APP_A1);
    assert!(!server.has_valid_session(&app, &uid(ADA)).await.unwrap());
    session(server, APP_A1, ADA).await;
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

pub async fn sixty_four_tasks_racing_to_exchange_one_code_produce_exactly_one_success<
    S: StoreKind,
>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let code = login_code(server, APP_A1, ADA).await;
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

pub async fn racing_issuers_get_exactly_the_cap_and_no_more<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    // A cluster counts the cap per tag, a 256th of it each
    // (docs/openserver.md): one user's codes race for its tag's share.
    config.max_outstanding_codes_per_app = if S::EXACT_APP_CAP { 200 } else { 200 * 256 };
    let p = S::platform(config).await;
    let server = &p.server;
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
}

pub async fn a_used_code_answers_40163_until_it_would_have_expired_then_40029<S: StoreKind>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    let code = login_code(server, APP_A1, ADA).await;
    clock.advance(Duration::from_secs(100));
    assert_eq!(exchange(server, APP_A1, code.clone()).await.errcode, 0);
    clock.advance(Duration::from_secs(199));
    assert_eq!(exchange(server, APP_A1, code.clone()).await.errcode, 40163);
    clock.advance(Duration::from_secs(1));
    assert_eq!(exchange(server, APP_A1, code).await.errcode, 40029);
}

pub async fn an_unknown_openid_is_40003_before_the_code_is_looked_at<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let t = token(server, APP_A1).await;
    for code in ["not-a-code", "0123456789abcdef0123456789abcdef"] {
        let r = server
            .getuserphonenumber(&UserCodeRequest::new(
                t.clone(),
                "0".repeat(64),
                Code::new(code),
            ))
            .await
            .wire();
        assert_eq!(r.errcode, 40003, "{code}");
    }
    // A known openid with text that is no code: 40029.
    let s = session(server, APP_A1, ADA).await;
    let r = server
        .getuserphonenumber(&UserCodeRequest::new(t, &s.openid, Code::new("zz")))
        .await
        .wire();
    assert_eq!((r.errcode, r.errmsg.as_str()), (40029, "invalid code"));
}

pub async fn an_auth_code_shown_for_another_app_is_spent<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let code = server.issue_auth_code(APP_A2, ADA, []).await.unwrap();
    let principal = Principal::AuthCode(code);
    let err = server
        .issue_login_code(&AppInfo::new(APP_A1), &principal)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46003);
    // Shown once, spent: its own app cannot use it either.
    let err = server
        .issue_login_code(&AppInfo::new(APP_A2), &principal)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46003);
}

// ---- bounds

pub async fn a_user_at_its_code_quota_leaves_other_users_of_the_app_their_codes<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_user = 5;
    let p = S::platform(config).await;
    let server = &p.server;
    let app = AppInfo::new(APP_A1);
    for _ in 0..5 {
        server.issue_login_code(&app, &uid(ADA)).await.unwrap();
    }
    let err = server.issue_login_code(&app, &uid(ADA)).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding codes for this user in app wx-a1: the limit is 5; codes are freed as they expire"
    );
    // Phone codes count against the same quota.
    let phone = server
        .issue_user_code(&app, &uid(ADA), UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(phone.errcode(), 45009);
    // Another user of the same app, and the same user in another app, are not affected.
    for _ in 0..5 {
        server.issue_login_code(&app, &uid(BOB)).await.unwrap();
    }
    login_code(server, APP_A2, ADA).await;
}

pub async fn a_users_code_quota_is_freed_once_its_codes_expire<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_user = 3;
    let p = S::platform(config).await;
    let (server, clock) = (&p.server, &p.clock);
    let app = AppInfo::new(APP_A1);
    for _ in 0..3 {
        server.issue_login_code(&app, &uid(ADA)).await.unwrap();
    }
    assert_eq!(
        server
            .issue_login_code(&app, &uid(ADA))
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    clock.advance(Duration::from_secs(300));
    // The in-memory store frees them when it sweeps; Redis as they expire.
    server.sweep();
    for _ in 0..3 {
        server.issue_login_code(&app, &uid(ADA)).await.unwrap();
    }
}

pub async fn the_app_code_cap_counts_login_and_phone_codes_and_is_freed_once_they_expire<
    S: StoreKind,
>() {
    if !S::EXACT_APP_CAP {
        return the_app_code_cap_is_a_share_per_tag::<S>().await;
    }
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_app = 10;
    let p = S::platform(config).await;
    let (server, clock) = (&p.server, &p.clock);
    ten_codes_alternating_login_and_phone(server).await;
    let app = AppInfo::new(APP_A1);
    // Checked after the user's quota: another user is refused too.
    let err = server.issue_login_code(&app, &uid(BOB)).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding codes for app wx-a1: the limit is 10; codes are freed as they expire"
    );
    assert_eq!(
        server
            .issue_user_code(&app, &uid(ADA), UserCodeKind::PhoneNumber)
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    // Another app has a cap of its own.
    login_code(server, APP_A2, ADA).await;
    clock.advance(Duration::from_secs(300));
    server.sweep();
    for _ in 0..10 {
        login_code(server, APP_A1, BOB).await;
    }
}

/// Ten codes for ADA in APP_A1, login and phone in turn.
async fn ten_codes_alternating_login_and_phone(server: &OpenServer) {
    for i in 0..10 {
        if i % 2 == 0 {
            login_code(server, APP_A1, ADA).await;
        } else {
            phone_code(server, APP_A1, ADA).await;
        }
    }
}

/// The cap on a cluster: each tag (each 256th of the users) holds a 256th
/// of it, rounded up; freed as codes expire.
async fn the_app_code_cap_is_a_share_per_tag<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    config.max_outstanding_codes_per_app = 10 * 256;
    let p = S::platform(config).await;
    let (server, clock) = (&p.server, &p.clock);
    ten_codes_alternating_login_and_phone(server).await;
    let app = AppInfo::new(APP_A1);
    let err = server.issue_login_code(&app, &uid(ADA)).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding codes for app wx-a1: the limit is 2560; codes are freed as they expire"
    );
    // Another user (of another tag) has a share of the cap of its own.
    login_code(server, APP_A1, BOB).await;
    login_code(server, APP_A2, ADA).await;
    clock.advance(Duration::from_secs(300));
    for _ in 0..10 {
        login_code(server, APP_A1, ADA).await;
    }
}

pub async fn the_third_newest_token_is_refused_and_an_app_holds_at_most_two<S: StoreKind>() {
    let p = S::default_platform().await;
    let server = &p.server;
    let t1 = token(server, APP_A1).await;
    let t2 = token(server, APP_A1).await;
    let t3 = token(server, APP_A1).await;
    // A good token reaches the openid check: 40003 for an unknown openid.
    assert_eq!(
        check(server, &t1, "openid", "00").await,
        40014,
        "the third-newest token is gone"
    );
    assert_eq!(
        check(server, &t2, "openid", "00").await,
        40003,
        "the previous token lives for the overlap"
    );
    assert_eq!(check(server, &t3, "openid", "00").await, 40003);
    let mut last = Vec::new();
    for _ in 0..10 {
        last.push(token(server, APP_A1).await);
    }
    for old in [&t2, &t3].into_iter().chain(&last[..8]) {
        assert_eq!(check(server, old, "openid", "00").await, 40014);
    }
    for live in &last[8..] {
        assert_eq!(check(server, live, "openid", "00").await, 40003);
    }
}

pub async fn the_2001st_token_of_the_day_is_refused_with_45009_and_the_next_day_is_new<
    S: StoreKind,
>() {
    let p = S::default_platform().await;
    let (server, clock) = (&p.server, &p.clock);
    // Start at a UTC midnight so that the whole run is one day.
    let now = clock.now_millis();
    clock.advance(Duration::from_millis(86_400_000 - now % 86_400_000));
    for _ in 0..2000 {
        token(server, APP_A1).await;
    }
    let err = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.errcode(), err.errmsg()),
        (
            45009,
            "access token quota: at most 2000 tokens per app per day (UTC); reuse the token you have"
        )
    );
    // Another app has a quota of its own.
    token(server, APP_A2).await;
    clock.advance(Duration::from_secs(24 * 3600));
    token(server, APP_A1).await;
}

pub async fn auth_codes_are_capped_per_user_and_freed_when_redeemed_or_expired<S: StoreKind>() {
    let mut config = OpenServerConfig::default();
    config.max_auth_codes_per_user = 3;
    let p = S::platform(config).await;
    let (server, clock) = (&p.server, &p.clock);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(server.issue_auth_code(APP_A1, ADA, []).await.unwrap());
    }
    let err = server.issue_auth_code(APP_A1, ADA, []).await.unwrap_err();
    assert_eq!(err.errcode(), 45009);
    assert_eq!(
        err.errmsg(),
        "too many outstanding authCodes for this user: the limit is 3; they are freed as they are redeemed or expire"
    );
    // Across apps: the cap is the user's.
    assert_eq!(
        server
            .issue_auth_code(APP_A2, ADA, [])
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    // Another user is not affected.
    server.issue_auth_code(APP_A1, BOB, []).await.unwrap();
    // Redeeming frees a place.
    let app = AppInfo::new(APP_A1);
    server
        .issue_login_code(&app, &Principal::AuthCode(codes.pop().unwrap()))
        .await
        .unwrap();
    server.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    assert_eq!(
        server
            .issue_auth_code(APP_A1, ADA, [])
            .await
            .unwrap_err()
            .errcode(),
        45009
    );
    // Expiring frees them all (the in-memory store when it sweeps).
    clock.advance(AUTH_CODE_TTL);
    server.sweep();
    for _ in 0..3 {
        server.issue_auth_code(APP_A1, ADA, []).await.unwrap();
    }
}
