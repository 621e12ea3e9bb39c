//! An SDK key acts only for the apps it names: used for another app it is
//! refused with 48001, whatever the route.
#![cfg(feature = "http")]

use serde_json::{Value, json};
use superapp_openapi::http::{HttpConfig, router, serve};
use superapp_openapi::openserver::{AppRegistration, SuperappUser};
use superapp_openapi::{AppSecret, OpenServer, SdkKey};

const SHOP: &str = "wx-shop";
const GAME: &str = "wx-game";
const SHOP_KEY: &str = "key-of-the-shop-host";
const ANY_KEY: &str = "key-for-every-app-0123";

async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
    let server = OpenServer::new();
    for app in [SHOP, GAME] {
        server
            .register_app(AppRegistration::new(
                app,
                AppSecret::new("app-secret-0123456"),
                "t",
            ))
            .unwrap();
    }
    server.add_user(SuperappUser::new("u-1")).unwrap();
    let config = HttpConfig::new()
        .sdk_key_for_apps(SdkKey::new(SHOP_KEY), [SHOP])
        .sdk_key(SdkKey::new(ANY_KEY));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router(server, config), async {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn post(base: &str, path: &str, key: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_scoped_sdk_key_used_for_another_app_is_refused_with_48001() {
    let (base, _stop) = start().await;
    let login = |app: &str| json!({"appid": app, "principal": {"uid": "u-1"}});
    let ok = post(&base, "/openserver/sdk/login_code", SHOP_KEY, login(SHOP)).await;
    assert_eq!(ok["errcode"], 0, "{ok}");
    for path in [
        "/openserver/sdk/login_code",
        "/openserver/sdk/check_session",
        "/openserver/sdk/auth_code",
    ] {
        let refused = post(&base, path, SHOP_KEY, login(GAME)).await;
        assert_eq!(refused["errcode"], 48001, "{path}: {refused}");
        assert_eq!(
            refused["errmsg"],
            "api unauthorized: this SDK key may not act for app wx-game"
        );
    }
    // A plain key acts for every app.
    let any = post(&base, "/openserver/sdk/login_code", ANY_KEY, login(GAME)).await;
    assert_eq!(any["errcode"], 0, "{any}");
}

#[tokio::test]
async fn auth_code_for_an_unknown_app_is_40013_and_a_huge_id_is_10002() {
    let (base, _stop) = start().await;
    let unknown = post(
        &base,
        "/openserver/sdk/auth_code",
        ANY_KEY,
        json!({"appid": "wx-nope", "principal": {"uid": "u-1"}, "scopes": []}),
    )
    .await;
    assert_eq!(unknown["errcode"], 40013, "{unknown}");
    let huge = post(
        &base,
        "/openserver/sdk/auth_code",
        ANY_KEY,
        json!({"appid": SHOP, "principal": {"uid": "u".repeat(10_000)}, "scopes": []}),
    )
    .await;
    assert_eq!(huge["errcode"], 10002);
    assert_eq!(
        huge["errmsg"],
        "invalid param: principal.uid is longer than 128 bytes"
    );
}
