//! Custom APIs: routing by name and through invokeNativePlugin, taking over
//! a built-in, names refused at build time, allow-lists, scopes, and the
//! intermediate states' order and bound.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::consent::{ConsentPrompt, PromptAnswer};
use superapp_openapi::{
    AppInfo, BuildError, CustomApi, CustomApiHandler, Dispatcher, HandlerResult, HostError,
    JsonObject, OpenApi, OpenApiHandler, Responder, StateError, StateSender,
};

struct Host;

#[async_trait]
impl OpenApiHandler for Host {
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(json!({"userInfo": {"nickName": "host"}})
            .as_object()
            .cloned()
            .unwrap())
    }

    async fn consent_prompt(
        &self,
        _app: &AppInfo,
        prompt: ConsentPrompt,
    ) -> Result<PromptAnswer, HostError> {
        Ok(if prompt.scope.as_str() == "scope.camera" {
            PromptAnswer::Allow
        } else {
            PromptAnswer::Deny
        })
    }
}

fn object(value: Value) -> JsonObject {
    value.as_object().cloned().unwrap()
}

/// Echoes its params, after sending `states` numbered states.
fn echo(states: usize) -> impl CustomApiHandler {
    move |_app: AppInfo, params: JsonObject, sender: StateSender| async move {
        for n in 0..states {
            if let Err(err) = sender.send(object(json!({"step": n}))) {
                return Err(HostError::failed(err.to_string()));
            }
        }
        Ok(object(json!({"echo": params, "errMsg": "ignored"})))
    }
}

fn build(apis: Vec<CustomApi>) -> Result<Dispatcher, BuildError> {
    apis.into_iter()
        .fold(Dispatcher::builder(Host), |builder, api| {
            builder.custom_api(api)
        })
        .max_states_per_call(8)
        .try_build()
}

#[tokio::test]
async fn a_custom_api_answers_by_name_and_through_invoke_native_plugin_with_the_same_params() {
    let dispatcher = build(vec![CustomApi::new("myApi", echo(0))]).unwrap();
    let app = AppInfo::new("wx-app");
    let by_name = dispatcher
        .invoke(&app, "myApi", json!({"name": "kka", "age": 22}))
        .await;
    assert_eq!(
        by_name.into_value(),
        json!({"echo": {"name": "kka", "age": 22}, "errMsg": "myApi:ok"})
    );
    let by_plugin = dispatcher
        .invoke(
            &app,
            "wx.invokeNativePlugin",
            json!({"api_name": "myApi", "data": {"name": "kka", "age": 22}}),
        )
        .await;
    assert_eq!(
        by_plugin.into_value(),
        json!({"echo": {"name": "kka", "age": 22}, "errMsg": "invokeNativePlugin:ok"})
    );
    let no_data = dispatcher
        .invoke(&app, "invokeNativePlugin", json!({"api_name": "myApi"}))
        .await;
    assert_eq!(no_data.get("echo"), Some(&json!({})));
}

#[tokio::test]
async fn invoke_native_plugin_refuses_bad_params_and_unknown_names() {
    let dispatcher = build(vec![CustomApi::new("myApi", echo(0))]).unwrap();
    let app = AppInfo::new("wx-app");
    for (params, errno) in [
        (json!({}), 102),
        (json!({"api_name": 5}), 102),
        (json!({"api_name": "myApi", "data": [1]}), 102),
        (json!({"api_name": "nobody"}), 107),
        (json!({"api_name": "getUserInfo"}), 107),
    ] {
        let reply = dispatcher
            .invoke(&app, "invokeNativePlugin", params.clone())
            .await;
        assert_eq!(reply.errno(), Some(errno), "{params}");
        assert!(reply.err_msg().starts_with("invokeNativePlugin:fail "));
    }
    // Called by an unknown name directly: not supported, as before.
    assert_eq!(
        dispatcher.invoke(&app, "nobody", json!({})).await.errno(),
        Some(101)
    );
}

