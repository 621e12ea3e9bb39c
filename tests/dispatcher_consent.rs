//! The consent rules through the dispatcher: wx.authorize, wx.getSetting,
//! wx.openSetting and a guarded API, state × call, as tables; the
//! one-prompt race; the host's management.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::consent::{ConsentPrompt, ConsentState, PromptAnswer, ScopeName};
use superapp_openapi::{
    AppInfo, Dispatcher, HandlerResult, HostError, JsonObject, OpenApi, OpenApiHandler,
};
use tokio::sync::Notify;

fn scope(name: &str) -> ScopeName {
    name.parse().unwrap()
}

/// A host whose prompt answers what it is told, counting prompts, and
/// whose settings view applies the changes it is given.
#[derive(Default)]
struct Host {
    answer: Mutex<Option<Result<PromptAnswer, HostError>>>,
    prompts: AtomicUsize,
    seen: Mutex<Vec<ConsentPrompt>>,
    changes: Mutex<Vec<(ScopeName, ConsentState)>>,
    /// When set, the prompt waits for it (the race test).
    gate: Option<Arc<Notify>>,
    uid: Option<String>,
}

impl Host {
    fn answering(answer: PromptAnswer) -> Self {
        Host {
            answer: Mutex::new(Some(Ok(answer))),
            ..Host::default()
        }
    }
}

#[async_trait]
impl OpenApiHandler for Host {
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(json!({"userInfo": {"nickName": "xcode"}})
            .as_object()
            .cloned()
            .unwrap())
    }

    async fn consent_prompt(
        &self,
        _app: &AppInfo,
        prompt: ConsentPrompt,
    ) -> Result<PromptAnswer, HostError> {
        self.prompts.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(prompt);
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        self.answer
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Err(HostError::NotImplemented))
    }

    async fn open_setting(
        &self,
        _app: &AppInfo,
        _settings: Vec<(ScopeName, ConsentState)>,
    ) -> Result<Vec<(ScopeName, ConsentState)>, HostError> {
        Ok(self.changes.lock().unwrap().clone())
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        self.uid.clone()
    }
}

fn dispatcher(host: Host) -> (Dispatcher, Arc<Host>) {
    let host = Arc::new(host);
    let dispatcher = Dispatcher::builder_shared(host.clone())
        .guard(OpenApi::GetUserInfo, scope("scope.userInfo"))
        .build();
    (dispatcher, host)
}

/// The anonymous user's answers for wx-app.
async fn anonymous_answers(dispatcher: &Dispatcher) -> Vec<(ScopeName, ConsentState)> {
    dispatcher.consent().list("", "wx-app").await.unwrap()
}

async fn set(dispatcher: &Dispatcher, state: ConsentState) {
    dispatcher
        .consent()
        .set("", "wx-app", &scope("scope.userInfo"), state)
        .await
        .unwrap();
}

/// (stored, answer, prompted?, errMsg suffix, errno, stored after)
type Row = (
    ConsentState,
    PromptAnswer,
    bool,
    &'static str,
    Option<i64>,
    ConsentState,
);

/// Every stored state × every call that checks a scope × every answer.
#[tokio::test]
async fn each_state_and_call_gives_the_documented_reply() {
    use ConsentState::{Denied, Granted, NotAsked};
    use PromptAnswer::{Allow, Cancel, Deny};
    // (stored, answer, prompted?, errMsg suffix, errno, stored after)
    let rows: [Row; 9] = [
        (NotAsked, Allow, true, "ok", None, Granted),
        (NotAsked, Deny, true, "fail auth deny", Some(202), Denied),
        (NotAsked, Cancel, true, "fail cancel", Some(201), NotAsked),
        (Granted, Allow, false, "ok", None, Granted),
        (Granted, Deny, false, "ok", None, Granted),
        (Granted, Cancel, false, "ok", None, Granted),
        (Denied, Allow, false, "fail auth deny", Some(202), Denied),
        (Denied, Deny, false, "fail auth deny", Some(202), Denied),
        (Denied, Cancel, false, "fail auth deny", Some(202), Denied),
    ];
    let app = AppInfo::new("wx-app");
    for (call, params) in [
        ("authorize", json!({"scope": "scope.userInfo"})),
        ("getUserInfo", json!({})),
    ] {
        for (stored, answer, prompted, suffix, errno, after) in rows {
            let (dispatcher, host) = dispatcher(Host::answering(answer));
            set(&dispatcher, stored).await;
            let reply = dispatcher.invoke(&app, call, params.clone()).await;
            let row = format!("{call} {stored:?} {answer:?}");
            assert_eq!(reply.err_msg(), format!("{call}:{suffix}"), "{row}");
            assert_eq!(reply.errno(), errno, "{row}");
            assert_eq!(
                host.prompts.load(Ordering::SeqCst),
                usize::from(prompted),
                "{row}"
            );
            let now = dispatcher
                .consent()
                .store()
                .get("", "wx-app", &scope("scope.userInfo"))
                .await
                .unwrap();
            assert_eq!(now, after, "{row}");
            if call == "getUserInfo" && reply.is_ok() {
                assert_eq!(reply.get("userInfo").unwrap()["nickName"], "xcode");
            }
        }
    }
}

