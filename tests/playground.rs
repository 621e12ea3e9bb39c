//! The playground (`openserver --playground`): nothing of it is reachable
//! without the flag; with it, the page and its JSON answer, a wx call
//! streams its messages masked as they cross, the host's consent prompt
//! and settings view wait for the person's answer, a custom API's states
//! arrive before its reply, and bad input is a 400 that says what is
//! allowed. The page itself is driven in a real browser by
//! `tests/browser/playground.test.mjs` (`.ci/playground`).
#![cfg(feature = "cli")]

mod support;

use serde_json::{Value, json};
use support::bin::{EXAMPLE, start, start_with_env};

/// A call's answer stream (`application/x-ndjson`), read event by event.
struct Events {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Events {
    async fn open(base: &str, body: Value) -> Events {
        let response = send(base, "POST", "/playground/api/call", body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/x-ndjson",
            "a call answers a stream"
        );
        Events {
            response,
            buffer: Vec::new(),
        }
    }

    /// The next event, `None` at the stream's end.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).unwrap());
            }
            match self.response.chunk().await.unwrap() {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => {
                    assert!(self.buffer.is_empty(), "a partial last line");
                    return None;
                }
            }
        }
    }

    /// The next event, which must be of `kind`.
    async fn expect(&mut self, kind: &str) -> Value {
        let event = self.next().await.expect("the stream ended early");
        assert_eq!(event["event"], kind, "{event}");
        event
    }

    /// The rest of the stream: the `done` event's fields (`reply`,
    /// `explanation`, `version`, `dropped`) with `messages`, the message
    /// events before it (without their `event` tag).
    async fn finish(mut self, mut messages: Vec<Value>) -> Value {
        let mut done = None;
        while let Some(mut event) = self.next().await {
            assert!(done.is_none(), "an event after done: {event}");
            let kind = event.as_object_mut().unwrap().remove("event").unwrap();
            match kind.as_str().unwrap() {
                "message" => messages.push(event),
                "done" => done = Some(event),
                other => panic!("a question nobody answers: {other}"),
            }
        }
        let mut done = done.expect("no done event");
        done["messages"] = Value::Array(messages);
        done
    }
}

/// One call that asks no question, read to its end.
async fn call(base: &str, body: Value) -> Value {
    Events::open(base, body).await.finish(Vec::new()).await
}

/// Answers a question: the answer's status and body.
async fn answer(base: &str, body: Value) -> (u16, Value) {
    let answer = send(base, "POST", "/playground/api/answer", body).await;
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/playground"),
    ("GET", "/playground/app.js"),
    ("GET", "/playground/style.css"),
    ("GET", "/playground/api/setup"),
    ("POST", "/playground/api/explain"),
    ("POST", "/playground/api/call"),
    ("POST", "/playground/api/answer"),
];

async fn send(base: &str, method: &str, path: &str, body: Value) -> reqwest::Response {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body),
    };
    request.send().await.unwrap()
}

fn login_v2() -> Value {
    json!({
        "appid": "wxdemo00000000001",
        "user": "u-1001",
        "app_json": "v2",
        "default": "v1",
        "api": "login",
    })
}

#[tokio::test]
async fn without_the_flag_no_playground_route_is_reachable() {
    let (running, base) = start(&["--config", EXAMPLE]);
    for (method, path) in ROUTES {
        let status = send(&base, method, path, login_v2()).await.status();
        assert_eq!(status, 404, "{method} {path}");
    }
    drop(running);
}

#[tokio::test]
async fn with_the_flag_the_page_and_its_assets_are_served_from_the_binary() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    for (path, kind, needle) in [
        ("/playground", "text/html", "openserver playground"),
        ("/playground/app.js", "text/javascript", "crypto.subtle"),
        ("/playground/style.css", "text/css", ".msg"),
    ] {
        let answer = send(&base, "GET", path, Value::Null).await;
        assert_eq!(answer.status(), 200, "{path}");
        let content_type = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(answer.text().await.unwrap().contains(needle), "{path}");
    }
    let setup: Value = send(&base, "GET", "/playground/api/setup", Value::Null)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(setup["apps"][0]["appid"], "wxdemo00000000001");
    assert_eq!(setup["users"], json!(["u-1001", "u-1002", "u-1003"]));
    assert_eq!(setup["versions"], json!(["v1", "v2", "v3"]));
    drop(running);
}