#[tokio::test]
async fn taking_over_a_builtin_must_be_asked_for_and_explain_says_so() {
    let refused = build(vec![CustomApi::new("getUserInfo", echo(0))]).unwrap_err();
    assert_eq!(
        refused,
        BuildError::BuiltinName {
            name: "getUserInfo".into()
        }
    );
    assert!(refused.to_string().contains("take_over_builtin()"));
    let dispatcher = build(vec![
        CustomApi::new("getUserInfo", echo(0)).take_over_builtin(),
    ])
    .unwrap();
    let app = AppInfo::new("wx-app");
    let reply = dispatcher
        .invoke(&app, "getUserInfo", json!({"lang": "en"}))
        .await;
    assert_eq!(reply.get("echo"), Some(&json!({"lang": "en"})));
    let explanation = dispatcher.explain(&app, OpenApi::GetUserInfo);
    assert_eq!(explanation.answered_by, Responder::Custom);
    assert!(explanation.to_string().contains("custom API"));
    assert_eq!(
        dispatcher
            .explain(&app, OpenApi::GetUserProfile)
            .answered_by,
        Responder::Host
    );
}

#[test]
fn colliding_and_invalid_names_are_refused_at_build_time() {
    let cases: Vec<(Vec<CustomApi>, BuildError)> = vec![
        (
            vec![
                CustomApi::new("twice", echo(0)),
                CustomApi::new("twice", echo(0)),
            ],
            BuildError::Duplicate {
                name: "twice".into(),
            },
        ),
        (
            vec![CustomApi::new("authorize", echo(0))],
            BuildError::Reserved {
                name: "authorize".into(),
            },
        ),
        (
            vec![CustomApi::new("invokeNativePlugin", echo(0))],
            BuildError::Reserved {
                name: "invokeNativePlugin".into(),
            },
        ),
        (
            vec![CustomApi::new("mine", echo(0)).take_over_builtin()],
            BuildError::NotBuiltin {
                name: "mine".into(),
            },
        ),
    ];
    for (apis, expected) in cases {
        assert_eq!(build(apis).unwrap_err(), expected);
    }
    for bad in [
        "",
        "9lives",
        "wx.myApi",
        "my-api",
        "my api",
        "ünï",
        &"a".repeat(65),
    ] {
        match build(vec![CustomApi::new(bad, echo(0))]).unwrap_err() {
            BuildError::InvalidName { name, .. } => assert_eq!(name, bad),
            other => panic!("{bad:?}: {other}"),
        }
    }
    assert!(build(vec![CustomApi::new("_ok_9", echo(0))]).is_ok());
    // A host without custom APIs still builds infallibly.
    let _ = Dispatcher::builder(Host).build();
}

#[tokio::test]
async fn an_allow_list_lets_only_its_mini_programs_call() {
    let dispatcher = build(vec![CustomApi::new("vip", echo(0)).allow_apps(["wx-vip"])]).unwrap();
    let ok = dispatcher
        .invoke(&AppInfo::new("wx-vip"), "vip", json!({}))
        .await;
    assert!(ok.is_ok());
    for (api, params) in [
        ("vip", json!({})),
        ("invokeNativePlugin", json!({"api_name": "vip"})),
    ] {
        let reply = dispatcher
            .invoke(&AppInfo::new("wx-other"), api, params)
            .await;
        assert_eq!(reply.errno(), Some(108));
        assert!(
            reply
                .err_msg()
                .ends_with("vip is not available to mini program wx-other")
        );
    }
}

#[tokio::test]
async fn a_custom_api_with_a_scope_passes_the_consent_rule_first() {
    let dispatcher = build(vec![
        CustomApi::new("scan", echo(0)).scope("scope.camera".parse().unwrap()),
        CustomApi::new("track", echo(0)).scope("scope.userLocation".parse().unwrap()),
    ])
    .unwrap();
    let app = AppInfo::new("wx-app");
    assert!(dispatcher.invoke(&app, "scan", json!({})).await.is_ok());
    let reply = dispatcher
        .invoke(&app, "invokeNativePlugin", json!({"api_name": "track"}))
        .await;
    assert_eq!(reply.err_msg(), "invokeNativePlugin:fail auth deny");
    let setting = dispatcher.invoke(&app, "getSetting", json!({})).await;
    assert_eq!(
        setting.get("authSetting"),
        Some(&json!({"scope.camera": true, "scope.userLocation": false}))
    );
}

