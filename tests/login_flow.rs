//! The whole login story in-process: a host's Dispatcher on the embedded
//! OpenServer, and a developer server calling the same OpenServer.

mod support;

use serde_json::json;
use superapp_openapi::{
    AccessToken, ApiVersion, AppInfo, AppSecret, Code, Dispatcher, OpenServer, Scope,
    openserver::{
        AppRegistration, CheckSessionRequest, Jscode2SessionRequest, SuperappUser, TokenRequest,
        UserCodeRequest,
    },
};
use support::*;

/// A host whose user Ada is logged in, and whose super-app server issues
/// authCodes for the scopes she consents to.
fn host(server: &OpenServer, consent: impl IntoIterator<Item = Scope>) -> TestHost {
    TestHost::new()
        .with_uid(ADA)
        .with_server(server.clone())
        .with_consent(consent)
}

async fn developer_server_login(server: &OpenServer, app_id: &str, code: &str) -> (String, String) {
    let s = server
        .jscode2session(&Jscode2SessionRequest::new(
            app_id,
            secret_of(app_id),
            Code::new(code),
        ))
        .await
        .wire();
    assert_eq!(s.errcode, 0, "{s:?}");
    let t = server
        .token(&TokenRequest::new(app_id, secret_of(app_id)))
        .await
        .wire();
    let token = t.access_token.unwrap();
    let c = server
        .checksession(&CheckSessionRequest::new(
            token.clone(),
            &s.openid,
            session_signature(&s.session_key),
        ))
        .await
        .wire();
    assert_eq!(c.errcode, 0, "{c:?}");
    (s.openid, token.into_secret())
}

async fn login_story(version: ApiVersion) {
    let (server, _) = open_server();
    let dispatcher = Dispatcher::builder(host(&server, [Scope::PhoneNumber, Scope::Nickname]))
        .platform(server.clone())
        .default_version(version)
        .build();
    let app = AppInfo::new(APP_A1);

    let reply = dispatcher.invoke(&app, "wx.login", json!({})).await;
    assert_eq!(reply.err_msg(), "login:ok");
    let code = reply.get_str("code").unwrap().to_owned();

    let reply = dispatcher.invoke(&app, "wx.checkSession", json!({})).await;
    assert_eq!(
        reply.err_msg(),
        "checkSession:fail session expired",
        "no exchange yet"
    );

    let (openid, token) = developer_server_login(&server, APP_A1, &code).await;
    let reply = dispatcher.invoke(&app, "wx.checkSession", json!({})).await;
    assert_eq!(reply.err_msg(), "checkSession:ok");

    let reply = dispatcher
        .invoke(&app, "wx.getPhoneNumber", json!({}))
        .await;
    assert_eq!(reply.err_msg(), "getPhoneNumber:ok");
    let phone_code = reply.get_str("code").unwrap();
    let p = server
        .getuserphonenumber(&UserCodeRequest::new(
            AccessToken::new(token),
            openid,
            Code::new(phone_code),
        ))
        .await
        .wire();
    assert_eq!(p.phone_info.unwrap().phone_number.secret(), ADA_PHONE);

    let reply = dispatcher.invoke(&app, "wx.getNickName", json!({})).await;
    assert_eq!(reply.get_str("nickName"), Some("Ada"));

    let reply = dispatcher.invoke(&app, "wx.chooseAvatar", json!({})).await;
    match version {
        ApiVersion::V3 => assert_eq!(
            reply.err_msg(),
            "chooseAvatar:fail auth deny: SCOPE_AVATAR was not granted (the user said no)"
        ),
        _ => assert_eq!(reply.get_str("avatarUrl"), Some(ADA_AVATAR)),
    }
}

#[tokio::test]
async fn a_v2_login_runs_from_wx_login_to_the_phone_number() {
    login_story(ApiVersion::V2).await;
}

#[tokio::test]
async fn a_v3_login_runs_from_wx_login_to_the_phone_number() {
    login_story(ApiVersion::V3).await;
}

#[tokio::test]
async fn the_default_dispatcher_works_offline_on_its_embedded_server() {
    let dispatcher = Dispatcher::builder(TestHost::new().with_uid("u-9"))
        .default_version(ApiVersion::V2)
        .build();
    let server = dispatcher.open_server().unwrap();
    server
        .register_app(AppRegistration::new("wx-solo", AppSecret::new("s"), "t"))
        .unwrap();
    server.add_user(SuperappUser::new("u-9")).unwrap();
    let reply = dispatcher
        .invoke(&AppInfo::new("wx-solo"), "login", json!({}))
        .await;
    let code = reply.get_str("code").unwrap();
    let s = server
        .jscode2session(&Jscode2SessionRequest::new(
            "wx-solo",
            AppSecret::new("s"),
            Code::new(code),
        ))
        .await
        .wire();
    assert_eq!(s.errcode, 0);
}

#[tokio::test]
async fn an_unregistered_app_or_unknown_user_fails_with_the_platform_reason() {
    let (server, _) = open_server();
    let dispatcher = Dispatcher::builder(host(&server, []))
        .platform(server)
        .default_version(ApiVersion::V2)
        .build();
    let reply = dispatcher
        .invoke(&AppInfo::new("wx-unknown"), "login", json!({}))
        .await;
    assert_eq!(
        reply.err_msg(),
        "login:fail platform error 40013: invalid appid"
    );
    assert_eq!(reply.errno(), Some(401));
}
