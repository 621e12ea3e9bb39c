//! The `superapp-server` binary: `serve` on a free loopback port, `check`
//! against it (exit 0), and bad arguments refused with exit 2 and a clear
//! message. Every process started is killed when its guard drops.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_superapp-server");
const USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/superapp-users.json");
const PUBLIC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/superapp/platform-test-pub.pem"
);
const PRIVATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/superapp/platform-test-key.pem"
);
const SECRET: &str = "0123456789abcdef0123456789abcdef";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(extra: &[&str]) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--users",
            USERS,
            "--secret-key",
            SECRET,
        ])
        .args([
            "--client-key",
            "platform-client",
            "--platform-public-key",
            PUBLIC,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("superapp-server starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("superapp-server listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    (running, url)
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_against_serve_in_the_oldest_family_with_cbc() {
    let (_server, url) = serve(&["--paths", "2025-01-08", "--signature", "aes-cbc"]);
    let (code, out, err) = run(&[
        "check",
        "--url",
        &url,
        "--secret-key",
        SECRET,
        "--paths",
        "2025-01-08",
        "--signature",
        "aes-cbc",
        "--user-id",
        "u-1001",
        "--client-key",
        "platform-client",
        "--private-key",
        PRIVATE,
        "--account",
        "u-1001",
        "--password",
        "ada-password-change-me",
        "--mini-app-id",
        "wx-a",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ok   checkUser (POST /superapp/user/checkUser)"),
        "{out}"
    );
    assert!(out.contains("18 of 18 checks passed"), "{out}");
    // The same server checked with the other family fails, naming the path.
    let (code, out, _) = run(&[
        "check",
        "--url",
        &url,
        "--secret-key",
        SECRET,
        "--signature",
        "aes-cbc",
        "--user-id",
        "u-1001",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("FAIL checkUser (POST /user/checkUser): path: HTTP 404"),
        "{out}"
    );
}

#[test]
fn bad_keys_and_values_are_refused_with_exit_2_and_what_is_allowed() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["serve", "--users", USERS, "--secret-key", "short"],
            "16, 24 or 32",
        ),
        (
            &[
                "serve",
                "--users",
                USERS,
                "--secret-key",
                SECRET,
                "--paths",
                "2024",
            ],
            "2025-01-08, 2025-04-25, 2025-12-05",
        ),
        (
            &[
                "serve",
                "--users",
                "/nonexistent.json",
                "--secret-key",
                SECRET,
            ],
            "/nonexistent.json",
        ),
        (
            &[
                "serve",
                "--users",
                USERS,
                "--secret-key",
                SECRET,
                "--client-key",
                "c",
                "--platform-public-key",
                PRIVATE,
            ],
            "PUBLIC KEY",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

const OPENSERVER: &str = env!("CARGO_BIN_EXE_openserver");

/// An openserver config with this directory section, removed when dropped.
struct Config(std::path::PathBuf);

impl Config {
    fn with_directory(name: &str, directory: serde_json::Value) -> Config {
        let config = serde_json::json!({
            "apps": [{"appid": "wx-a", "secret": "an-app-secret-of-16+", "team": "t"}],
            "directory": directory,
        });
        let path =
            std::env::temp_dir().join(format!("superapp-bin-{}-{name}.json", std::process::id()));
        std::fs::write(&path, config.to_string()).unwrap();
        Config(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn openserver(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(OPENSERVER)
        .args(args)
        .env_remove("OPENSERVER_STORE")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn openserver_check_config_refuses_a_bad_directory_naming_what_is_wrong() {
    let cases = [
        (
            "short-key",
            serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": "short"}),
            "directory.secret_key: the secret key has 5 bytes: AES needs 16, 24 or 32",
        ),
        (
            "no-pem",
            serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": SECRET, "client_key": "c", "private_key": "/nonexistent/key.pem"}),
            "directory.private_key: cannot read the key file /nonexistent/key.pem",
        ),
        (
            "not-private",
            serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": SECRET, "client_key": "c", "private_key": PUBLIC}),
            "PRIVATE KEY",
        ),
        (
            "mode",
            serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": SECRET, "signature": "aes"}),
            "aes-ecb, aes-cbc",
        ),
    ];
    for (name, directory, expected) in cases {
        let config = Config::with_directory(name, directory);
        let (code, _, err) = openserver(&["--check-config", config.path()]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
    let good = Config::with_directory(
        "good",
        serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": SECRET, "client_key": "c", "private_key": PRIVATE}),
    );
    let (code, out, err) = openserver(&["--check-config", good.path()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("directory http://127.0.0.1:1") && !out.contains(SECRET),
        "{out}"
    );
}

#[test]
fn openserver_check_directory_passes_the_reference_server_and_fails_a_dead_one() {
    let (_server, url) = serve(&[]);
    let config = Config::with_directory(
        "check",
        serde_json::json!({"url": url, "secret_key": SECRET, "client_key": "platform-client", "private_key": PRIVATE}),
    );
    let (code, out, err) = openserver(&["--config", config.path(), "--check-directory", "u-1001"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ok   b2b2c (POST /access_token/b2b2c) unknown authCode"),
        "{out}"
    );
    let dead = Config::with_directory(
        "dead",
        serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": SECRET, "timeout_ms": 300}),
    );
    let (code, out, _) = openserver(&["--config", dead.path(), "--check-directory", "u-1001"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL checkUser (POST /user/checkUser): unreachable"),
        "{out}"
    );
}