#[tokio::test]
async fn a_call_answers_the_whole_reply_and_the_messages_with_secrets_masked() {
    let (running, base) = start_with_env(&["--config", EXAMPLE], &[("OPENSERVER_PLAYGROUND", "1")]);
    let answer = call(&base, login_v2()).await;
    assert_eq!(answer["reply"]["errMsg"], "login:ok", "{answer}");
    let code = answer["reply"]["code"].as_str().unwrap();
    assert_eq!(
        answer["explanation"],
        "login: v2 (from apiVersion in app.json) -> built-in v2 flow (uses app_uid)"
    );
    let crossed: Vec<(&str, &str, &str, &str)> = answer["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap(),
                m["to"].as_str().unwrap(),
                m["label"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        crossed,
        [
            ("mini_program", "host", "wx.login", "request"),
            ("host", "platform", "/openserver/sdk/login_code", "request"),
            ("platform", "host", "/openserver/sdk/login_code", "ok"),
            ("host", "mini_program", "wx.login", "login:ok"),
        ]
    );
    let messages = answer["messages"].to_string();
    assert!(!messages.contains(code), "the code is masked: {messages}");
    let shown = format!(
        "{}******{} ({} chars)",
        &code[..4],
        &code[code.len() - 2..],
        code.len()
    );
    assert_eq!(answer["messages"][2]["body"]["code"], shown);
    drop(running);
}

#[tokio::test]
async fn bad_input_is_a_400_saying_what_is_allowed() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let cases = [
        (json!({ "appid": "wxdemo00000000001" }), "missing field"),
        (
            json!({ "appid": "wx-nope", "user": "u-1001", "default": "v2", "api": "login" }),
            "is not one of the playground's",
        ),
        (
            json!({ "appid": "wxdemo00000000001", "user": "nobody", "default": "v2", "api": "login" }),
            "is not one of the directory's",
        ),
        (
            json!({ "appid": "wxdemo00000000001", "user": "u-1001", "default": "v9", "api": "login" }),
            "v9",
        ),
        (
            json!({ "appid": "wxdemo00000000001", "user": "u-1001", "default": "v2", "api": "fly" }),
            "api:",
        ),
    ];
    for (body, needle) in cases {
        let answer = send(&base, "POST", "/playground/api/call", body.clone()).await;
        assert_eq!(answer.status(), 400, "{body}");
        let error: Value = answer.json().await.unwrap();
        let text = error["error"].as_str().unwrap();
        assert!(text.contains(needle), "{body}: {text}");
    }
    drop(running);
}

