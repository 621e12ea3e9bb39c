//! Five parties, five roles: this test is the mini program; the host is a
//! `Dispatcher` with `RemotePlatform` (its v3 `get_auth_code` logs in at
//! the reference super-app server and asks it for an authCode); the
//! platform is the `openserver` binary with a `directory` section; the
//! super-app server is the `superapp-server` binary; the developer server
//! is `OpenServerClient`. Every process a test starts is killed when its
//! guard drops.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::http::{OpenServerClient, RemotePlatform};
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, AuthCode, AuthCodeRequest, AuthGrant, Code, Dispatcher,
    HostError, OpenApiHandler, Reply, SdkKey,
};

const OPENSERVER: &str = env!("CARGO_BIN_EXE_openserver");
const SUPERAPP: &str = env!("CARGO_BIN_EXE_superapp-server");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef";
const CLIENT_KEY: &str = "platform-client";
const APP: &str = "wxdemo00000000001";
const APP_SECRET: &str = "demo-app-secret-change-me";
const SDK_KEY: &str = "demo-host-sdk-key-change-me";
const ADA_PASSWORD: &str = "ada-password-change-me";

/// A child process, killed (SIGKILL) and reaped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin` and reads the address from its first line.
fn start(bin: &str, args: &[&str], prefix: &str) -> (Running, String) {
    let mut child = Command::new(bin)
        .args(args)
        .env_remove("OPENSERVER_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    let url = line
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, url)
}

fn keys(name: &str) -> String {
    format!("{ROOT}/tests/data/superapp/{name}")
}

/// The reference super-app server on `listen` (port 0: any).
fn superapp_server(listen: &str) -> (Running, String) {
    let users = format!("{ROOT}/examples/superapp-users.json");
    let public = keys("platform-test-pub.pem");
    start(
        SUPERAPP,
        &[
            "serve",
            "--listen",
            listen,
            "--users",
            &users,
            "--secret-key",
            SECRET_KEY,
            "--client-key",
            CLIENT_KEY,
            "--platform-public-key",
            &public,
        ],
        "superapp-server listening on ",
    )
}

static CONFIGS: AtomicUsize = AtomicUsize::new(0);

/// A config file, removed when dropped.
struct TempConfig(PathBuf);

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The platform binary with a config whose directory is `directory_url`.
fn platform(directory_url: &str, timeout_ms: u64) -> (Running, String, TempConfig) {
    platform_with(directory_url, timeout_ms, json!({}), &[])
}

/// The same, with `extra` sections in the config and `args` on the command line.
fn platform_with(
    directory_url: &str,
    timeout_ms: u64,
    extra: Value,
    args: &[&str],
) -> (Running, String, TempConfig) {
    let mut config = json!({
        "id_secret": "superapp-server-test-id-secret",
        "apps": [{"appid": APP, "secret": APP_SECRET, "team": "team-demo"}],
        "sdk_keys": [SDK_KEY],
        "directory": {
            "url": directory_url,
            "secret_key": SECRET_KEY,
            "signature": "aes-ecb",
            "paths": "2025-12-05",
            "timeout_ms": timeout_ms,
            "client_key": CLIENT_KEY,
            "private_key": keys("platform-test-key.pem"),
        }
    });
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    let n = CONFIGS.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "superapp-server-test-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(&path, config.to_string()).expect("the config is written");
    let shown = path.display().to_string();
    let mut all = vec![
        "--listen",
        "127.0.0.1:0",
        "--log",
        "off",
        "--config",
        &shown,
    ];
    all.extend_from_slice(args);
    let (running, url) = start(OPENSERVER, &all, "openserver listening on ");
    (running, url, TempConfig(path))
}

/// The host: v2 gives the UID; v3 logs in at the super-app server and asks
/// it for an authCode (TCMPP's demo `LoginApi`), or replays the last one.
struct Host {
    uid: String,
    superapp: String,
    replay: bool,
    last: Mutex<Option<String>>,
}

async fn post(url: String, body: Value) -> Result<Value, HostError> {
    let answer = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| HostError::failed(e.to_string()))?;
    let body: Value = answer
        .json()
        .await
        .map_err(|e| HostError::failed(e.to_string()))?;
    if body["returnCode"] != "0" {
        return Err(HostError::failed(format!("super-app server: {body}")));
    }
    Ok(body["data"].clone())
}

