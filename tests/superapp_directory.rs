//! `HttpDirectory` against the reference super-app server, in process on
//! loopback ports: every path family and signature mode, the refusals as
//! the platform's errcodes, v3 redemption, outages as `-1` (stopped,
//! stalling, 10 MB, garbage), the profile cache, and the conformance check.
#![cfg(feature = "http")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::any;
use serde_json::{Value, json};
use superapp_openapi::AuthCode;
use superapp_openapi::openserver::{Clock, ErrCode, SuperappDirectory};
use superapp_openapi::superapp::{
    CheckTarget, HostAccount, HttpDirectory, InfoKind, PathFamily, ReferenceServer, ReferenceUser,
    SecretKey, SignatureMode, SnapSigner, SnapVerifier, TcSigner, UserStatus, check_directory,
};
use support::{Served, Silent, closed_port};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const CLIENT: &str = "platform-client";
const PRIVATE_PEM: &[u8] = include_bytes!("data/superapp/platform-test-key.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("data/superapp/platform-test-pub.pem");
const USERS: &str = include_str!("../examples/superapp-users.json");

fn users() -> Vec<ReferenceUser> {
    serde_json::from_value::<Value>(serde_json::from_str(USERS).unwrap())
        .map(|v| serde_json::from_value(v["users"].clone()).unwrap())
        .unwrap()
}

fn key() -> SecretKey {
    SecretKey::new(KEY).unwrap()
}

async fn reference(family: PathFamily, mode: SignatureMode) -> Served {
    let server = ReferenceServer::builder(key(), users())
        .paths(family)
        .signature(mode)
        .platform_key(SnapVerifier::from_pem(CLIENT, PUBLIC_PEM, "pub").unwrap())
        .build();
    Served::start(server.router()).await
}

fn directory(base: &str, family: PathFamily, mode: SignatureMode) -> HttpDirectory {
    HttpDirectory::builder(base, key())
        .paths(family)
        .signature(mode)
        .timeout(Duration::from_secs(5))
        .snap(SnapSigner::from_pem(CLIENT, PRIVATE_PEM, "key").unwrap())
        .build()
}

#[tokio::test]
async fn every_family_and_mode_answers_the_platform_s_signed_calls() {
    for family in PathFamily::ALL {
        for mode in SignatureMode::ALL {
            let served = reference(family, mode).await;
            let d = directory(&served.base, family, mode);
            let at = format!("{family} {mode}");
            assert_eq!(
                d.check_user("u-1001").await.unwrap(),
                UserStatus::Active,
                "{at}"
            );
            assert_eq!(
                d.check_user("u-1003").await.unwrap(),
                UserStatus::Inactive,
                "{at}"
            );
            assert_eq!(
                d.check_user("nobody").await.unwrap(),
                UserStatus::Unknown,
                "{at}"
            );
            assert_eq!(d.nickname("u-1001").await.unwrap(), "Ada", "{at}");
            assert_eq!(
                d.avatar_url("u-1001").await.unwrap(),
                "https://example.com/avatars/ada.png"
            );
            let phone = d.temporary_code("u-1001", InfoKind::Phone).await.unwrap();
            assert_eq!(phone.masked, "+86****0000", "{at}");
            assert_eq!(
                d.redeem_temporary_code("u-1001", InfoKind::Phone, &phone.code)
                    .await
                    .unwrap(),
                "+8613800000000"
            );
            let reused = d
                .redeem_temporary_code("u-1001", InfoKind::Phone, &phone.code)
                .await
                .unwrap_err();
            assert_eq!(reused.code(), Some(ErrCode::InvalidCode), "{at}: {reused}");
            let email = d.temporary_code("u-1001", InfoKind::Email).await.unwrap();
            // A phone code does not redeem an email, nor another user's.
            let wrong = d
                .redeem_temporary_code("u-1002", InfoKind::Email, &email.code)
                .await
                .unwrap_err();
            assert_eq!(wrong.code(), Some(ErrCode::InvalidCode));
            let email = d.temporary_code("u-1001", InfoKind::Email).await.unwrap();
            assert_eq!(
                d.redeem_temporary_code("u-1001", InfoKind::Email, &email.code)
                    .await
                    .unwrap(),
                "ada@example.com"
            );
        }
    }
}

#[tokio::test]
async fn refusals_become_the_platform_s_errcodes() {
    let served = reference(PathFamily::default(), SignatureMode::AesEcb).await;
    let d = directory(&served.base, PathFamily::default(), SignatureMode::AesEcb);
    let unknown = d.nickname("nobody").await.unwrap_err();
    assert_eq!(unknown.code(), Some(ErrCode::UserNotFound), "{unknown}");
    let inactive = d
        .temporary_code("u-1003", InfoKind::Phone)
        .await
        .unwrap_err();
    assert_eq!(inactive.code(), Some(ErrCode::UserInactive), "{inactive}");
    let none = d
        .temporary_code("u-1002", InfoKind::Phone)
        .await
        .unwrap_err();
    assert_eq!(none.code(), Some(ErrCode::NoSuchUserData), "{none}");
    // The trait: an unknown user is None, an inactive one is there, inactive.
    assert!(d.user("nobody").await.unwrap().is_none());
    assert!(!d.user("u-1003").await.unwrap().unwrap().active);
}

async fn post(url: String, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer.json().await.unwrap()
}

async fn host_auth_code(base: &str, mini_app: &str, scopes: Value) -> String {
    let login = post(
        format!("{base}/superapp/login"),
        json!({"appId": "superapp", "userAccount": "u-1001", "userPassword": "ada-password-change-me"}),
    )
    .await;
    assert_eq!(login["returnCode"], "0", "{login}");
    assert_eq!(login["data"]["userName"], "Ada");
    let token = login["data"]["token"].as_str().unwrap();
    let ask = format!("{base}/superapp/getMiniProgramAuthCode");
    let bad = post(
        ask.clone(),
        json!({"appId": "superapp", "miniAppId": mini_app, "token": "not-a-token"}),
    )
    .await;
    assert_eq!(bad["returnCode"], "100006", "{bad}");
    let body =
        json!({"appId": "superapp", "miniAppId": mini_app, "token": token, "scopes": scopes});
    let answer = post(ask, body).await;
    answer["data"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_v3_auth_code_redeems_once_for_its_mini_program() {
    let served = reference(PathFamily::default(), SignatureMode::AesEcb).await;
    let d = directory(&served.base, PathFamily::default(), SignatureMode::AesEcb);
    let code =
        AuthCode::new(host_auth_code(&served.base, "wx-a", json!(["SCOPE_PHONE_NUMBER"])).await);
    let grant = d.redeem_auth_code("wx-a", &code).await.unwrap().unwrap();
    assert_eq!(grant.user_id, "u-1001");
    assert_eq!(grant.scopes, vec![superapp_openapi::Scope::PhoneNumber]);
    assert_eq!(
        d.redeem_auth_code("wx-a", &code).await.unwrap(),
        None,
        "single use"
    );
    let other = AuthCode::new(host_auth_code(&served.base, "wx-a", Value::Null).await);
    assert_eq!(
        d.redeem_auth_code("wx-b", &other).await.unwrap(),
        None,
        "another mini program's code"
    );
    // Without the platform's key pair, redemption is an outage, not a refusal.
    let unsigned = HttpDirectory::builder(&served.base, key()).build();
    let err = unsigned
        .redeem_auth_code("wx-a", &AuthCode::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), -1, "{err}");
    // A platform key the server does not know is refused as a signature: -1.
    let stranger = SnapSigner::from_pem("someone-else", PRIVATE_PEM, "key").unwrap();
    let d = HttpDirectory::builder(&served.base, key())
        .snap(stranger)
        .build();
    let err = d
        .redeem_auth_code("wx-a", &AuthCode::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), -1, "{err}");
}

#[tokio::test]
async fn a_wrong_secret_key_is_an_outage_never_an_unknown_user() {
    let served = reference(PathFamily::default(), SignatureMode::AesEcb).await;
    let d =
        HttpDirectory::builder(&served.base, SecretKey::new("fedcba9876543210").unwrap()).build();
    let err = d.check_user("u-1001").await.unwrap_err();
    assert_eq!(err.errcode(), -1);
    assert!(err.errmsg().contains("TC-Signature was refused"), "{err}");
    assert!(!err.errmsg().contains("fedcba"), "{err}");
    // The other mode with the right key is refused the same way.
    let d = directory(&served.base, PathFamily::default(), SignatureMode::AesCbc);
    assert_eq!(d.check_user("u-1001").await.unwrap_err().errcode(), -1);
}

#[tokio::test]
async fn a_stopped_or_stalling_server_is_minus_one_within_the_timeout() {
    let closed = closed_port().await;
    let silent = Silent::start().await;
    for base in [closed.as_str(), silent.base.as_str()] {
        let d = HttpDirectory::builder(base, key())
            .timeout(Duration::from_millis(300))
            .build();
        let started = Instant::now();
        let err = d.check_user("u-1001").await.unwrap_err();
        assert_eq!(err.errcode(), -1, "{base}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{base}: took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_10_mb_answer_or_garbage_is_a_bounded_outage() {
    let huge =
        Served::start(axum::Router::new().fallback(any(|| async { "x".repeat(10 << 20) }))).await;
    let html =
        Served::start(axum::Router::new().fallback(any(|| async { "<html>oops</html>" }))).await;
    let no_envelope = Served::start(
        axum::Router::new().fallback(any(|| async { axum::Json(json!({"ok": true})) })),
    )
    .await;
    for (served, expected) in [
        (&huge, "larger than"),
        (&html, "not JSON"),
        (&no_envelope, "returnCode"),
    ] {
        let d = HttpDirectory::builder(&served.base, key()).build();
        let err = d.check_user("u-1001").await.unwrap_err();
        assert_eq!(err.errcode(), -1, "{err}");
        assert!(err.errmsg().contains(expected), "{err}");
    }
}

#[tokio::test]
async fn the_profile_cache_answers_repeats_and_phone_numbers_are_never_cached() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = ReferenceServer::builder(key(), users()).build();
    let counted = hits.clone();
    let router = server.router().layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            counted.fetch_add(1, Ordering::SeqCst);
            next.run(req)
        },
    ));
    let served = Served::start(router).await;
    let cached = HttpDirectory::builder(&served.base, key())
        .profile_cache(16, Duration::from_secs(60))
        .build();
    assert_eq!(cached.nickname("u-1001").await.unwrap(), "Ada");
    assert_eq!(cached.nickname("u-1001").await.unwrap(), "Ada");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    for _ in 0..2 {
        let code = cached
            .temporary_code("u-1001", InfoKind::Phone)
            .await
            .unwrap();
        cached
            .redeem_temporary_code("u-1001", InfoKind::Phone, &code.code)
            .await
            .unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    let uncached = HttpDirectory::builder(&served.base, key()).build();
    uncached.nickname("u-1001").await.unwrap();
    uncached.nickname("u-1001").await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn the_conformance_check_passes_the_reference_and_names_what_is_wrong_elsewhere() {
    let served = reference(PathFamily::V20250425, SignatureMode::AesCbc).await;
    let mut target = CheckTarget::new(&served.base, key(), "u-1001");
    target.paths = PathFamily::V20250425;
    target.signer = TcSigner::new(key(), SignatureMode::AesCbc);
    target.snap = Some(SnapSigner::from_pem(CLIENT, PRIVATE_PEM, "key").unwrap());
    target.account = Some(HostAccount {
        app_id: "superapp".into(),
        user_account: "u-1001".into(),
        user_password: "ada-password-change-me".into(),
        mini_app_id: "wx-a".into(),
    });
    let report = check_directory(&target).await;
    assert!(report.passed(), "{report}");
    assert!(report.lines.iter().all(|l| l.skipped.is_none()), "{report}");

    // The wrong family: every user call is a path failure.
    target.paths = PathFamily::V20251205;
    let report = check_directory(&target).await;
    assert!(!report.passed());
    let text = report.to_string();
    assert!(
        text.contains("FAIL checkUser (POST /user/checkUser): path: HTTP 404"),
        "{text}"
    );

    // The wrong mode: the signature is refused.
    target.paths = PathFamily::V20250425;
    target.signer = TcSigner::new(key(), SignatureMode::AesEcb);
    let text = check_directory(&target).await.to_string();
    assert!(text.contains("signature refused: HTTP 401"), "{text}");

    // A server answering garbage, and one that stalls.
    let html = Served::start(axum::Router::new().fallback(any(|| async { "<html>" }))).await;
    let text = check_directory(&CheckTarget::new(&html.base, key(), "u-1001"))
        .await
        .to_string();
    assert!(text.contains("envelope: the answer is not JSON"), "{text}");
    let silent = Silent::start().await;
    let mut stalled = CheckTarget::new(&silent.base, key(), "u-1001");
    stalled.timeout = Duration::from_millis(200);
    let text = check_directory(&stalled).await.to_string();
    assert!(text.contains("timeout: no answer within 200 ms"), "{text}");
}

#[test]
fn debug_shows_no_key() {
    let d = HttpDirectory::builder("http://127.0.0.1:1", key())
        .snap(SnapSigner::from_pem(CLIENT, PRIVATE_PEM, "key").unwrap())
        .build();
    let shown = format!("{d:?}");
    assert!(
        !shown.contains(KEY) && !shown.contains("PRIVATE"),
        "{shown}"
    );
}

#[tokio::test]
async fn temporary_codes_expire_after_five_minutes_and_stale_signatures_are_refused() {
    use superapp_openapi::openserver::ManualClock;
    let clock = ManualClock::new();
    let server = ReferenceServer::builder(key(), users())
        .clock(Arc::new(clock.clone()))
        .build();
    let served = Served::start(server.router()).await;
    let d = HttpDirectory::builder(&served.base, key())
        .clock(Arc::new(clock.clone()))
        .build();
    let code = d.temporary_code("u-1001", InfoKind::Email).await.unwrap();
    clock.advance(Duration::from_secs(301));
    let expired = d
        .redeem_temporary_code("u-1001", InfoKind::Email, &code.code)
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Some(ErrCode::InvalidCode), "{expired}");
    // A platform whose clock is 6 minutes behind signs stale timestamps.
    let behind = superapp_openapi::openserver::ManualClock::at_millis(clock.now_millis() - 360_000);
    let d = HttpDirectory::builder(&served.base, key())
        .clock(Arc::new(behind))
        .build();
    let err = d.check_user("u-1001").await.unwrap_err();
    assert_eq!(err.errcode(), -1, "{err}");
}
