//! The whole v2 and v3 login over HTTP: the host's `Dispatcher` uses
//! `RemotePlatform`, the developer server uses `OpenServerClient`, and both
//! talk to the platform over real sockets.
#![cfg(feature = "http")]

mod support;

use serde_json::json;
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, Code, Dispatcher, Reply, http::OpenServerClient,
    openserver::ErrCode,
};
use support::*;

fn dispatcher(t: &TestServer, version: ApiVersion) -> Dispatcher {
    Dispatcher::builder(TestHost::new().with_uid(ADA).with_server(t.server.clone()))
        .platform(t.remote())
        .default_version(version)
        .build()
}

fn code_of(reply: &Reply) -> Code {
    assert!(reply.is_ok(), "{}", reply.err_msg());
    Code::new(reply.get_str("code").expect("a code"))
}

#[tokio::test]
async fn v2_login_over_http_reaches_the_phone_number_and_email() {
    let t = TestServer::start().await;
    let host = dispatcher(&t, ApiVersion::V2);
    let app = AppInfo::new(APP_A1);
    let developer = t.client();

    let login = host.invoke(&app, "login", json!({})).await;
    assert_eq!(login.err_msg(), "login:ok");
    let session = developer.jscode2session(&code_of(&login)).await.unwrap();
    assert_eq!(session.openid.len(), 64);
    assert_eq!(session.unionid.as_deref().map(str::len), Some(64));
    developer
        .check_session(&session.openid, &session.session_key)
        .await
        .unwrap();
    let check = host.invoke(&app, "checkSession", json!({})).await;
    assert_eq!(check.err_msg(), "checkSession:ok");

    let phone = host.invoke(&app, "getPhoneNumber", json!({})).await;
    let number = developer
        .get_user_phone_number(&session.openid, &code_of(&phone))
        .await
        .unwrap();
    assert_eq!(number.secret(), ADA_PHONE);

    let email = host.invoke(&app, "getEmail", json!({})).await;
    let address = developer
        .get_email_address(&session.openid, &code_of(&email))
        .await
        .unwrap();
    assert_eq!(address.secret(), ADA_EMAIL);

    let avatar = host.invoke(&app, "chooseAvatar", json!({})).await;
    assert_eq!(avatar.get_str("avatarUrl"), Some(ADA_AVATAR));
    let nickname = host.invoke(&app, "getNickName", json!({})).await;
    assert_eq!(nickname.get_str("nickName"), Some("Ada"));
}

#[tokio::test]
async fn v3_login_over_http_reaches_the_phone_number_with_an_auth_code() {
    let t = TestServer::start().await;
    let host = dispatcher(&t, ApiVersion::V3);
    let app = AppInfo::new(APP_A1);
    let developer = t.client();

    let login = host.invoke(&app, "login", json!({})).await;
    let session = developer.jscode2session(&code_of(&login)).await.unwrap();
    developer
        .check_session(&session.openid, &session.session_key)
        .await
        .unwrap();
    // v3 checkSession follows v2 (app_uid).
    let check = host.invoke(&app, "checkSession", json!({})).await;
    assert_eq!(check.err_msg(), "checkSession:ok");

    let phone = host.invoke(&app, "getPhoneNumber", json!({})).await;
    let number = developer
        .get_user_phone_number(&session.openid, &code_of(&phone))
        .await
        .unwrap();
    assert_eq!(number.secret(), ADA_PHONE);

    let email = host.invoke(&app, "getEmail", json!({})).await;
    let address = developer
        .get_email_address(&session.openid, &code_of(&email))
        .await
        .unwrap();
    assert_eq!(address.secret(), ADA_EMAIL);
}

#[tokio::test]
async fn the_same_user_has_the_same_openid_in_v2_and_v3_and_a_unionid_across_the_team() {
    let t = TestServer::start().await;
    let app = AppInfo::new(APP_A1);
    let developer = t.client();
    let v2 = dispatcher(&t, ApiVersion::V2)
        .invoke(&app, "login", json!({}))
        .await;
    let v3 = dispatcher(&t, ApiVersion::V3)
        .invoke(&app, "login", json!({}))
        .await;
    let a = developer.jscode2session(&code_of(&v2)).await.unwrap();
    let b = developer.jscode2session(&code_of(&v3)).await.unwrap();
    assert_eq!(a.openid, b.openid);

    let other_app = AppInfo::new(APP_A2);
    let other = dispatcher(&t, ApiVersion::V2)
        .invoke(&other_app, "login", json!({}))
        .await;
    let c = OpenServerClient::new(&t.base, APP_A2, AppSecret::new(SECRET_A2))
        .jscode2session(&code_of(&other))
        .await
        .unwrap();
    assert_ne!(c.openid, a.openid);
    assert_eq!(c.unionid, a.unionid);
}

#[tokio::test]
async fn a_new_login_makes_the_previous_session_key_fail_checksession_with_87009() {
    let t = TestServer::start().await;
    let host = dispatcher(&t, ApiVersion::V2);
    let app = AppInfo::new(APP_A1);
    let developer = t.client();
    let first = developer
        .jscode2session(&code_of(&host.invoke(&app, "login", json!({})).await))
        .await
        .unwrap();
    let second = developer
        .jscode2session(&code_of(&host.invoke(&app, "login", json!({})).await))
        .await
        .unwrap();
    let err = developer
        .check_session(&first.openid, &first.session_key)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrCode::InvalidSignature));
    developer
        .check_session(&second.openid, &second.session_key)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_login_code_exchanged_twice_over_http_is_a_40163_client_error() {
    let t = TestServer::start().await;
    let host = dispatcher(&t, ApiVersion::V2);
    let code = code_of(&host.invoke(&AppInfo::new(APP_A1), "login", json!({})).await);
    let developer = t.client();
    developer.jscode2session(&code).await.unwrap();
    let err = developer.jscode2session(&code).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40163));
    assert_eq!(err.request_id().map(str::len), Some(32));
}

#[tokio::test]
async fn a_platform_error_reaches_the_mini_program_as_errno_401() {
    let t = TestServer::start().await;
    let host = Dispatcher::builder(
        TestHost::new()
            .with_uid("u-nobody")
            .with_server(t.server.clone()),
    )
    .platform(t.remote())
    .default_version(ApiVersion::V2)
    .build();
    let reply = host.invoke(&AppInfo::new(APP_A1), "login", json!({})).await;
    assert_eq!(reply.errno(), Some(401), "{}", reply.err_msg());
    assert!(reply.err_msg().contains("46001"), "{}", reply.err_msg());
}
