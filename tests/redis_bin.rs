//! Two `openserver` binaries on one Redis: the developer server's session
//! and token outlive a `kill -9` of the instance that issued them; a Redis
//! that stops or hangs gives `-1` within the timeout, and service resumes
//! when it is back.
#![cfg(all(feature = "cli", feature = "redis"))]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use superapp_openapi::http::RemotePlatform;
use superapp_openapi::platform::{Platform, Principal, UserCodeKind};
use superapp_openapi::{AppInfo, SdkKey};
use support::bin::{EXAMPLE, run, start, start_with_env};
use support::redis::RedisServer;
use support::{CHECKSESSION, GETUSERPHONENUMBER, JSCODE2SESSION, TOKEN};

/// The binary's defaults: 1 s to connect plus 1 s for an answer; and room
/// for a loaded machine.
const WITHIN: Duration = Duration::from_secs(2 + 2);

/// The first app, its secret, a user with a phone number, and an SDK key
/// of the example config.
struct Example {
    appid: String,
    secret: String,
    user: String,
    phone: String,
    sdk_key: String,
}

fn example() -> Example {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    Example {
        appid: text(&config["apps"][0]["appid"]),
        secret: text(&config["apps"][0]["secret"]),
        user: text(&config["users"][0]["id"]),
        phone: text(&config["users"][0]["phone"]),
        sdk_key: text(&config["sdk_keys"][0]),
    }
}

