//! The dispatcher: version resolution, routing under v1/v2/v3, the reply
//! convention, and every failure it can produce.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use superapp_openapi::{
    ApiVersion, AppInfo, AuthCode, AuthGrant, ConfigError, Dispatcher, FailureKind, Gender,
    HostError, OpenApi, OpenApiHandler, Responder, Scope, UserInfo, VersionSource,
    openserver::{ErrCode, OpenServerError},
    platform::PlatformError,
    resolve_version,
};
use support::*;

/// No version, then every version.
fn version_or_none() -> Vec<Option<ApiVersion>> {
    std::iter::once(None)
        .chain(ApiVersion::ALL.map(Some))
        .collect()
}

#[test]
fn resolution_follows_app_json_then_hook_then_default_for_every_combination() {
    for app_json in version_or_none() {
        for hook in version_or_none() {
            for default in ApiVersion::ALL {
                let expected = match (app_json, hook) {
                    (Some(v), _) => (v, VersionSource::AppJson),
                    (None, Some(v)) => (v, VersionSource::Hook),
                    (None, None) => (default, VersionSource::Default),
                };
                assert_eq!(
                    resolve_version(app_json, hook, default),
                    expected,
                    "app.json {app_json:?}, hook {hook:?}, default {default:?}"
                );

                // The dispatcher agrees, with app.json read from a document.
                let doc = match app_json {
                    Some(v) => format!(r#"{{"pages":["index"],"apiVersion":"{v}"}}"#),
                    None => r#"{"pages":["index"]}"#.to_owned(),
                };
                let app = AppInfo::from_app_json("wx-table", &doc).unwrap();
                let mut handler = TestHost::new();
                if let Some(v) = hook {
                    handler = handler.with_version(v);
                }
                let dispatcher = Dispatcher::builder(handler)
                    .default_version(default)
                    .build();
                let explained = dispatcher.explain(&app, OpenApi::Login);
                assert_eq!((explained.version, explained.source), expected);
            }
        }
    }
}

#[test]
fn api_version_parses_either_case_and_prints_lowercase() {
    for (text, v) in [
        ("v1", ApiVersion::V1),
        ("V2", ApiVersion::V2),
        ("v3", ApiVersion::V3),
    ] {
        assert_eq!(text.parse::<ApiVersion>().unwrap(), v);
        assert_eq!(v.to_string(), text.to_lowercase());
        assert_eq!(serde_json::to_value(v).unwrap(), json!(text.to_lowercase()));
    }
    let err = "v4".parse::<ApiVersion>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"unknown open-api version "v4": allowed values are "v1", "v2", "v3""#
    );
}

