//! A host with the user's consent and a custom API of its own:
//!
//! 1. the first `wx.authorize` shows the host's prompt, the second does not;
//! 2. `wx.getSetting` lists the scope;
//! 3. `wx.openSetting` revokes it (the user turns it off in the settings view);
//! 4. the guarded `wx.getUserInfo` then fails with `auth deny`;
//! 5. a custom API streams three intermediate states, then answers.
//!
//! Run with `cargo run --example consent_and_custom_apis`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::consent::{ConsentPrompt, ConsentState, PromptAnswer, ScopeName};
use superapp_openapi::{
    AppInfo, CustomApi, Dispatcher, HandlerResult, HostError, JsonObject, OpenApi, OpenApiHandler,
    StateSender, UserInfo,
};

/// The super app: a prompt that allows, a settings view where the user
/// turns everything off, and a signed-in user.
#[derive(Default)]
struct SuperApp {
    prompts: AtomicUsize,
}

#[async_trait]
impl OpenApiHandler for SuperApp {
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(UserInfo {
            nick_name: "xcode".into(),
            ..UserInfo::default()
        }
        .into_result())
    }

    async fn consent_prompt(
        &self,
        app: &AppInfo,
        prompt: ConsentPrompt,
    ) -> Result<PromptAnswer, HostError> {
        self.prompts.fetch_add(1, Ordering::SeqCst);
        println!(
            "  [prompt] {} asks for {}: \"{}\" — {} → Allow",
            app.app_id(),
            prompt.scope,
            prompt.info.title,
            prompt.info.description
        );
        Ok(PromptAnswer::Allow)
    }

    async fn open_setting(
        &self,
        _app: &AppInfo,
        settings: Vec<(ScopeName, ConsentState)>,
    ) -> Result<Vec<(ScopeName, ConsentState)>, HostError> {
        println!(
            "  [settings view] shows {} scope(s); the user turns them off",
            settings.len()
        );
        Ok(settings
            .into_iter()
            .map(|(scope, _)| (scope, ConsentState::Denied))
            .collect())
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some("user-42".into())
    }
}

/// The custom API: three progress states, then the answer.
async fn scan_badge(_app: AppInfo, params: JsonObject, states: StateSender) -> HandlerResult {
    for percent in [25, 50, 75] {
        let mut state = JsonObject::new();
        state.insert("progress".into(), json!(percent));
        states
            .send(state)
            .map_err(|err| HostError::failed(err.to_string()))?;
    }
    let mut result = JsonObject::new();
    result.insert("badge".into(), json!("B-1024"));
    result.insert("asked".into(), Value::Object(params));
    Ok(result)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::sync::Arc::new(SuperApp::default());
    let dispatcher = Dispatcher::builder_shared(host.clone())
        .guard(OpenApi::GetUserInfo, "scope.userInfo".parse()?)
        .custom_api(CustomApi::new("scanBadge", scan_badge).scope("scope.camera".parse()?))
        .try_build()?;
    let app = AppInfo::new("wx-demo");
    let show = |step: &str, reply: &superapp_openapi::Reply| {
        println!("{step}: {}", reply.to_json_string());
    };

    let first = dispatcher
        .invoke(&app, "wx.authorize", json!({"scope": "scope.userInfo"}))
        .await;
    show("1. authorize (first)", &first);
    let second = dispatcher
        .invoke(&app, "wx.authorize", json!({"scope": "scope.userInfo"}))
        .await;
    show("1. authorize (second, no prompt)", &second);
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(host.prompts.load(Ordering::SeqCst), 1);

    let setting = dispatcher.invoke(&app, "wx.getSetting", json!({})).await;
    show("2. getSetting", &setting);
    assert_eq!(
        setting.get("authSetting"),
        Some(&json!({"scope.userInfo": true}))
    );

    let opened = dispatcher.invoke(&app, "wx.openSetting", json!({})).await;
    show("3. openSetting", &opened);
    assert_eq!(
        opened.get("authSetting"),
        Some(&json!({"scope.userInfo": false}))
    );

    let guarded = dispatcher.invoke(&app, "wx.getUserInfo", json!({})).await;
    show("4. getUserInfo", &guarded);
    assert_eq!(guarded.err_msg(), "getUserInfo:fail auth deny");

    let states = std::sync::Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let states = states.clone();
        move |state: JsonObject| {
            println!("  [state] {}", Value::Object(state.clone()));
            states.lock().unwrap_or_else(|e| e.into_inner()).push(state);
        }
    };
    let badge = dispatcher
        .invoke_with_states(
            &app,
            "wx.invokeNativePlugin",
            json!({"api_name": "scanBadge", "data": {"door": "north"}}),
            sink,
        )
        .await;
    show("5. invokeNativePlugin scanBadge", &badge);
    assert!(badge.is_ok());
    assert_eq!(states.lock().unwrap_or_else(|e| e.into_inner()).len(), 3);
    Ok(())
}