async fn get(base: &str, path: &str, query: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .query(query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn token(base: &str, e: &Example) -> Value {
    get(
        base,
        TOKEN,
        &[
            ("appid", &e.appid),
            ("secret", &e.secret),
            ("grant_type", "client_credential"),
        ],
    )
    .await
}

async fn checksession(base: &str, token: &str, openid: &str, signature: &str) -> Value {
    get(
        base,
        CHECKSESSION,
        &[
            ("access_token", token),
            ("openid", openid),
            ("signature", signature),
            ("sig_method", "hmac_sha256"),
        ],
    )
    .await
}

/// A login through `sdk_base`, exchanged on `developer_base`: (openid,
/// checksession signature).
async fn login(sdk_base: &str, developer_base: &str, e: &Example) -> (String, String) {
    let code = RemotePlatform::new(sdk_base, SdkKey::new(&e.sdk_key))
        .issue_login_code(&AppInfo::new(&e.appid), &Principal::Uid(e.user.clone()))
        .await
        .unwrap();
    let s = get(
        developer_base,
        JSCODE2SESSION,
        &[
            ("appid", &e.appid),
            ("secret", &e.secret),
            ("js_code", code.secret()),
            ("grant_type", "authorization_code"),
        ],
    )
    .await;
    assert_eq!(s["errcode"], 0, "{s}");
    let session_key = superapp_openapi::SessionKey::new(s["session_key"].as_str().unwrap());
    (
        s["openid"].as_str().unwrap().to_owned(),
        superapp_openapi::http::OpenServerClient::signature(&session_key),
    )
}

/// Polls until `base` issues a token again; bounded, since the Redis
/// process was just started.
async fn until_a_token_is_issued(base: &str, e: &Example) -> String {
    let start = Instant::now();
    loop {
        let t = token(base, e).await;
        if t["errcode"] == 0 {
            return t["access_token"].as_str().unwrap().to_owned();
        }
        assert_eq!(t["errcode"], -1, "{t}");
        assert!(start.elapsed() < Duration::from_secs(15), "no service: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_session_and_token_outlive_kill_9_of_the_instance_that_issued_them() {
    let e = example();
    let redis = RedisServer::start();
    let url = redis.url();
    let args = ["--config", EXAMPLE, "--store", &url];
    let (a, base_a) = start(&args);
    let (_b, base_b) = start(&args);

    let (openid, signature) = login(&base_a, &base_b, &e).await;
    let t = token(&base_a, &e).await;
    let t = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        checksession(&base_b, &t, &openid, &signature).await["errcode"],
        0
    );

    // kill -9 A, and start it again.
    drop(a);
    let (_a, base_a) = start(&args);
    let c = checksession(&base_a, &t, &openid, &signature).await;
    assert_eq!(c["errcode"], 0, "{c}");
    // The token still reads a phone number, with a code issued on B.
    let phone_code = RemotePlatform::new(&base_b, SdkKey::new(&e.sdk_key))
        .issue_user_code(
            &AppInfo::new(&e.appid),
            &Principal::Uid(e.user.clone()),
            UserCodeKind::PhoneNumber,
        )
        .await
        .unwrap();
    let phone: Value = reqwest::Client::new()
        .post(format!("{base_a}{GETUSERPHONENUMBER}"))
        .json(&serde_json::json!({
            "access_token": t,
            "openid": openid,
            "code": phone_code.secret(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        phone["phone_info"]["phoneNumber"],
        e.phone.as_str(),
        "{phone}"
    );
}

#[tokio::test]
async fn a_stopped_redis_gives_minus_one_within_the_timeout_and_service_resumes_when_it_restarts() {
    let e = example();
    let mut redis = RedisServer::start();
    let url = redis.url();
    let args = ["--config", EXAMPLE, "--store", &url];
    let (_a, base_a) = start(&args);
    let (_b, base_b) = start(&args);
    let (openid, signature) = login(&base_a, &base_b, &e).await;
    let t = token(&base_b, &e).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    redis.kill();
    for base in [&base_a, &base_b] {
        let start = Instant::now();
        let c = checksession(base, &t, &openid, &signature).await;
        assert_eq!(c["errcode"], -1, "{c}");
        assert!(
            c["errmsg"].as_str().unwrap().starts_with("system error"),
            "{c}"
        );
        let t = token(base, &e).await;
        assert_eq!(t["errcode"], -1, "{t}");
        assert!(start.elapsed() < 2 * WITHIN, "{:?}", start.elapsed());
    }

    // Back, empty (no persistence): each instance serves again by itself.
    redis.restart();
    let t = until_a_token_is_issued(&base_a, &e).await;
    until_a_token_is_issued(&base_b, &e).await;
    let (openid, signature) = login(&base_b, &base_a, &e).await;
    assert_eq!(
        checksession(&base_b, &t, &openid, &signature).await["errcode"],
        0
    );
}

#[tokio::test]
async fn a_redis_that_hangs_gives_minus_one_within_the_timeout_and_its_state_when_it_answers() {
    let e = example();
    let redis = RedisServer::start();
    let url = redis.url();
    let (_a, base) = start(&["--config", EXAMPLE, "--store", &url]);
    let (openid, signature) = login(&base, &base, &e).await;
    let t = token(&base, &e).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    redis.pause();
    let start = Instant::now();
    let c = checksession(&base, &t, &openid, &signature).await;
    assert_eq!(c["errcode"], -1, "{c}");
    assert!(start.elapsed() < WITHIN, "{:?}", start.elapsed());
    redis.resume();
    let started = Instant::now();
    loop {
        let c = checksession(&base, &t, &openid, &signature).await;
        if c["errcode"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn openserver_store_in_the_environment_selects_redis() {
    let e = example();
    let redis = RedisServer::start();
    let (_a, base) = start_with_env(
        &["--config", EXAMPLE],
        &[("OPENSERVER_STORE", &redis.url())],
    );
    assert_eq!(token(&base, &e).await["errcode"], 0);
    // `superapp:{<tag>}:app-tokens:<appid>` (the tag: docs/openserver.md).
    let keys = redis.command(&["KEYS", "superapp:*app-tokens:*"]).items();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("superapp:{"), "{keys:?}");
    assert!(
        keys[0].ends_with(&format!("}}:app-tokens:{}", e.appid)),
        "{keys:?}"
    );
}

#[test]
fn an_unreachable_redis_at_start_exits_with_1_quickly_and_shows_no_password() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://:hunter2@127.0.0.1:{closed}/0");
    let start = Instant::now();
    let (code, _, stderr) = run(&["--config", EXAMPLE, "--store", &url]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach redis at redis://127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_redis_store_without_an_id_secret_is_refused_with_exit_code_2() {
    let redis = RedisServer::start();
    let dir = std::env::temp_dir().join(format!("openserver-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("no-id-secret.json");
    std::fs::write(&path, r#"{"apps": []}"#).unwrap();
    for config in [&["--config", path.to_str().unwrap()][..], &[][..]] {
        let mut args = config.to_vec();
        let url = redis.url();
        args.extend(["--store", url.as_str()]);
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("id_secret is required with a shared store"),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two binaries on one Redis Cluster (`--store redis-cluster://…`): a code
/// minted through A is exchanged on B, and 64 racers for one code, split
/// across both, get one success.
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_binaries_on_one_cluster_share_codes_and_64_racers_get_one_success() {
    let e = example();
    let cluster = support::shared_cluster();
    let url = cluster.store_url();
    let args = ["--config", EXAMPLE, "--store", &url];
    let (_a, base_a) = start(&args);
    let (_b, base_b) = start_with_env(&["--config", EXAMPLE], &[("OPENSERVER_STORE", &url)]);
    login(&base_a, &base_b, &e).await;

    let code = RemotePlatform::new(&base_a, SdkKey::new(&e.sdk_key))
        .issue_login_code(&AppInfo::new(&e.appid), &Principal::Uid(e.user.clone()))
        .await
        .unwrap();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let base = if i % 2 == 0 {
                base_a.clone()
            } else {
                base_b.clone()
            };
            let (code, barrier) = (code.secret().to_owned(), barrier.clone());
            let (appid, secret) = (e.appid.clone(), e.secret.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let s = get(
                    &base,
                    JSCODE2SESSION,
                    &[
                        ("appid", &appid),
                        ("secret", &secret),
                        ("js_code", &code),
                        ("grant_type", "authorization_code"),
                    ],
                )
                .await;
                s["errcode"].as_i64().unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    support::assert_one_success(&answers);
}

#[cfg(feature = "redis-cluster")]
#[test]
fn an_unreachable_cluster_at_start_exits_with_1_quickly() {
    let closed = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!(
        "redis-cluster://127.0.0.1:{},127.0.0.1:{}",
        closed(),
        closed()
    );
    let start = Instant::now();
    let (code, _, stderr) = run(&["--config", EXAMPLE, "--store", &url]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach redis at redis://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}
