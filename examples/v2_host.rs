//! A v2 host: it only says who is logged in (`app_uid`, iOS `getAppUID`).
//! The built-in flows answer login, checkSession, getPhoneNumber, getEmail,
//! chooseAvatar and getNickName against the embedded platform; the host
//! still answers the APIs without a built-in (here getUserInfo).
//!
//! Run: `cargo run --example v2_host`
//! It prints each reply, then what happens when nobody is logged in, and
//! exits non-zero if a reply is not as printed.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, Dispatcher, HandlerResult, JsonObject, OpenApiHandler, Reply,
    UserInfo,
    openserver::{AppRegistration, SuperappUser},
};

/// The host app: the id of whoever is signed in to it, if anyone.
#[derive(Clone, Default)]
struct V2Host {
    signed_in: Arc<Mutex<Option<String>>>,
}

#[async_trait]
impl OpenApiHandler for V2Host {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        self.signed_in.lock().ok()?.clone()
    }

    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(UserInfo {
            nick_name: "Ada".into(),
            language: "en".into(),
            ..UserInfo::default()
        }
        .into_result())
    }
}

fn expect(reply: &Reply, err_msg: &str) -> Result<(), String> {
    println!("  -> {}", reply.to_json_string());
    if reply.err_msg() == err_msg {
        Ok(())
    } else {
        Err(format!(
            "expected errMsg {err_msg:?}, got {:?}",
            reply.err_msg()
        ))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = V2Host::default();
    let dispatcher = Dispatcher::builder(host.clone())
        .default_version(ApiVersion::V2)
        .build();
    let platform = dispatcher.open_server().expect("the embedded platform");
    platform.register_app(AppRegistration::new(
        "wx-v2-shop",
        AppSecret::new("shop-secret"),
        "team-a",
    ))?;
    platform.add_user(
        SuperappUser::new("user-42")
            .with_phone_number("+8613800138000")
            .with_email("ada@example.com")
            .with_nickname("Ada")
            .with_avatar_url("https://example.com/ada.png"),
    )?;
    let app = AppInfo::new("wx-v2-shop");

    println!("nobody is signed in to the host:");
    println!("wx.login");
    expect(
        &dispatcher.invoke(&app, "wx.login", json!({})).await,
        "login:fail the host user is not logged in (app_uid returned no user)",
    )?;

    *host.signed_in.lock().expect("lock") = Some("user-42".into());
    println!("\nuser-42 signs in to the host:");
    for (api, ok) in [
        ("wx.login", "login:ok"),
        ("wx.checkSession", "checkSession:fail session expired"),
        ("wx.getPhoneNumber", "getPhoneNumber:ok"),
        ("wx.getEmail", "getEmail:ok"),
        ("wx.chooseAvatar", "chooseAvatar:ok"),
        ("wx.getNickName", "getNickName:ok"),
        ("wx.getUserInfo", "getUserInfo:ok"),
        (
            "wx.requestPayment",
            "requestPayment:fail requestPayment is not implemented by the host",
        ),
    ] {
        println!("{api}  ({})", dispatcher.explain(&app, api.parse()?));
        expect(&dispatcher.invoke(&app, api, json!({})).await, ok)?;
    }
    println!(
        "\n(checkSession stays \"expired\" until a developer server exchanges a login code: see login_walkthrough)"
    );
    Ok(())
}
