//! What a mini program receives: v2/v3 `getUserInfo` / `getUserProfile`
//! answers with `rawData`, `signature`, `encryptedData` and `iv` added, and
//! the built-in `getPhoneNumber` with `encryptedData` / `iv` — sealed with
//! the session key the developer server got — on the embedded platform and
//! over HTTP; and where they are left out (v1, the builder's switch,
//! `withCredentials: false`, no session). The developer server's side is
//! `OpenServerClient`'s, so the file needs the `http` feature.
#![cfg(feature = "http")]

mod support;

use serde_json::{Value, json};
use superapp_openapi::http::{OpenServerClient, RemotePlatform, Session};
use superapp_openapi::openserver::Jscode2SessionResponse;
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, Dispatcher, OpenServer, Reply, Scope, SdkKey, UserInfo,
};
use support::*;

const OPEN_DATA: [&str; 4] = ["rawData", "signature", "encryptedData", "iv"];

/// A v2 host for Ada whose getUserInfo / getUserProfile answer the crate's
/// `UserInfo`.
fn host(version: ApiVersion) -> TestHost {
    let info = UserInfo {
        nick_name: "Ada".into(),
        avatar_url: ADA_AVATAR.into(),
        ..UserInfo::default()
    }
    .into_result();
    TestHost::new()
        .with_version(version)
        .with_uid(ADA)
        .on("get_user_info", Behavior::Answer(info.clone()))
        .on("get_user_profile", Behavior::Answer(info))
}

fn dispatcher_on(server: &OpenServer, handler: TestHost) -> Dispatcher {
    Dispatcher::builder(handler)
        .platform(server.clone())
        .build()
}

/// Ada logs in to APP_A1 through the dispatcher, and the developer server
/// exchanges the code.
async fn logged_in(d: &Dispatcher, server: &OpenServer) -> Jscode2SessionResponse {
    let reply = d.invoke(&AppInfo::new(APP_A1), "login", json!({})).await;
    let code = superapp_openapi::Code::new(reply.get_str("code").unwrap());
    let s = exchange(server, APP_A1, code).await;
    assert_eq!(s.errcode, 0, "{s:?}");
    s
}

fn developer_session(s: &Jscode2SessionResponse) -> Session {
    Session {
        openid: s.openid.clone(),
        session_key: s.session_key.clone(),
        unionid: Some(s.unionid.clone()),
    }
}

fn has_open_data(reply: &Reply) -> bool {
    OPEN_DATA
        .iter()
        .all(|f| reply.get_str(f).is_some_and(|v| !v.is_empty()))
}

fn has_none(reply: &Reply) -> bool {
    OPEN_DATA.iter().all(|f| reply.get(f).is_none())
}

#[tokio::test]
async fn v2_user_info_and_profile_carry_open_data_the_developer_server_verifies() {
    let (server, _) = open_server();
    let d = dispatcher_on(&server, host(ApiVersion::V2));
    let s = logged_in(&d, &server).await;
    let client = OpenServerClient::new("http://unused.invalid", APP_A1, AppSecret::new(SECRET_A1));
    let session = developer_session(&s);
    for api in ["getUserInfo", "getUserProfile"] {
        let reply = d.invoke(&AppInfo::new(APP_A1), api, json!({})).await;
        assert!(reply.is_ok(), "{reply:?}");
        assert!(has_open_data(&reply), "{api}: {reply:?}");
        let field = |name| reply.get_str(name).unwrap();
        // rawData is the userInfo the mini program sees, as JSON text.
        let raw: Value = serde_json::from_str(field("rawData")).unwrap();
        assert_eq!(Some(&raw), reply.get("userInfo"));
        client
            .verify_open_data(&session, field("rawData"), field("signature"))
            .unwrap();
        let data = client
            .decrypt_open_data(&session, field("encryptedData"), field("iv"))
            .unwrap();
        assert_eq!(data["openId"], s.openid.as_str());
        assert_eq!(data["unionId"], s.unionid.as_str());
        assert_eq!(data["nickName"], "Ada");
    }
}

#[tokio::test]
async fn the_built_in_phone_number_reply_carries_its_code_and_the_sealed_number() {
    let (server, _) = open_server();
    let d = dispatcher_on(&server, host(ApiVersion::V2));
    let s = logged_in(&d, &server).await;
    let reply = d
        .invoke(&AppInfo::new(APP_A1), "getPhoneNumber", json!({}))
        .await;
    assert!(reply.get_str("code").is_some(), "{reply:?}");
    assert!(reply.get("rawData").is_none());
    let data = superapp_openapi::opendata::decrypt(
        reply.get_str("encryptedData").unwrap(),
        reply.get_str("iv").unwrap(),
        &s.session_key,
        APP_A1,
    )
    .unwrap();
    assert_eq!(data["phoneNumber"], ADA_PHONE);
}