#[tokio::test]
async fn authorize_replies_only_err_msg_and_the_prompt_sees_the_scope_table() {
    let (dispatcher, host) = dispatcher(Host::answering(PromptAnswer::Allow));
    let app = AppInfo::new("wx-app");
    let reply = dispatcher
        .invoke(&app, "wx.authorize", json!({"scope": "scope.camera"}))
        .await;
    assert_eq!(reply.into_value(), json!({"errMsg": "authorize:ok"}));
    let seen = host.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.info.title, "Camera");
    assert_eq!(seen.app, "wx-app");
    assert_eq!(seen.user, "");
}

#[tokio::test]
async fn authorize_refuses_bad_and_unknown_scopes_with_102() {
    let (dispatcher, host) = dispatcher(Host::answering(PromptAnswer::Allow));
    let app = AppInfo::new("wx-app");
    for params in [
        json!({}),
        json!({"scope": 7}),
        json!({"scope": ""}),
        json!({"scope": "scope with spaces"}),
        json!({"scope": "scope.neverHeardOf"}),
    ] {
        let reply = dispatcher.invoke(&app, "authorize", params.clone()).await;
        assert_eq!(reply.errno(), Some(102), "{params}");
        assert!(
            reply
                .err_msg()
                .starts_with("authorize:fail invalid params: ")
        );
    }
    assert_eq!(host.prompts.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_host_without_a_prompt_fails_with_103_and_stores_nothing() {
    let (dispatcher, _host) = dispatcher(Host::default());
    let app = AppInfo::new("wx-app");
    let reply = dispatcher
        .invoke(&app, "authorize", json!({"scope": "scope.userInfo"}))
        .await;
    assert_eq!(reply.errno(), Some(103));
    assert_eq!(
        reply.err_msg(),
        "authorize:fail the host shows no consent prompt (consent_prompt is not implemented)"
    );
    assert!(anonymous_answers(&dispatcher).await.is_empty());
}

#[tokio::test]
async fn get_setting_lists_only_the_scopes_asked_for_per_user() {
    let host = Host {
        uid: Some("user-1".into()),
        ..Host::answering(PromptAnswer::Allow)
    };
    let (dispatcher, _host) = dispatcher(host);
    let app = AppInfo::new("wx-app");
    let reply = dispatcher.invoke(&app, "getSetting", json!({})).await;
    assert_eq!(
        reply.clone().into_value(),
        json!({"authSetting": {}, "errMsg": "getSetting:ok"})
    );
    dispatcher
        .invoke(&app, "authorize", json!({"scope": "scope.camera"}))
        .await;
    dispatcher
        .consent()
        .set(
            "user-1",
            "wx-app",
            &scope("scope.record"),
            ConsentState::Denied,
        )
        .await
        .unwrap();
    let reply = dispatcher
        .invoke(&app, "getSetting", json!({"withSubscriptions": true}))
        .await;
    assert_eq!(
        reply.into_value(),
        json!({
            "authSetting": {"scope.camera": true, "scope.record": false},
            "subscriptionsSetting": {"mainSwitch": true, "itemSettings": {}},
            "errMsg": "getSetting:ok"
        })
    );
    // Another user of the host sees nothing of user-1's answers.
    assert!(anonymous_answers(&dispatcher).await.is_empty());
    let reply = dispatcher
        .invoke(&app, "getSetting", json!({"withSubscriptions": "yes"}))
        .await;
    assert_eq!(reply.errno(), Some(102));
}

#[tokio::test]
async fn open_setting_applies_the_users_changes_and_replies_the_new_setting() {
    let (dispatcher, host) = dispatcher(Host::answering(PromptAnswer::Allow));
    let app = AppInfo::new("wx-app");
    dispatcher.invoke(&app, "getUserInfo", json!({})).await;
    *host.changes.lock().unwrap() = vec![(scope("scope.userInfo"), ConsentState::Denied)];
    let reply = dispatcher.invoke(&app, "openSetting", json!({})).await;
    assert_eq!(
        reply.into_value(),
        json!({"authSetting": {"scope.userInfo": false}, "errMsg": "openSetting:ok"})
    );
    let reply = dispatcher.invoke(&app, "getUserInfo", json!({})).await;
    assert_eq!(reply.err_msg(), "getUserInfo:fail auth deny");
    // A change to a scope never asked for is the host's error.
    *host.changes.lock().unwrap() = vec![(scope("scope.camera"), ConsentState::Granted)];
    let reply = dispatcher.invoke(&app, "openSetting", json!({})).await;
    assert_eq!(reply.errno(), Some(301));
    // Without a settings view: 103.
    let (plain, _) = dispatcher_without_views();
    let reply = plain.invoke(&app, "openSetting", json!({})).await;
    assert_eq!(reply.errno(), Some(103));
}

fn dispatcher_without_views() -> (Dispatcher, ()) {
    struct Bare;
    impl OpenApiHandler for Bare {}
    (Dispatcher::builder(Bare).build(), ())
}

#[tokio::test]
async fn an_unguarded_get_user_info_never_prompts() {
    let host = Arc::new(Host::answering(PromptAnswer::Deny));
    let dispatcher = Dispatcher::builder_shared(host.clone()).build();
    let reply = dispatcher
        .invoke(&AppInfo::new("wx-app"), "getUserInfo", json!({}))
        .await;
    assert!(reply.is_ok());
    assert_eq!(host.prompts.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_calls_show_one_prompt_and_share_its_answer() {
    let notify = Arc::new(Notify::new());
    let host = Host {
        gate: Some(notify.clone()),
        ..Host::answering(PromptAnswer::Allow)
    };
    let (dispatcher, host) = dispatcher(host);
    let app = AppInfo::new("wx-app");
    let calls: Vec<_> = (0..64)
        .map(|n| {
            let dispatcher = dispatcher.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let (api, params) = if n % 2 == 0 {
                    ("authorize", json!({"scope": "scope.userInfo"}))
                } else {
                    ("getUserInfo", Value::Null)
                };
                dispatcher.invoke(&app, api, params).await
            })
        })
        .collect();
    // Wait until the one prompt is showing and the other 63 wait on it.
    while host.prompts.load(Ordering::SeqCst) == 0 || dispatcher.consent().pending_prompts() == 0 {
        tokio::task::yield_now().await;
    }
    notify.notify_one();
    for call in calls {
        assert!(call.await.unwrap().is_ok());
    }
    assert_eq!(host.prompts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_host_lists_sets_and_clears_a_mini_programs_consent() {
    let (dispatcher, _host) = dispatcher(Host::answering(PromptAnswer::Allow));
    let consent = dispatcher.consent();
    consent
        .set("", "wx-app", &scope("scope.camera"), ConsentState::Granted)
        .await
        .unwrap();
    consent
        .set("", "wx-app", &scope("scope.userInfo"), ConsentState::Denied)
        .await
        .unwrap();
    assert_eq!(
        consent.list("", "wx-app").await.unwrap(),
        vec![
            (scope("scope.camera"), ConsentState::Granted),
            (scope("scope.userInfo"), ConsentState::Denied)
        ]
    );
    assert_eq!(consent.clear("", "wx-app").await.unwrap(), 2);
    let reply = dispatcher
        .invoke(&AppInfo::new("wx-app"), "getSetting", json!({}))
        .await;
    assert_eq!(reply.get("authSetting"), Some(&json!({})));
}
