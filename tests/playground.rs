//! The playground (`openserver --playground`): nothing of it is reachable
//! without the flag; with it, the page and its JSON answer, a wx call
//! comes back with its messages masked, and bad input is a 400 that says
//! what is allowed. The page itself is driven in a real browser by
//! `tests/browser/playground.test.mjs` (`.ci/playground`).
#![cfg(feature = "cli")]

mod support;

use serde_json::{Value, json};
use support::bin::{EXAMPLE, start, start_with_env};

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/playground"),
    ("GET", "/playground/app.js"),
    ("GET", "/playground/style.css"),
    ("GET", "/playground/api/setup"),
    ("POST", "/playground/api/explain"),
    ("POST", "/playground/api/call"),
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
    let answer: Value = send(&base, "POST", "/playground/api/call", login_v2())
        .await
        .json()
        .await
        .unwrap();
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
    let answer: Value = send(&base, "POST", "/playground/api/call", choice.clone())
        .await
        .json()
        .await
        .unwrap();
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
    let answer: Value = send(&base, "POST", "/playground/api/call", choice)
        .await
        .json()
        .await
        .unwrap();
    let messages = crossed(&answer);
    let refused = &messages[2];
    assert_eq!(refused.2, "/openserver/sdk/open_data");
    assert_eq!(refused.3, "46006 no session");
    assert!(refused.4, "drawn red");
    assert_eq!(answer["reply"]["userInfo"]["nickName"], "Ada");
    drop(running);
}