#[tokio::test]
async fn v3_seals_for_the_hosts_user_after_the_auth_code_flow() {
    let (server, _) = open_server();
    // Log in, then ask under v3 (the host's super-app server issuing real
    // authCodes): open data is sealed for the UID's live session, as v3's
    // checkSession reads it.
    let v2 = dispatcher_on(&server, host(ApiVersion::V2));
    let s = logged_in(&v2, &server).await;
    let v3 = dispatcher_on(&server, host(ApiVersion::V3).with_server(server.clone()));
    let reply = v3
        .invoke(&AppInfo::new(APP_A1), "getUserInfo", json!({}))
        .await;
    assert!(has_open_data(&reply), "{reply:?}");
    reply_verifies(&reply, &s);
    let reply = v3
        .invoke(&AppInfo::new(APP_A1), "getPhoneNumber", json!({}))
        .await;
    assert!(reply.get_str("encryptedData").is_some(), "{reply:?}");
    // A refused phone scope stops the call before anything is sealed.
    let refused = dispatcher_on(
        &server,
        host(ApiVersion::V3)
            .with_server(server.clone())
            .with_consent([Scope::Email]),
    );
    let reply = refused
        .invoke(&AppInfo::new(APP_A1), "getPhoneNumber", json!({}))
        .await;
    assert!(!reply.is_ok() && has_none(&reply), "{reply:?}");
}

fn reply_verifies(reply: &Reply, s: &Jscode2SessionResponse) {
    superapp_openapi::opendata::verify_signature(
        reply.get_str("rawData").unwrap(),
        reply.get_str("signature").unwrap(),
        &s.session_key,
    )
    .unwrap();
}

#[tokio::test]
async fn no_open_data_under_v1_when_switched_off_without_credentials_or_without_a_session() {
    let (server, _) = open_server();
    let app = AppInfo::new(APP_A1);

    // No session yet: the host's answer alone (WeChat's withCredentials: false).
    let v2 = dispatcher_on(&server, host(ApiVersion::V2));
    let reply = v2.invoke(&app, "getUserInfo", json!({})).await;
    assert!(reply.is_ok() && has_none(&reply), "{reply:?}");
    let reply = v2.invoke(&app, "getPhoneNumber", json!({})).await;
    assert!(
        reply.get_str("code").is_some() && has_none(&reply),
        "{reply:?}"
    );

    logged_in(&v2, &server).await;
    let reply = v2
        .invoke(&app, "getUserInfo", json!({"withCredentials": false}))
        .await;
    assert!(reply.is_ok() && has_none(&reply), "{reply:?}");

    let off = Dispatcher::builder(host(ApiVersion::V2))
        .platform(server.clone())
        .open_data(false)
        .build();
    for api in ["getUserInfo", "getUserProfile", "getPhoneNumber"] {
        let reply = off.invoke(&app, api, json!({})).await;
        assert!(reply.is_ok() && has_none(&reply), "{api}: {reply:?}");
    }

    let v1 = dispatcher_on(&server, host(ApiVersion::V1));
    let reply = v1.invoke(&app, "getUserInfo", json!({})).await;
    assert!(reply.is_ok() && has_none(&reply), "{reply:?}");
}

#[tokio::test]
async fn a_platform_that_seals_nothing_leaves_the_reply_as_it_was() {
    // RecordingPlatform implements only the methods it must: the trait's
    // default answers "unsupported", and the reply goes without open data.
    let platform = RecordingPlatform::new();
    let d = Dispatcher::builder(host(ApiVersion::V2))
        .platform(platform.clone())
        .build();
    let reply = d
        .invoke(&AppInfo::new("wx-1"), "getUserInfo", json!({}))
        .await;
    assert!(reply.is_ok() && has_none(&reply), "{reply:?}");
    assert!(platform.calls().is_empty());
}

#[tokio::test]
async fn over_http_the_remote_platform_seals_with_the_same_key() {
    let t = TestServer::start().await;
    let remote = RemotePlatform::new(&t.base, SdkKey::new(SDK_KEY));
    let d = Dispatcher::builder(host(ApiVersion::V2))
        .platform(remote)
        .build();
    let reply = d.invoke(&AppInfo::new(APP_A1), "login", json!({})).await;
    let code = superapp_openapi::Code::new(reply.get_str("code").unwrap());
    let s = exchange(&t.server, APP_A1, code).await;

    let reply = d
        .invoke(&AppInfo::new(APP_A1), "getUserProfile", json!({}))
        .await;
    assert!(has_open_data(&reply), "{reply:?}");
    reply_verifies(&reply, &s);
    let reply = d
        .invoke(&AppInfo::new(APP_A1), "getPhoneNumber", json!({}))
        .await;
    assert!(reply.get_str("encryptedData").is_some(), "{reply:?}");

    // The route itself: no session for Bob is 46006, a kind it does not
    // seal is 10002 saying what it takes.
    let answer = t
        .post_sdk(
            "/openserver/sdk/open_data",
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"uid": BOB}, "userInfo": {}}),
        )
        .await;
    assert_eq!(answer.errcode(), 46006, "{}", answer.errmsg());
    let answer = t
        .post_sdk(
            "/openserver/sdk/open_data",
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"uid": ADA}, "kind": "email"}),
        )
        .await;
    assert_eq!(answer.errcode(), 10002);
    assert!(
        answer.errmsg().contains("phone_number"),
        "{}",
        answer.errmsg()
    );
}
