//! The SDK routes and `RemotePlatform` over real sockets, including
//! platforms that are down, slow or not speaking the API.
#![cfg(feature = "http")]

mod support;

use std::time::Duration;

use axum::routing::post;
use serde_json::{Value, json};
use superapp_openapi::{
    ApiVersion, AppInfo, Dispatcher, Scope, SdkKey,
    http::{HttpConfig, RemotePlatform},
    openserver::OpenServerConfig,
    platform::{Platform, PlatformError, Principal, UserCodeKind},
};
use support::*;

fn app() -> AppInfo {
    AppInfo::new(APP_A1)
}

fn ada() -> Principal {
    Principal::Uid(ADA.into())
}

#[tokio::test]
async fn sdk_routes_issue_codes_check_sessions_and_read_profiles_over_http() {
    let t = TestServer::start().await;
    let principal = json!({"uid": ADA});

    let login = t
        .post_sdk(
            SDK_LOGIN_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": principal}),
        )
        .await;
    assert_eq!(login.error(), (0, "ok".into()));
    assert_eq!(login.str("code").len(), 32);
    assert_eq!(login.header("cache-control"), Some("no-store"));

    let before = t
        .post_sdk(
            SDK_CHECK_SESSION,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": principal}),
        )
        .await;
    assert_eq!(before.json["valid"], false);
    t.session(ADA).await;
    let after = t
        .post_sdk(
            SDK_CHECK_SESSION,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": principal}),
        )
        .await;
    assert_eq!(after.json["valid"], true);

    for kind in ["phone_number", "email"] {
        let code = t
            .post_sdk(
                SDK_USER_CODE,
                Some(SDK_KEY),
                &json!({"appid": APP_A1, "principal": principal, "kind": kind}),
            )
            .await;
        assert_eq!(code.errcode(), 0, "{kind}: {}", code.json);
        assert_eq!(code.str("code").len(), 32);
    }
    for (field, value) in [("avatar", ADA_AVATAR), ("nickname", "Ada")] {
        let p = t
            .post_sdk(
                SDK_PROFILE,
                Some(SDK_KEY),
                &json!({"appid": APP_A1, "principal": principal, "field": field}),
            )
            .await;
        assert_eq!(p.errcode(), 0);
        assert_eq!(p.json["value"], value);
    }

    // v3: an authCode stands for the user, with the scopes it grants.
    let auth = t
        .server
        .issue_auth_code(APP_A1, ADA, [Scope::PhoneNumber])
        .await
        .unwrap();
    let code = t
        .post_sdk(
            SDK_USER_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"authCode": auth.secret()}, "kind": "phone_number"}),
        )
        .await;
    assert_eq!(code.errcode(), 0, "{}", code.json);
}

#[tokio::test]
async fn sdk_routes_refuse_a_missing_or_wrong_key_with_40001() {
    let t = TestServer::start().await;
    let body = json!({"appid": APP_A1, "principal": {"uid": ADA}});
    let missing = t.post_sdk(SDK_LOGIN_CODE, None, &body).await;
    assert_eq!(
        missing.error(),
        (
            40001,
            "invalid SDK key: send the header Authorization: Bearer <SDK key>".into()
        )
    );
    let wrong = t.post_sdk(SDK_LOGIN_CODE, Some("not-the-key"), &body).await;
    assert_eq!(
        wrong.error(),
        (
            40001,
            "invalid SDK key: the key is not one this server knows".into()
        )
    );
    let prefix = t
        .post_sdk(SDK_LOGIN_CODE, Some(&SDK_KEY[..10]), &body)
        .await;
    assert_eq!(prefix.errcode(), 40001);
    let basic = t
        .send(
            t.raw()
                .post(t.url(SDK_LOGIN_CODE))
                .basic_auth("host", Some(SDK_KEY))
                .json(&body),
        )
        .await;
    assert_eq!(
        basic.error(),
        (
            40001,
            "invalid SDK key: the Authorization header must be Bearer <SDK key>".into()
        )
    );
    // The key is checked before anything else, so a stranger learns nothing
    // about the body it sent.
    let malformed = t.post_sdk(SDK_PROFILE, Some("nope"), &json!([1])).await;
    assert_eq!(malformed.errcode(), 40001);
    for path in [SDK_CHECK_SESSION, SDK_USER_CODE, SDK_PROFILE] {
        assert_eq!(
            t.post_sdk(path, None, &body).await.errcode(),
            40001,
            "{path}"
        );
    }
}