/// `(from, to, label, status, error)` of each message of a call's answer.
fn crossed(answer: &Value) -> Vec<(String, String, String, String, bool)> {
    answer["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text = |key: &str| m[key].as_str().unwrap().to_owned();
            (
                text("from"),
                text("to"),
                text("label"),
                text("status"),
                m["error"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_v3_call_draws_the_authcode_from_the_super_app_side_and_a_platform_error_red() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let mut choice = login_v2();
    choice["app_json"] = json!("v3");
    let answer = call(&base, choice.clone()).await;
    let labels: Vec<(String, String, String)> = crossed(&answer)
        .into_iter()
        .map(|(from, to, label, _, _)| (from, to, label))
        .collect();
    let expected = [
        ("mini_program", "host", "wx.login"),
        ("host", "superapp_server", "getAuthCode"),
        ("superapp_server", "platform", "/openserver/sdk/auth_code"),
        ("platform", "superapp_server", "/openserver/sdk/auth_code"),
        ("superapp_server", "host", "getAuthCode"),
        ("host", "platform", "/openserver/sdk/login_code"),
        ("platform", "host", "/openserver/sdk/login_code"),
        ("host", "mini_program", "wx.login"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(labels, expected);
    let auth_code = &answer["messages"][3]["body"]["authCode"];
    assert!(
        auth_code.as_str().unwrap().ends_with("(32 chars)"),
        "{auth_code}"
    );

    // No session yet: the platform refuses to seal the user info (46006),
    // drawn as an error; the host still answers userInfo.
    choice["api"] = json!("getUserInfo");
    let answer = call(&base, choice).await;
    let messages = crossed(&answer);
    let refused = &messages[2];
    assert_eq!(refused.2, "/openserver/sdk/open_data");
    assert_eq!(refused.3, "46006 no session");
    assert!(refused.4, "drawn red");
    assert_eq!(answer["reply"]["userInfo"]["nickName"], "Ada");
    drop(running);
}

/// A call of `api` with `params`, as the v2 choice of [`login_v2`].
fn wx(api: &str, params: Value) -> Value {
    let mut choice = login_v2();
    choice["api"] = json!(api);
    choice["params"] = params;
    choice
}

/// Opens a call that must ask the consent prompt: the two messages before
/// the question (the mini program's call, the host's prompt) and the
/// question itself.
async fn prompted(base: &str, body: Value) -> (Events, Vec<Value>, Value) {
    let mut events = Events::open(base, body).await;
    let call = events.expect("message").await;
    let shown = events.expect("message").await;
    assert_eq!(
        (&shown["from"], &shown["to"], &shown["label"]),
        (&json!("host"), &json!("host"), &json!("consent prompt")),
        "the prompt is drawn on the host's lane"
    );
    let prompt = events.expect("prompt").await;
    (events, vec![call, shown], prompt)
}

#[tokio::test]
async fn the_consent_prompt_waits_for_the_page_and_its_answer_is_kept() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let setup: Value = send(&base, "GET", "/playground/api/setup", Value::Null)
        .await
        .json()
        .await
        .unwrap();
    let scopes = setup["scopes"].as_array().unwrap();
    assert!(scopes.iter().any(|s| s["scope"] == "scope.userLocation"));
    for api in [
        "authorize",
        "getSetting",
        "openSetting",
        "invokeNativePlugin",
    ] {
        assert!(
            setup["apis"].as_array().unwrap().contains(&json!(api)),
            "{api}"
        );
    }

    let authorize = wx("authorize", json!({ "scope": "scope.userLocation" }));
    let (events, before, prompt) = prompted(&base, authorize.clone()).await;
    assert_eq!(prompt["scope"], "scope.userLocation");
    assert!(!prompt["title"].as_str().unwrap().is_empty(), "{prompt}");
    let id = prompt["id"].clone();
    let (status, refused) = answer(&base, json!({ "id": id, "settings": {} })).await;
    assert_eq!(status, 400);
    let why = refused["error"].as_str().unwrap();
    assert!(why.contains("is a consent prompt"), "{why}");
    let (status, answered) = answer(&base, json!({ "id": id, "answer": "allow" })).await;
    assert_eq!((status, &answered["answered"]), (200, &id));
    let done = events.finish(before).await;
    assert_eq!(done["reply"]["errMsg"], "authorize:ok", "{done}");
    assert_eq!(
        done["explanation"],
        "authorize: every version -> the dispatcher, from the consent store (docs/consent.md)"
    );
    assert_eq!(done["messages"][2]["status"], "allow");
    assert_eq!(done["messages"][3]["label"], "wx.authorize");

    // Kept: no prompt again (`call` fails on a question), and getSetting says so.
    let again = call(&base, authorize).await;
    assert_eq!(again["reply"]["errMsg"], "authorize:ok");
    let settings = call(&base, wx("getSetting", json!({}))).await;
    assert_eq!(
        settings["reply"]["authSetting"],
        json!({ "scope.userLocation": true })
    );
    let (status, late) = answer(&base, json!({ "id": id, "answer": "deny" })).await;
    assert_eq!(status, 400);
    assert!(late["error"].as_str().unwrap().contains("no question"));
    drop(running);
}

#[tokio::test]
async fn a_denial_sticks_until_the_settings_view_changes_it_and_a_cancel_stores_nothing() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let camera = wx("authorize", json!({ "scope": "scope.camera" }));
    let (events, before, prompt) = prompted(&base, camera.clone()).await;
    answer(&base, json!({ "id": prompt["id"], "answer": "deny" })).await;
    let done = events.finish(before).await;
    assert_eq!(done["reply"]["errMsg"], "authorize:fail auth deny");
    let again = call(&base, camera.clone()).await;
    assert_eq!(
        again["reply"]["errMsg"], "authorize:fail auth deny",
        "no prompt for a denied scope"
    );

    let location = wx("authorize", json!({ "scope": "scope.userLocation" }));
    let (events, before, prompt) = prompted(&base, location.clone()).await;
    answer(&base, json!({ "id": prompt["id"], "answer": "cancel" })).await;
    let done = events.finish(before).await;
    assert_eq!(done["reply"]["errMsg"], "authorize:fail cancel");

    let mut events = Events::open(&base, wx("openSetting", json!({}))).await;
    let call_message = events.expect("message").await;
    let view = events.expect("message").await;
    assert_eq!(view["label"], "settings view");
    let settings = events.expect("settings").await;
    assert_eq!(
        settings["settings"],
        json!([{ "scope": "scope.camera", "title": "Camera", "granted": false }]),
        "only what was answered: the cancelled scope is not listed"
    );
    let unshown = json!({ "id": settings["id"], "settings": { "scope.userLocation": true } });
    let (status, refused) = answer(&base, unshown).await;
    assert_eq!(status, 400);
    let why = refused["error"].as_str().unwrap();
    assert!(why.contains("is not one the settings view shows"), "{why}");
    let changes = json!({ "id": settings["id"], "settings": { "scope.camera": true } });
    assert_eq!(answer(&base, changes).await.0, 200);
    let done = events.finish(vec![call_message, view]).await;
    assert_eq!(done["reply"]["errMsg"], "openSetting:ok");
    assert_eq!(
        done["reply"]["authSetting"],
        json!({ "scope.camera": true })
    );
    assert_eq!(call(&base, camera).await["reply"]["errMsg"], "authorize:ok");

    // The cancelled scope prompts again.
    let (events, before, prompt) = prompted(&base, location).await;
    answer(&base, json!({ "id": prompt["id"], "answer": "allow" })).await;
    assert_eq!(
        events.finish(before).await["reply"]["errMsg"],
        "authorize:ok"
    );
    drop(running);
}

#[tokio::test]
async fn the_demo_custom_api_sends_its_states_before_its_reply() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let scan = wx(
        "invokeNativePlugin",
        json!({ "api_name": "scanMembershipCard", "data": { "shop": 7 } }),
    );
    let (events, before, prompt) = prompted(&base, scan.clone()).await;
    assert_eq!(prompt["scope"], "scope.camera", "the API's own scope");
    answer(&base, json!({ "id": prompt["id"], "answer": "allow" })).await;
    let done = events.finish(before).await;
    let states: Vec<&Value> = done["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "state")
        .collect();
    let stages: Vec<&Value> = states.iter().map(|m| &m["body"]["stage"]).collect();
    assert_eq!(stages, ["camera opened", "card in view", "card read"]);
    assert!(
        states
            .iter()
            .all(|m| m["from"] == "host" && m["to"] == "mini_program")
    );
    let last = done["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(
        last["label"], "wx.invokeNativePlugin",
        "the reply comes last"
    );
    assert_eq!(done["reply"]["errMsg"], "invokeNativePlugin:ok");
    let explained = done["explanation"].as_str().unwrap();
    assert!(explained.contains("the host's custom API"), "{explained}");
    assert_eq!(done["reply"]["data"], json!({ "shop": 7 }));
    assert_eq!(done["reply"]["level"], "gold");

    // By name, granted already: no prompt.
    let by_name = call(&base, wx("scanMembershipCard", json!({}))).await;
    assert_eq!(by_name["reply"]["errMsg"], "scanMembershipCard:ok");
    drop(running);
}

#[tokio::test]
async fn a_bad_answer_is_a_400_saying_what_is_allowed() {
    let (running, base) = start(&["--config", EXAMPLE, "--playground"]);
    let cases = [
        (json!({ "answer": "allow" }), "missing field `id`"),
        (
            json!({ "id": "x", "answer": "maybe" }),
            "is not allow, deny or cancel",
        ),
        (
            json!({ "id": "x", "answer": "allow", "settings": {} }),
            "give one of answer and settings",
        ),
        (
            json!({ "id": "x", "settings": { "scope camera": true } }),
            "settings:",
        ),
        (json!({ "id": "x", "answer": "allow" }), "no question \"x\""),
    ];
    for (body, needle) in cases {
        let (status, refused) = answer(&base, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        let why = refused["error"].as_str().unwrap();
        assert!(why.contains(needle), "{body}: {why}");
    }
    drop(running);
}

/// In process, so that the page's going away is the stream's drop.
#[tokio::test]
async fn a_page_that_goes_away_stops_its_call_and_forgets_its_question() {
    use superapp_openapi::http::Playground;
    use superapp_openapi::openserver::{AppRegistration, SuperappUser};
    use superapp_openapi::{AppSecret, OpenServer};
    use tower::ServiceExt as _;

    let server = OpenServer::new();
    let secret = AppSecret::new("playground-secret-0123456789");
    server
        .register_app(AppRegistration::new("wx-play", secret.clone(), "team"))
        .unwrap();
    server.add_user(SuperappUser::new("u-1")).unwrap();
    let router = Playground::new()
        .app("wx-play", secret)
        .user("u-1")
        .router(server, 64 * 1024);
    let post = |path: &str, body: Value| {
        axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let body = json!({ "appid": "wx-play", "user": "u-1", "default": "v2",
                       "api": "authorize", "params": { "scope": "scope.camera" } });
    let response = router
        .clone()
        .oneshot(post("/playground/api/call", body))
        .await
        .unwrap();
    let mut stream = response.into_body().into_data_stream();
    let id = loop {
        use futures_util::StreamExt as _;
        let chunk = stream.next().await.unwrap().unwrap();
        let text = String::from_utf8(chunk.to_vec()).unwrap();
        if let Some(line) = text.lines().find(|l| l.contains("\"prompt\"")) {
            let prompt: Value = serde_json::from_str(line).unwrap();
            break prompt["id"].as_str().unwrap().to_owned();
        }
    };
    drop(stream);
    // The abort lands when the runtime next polls the call's task. An
    // answer of the wrong kind leaves a waiting question waiting, so it
    // asks, without answering, until the question is gone (bounded).
    for _ in 0..1000 {
        let asked = router
            .clone()
            .oneshot(post(
                "/playground/api/answer",
                json!({ "id": id, "settings": {} }),
            ))
            .await
            .unwrap();
        assert_eq!(asked.status(), 400);
        let bytes = axum::body::to_bytes(asked.into_body(), 64 * 1024)
            .await
            .unwrap();
        let why: Value = serde_json::from_slice(&bytes).unwrap();
        let why = why["error"].as_str().unwrap();
        if why.contains("no question") {
            return;
        }
        assert!(why.contains("is a consent prompt"), "{why}");
        tokio::task::yield_now().await;
    }
    panic!("the question of a page that went away still waits");
}

/// The playground's calls meet the platform's quotas like any host's: a
/// user's outstanding login codes past the config's limit are refused
/// (45009), drawn red.
#[tokio::test]
async fn the_platforms_quotas_apply_to_the_playgrounds_calls() {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    config["limits"] = json!({ "max_outstanding_codes_per_user": 2 });
    let path = std::env::temp_dir().join(format!("playground-quota-{}.json", std::process::id()));
    std::fs::write(&path, config.to_string()).unwrap();
    let (running, base) = start(&["--config", path.to_str().unwrap(), "--playground"]);
    for _ in 0..2 {
        let answer = call(&base, login_v2()).await;
        assert_eq!(answer["reply"]["errMsg"], "login:ok");
    }
    let answer = call(&base, login_v2()).await;
    let refused = &crossed(&answer)[2];
    assert_eq!(refused.2, "/openserver/sdk/login_code");
    assert!(refused.3.starts_with("45009 "), "{refused:?}");
    assert!(refused.4, "drawn red");
    assert!(
        answer["reply"]["errMsg"]
            .as_str()
            .unwrap()
            .starts_with("login:fail")
    );
    drop(running);
    let _ = std::fs::remove_file(path);
}