#[async_trait]
impl OpenApiHandler for Host {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(self.uid.clone())
    }

    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        if self.replay {
            if let Some(code) = self.last.lock().unwrap().clone() {
                return Ok(AuthGrant::from_auth_code(AuthCode::new(code)).granted(request.scopes));
            }
        }
        let login =
            json!({"appId": "superapp", "userAccount": self.uid, "userPassword": ADA_PASSWORD});
        let token =
            post(format!("{}/superapp/login", self.superapp), login).await?["token"].clone();
        let scopes: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
        let ask = json!({"appId": "superapp", "miniAppId": app.app_id(), "token": token, "scopes": scopes});
        let data = post(
            format!("{}/superapp/getMiniProgramAuthCode", self.superapp),
            ask,
        )
        .await?;
        let code = data["code"].as_str().unwrap_or_default().to_owned();
        *self.last.lock().unwrap() = Some(code.clone());
        Ok(AuthGrant::from_auth_code(AuthCode::new(code)).granted(request.scopes))
    }
}

fn host(
    platform: &str,
    superapp: &str,
    uid: &str,
    version: ApiVersion,
    replay: bool,
) -> Dispatcher {
    let handler = Host {
        uid: uid.to_owned(),
        superapp: superapp.to_owned(),
        replay,
        last: Mutex::new(None),
    };
    Dispatcher::builder(handler)
        .platform(RemotePlatform::new(platform, SdkKey::new(SDK_KEY)))
        .default_version(version)
        .build()
}

fn code_of(reply: &Reply) -> Code {
    assert!(reply.is_ok(), "{}", reply.err_msg());
    Code::new(reply.get_str("code").expect("a code"))
}

#[tokio::test]
async fn v2_and_v3_logins_reach_the_developer_server_through_the_super_app_server() {
    let (_superapp, superapp_url) = superapp_server("127.0.0.1:0");
    let (_platform, url, _config) = platform(&superapp_url, 2000);
    let developer = OpenServerClient::new(&url, APP, AppSecret::new(APP_SECRET));
    let app = AppInfo::new(APP);

    let mut openids = Vec::new();
    for version in [ApiVersion::V2, ApiVersion::V3] {
        let host = host(&url, &superapp_url, "u-1001", version, false);
        let login = host.invoke(&app, "login", json!({})).await;
        let session = developer.jscode2session(&code_of(&login)).await.unwrap();
        openids.push(session.openid.clone());

        let phone = host.invoke(&app, "getPhoneNumber", json!({})).await;
        let number = developer
            .get_user_phone_number(&session.openid, &code_of(&phone))
            .await
            .unwrap();
        assert_eq!(number.secret(), "+8613800000000", "{version:?}");
        // The code, and the super-app server's temporary code inside it, are single use.
        let again = developer
            .get_user_phone_number(&session.openid, &code_of(&phone))
            .await;
        assert!(again.is_err(), "{version:?}: a phone code redeemed twice");

        let email = host.invoke(&app, "getEmail", json!({})).await;
        let address = developer
            .get_email_address(&session.openid, &code_of(&email))
            .await
            .unwrap();
        assert_eq!(address.secret(), "ada@example.com", "{version:?}");

        let avatar = host.invoke(&app, "chooseAvatar", json!({})).await;
        assert_eq!(
            avatar.get_str("avatarUrl"),
            Some("https://example.com/avatars/ada.png"),
            "{}",
            avatar.err_msg()
        );
        let nickname = host.invoke(&app, "getNickName", json!({})).await;
        assert_eq!(
            nickname.get_str("nickName"),
            Some("Ada"),
            "{}",
            nickname.err_msg()
        );
    }
    assert_eq!(
        openids[0], openids[1],
        "one user, one openid, whichever version"
    );

    // A user without a phone number: 46005, said by the super-app server.
    let grace = host(&url, &superapp_url, "u-1002", ApiVersion::V2, false);
    let phone = grace.invoke(&app, "getPhoneNumber", json!({})).await;
    assert!(
        !phone.is_ok() && phone.err_msg().contains("46005"),
        "{}",
        phone.err_msg()
    );
}