#[tokio::test]
async fn sdk_routes_are_closed_when_no_key_is_configured() {
    let t = TestServer::start_with(OpenServerConfig::default(), HttpConfig::new()).await;
    let a = t
        .post_sdk(
            SDK_LOGIN_CODE,
            Some(""),
            &json!({"appid": APP_A1, "principal": {"uid": ADA}}),
        )
        .await;
    assert_eq!(a.errcode(), 40001);
    assert!(
        a.errmsg().contains("no SDK key configured"),
        "{}",
        a.errmsg()
    );
}

#[tokio::test]
async fn sdk_routes_name_malformed_fields_with_10002() {
    let t = TestServer::start().await;
    let cases = [
        (
            SDK_LOGIN_CODE,
            json!({"principal": {"uid": ADA}}),
            "appid is missing",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": 7, "principal": {"uid": ADA}}),
            "appid must be a string, found a number",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1}),
            "principal is missing",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": "u"}),
            "principal must be an object, found a string",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {}}),
            "principal must have uid or authCode",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"uid": ADA, "authCode": "x"}}),
            "principal must have exactly one of uid and authCode",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"uid": 1}}),
            "principal.uid must be a string, found a number",
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"authCode": ""}}),
            "principal.authCode is missing",
        ),
        (
            SDK_USER_CODE,
            json!({"appid": APP_A1, "principal": {"uid": ADA}}),
            "kind is missing",
        ),
        (
            SDK_USER_CODE,
            json!({"appid": APP_A1, "principal": {"uid": ADA}, "kind": "address"}),
            "kind must be phone_number or email",
        ),
        (
            SDK_PROFILE,
            json!({"appid": APP_A1, "principal": {"uid": ADA}, "field": "age"}),
            "field must be avatar or nickname",
        ),
        (
            SDK_CHECK_SESSION,
            json!([]),
            "the body must be a JSON object, found an array",
        ),
    ];
    for (path, body, message) in cases {
        let a = t.post_sdk(path, Some(SDK_KEY), &body).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.error(),
            (10002, format!("invalid param: {message}")),
            "{path} {body}"
        );
    }
    let not_json = t
        .send(
            t.raw()
                .post(t.url(SDK_LOGIN_CODE))
                .bearer_auth(SDK_KEY)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_eq!(not_json.errcode(), 10002);
}

#[tokio::test]
async fn platform_errors_pass_through_the_sdk_routes() {
    let t = TestServer::start().await;
    let cases = [
        (
            SDK_LOGIN_CODE,
            json!({"appid": "wx-nope", "principal": {"uid": ADA}}),
            40013,
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"uid": "u-nobody"}}),
            46001,
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"uid": GONE}}),
            46002,
        ),
        (
            SDK_LOGIN_CODE,
            json!({"appid": APP_A1, "principal": {"authCode": "0123"}}),
            46003,
        ),
        (
            SDK_USER_CODE,
            json!({"appid": APP_A1, "principal": {"uid": BOB}, "kind": "phone_number"}),
            46005,
        ),
    ];
    for (path, body, errcode) in cases {
        let a = t.post_sdk(path, Some(SDK_KEY), &body).await;
        assert_eq!(a.errcode(), errcode, "{path} {body}: {}", a.json);
        assert!(a.json.get("code").is_none());
    }
    // An authCode without the scope is refused.
    let auth = t
        .server
        .issue_auth_code(APP_A1, ADA, [Scope::Email])
        .await
        .unwrap();
    let a = t
        .post_sdk(
            SDK_USER_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"authCode": auth.secret()}, "kind": "phone_number"}),
        )
        .await;
    assert_eq!(a.errcode(), 46004);
}

