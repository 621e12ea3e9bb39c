//! The `openserver` binary: starts from the example config, prints where it
//! listens, answers a token request; refuses bad configs with exit code 2.
#![cfg(feature = "cli")]

mod support;

use std::process::Command;

use support::TOKEN;
use support::bin::{EXAMPLE, run, start, start_from_env};

#[cfg(unix)]
#[test]
fn sigint_right_after_the_address_line_shuts_down_cleanly_with_exit_code_0() {
    let (mut running, _) = start(&[]);
    let pid = running.0.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let status = running.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn the_binary_serves_the_example_config_and_answers_a_token_request() {
    let (running, base) = start(&["--config", EXAMPLE]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0"), "{base}");

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    let app = &config["apps"][0];
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}{TOKEN}"))
        .query(&[
            ("appid", app["appid"].as_str().unwrap()),
            ("secret", app["secret"].as_str().unwrap()),
            ("grant_type", "client_credential"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
    assert_eq!(answer["expires_in"], 7200);
    assert_eq!(answer["access_token"].as_str().map(str::len), Some(64));
    drop(running);
}

#[test]
fn a_bad_config_is_refused_with_exit_code_2_naming_the_file_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("openserver-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("not-json.json", "{ apps: ", "key must be a string"),
        ("typo.json", r#"{"aps": []}"#, "unknown field `aps`"),
        (
            "no-secret.json",
            r#"{"apps": [{"appid": "wx1", "team": "t"}]}"#,
            "missing field `secret`",
        ),
        (
            "duplicate.json",
            r#"{"apps": [{"appid": "wx1", "secret": "secret-of-16-chars", "team": "t"}, {"appid": "wx1", "secret": "secret-of-16-chars", "team": "t"}]}"#,
            "apps[1]: invalid param: app wx1 is already registered",
        ),
        (
            "kind.json",
            r#"{"apps": [{"appid": "wx1", "secret": "secret-of-16-chars", "team": "t", "kind": "web"}]}"#,
            "unknown variant `web`",
        ),
        (
            "short-key.json",
            r#"{"sdk_keys": ["short"]}"#,
            "sdk_keys[0]: an SDK key must be at least 16 characters",
        ),
        (
            "zero-limit.json",
            r#"{"limits": {"max_access_tokens_per_day": 0}}"#,
            "limits.max_access_tokens_per_day must be at least 1",
        ),
        (
            "limit-typo.json",
            r#"{"limits": {"max_tokens": 5}}"#,
            "unknown field `max_tokens`",
        ),
        (
            "short-secret.json",
            r#"{"apps": [{"appid": "wx1", "secret": "s", "team": "t"}]}"#,
            "apps[0].secret: an app secret must be at least 16 characters",
        ),
        (
            "short-scoped-key.json",
            r#"{"apps": [{"appid": "wx1", "secret": "secret-of-16-chars", "team": "t"}], "sdk_keys": [{"key": "short", "apps": ["wx1"]}]}"#,
            "sdk_keys[0]: an SDK key must be at least 16 characters",
        ),
        (
            "scoped-key-unknown-app.json",
            r#"{"apps": [{"appid": "wx1", "secret": "secret-of-16-chars", "team": "t"}], "sdk_keys": [{"key": "key-for-host-a-0123", "apps": ["wx2"]}]}"#,
            "sdk_keys[0].apps: \"wx2\" is not one of the apps",
        ),
    ];
    for (name, text, problem) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, _, stderr) = run(&[
            "--listen",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{name}: {stderr}");
        assert!(stderr.contains(problem), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let missing = dir.join("missing.json");
    let (code, _, stderr) = run(&["--config", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing.json: cannot be read"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_exit_with_2_and_help_exits_with_0() {
    let (code, _, stderr) = run(&["--port", "8080"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unexpected argument '--port'"), "{stderr}");
    let (code, _, stderr) = run(&["--listen", "not-an-address"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not-an-address"), "{stderr}");
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("--listen <ADDR>"), "{stdout}");
    assert!(stdout.contains("--store <STORE>"), "{stdout}");
    assert!(stdout.contains("[env: OPENSERVER_LISTEN="), "{stdout}");
}

#[test]
fn version_print_openapi_and_check_config_exit_at_once() {
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout.trim(),
        format!("openserver {}", env!("CARGO_PKG_VERSION"))
    );
    let (code, stdout, _) = run(&["--print-openapi"]);
    assert_eq!(code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let (code, stdout, stderr) = run(&["--check-config", EXAMPLE]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(": ok (2 apps, 3 users, 1 SDK keys)"),
        "{stdout}"
    );
    let dir = std::env::temp_dir().join(format!("openserver-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"sdk_keys": ["short"]}"#).unwrap();
    let (code, _, stderr) = run(&["--check-config", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "config file {}: sdk_keys[0]: an SDK key must be at least 16 characters",
            bad.display()
        )),
        "the message a start would give: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_option_is_also_read_from_an_openserver_environment_variable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (running, base) = start_from_env(&[
        ("OPENSERVER_LISTEN", &format!("127.0.0.1:{port}")),
        ("OPENSERVER_CONFIG", EXAMPLE),
        ("OPENSERVER_LOG", "warn"),
        ("OPENSERVER_STORE", "memory"),
    ]);
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}{TOKEN}"))
        .query(&[
            ("appid", config["apps"][0]["appid"].as_str().unwrap()),
            ("secret", config["apps"][0]["secret"].as_str().unwrap()),
            ("grant_type", "client_credential"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["errcode"], 0,
        "the config came from OPENSERVER_CONFIG: {answer}"
    );
    drop(running);
}

#[test]
fn a_store_that_is_neither_memory_nor_redis_is_a_usage_error_that_shows_no_password() {
    let (code, _, stderr) = run(&["--store", "postgres://admin:hunter2@db/platform"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--store: use memory or redis://HOST:PORT/DB"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[cfg(not(feature = "redis"))]
#[test]
fn a_redis_store_without_the_redis_feature_is_a_usage_error_naming_the_feature() {
    let (code, _, stderr) = run(&["--store", "redis://127.0.0.1:6379/0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("built without the `redis` feature"),
        "{stderr}"
    );
}

#[test]
fn store_memory_is_the_default_and_can_be_named() {
    for args in [&[][..], &["--store", "memory"][..]] {
        let (running, base) = start(args);
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        drop(running);
    }
}

/// Writes `text` as a config file of its own in the temp folder (not in
/// the folder the bad-config test removes when it ends); returns its path.
fn config_file(name: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("openserver-limits-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_server_limit_out_of_range_is_refused_naming_the_key() {
    let cases = [
        (
            r#"{"server": {"max_connections": 0}}"#,
            "server.max_connections is 0: use a whole number of connections of at least 1",
        ),
        (
            r#"{"server": {"header_read_timeout_secs": 0}}"#,
            "server.header_read_timeout_secs is 0: use a whole number of seconds from 1 to 86400",
        ),
        (
            r#"{"server": {"shutdown_deadline_secs": 86401}}"#,
            "server.shutdown_deadline_secs is 86401",
        ),
        (
            r#"{"server": {"body_read_timeout": 5}}"#,
            "unknown field `body_read_timeout`",
        ),
    ];
    for (i, (text, problem)) in cases.into_iter().enumerate() {
        let path = config_file(&format!("limits-{i}.json"), text);
        let (code, _, stderr) = run(&[
            "--listen",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(2), "{text}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{text}: {stderr}");
        assert!(stderr.contains(problem), "{text}: {stderr}");
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(unix)]
#[test]
fn sigterm_with_a_stalled_request_body_exits_0_at_the_shutdown_deadline() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let path = config_file(
        "stalled-shutdown.json",
        r#"{"server": {"shutdown_deadline_secs": 1, "body_read_timeout_secs": 30}}"#,
    );
    let (mut running, base) = start(&["--config", path.to_str().unwrap()]);
    let addr = base.strip_prefix("http://").unwrap();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client
        .write_all(
            b"POST /openserver/wxa/business/getuserphonenumber HTTP/1.1\r\nHost: test\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .unwrap();
    // The route is reading the body once the server says to go on.
    let mut interim = [0u8; 64];
    let n = client.read(&mut interim).unwrap();
    assert!(
        interim[..n].starts_with(b"HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&interim[..n])
    );
    client.write_all(br#"{"openid":"#).unwrap(); // 10 of the 100 bytes

    let sent = Instant::now();
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "still running 8 s after SIGTERM (deadline 1 s)"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let waited = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        waited >= Duration::from_secs(1),
        "the request in flight was not waited for: {waited:?}"
    );
    let _ = std::fs::remove_file(&path);
}