#[test]
fn app_json_with_an_unknown_api_version_is_a_config_error_naming_found_and_allowed() {
    for (doc, found) in [
        (r#"{"apiVersion":"v4"}"#, r#""v4""#),
        (r#"{"apiVersion":2}"#, "2"),
        (r#"{"apiVersion":null}"#, "null"),
        (r#"{"apiVersion":""}"#, r#""""#),
    ] {
        let err = AppInfo::from_app_json("wx-bad", doc).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidApiVersion { .. }),
            "{doc}"
        );
        let msg = err.to_string();
        assert!(msg.contains(found), "{msg}");
        assert!(
            msg.contains(r#"allowed values are "v1", "v2", "v3""#),
            "{msg}"
        );
        assert!(msg.contains("wx-bad"), "{msg}");
    }
}

#[test]
fn malformed_or_non_object_app_json_is_a_config_error() {
    let err = AppInfo::from_app_json("wx-bad", "{not json").unwrap_err();
    assert!(matches!(err, ConfigError::InvalidJson { .. }));
    assert!(
        err.to_string()
            .starts_with("app.json of wx-bad is not valid JSON")
    );

    let err = AppInfo::from_app_json("wx-bad", "[1,2]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "app.json of wx-bad must be a JSON object, found an array"
    );

    assert_eq!(
        AppInfo::from_app_json("", "{}").unwrap_err(),
        ConfigError::EmptyAppId
    );
}

#[test]
fn app_json_without_api_version_leaves_the_choice_to_the_hook() {
    let app = AppInfo::from_app_json("wx-1", r#"{"pages":["index"]}"#).unwrap();
    assert_eq!(app.api_version(), None);
}

#[test]
fn every_api_has_one_wire_name_accepted_with_or_without_the_wx_prefix() {
    let names = [
        "login",
        "checkSession",
        "getPhoneNumber",
        "getEmail",
        "chooseAvatar",
        "getNickName",
        "getUserInfo",
        "getUserProfile",
        "requestPayment",
        "requestMidasPaymentGameItem",
        "requestVirtualPayment",
    ];
    assert_eq!(OpenApi::ALL.len(), names.len());
    for (api, name) in OpenApi::ALL.into_iter().zip(names) {
        assert_eq!(api.as_str(), name);
        assert_eq!(name.parse::<OpenApi>().unwrap(), api);
        assert_eq!(format!("wx.{name}").parse::<OpenApi>().unwrap(), api);
    }
    assert!("wx.scanCode".parse::<OpenApi>().is_err());
    assert!("Login".parse::<OpenApi>().is_err());
}

#[test]
fn six_apis_have_built_ins_and_four_have_v3_scopes() {
    let built_in: Vec<_> = OpenApi::ALL
        .into_iter()
        .filter(|a| a.has_builtin())
        .collect();
    assert_eq!(
        built_in,
        [
            OpenApi::Login,
            OpenApi::CheckSession,
            OpenApi::GetPhoneNumber,
            OpenApi::GetEmail,
            OpenApi::ChooseAvatar,
            OpenApi::GetNickName
        ]
    );
    assert_eq!(OpenApi::Login.scope(), None);
    assert_eq!(OpenApi::CheckSession.scope(), None);
    assert_eq!(OpenApi::GetPhoneNumber.scope(), Some(Scope::PhoneNumber));
    assert_eq!(OpenApi::GetEmail.scope(), Some(Scope::Email));
    assert_eq!(OpenApi::ChooseAvatar.scope(), Some(Scope::Avatar));
    assert_eq!(OpenApi::GetNickName.scope(), Some(Scope::Nickname));
    assert_eq!(Scope::PhoneNumber.as_str(), "SCOPE_PHONE_NUMBER");
    assert_eq!("SCOPE_NICKNAME".parse::<Scope>().unwrap(), Scope::Nickname);
}

fn host_method(api: OpenApi) -> &'static str {
    match api {
        OpenApi::Login => "login",
        OpenApi::CheckSession => "check_session",
        OpenApi::GetPhoneNumber => "get_phone_number",
        OpenApi::GetEmail => "get_email",
        OpenApi::ChooseAvatar => "choose_avatar",
        OpenApi::GetNickName => "get_nick_name",
        OpenApi::GetUserInfo => "get_user_info",
        OpenApi::GetUserProfile => "get_user_profile",
        OpenApi::RequestPayment => "request_payment",
        OpenApi::RequestMidasPaymentGameItem => "request_midas_payment_game_item",
        OpenApi::RequestVirtualPayment => "request_virtual_payment",
        other => panic!("unexpected api {other}"),
    }
}

fn dispatcher(handler: &TestHost, platform: &RecordingPlatform) -> Dispatcher {
    Dispatcher::builder(handler.clone())
        .platform(platform.clone())
        .build()
}

#[tokio::test]
async fn under_v1_every_api_goes_to_the_host() {
    for api in OpenApi::ALL {
        let handler = TestHost::new().with_uid("u-1");
        let platform = RecordingPlatform::new();
        let app = AppInfo::new("wx-1").with_api_version(ApiVersion::V1);
        let reply = dispatcher(&handler, &platform)
            .invoke(&app, api.as_str(), json!({"k": 1}))
            .await;
        assert_eq!(reply.err_msg(), format!("{api}:ok"));
        assert_eq!(reply.get_str("method"), Some(host_method(api)));
        assert_eq!(
            reply.get("params"),
            Some(&json!({"k": 1})),
            "params reach the host"
        );
        assert_eq!(handler.calls(), [host_method(api)]);
        assert!(platform.calls().is_empty(), "{api}: the platform was asked");
    }
}

#[tokio::test]
async fn under_v2_the_six_built_ins_use_the_uid_and_the_rest_go_to_the_host() {
    let expected = [
        (
            OpenApi::Login,
            "login_code uid:u-7",
            "code",
            "login-code-for-uid:u-7",
        ),
        (OpenApi::CheckSession, "check_session uid:u-7", "", ""),
        (
            OpenApi::GetPhoneNumber,
            "phone_code uid:u-7",
            "code",
            "phone_code-for-uid:u-7",
        ),
        (
            OpenApi::GetEmail,
            "email_code uid:u-7",
            "code",
            "email_code-for-uid:u-7",
        ),
        (
            OpenApi::ChooseAvatar,
            "avatar uid:u-7",
            "avatarUrl",
            "https://avatars.test/uid:u-7.png",
        ),
        (
            OpenApi::GetNickName,
            "nickname uid:u-7",
            "nickName",
            "nick-uid:u-7",
        ),
    ];
    for api in OpenApi::ALL {
        let handler = TestHost::new().with_version(ApiVersion::V2).with_uid("u-7");
        let platform = RecordingPlatform::new();
        let app = AppInfo::new("wx-1");
        let reply = dispatcher(&handler, &platform)
            .invoke(&app, api.as_str(), json!({}))
            .await;
        assert_eq!(reply.err_msg(), format!("{api}:ok"));
        match expected.iter().find(|(a, ..)| *a == api) {
            Some((_, call, field, value)) => {
                assert_eq!(platform.calls(), [*call]);
                assert!(
                    handler.calls().is_empty(),
                    "{api}: host asked {:?}",
                    handler.calls()
                );
                if !field.is_empty() {
                    assert_eq!(reply.get_str(field), Some(*value));
                }
            }
            None => {
                assert_eq!(handler.calls(), [host_method(api)]);
                assert!(platform.calls().is_empty());
            }
        }
    }
}

#[tokio::test]
async fn under_v3_built_ins_ask_get_auth_code_with_the_api_scope_first() {
    for api in OpenApi::ALL {
        let grant = AuthGrant::from_auth_code(AuthCode::new("ac-9")).granted(Scope::ALL);
        let handler = TestHost::new()
            .with_version(ApiVersion::V3)
            .with_uid("u-7")
            .with_grant(Ok(grant));
        let platform = RecordingPlatform::new();
        let app = AppInfo::new("wx-1");
        let reply = dispatcher(&handler, &platform)
            .invoke(&app, api.as_str(), json!({}))
            .await;
        assert_eq!(reply.err_msg(), format!("{api}:ok"));
        if !api.has_builtin() {
            assert_eq!(handler.calls(), [host_method(api)]);
            assert!(platform.calls().is_empty());
        } else if api == OpenApi::CheckSession {
            // checkSession follows v2: the UID, no authCode.
            assert!(handler.calls().is_empty());
            assert_eq!(platform.calls(), ["check_session uid:u-7"]);
        } else {
            assert_eq!(handler.calls(), ["get_auth_code"]);
            let requests = handler.auth_requests();
            assert_eq!(requests[0].api, api);
            assert_eq!(
                requests[0].scopes,
                api.scope().into_iter().collect::<Vec<_>>()
            );
            assert_eq!(platform.calls().len(), 1);
            assert!(
                platform.calls()[0].ends_with(" authcode:ac-9"),
                "{:?}",
                platform.calls()
            );
        }
    }
}

#[tokio::test]
async fn v3_uses_code_when_auth_code_is_empty() {
    let grant = AuthGrant {
        auth_code: Some(AuthCode::new("")),
        code: Some(AuthCode::new("c-1")),
        ..AuthGrant::default()
    };
    let handler = TestHost::new()
        .with_version(ApiVersion::V3)
        .with_grant(Ok(grant));
    let platform = RecordingPlatform::new();
    let reply = dispatcher(&handler, &platform)
        .invoke(&AppInfo::new("wx-1"), "login", json!({}))
        .await;
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(platform.calls(), ["login_code authcode:c-1"]);
}

#[tokio::test]
async fn app_json_version_wins_over_the_hook_for_every_api_of_the_call() {
    let handler = TestHost::new().with_version(ApiVersion::V2).with_uid("u-1");
    let platform = RecordingPlatform::new();
    let app = AppInfo::from_app_json("wx-1", r#"{"apiVersion":"v1"}"#).unwrap();
    let d = dispatcher(&handler, &platform);
    for api in ["login", "getPhoneNumber", "checkSession"] {
        assert!(d.invoke(&app, api, json!({})).await.is_ok());
    }
    assert_eq!(
        handler.calls(),
        ["login", "get_phone_number", "check_session"]
    );
    assert!(platform.calls().is_empty());
}

#[tokio::test]
async fn check_session_fails_with_session_expired_when_the_platform_says_so() {
    let handler = TestHost::new().with_version(ApiVersion::V2).with_uid("u-1");
    let platform = RecordingPlatform::new();
    platform.set_session_valid(false);
    let reply = dispatcher(&handler, &platform)
        .invoke(&AppInfo::new("wx-1"), "wx.checkSession", json!({}))
        .await;
    assert_eq!(reply.err_msg(), "checkSession:fail session expired");
    assert_eq!(reply.errno(), Some(203));
}

#[tokio::test]
async fn an_unknown_api_is_not_supported() {
    let d = Dispatcher::builder(TestHost::new()).build();
    let reply = d
        .invoke(&AppInfo::new("wx-1"), "wx.scanCode", json!({}))
        .await;
    assert!(
        reply
            .err_msg()
            .starts_with("scanCode:fail scanCode is not supported"),
        "{}",
        reply.err_msg()
    );
    assert_eq!(reply.errno(), Some(101));
}

#[tokio::test]
async fn params_that_are_not_a_json_object_are_invalid() {
    let handler = TestHost::new();
    let d = Dispatcher::builder(handler.clone()).build();
    let app = AppInfo::new("wx-1");
    for (params, found) in [
        (json!("x"), "a string"),
        (json!([1]), "an array"),
        (json!(3), "a number"),
        (json!(true), "a boolean"),
    ] {
        let reply = d.invoke(&app, "getUserInfo", params).await;
        assert_eq!(
            reply.err_msg(),
            format!("getUserInfo:fail invalid params: expected a JSON object, found {found}")
        );
        assert_eq!(reply.errno(), Some(102));
    }
    assert!(handler.calls().is_empty());
    // null is an empty object
    assert!(d.invoke(&app, "getUserInfo", Value::Null).await.is_ok());
    let reply = d.invoke_json(&app, "getUserInfo", "{oops").await;
    assert_eq!(reply.errno(), Some(102));
    assert!(
        reply
            .err_msg()
            .starts_with("getUserInfo:fail invalid params: not JSON")
    );
    let reply = d.invoke_json(&app, "getUserInfo", r#"{"lang":"en"}"#).await;
    assert_eq!(reply.get("params"), Some(&json!({"lang": "en"})));
}

struct Bare;
impl OpenApiHandler for Bare {}

#[tokio::test]
async fn under_v1_an_unimplemented_method_fails_clearly_without_a_built_in_fallback() {
    let d = Dispatcher::builder(Bare).build();
    let app = AppInfo::new("wx-1");
    for api in OpenApi::ALL {
        let reply = d.invoke(&app, api.as_str(), json!({})).await;
        assert_eq!(
            reply.err_msg(),
            format!("{api}:fail {api} is not implemented by the host")
        );
        assert_eq!(reply.errno(), Some(103));
    }
}

#[tokio::test]
async fn under_v2_a_host_with_no_logged_in_user_fails_clearly() {
    let handler = TestHost::new().with_version(ApiVersion::V2);
    let platform = RecordingPlatform::new();
    let reply = dispatcher(&handler, &platform)
        .invoke(&AppInfo::new("wx-1"), "login", json!({}))
        .await;
    assert_eq!(
        reply.err_msg(),
        "login:fail the host user is not logged in (app_uid returned no user)"
    );
    assert_eq!(reply.errno(), Some(105));
    assert!(platform.calls().is_empty());
}

#[tokio::test]
async fn under_v3_a_host_without_get_auth_code_fails_saying_v3_needs_it() {
    let d = Dispatcher::builder(Bare)
        .default_version(ApiVersion::V3)
        .build();
    let reply = d
        .invoke(&AppInfo::new("wx-1"), "getPhoneNumber", json!({}))
        .await;
    assert_eq!(
        reply.err_msg(),
        "getPhoneNumber:fail v3 needs the host to implement get_auth_code"
    );
    assert_eq!(reply.errno(), Some(104));
}

#[tokio::test]
async fn under_v3_a_grant_without_auth_code_or_code_fails_with_auth_code_is_null() {
    for grant in [
        AuthGrant::default().granted([Scope::Email]),
        AuthGrant::from_auth_code(AuthCode::new("")).granted([Scope::Email]),
    ] {
        let handler = TestHost::new()
            .with_version(ApiVersion::V3)
            .with_grant(Ok(grant));
        let platform = RecordingPlatform::new();
        let reply = dispatcher(&handler, &platform)
            .invoke(&AppInfo::new("wx-1"), "getEmail", json!({}))
            .await;
        assert_eq!(reply.err_msg(), "getEmail:fail authCode is null");
        assert_eq!(reply.errno(), Some(106));
        assert!(platform.calls().is_empty());
    }
}

#[tokio::test]
async fn under_v3_a_scope_missing_from_auth_success_scopes_is_denied_with_the_reason() {
    let grant = AuthGrant::from_auth_code(AuthCode::new("ac"))
        .granted([Scope::PhoneNumber])
        .refused(Scope::Email, "user declined");
    let handler = TestHost::new()
        .with_version(ApiVersion::V3)
        .with_grant(Ok(grant));
    let platform = RecordingPlatform::new();
    let d = dispatcher(&handler, &platform);
    let app = AppInfo::new("wx-1");
    let reply = d.invoke(&app, "getEmail", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "getEmail:fail auth deny: SCOPE_EMAIL was not granted (user declined)"
    );
    assert_eq!(reply.errno(), Some(202));
    let reply = d.invoke(&app, "getNickName", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "getNickName:fail auth deny: SCOPE_NICKNAME was not granted"
    );
    assert!(platform.calls().is_empty());
    assert!(d.invoke(&app, "getPhoneNumber", json!({})).await.is_ok());
}

#[tokio::test]
async fn host_errors_become_fail_replies_with_their_errno() {
    let handler = TestHost::new()
        .on("request_payment", Behavior::Fail(HostError::Cancelled))
        .on(
            "get_user_info",
            Behavior::Fail(HostError::denied("no consent")),
        )
        .on(
            "get_user_profile",
            Behavior::Fail(HostError::failed("backend down")),
        )
        .on(
            "request_virtual_payment",
            Behavior::Fail(HostError::failed("insufficient balance").with_errno(40100)),
        );
    let d = Dispatcher::builder(handler).build();
    let app = AppInfo::new("wx-1");
    let cases = [
        ("requestPayment", "requestPayment:fail cancel", 201),
        ("getUserInfo", "getUserInfo:fail auth deny: no consent", 202),
        ("getUserProfile", "getUserProfile:fail backend down", 301),
        (
            "requestVirtualPayment",
            "requestVirtualPayment:fail insufficient balance",
            40100,
        ),
    ];
    for (api, msg, errno) in cases {
        let reply = d.invoke(&app, api, json!({})).await;
        assert_eq!(reply.err_msg(), msg);
        assert_eq!(reply.errno(), Some(errno));
    }
}

#[tokio::test]
async fn v3_get_auth_code_cancel_and_failure_reach_the_mini_program() {
    let handler = TestHost::new()
        .with_version(ApiVersion::V3)
        .with_grant(Err(HostError::failed("app not login").with_errno(-1001)));
    let d = dispatcher(&handler, &RecordingPlatform::new());
    let reply = d.invoke(&AppInfo::new("wx-1"), "login", json!({})).await;
    assert_eq!(reply.err_msg(), "login:fail app not login");
    assert_eq!(reply.errno(), Some(-1001));

    let handler = TestHost::new()
        .with_version(ApiVersion::V3)
        .with_grant(Err(HostError::Cancelled));
    let d = dispatcher(&handler, &RecordingPlatform::new());
    let reply = d
        .invoke(&AppInfo::new("wx-1"), "getPhoneNumber", json!({}))
        .await;
    assert_eq!(reply.err_msg(), "getPhoneNumber:fail cancel");
}

#[tokio::test]
async fn platform_errors_become_fail_replies() {
    let handler = TestHost::new().with_version(ApiVersion::V2).with_uid("u-1");
    let platform = RecordingPlatform::new();
    platform.fail_with(PlatformError::Api(OpenServerError::new(
        ErrCode::UserInactive,
    )));
    let d = dispatcher(&handler, &platform);
    let app = AppInfo::new("wx-1");
    let reply = d.invoke(&app, "login", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "login:fail platform error 46002: user inactive"
    );
    assert_eq!(reply.errno(), Some(401));

    platform.fail_with(PlatformError::Unreachable(Arc::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connection refused",
    ))));
    let reply = d.invoke(&app, "login", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "login:fail platform unreachable: connection refused"
    );
    assert_eq!(reply.errno(), Some(402));
}

#[tokio::test]
async fn a_panicking_handler_fails_the_call_and_later_calls_are_served() {
    let handler = TestHost::new().on("get_user_info", Behavior::Panic);
    let d = Dispatcher::builder(handler.clone()).build();
    let app = AppInfo::new("wx-1");
    let reply = d.invoke(&app, "getUserInfo", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "getUserInfo:fail internal error: the handler panicked"
    );
    assert_eq!(reply.errno(), Some(1));
    for _ in 0..3 {
        assert!(d.invoke(&app, "getUserProfile", json!({})).await.is_ok());
    }
    assert_eq!(
        d.invoke(&app, "getUserInfo", json!({})).await.errno(),
        Some(1)
    );
    assert_eq!(handler.calls().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_never_answers_times_out_after_the_call_timeout() {
    let handler = TestHost::new().on("request_payment", Behavior::Hang);
    let d = Dispatcher::builder(handler)
        .call_timeout(Duration::from_secs(3))
        .build();
    let started = tokio::time::Instant::now();
    let reply = d
        .invoke(&AppInfo::new("wx-1"), "requestPayment", json!({}))
        .await;
    assert_eq!(
        reply.err_msg(),
        "requestPayment:fail timeout: no answer within 3000 ms"
    );
    assert_eq!(reply.errno(), Some(408));
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn wx_login_honours_its_own_timeout_param_in_milliseconds() {
    let handler = TestHost::new().on("login", Behavior::Hang);
    let d = Dispatcher::builder(handler).build();
    let app = AppInfo::new("wx-1");
    let started = tokio::time::Instant::now();
    let reply = d.invoke(&app, "login", json!({"timeout": 250})).await;
    assert_eq!(
        reply.err_msg(),
        "login:fail timeout: no answer within 250 ms"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(250));

    // A timeout longer than the dispatcher's cap is capped.
    let reply = d.invoke(&app, "login", json!({"timeout": 3_600_000})).await;
    assert_eq!(
        reply.err_msg(),
        "login:fail timeout: no answer within 30000 ms"
    );

    for bad in [json!("5s"), json!(-1), json!(0)] {
        let reply = d.invoke(&app, "login", json!({"timeout": bad})).await;
        assert_eq!(reply.errno(), Some(102), "{bad}");
        assert!(
            reply
                .err_msg()
                .contains("timeout must be a positive number of milliseconds")
        );
    }
}

#[test]
fn explain_says_version_source_and_who_answers() {
    let handler = TestHost::new().with_version(ApiVersion::V3);
    let d = Dispatcher::builder(handler).build();
    let app = AppInfo::new("wx-1");
    let e = d.explain(&app, OpenApi::GetPhoneNumber);
    assert_eq!(
        (e.version, e.source, e.answered_by),
        (ApiVersion::V3, VersionSource::Hook, Responder::BuiltIn)
    );
    assert_eq!(
        e.to_string(),
        "getPhoneNumber: v3 (from the host's open_api_version) -> built-in v3 flow (asks get_auth_code for SCOPE_PHONE_NUMBER)"
    );
    assert_eq!(
        d.explain(&app, OpenApi::CheckSession).to_string(),
        "checkSession: v3 (from the host's open_api_version) -> built-in v2 flow (uses app_uid)"
    );
    let e = d.explain(&app, OpenApi::RequestPayment);
    assert_eq!(e.answered_by, Responder::Host);
    let app = app.with_api_version(ApiVersion::V1);
    assert_eq!(
        d.explain(&app, OpenApi::Login).to_string(),
        "login: v1 (from apiVersion in app.json) -> the host's handler"
    );
}

#[tokio::test]
async fn the_dispatcher_is_cheap_to_clone_and_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Dispatcher>();
    let d = Dispatcher::builder(TestHost::new()).build();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let d = d.clone();
            tokio::spawn(async move {
                d.invoke(&AppInfo::new(format!("wx-{i}")), "getUserInfo", json!({}))
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
}

/// `FailureKind::ALL` names every kind: a unit test in `src/reply.rs`
/// checks it against a `match` with no wildcard arm.
#[test]
fn every_failure_kind_has_a_distinct_errno() {
    let mut seen = std::collections::HashSet::new();
    for kind in FailureKind::ALL {
        assert!(seen.insert(kind.errno()), "{kind:?} repeats an errno");
    }
}

#[test]
fn user_info_serializes_with_the_seed_field_names() {
    let info = UserInfo {
        nick_name: "xcode".into(),
        avatar_url: "https://a.test/x.png".into(),
        gender: Gender::Female,
        country: "China".into(),
        province: "ChongQing".into(),
        city: "ChongQing".into(),
        language: "zh_CN".into(),
    };
    assert_eq!(
        Value::Object(info.clone().into_result()),
        json!({"userInfo": {
            "nickName": "xcode", "avatarUrl": "https://a.test/x.png", "gender": 2,
            "country": "China", "province": "ChongQing", "city": "ChongQing", "language": "zh_CN"
        }})
    );
    let back: UserInfo = serde_json::from_value(Value::Object(info.to_object())).unwrap();
    assert_eq!(back, info);
    assert!(serde_json::from_value::<Gender>(json!(7)).is_err());
}

#[tokio::test]
async fn a_reply_serializes_its_fields_with_err_msg_and_the_host_cannot_forge_them() {
    let handler = TestHost::new().on(
        "get_user_info",
        Behavior::Answer(object(
            json!({"nickName": "x", "errMsg": "forged", "errno": 7}),
        )),
    );
    let d = Dispatcher::builder(handler).build();
    let app = AppInfo::new("wx-1");
    let reply = d.invoke(&app, "getUserInfo", json!({})).await;
    let expected = json!({"nickName": "x", "errMsg": "getUserInfo:ok"});
    assert_eq!(
        serde_json::from_str::<Value>(&reply.to_json_string()).unwrap(),
        expected
    );
    assert_eq!(serde_json::to_value(&reply).unwrap(), expected);
    assert_eq!(reply.get("errMsg"), None);
    assert_eq!((reply.is_ok(), reply.errno()), (true, None));
    assert_eq!(reply.fields().len(), 1);
    assert_eq!(reply.clone().into_value(), expected);

    let reply = d.invoke(&app, "wx.nope", json!({})).await;
    let v: Value = serde_json::from_str(&reply.to_json_string()).unwrap();
    assert_eq!(v["errno"], 101);
    assert!(
        v["errMsg"]
            .as_str()
            .unwrap()
            .starts_with("nope:fail nope is not supported")
    );
    assert_eq!(v.as_object().unwrap().len(), 2);
    assert_eq!(reply.into_value(), v);
}