#[tokio::test]
async fn unknown_and_inactive_users_and_a_reused_auth_code_are_refused() {
    let (_superapp, superapp_url) = superapp_server("127.0.0.1:0");
    let (_platform, url, _config) = platform(&superapp_url, 2000);
    let app = AppInfo::new(APP);
    for (uid, errcode) in [("nobody", "46001"), ("u-1003", "46002")] {
        let reply = host(&url, &superapp_url, uid, ApiVersion::V2, false)
            .invoke(&app, "login", json!({}))
            .await;
        assert!(
            !reply.is_ok() && reply.err_msg().contains(errcode),
            "{uid}: {}",
            reply.err_msg()
        );
    }
    // With a directory, authCodes are the super-app server's: the
    // emulator route answers -1.
    let emulator = RemotePlatform::new(&url, SdkKey::new(SDK_KEY))
        .issue_auth_code(APP, "u-1001", &[])
        .await
        .unwrap_err();
    assert_eq!(emulator.errcode(), Some(-1), "{emulator}");
    let replaying = host(&url, &superapp_url, "u-1001", ApiVersion::V3, true);
    code_of(&replaying.invoke(&app, "login", json!({})).await);
    let again = replaying.invoke(&app, "login", json!({})).await;
    assert!(
        !again.is_ok() && again.err_msg().contains("46003"),
        "{}",
        again.err_msg()
    );
}