#[tokio::test]
async fn remote_platform_answers_every_platform_call_over_http() {
    let t = TestServer::start().await;
    let remote = t.remote();
    let code = remote.issue_login_code(&app(), &ada()).await.unwrap();
    assert_eq!(code.secret().len(), 32);
    assert!(!remote.check_session(&app(), &ada()).await.unwrap());
    t.session(ADA).await;
    assert!(remote.check_session(&app(), &ada()).await.unwrap());
    let phone = remote
        .issue_user_code(&app(), &ada(), UserCodeKind::PhoneNumber)
        .await
        .unwrap();
    let email = remote
        .issue_user_code(&app(), &ada(), UserCodeKind::Email)
        .await
        .unwrap();
    assert_ne!(phone, email);
    assert_eq!(remote.avatar_url(&app(), &ada()).await.unwrap(), ADA_AVATAR);
    assert_eq!(remote.nickname(&app(), &ada()).await.unwrap(), "Ada");
}

#[tokio::test]
async fn remote_platform_reports_platform_errors_with_errcode_and_request_id() {
    let t = TestServer::start().await;
    let err = t
        .remote()
        .issue_login_code(&app(), &Principal::Uid("u-nobody".into()))
        .await
        .unwrap_err();
    match err {
        PlatformError::Api(err) => {
            assert_eq!(err.errcode(), 46001);
            assert_eq!(err.errmsg(), "user not found");
            assert_eq!(err.request_id().map(str::len), Some(32));
        }
        other => panic!("expected Api, got {other:?}"),
    }
    let wrong_key = RemotePlatform::new(&t.base, SdkKey::new("wrong-key"));
    assert_eq!(
        wrong_key
            .issue_login_code(&app(), &ada())
            .await
            .unwrap_err()
            .errcode(),
        Some(40001)
    );
}