#[tokio::test]
async fn states_arrive_in_order_before_the_reply_and_only_from_custom_apis() {
    let dispatcher = build(vec![CustomApi::new("stream", echo(3))]).unwrap();
    let app = AppInfo::new("wx-app");
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let got = got.clone();
        move |state: JsonObject| got.lock().unwrap().push(Value::Object(state))
    };
    let reply = dispatcher
        .invoke_with_states(&app, "stream", json!({"n": 1}), sink)
        .await;
    assert!(reply.is_ok());
    assert_eq!(
        *got.lock().unwrap(),
        vec![json!({"step": 0}), json!({"step": 1}), json!({"step": 2})]
    );
    // The same through invokeNativePlugin; a v1 method sends none.
    got.lock().unwrap().clear();
    let sink = {
        let got = got.clone();
        move |state: JsonObject| got.lock().unwrap().push(Value::Object(state))
    };
    dispatcher
        .invoke_with_states(
            &app,
            "invokeNativePlugin",
            json!({"api_name": "stream"}),
            sink,
        )
        .await;
    assert_eq!(got.lock().unwrap().len(), 3);
    let reply = dispatcher
        .invoke_with_states(&app, "getUserInfo", json!({}), |_state: JsonObject| {
            panic!("a v1 method sent a state")
        })
        .await;
    assert!(reply.is_ok());
}

#[tokio::test]
async fn more_states_than_the_bound_fail_the_call_and_none_arrive_after_the_reply() {
    // A handler that ignores the refusal and answers ok: the call fails anyway.
    let stubborn = |_app: AppInfo, _params: JsonObject, sender: StateSender| async move {
        for n in 0..20 {
            let _ = sender.send(object(json!({"step": n})));
        }
        Ok(JsonObject::new())
    };
    let kept: Arc<Mutex<Option<StateSender>>> = Arc::default();
    let keeper = {
        let kept = kept.clone();
        move |_app: AppInfo, _params: JsonObject, sender: StateSender| {
            *kept.lock().unwrap() = Some(sender);
            async { Ok(JsonObject::new()) }
        }
    };
    let dispatcher = build(vec![
        CustomApi::new("stubborn", stubborn),
        CustomApi::new("keeper", keeper),
        CustomApi::new("nine", echo(9)),
        CustomApi::new("eight", echo(8)),
    ])
    .unwrap();
    let app = AppInfo::new("wx-app");
    let count = Arc::new(Mutex::new(0));
    let counting = |count: &Arc<Mutex<usize>>| {
        let count = count.clone();
        move |_state: JsonObject| *count.lock().unwrap() += 1
    };
    let reply = dispatcher
        .invoke_with_states(&app, "stubborn", json!({}), counting(&count))
        .await;
    assert_eq!(reply.errno(), Some(109));
    assert_eq!(*count.lock().unwrap(), 8, "the first 8 states arrived");
    let reply = dispatcher.invoke(&app, "nine", json!({})).await;
    assert_eq!(reply.errno(), Some(109), "plain invoke counts them too");
    assert!(dispatcher.invoke(&app, "eight", json!({})).await.is_ok());

    *count.lock().unwrap() = 0;
    let reply = dispatcher
        .invoke_with_states(&app, "keeper", json!({}), counting(&count))
        .await;
    assert!(reply.is_ok());
    let late = kept.lock().unwrap().take().unwrap();
    assert_eq!(
        late.send(object(json!({"late": true}))),
        Err(StateError::Answered)
    );
    assert_eq!(*count.lock().unwrap(), 0);
}