#[tokio::test]
async fn a_stopped_super_app_server_fails_fast_and_a_restarted_one_serves_again() {
    let (superapp, superapp_url) = superapp_server("127.0.0.1:0");
    let (_platform, url, _config) = platform(&superapp_url, 1000);
    let app = AppInfo::new(APP);
    let v2 = host(&url, &superapp_url, "u-1001", ApiVersion::V2, false);
    code_of(&v2.invoke(&app, "login", json!({})).await);

    drop(superapp);
    let started = Instant::now();
    let down = v2.invoke(&app, "login", json!({})).await;
    assert!(!down.is_ok(), "{}", down.err_msg());
    assert!(
        down.err_msg().contains("-1") && !down.err_msg().contains("46001"),
        "{}",
        down.err_msg()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let listen = superapp_url.trim_start_matches("http://");
    let (_again, _) = superapp_server(listen);
    code_of(&v2.invoke(&app, "login", json!({})).await);
}

/// What the misbehaving super-app server does.
const STALL: u8 = 0;
const HUGE: u8 = 1;
const GARBAGE: u8 = 2;

#[tokio::test]
async fn a_stalling_huge_or_garbage_super_app_server_is_an_error_within_the_timeout() {
    let mode = Arc::new(AtomicU8::new(STALL));
    let seen = mode.clone();
    let router = axum::Router::new().fallback(axum::routing::any(move || {
        let mode = seen.load(Ordering::SeqCst);
        async move {
            match mode {
                STALL => {
                    std::future::pending::<()>().await;
                    String::new()
                }
                HUGE => "x".repeat(10 << 20),
                _ => "<html>not the protocol</html>".to_owned(),
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bad = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(superapp_openapi::http::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let (_platform, url, _config) = platform(&bad, 500);
    let v2 = host(&url, &bad, "u-1001", ApiVersion::V2, false);
    let app = AppInfo::new(APP);
    for which in [STALL, HUGE, GARBAGE] {
        mode.store(which, Ordering::SeqCst);
        let started = Instant::now();
        let reply = v2.invoke(&app, "login", json!({})).await;
        assert!(
            reply.err_msg().contains("-1") && !reply.err_msg().contains("46001"),
            "{which}: {}",
            reply.err_msg()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{which}: {:?}",
            started.elapsed()
        );
    }
    let _ = stop.send(());
    server.abort();
}

/// The playground over a super-app server: its demo host logs in there and
/// asks it for the authCode, and the platform's requests to it are drawn.
#[tokio::test]
async fn the_playground_draws_the_super_app_servers_side_of_a_v3_login() {
    let (_superapp, superapp_url) = superapp_server("127.0.0.1:0");
    let accounts = json!({ "playground": {
        "superapp_app_id": "superapp",
        "accounts": [{ "user": "u-1001", "password": ADA_PASSWORD }],
    }});
    let (_platform, url, _config) = platform_with(&superapp_url, 2000, accounts, &["--playground"]);
    let setup: Value = reqwest::get(format!("{url}/playground/api/setup"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(setup["users"], json!(["u-1001"]), "the accounts' users");

    let call = |api: &str| {
        let body = json!({ "appid": APP, "user": "u-1001", "app_json": "v3", "default": "v1", "api": api });
        let url = format!("{url}/playground/api/call");
        async move {
            let text = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                !text.contains(ADA_PASSWORD),
                "the password is masked: {text}"
            );
            let events: Vec<Value> = text
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            events
        }
    };
    let events = call("login").await;
    let crossed: Vec<(String, String, String, String)> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|m| {
            let text = |key: &str| m[key].as_str().unwrap().to_owned();
            (text("from"), text("to"), text("label"), text("status"))
        })
        .collect();
    let expected = [
        ("mini_program", "host", "wx.login", "request"),
        ("host", "superapp_server", "POST /superapp/login", "request"),
        ("superapp_server", "host", "POST /superapp/login", "ok"),
        (
            "host",
            "superapp_server",
            "POST /superapp/getMiniProgramAuthCode",
            "request",
        ),
        (
            "superapp_server",
            "host",
            "POST /superapp/getMiniProgramAuthCode",
            "ok",
        ),
        ("host", "platform", "/openserver/sdk/login_code", "request"),
        (
            "platform",
            "superapp_server",
            "/access_token/b2b2c",
            "request",
        ),
        ("superapp_server", "platform", "/access_token/b2b2c", "ok"),
        ("platform", "superapp_server", "checkUser", "request"),
        ("superapp_server", "platform", "checkUser", "ok"),
        ("platform", "host", "/openserver/sdk/login_code", "ok"),
        ("host", "mini_program", "wx.login", "login:ok"),
    ]
    .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()));
    assert_eq!(crossed, expected);
    let done = events.last().unwrap();
    assert_eq!(done["event"], "done");
    let code = done["reply"]["code"].as_str().unwrap();
    let session = OpenServerClient::new(&url, APP, AppSecret::new(APP_SECRET))
        .jscode2session(&Code::new(code))
        .await
        .expect("the code the playground's login got is redeemed");
    assert!(!session.openid.is_empty());

    // The host's profile comes from its super-app server's login answer.
    let events = call("getUserInfo").await;
    let done = events.last().unwrap();
    assert_eq!(done["reply"]["userInfo"]["nickName"], "Ada", "{done}");
}

#[test]
fn a_playground_section_needs_a_directory_and_accounts() {
    let dir = std::env::temp_dir();
    let cases = [
        (
            json!({ "playground": { "superapp_app_id": "s", "accounts": [{ "user": "u", "password": "p" }] } }),
            "playground: only with a directory section",
        ),
        (
            json!({ "playground": { "superapp_app_id": "s", "accounts": [] },
                    "directory": { "url": "http://127.0.0.1:1", "secret_key": SECRET_KEY } }),
            "playground.accounts: list at least one",
        ),
        (
            json!({ "playground": { "superapp_app_id": "s", "accounts": [{ "user": "u", "password": "" }] },
                    "directory": { "url": "http://127.0.0.1:1", "secret_key": SECRET_KEY } }),
            "playground.accounts[0]: user and password must not be empty",
        ),
    ];
    for (n, (config, expected)) in cases.into_iter().enumerate() {
        let path = dir.join(format!(
            "playground-section-{}-{n}.json",
            std::process::id()
        ));
        std::fs::write(&path, config.to_string()).unwrap();
        let _cleanup = TempConfig(path.clone());
        let out = Command::new(OPENSERVER)
            .arg("--check-config")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{config}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{config}: {stderr}");
        assert!(!stderr.contains(SECRET_KEY), "{stderr}");
    }
}

/// The example config of the playground over the reference super-app
/// server (docs/http.md) passes the start's checks.
#[test]
fn the_example_superapp_config_checks() {
    let path = format!("{ROOT}/examples/openserver-superapp.json");
    let out = Command::new(OPENSERVER)
        .args(["--check-config", &path])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("directory http://127.0.0.1:9090"),
        "{stdout}"
    );
}