#[tokio::test]
async fn remote_platform_against_a_closed_port_is_unreachable_and_login_fails_with_errno_402() {
    let base = closed_port().await;
    let remote = RemotePlatform::new(&base, SdkKey::new(SDK_KEY));
    match remote.issue_login_code(&app(), &ada()).await {
        Err(err @ PlatformError::Unreachable(_)) => {
            let why = err.to_string();
            assert!(!why.contains(SDK_KEY), "{why}");
            assert!(
                std::error::Error::source(&err).is_some(),
                "the cause is kept"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let dispatcher = Dispatcher::builder(TestHost::new().with_uid(ADA))
        .platform(RemotePlatform::new(&base, SdkKey::new(SDK_KEY)))
        .default_version(ApiVersion::V2)
        .build();
    let reply = dispatcher.invoke(&app(), "login", json!({})).await;
    assert!(!reply.is_ok());
    assert_eq!(reply.errno(), Some(402), "{}", reply.err_msg());
    assert!(
        reply.err_msg().starts_with("login:fail "),
        "{}",
        reply.err_msg()
    );
}

#[tokio::test]
async fn remote_platform_against_a_server_answering_html_is_a_bad_response() {
    let html = axum::Router::new().fallback(|| async {
        (
            [("content-type", "text/html")],
            "<html><body>Welcome to nginx!</body></html>",
        )
    });
    let served = Served::start(html).await;
    let remote = RemotePlatform::new(&served.base, SdkKey::new(SDK_KEY));
    match remote.issue_login_code(&app(), &ada()).await {
        Err(PlatformError::BadResponse(why)) => {
            assert!(why.contains("not JSON"), "{why}");
            assert!(why.contains("text/html"), "{why}");
        }
        other => panic!("expected BadResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn remote_platform_against_a_failing_or_off_spec_server_is_a_bad_response() {
    let odd = axum::Router::new()
        .route(
            SDK_LOGIN_CODE,
            post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            SDK_CHECK_SESSION,
            post(|| async { axum::Json(json!({"errcode": 0, "valid": "yes"})) }),
        )
        .route(
            SDK_USER_CODE,
            post(|| async { axum::Json(json!({"errcode": "0", "code": "c"})) }),
        )
        .route(
            SDK_PROFILE,
            post(|| async { axum::Json(json!({"errcode": 0})) }),
        );
    let served = Served::start(odd).await;
    let remote = RemotePlatform::new(&served.base, SdkKey::new(SDK_KEY));
    let bad = |r: Result<Value, PlatformError>| match r {
        Err(PlatformError::BadResponse(why)) => why,
        other => panic!("expected BadResponse, got {other:?}"),
    };
    let why = bad(remote
        .issue_login_code(&app(), &ada())
        .await
        .map(|c| Value::String(c.into_secret())));
    assert!(why.contains("500"), "{why}");
    bad(remote.check_session(&app(), &ada()).await.map(Value::Bool));
    bad(remote
        .issue_user_code(&app(), &ada(), UserCodeKind::Email)
        .await
        .map(|c| Value::String(c.into_secret())));
    bad(remote.nickname(&app(), &ada()).await.map(Value::String));
}

#[tokio::test]
async fn remote_platform_against_a_silent_server_times_out_and_login_fails_with_errno_408() {
    let silent = Silent::start().await;
    let remote = RemotePlatform::builder(&silent.base, SdkKey::new(SDK_KEY))
        .timeout(Duration::from_millis(200))
        .build();
    let err = remote.issue_login_code(&app(), &ada()).await.unwrap_err();
    assert!(matches!(err, PlatformError::Timeout), "{err:?}");
    let dispatcher = Dispatcher::builder(TestHost::new().with_uid(ADA))
        .platform(remote)
        .default_version(ApiVersion::V2)
        .build();
    let reply = dispatcher.invoke(&app(), "login", json!({})).await;
    assert_eq!(reply.errno(), Some(408), "{}", reply.err_msg());
}

#[tokio::test]
async fn remote_platform_debug_does_not_show_the_sdk_key() {
    let remote = RemotePlatform::new("http://127.0.0.1:9/", SdkKey::new("super-secret-sdk-key"));
    let shown = format!("{remote:?}");
    assert!(!shown.contains("super-secret-sdk-key"), "{shown}");
    assert!(shown.contains("http://127.0.0.1:9"), "{shown}");
}

#[tokio::test]
async fn the_auth_code_route_plays_the_superapp_server_for_a_remote_v3_host() {
    let t = TestServer::start().await;
    let remote = t.remote();
    let code = remote
        .issue_auth_code(APP_A1, ADA, &[Scope::PhoneNumber])
        .await
        .unwrap();
    assert_eq!(code.secret().len(), 32);
    // The authCode grants what was asked and nothing else, once.
    let principal = Principal::AuthCode(code);
    remote
        .issue_user_code(&app(), &principal, UserCodeKind::PhoneNumber)
        .await
        .unwrap();
    let again = remote
        .issue_user_code(&app(), &principal, UserCodeKind::PhoneNumber)
        .await
        .unwrap_err();
    assert_eq!(again.errcode(), Some(46003));
    let narrow = Principal::AuthCode(remote.issue_auth_code(APP_A1, ADA, &[]).await.unwrap());
    let err = remote.nickname(&app(), &narrow).await.unwrap_err();
    assert_eq!(err.errcode(), Some(46004));

    let err = remote.issue_auth_code(APP_A1, GONE, &[]).await.unwrap_err();
    assert_eq!(err.errcode(), Some(46002));

    let bad = t
        .post_sdk(
            SDK_AUTH_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"uid": ADA}, "scopes": ["SCOPE_PHONE", 3]}),
        )
        .await;
    assert_eq!(bad.errcode(), 10002);
    assert!(
        bad.errmsg()
            .contains("scopes[0]: unknown scope \"SCOPE_PHONE\""),
        "{}",
        bad.errmsg()
    );
    let bad = t
        .post_sdk(
            SDK_AUTH_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"authCode": "x"}}),
        )
        .await;
    assert_eq!(
        bad.errmsg(),
        "invalid param: principal must be a uid: authCodes are issued for a super-app user"
    );
    let refused = t
        .post_sdk(SDK_AUTH_CODE, None, &json!({"appid": APP_A1}))
        .await;
    assert_eq!(refused.errcode(), 40001);
}
