//! The SQLite consent store: the same rules and contract as in memory,
//! answers that survive a restart and a SIGKILL mid-write, and clear
//! errors (never a panic, never a reset) for a file that is not a consent
//! database.
#![cfg(feature = "sqlite")]

#[path = "support/consent_rules.rs"]
mod rules;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use rules::scope;
use superapp_openapi::consent::{
    ConsentError, ConsentGate, ConsentState, ConsentStore, PromptAnswer, SQLITE_SCHEMA_VERSION,
    SqliteConsentStore,
};

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "consent-sqlite-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("consent.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open_error(path: &Path) -> (PathBuf, String) {
    match SqliteConsentStore::open(path).await.unwrap_err() {
        ConsentError::Database { path, problem } => (path, problem),
        other => panic!("expected a database error, found {other}"),
    }
}

#[tokio::test]
async fn each_state_and_answer_gives_the_documented_outcome_on_sqlite() {
    let dir = TempDir::new("rules");
    rules::rules_hold(Arc::new(SqliteConsentStore::open(dir.db()).await.unwrap())).await;
}

#[tokio::test]
async fn the_sqlite_store_keeps_the_store_contract() {
    let dir = TempDir::new("contract");
    rules::store_contract_holds(Arc::new(SqliteConsentStore::open(dir.db()).await.unwrap())).await;
}

#[tokio::test]
async fn one_mini_program_holds_at_most_64_scopes_per_user_on_sqlite() {
    let dir = TempDir::new("cap");
    rules::per_app_cap_holds(Arc::new(SqliteConsentStore::open(dir.db()).await.unwrap())).await;
}

#[tokio::test]
async fn consent_survives_a_restart_of_the_host() {
    let dir = TempDir::new("restart");
    let (camera, record) = (scope("scope.camera"), scope("scope.record"));
    {
        let gate = ConsentGate::new(SqliteConsentStore::open(dir.db()).await.unwrap());
        gate.check("u", "wx", &camera, |_| async { PromptAnswer::Allow })
            .await
            .unwrap();
        gate.check("u", "wx", &record, |_| async { PromptAnswer::Deny })
            .await
            .unwrap_err();
    }
    let gate = ConsentGate::new(SqliteConsentStore::open(dir.db()).await.unwrap());
    gate.check("u", "wx", &camera, |_| async {
        panic!("granted before the restart")
    })
    .await
    .unwrap();
    let denied = gate
        .check("u", "wx", &record, |_| async {
            panic!("denied before the restart")
        })
        .await;
    assert_eq!(
        denied,
        Err(ConsentError::Denied {
            scope: "scope.record".into()
        })
    );
    assert_eq!(
        gate.list("u", "wx").await.unwrap(),
        vec![
            (camera, ConsentState::Granted),
            (record, ConsentState::Denied)
        ]
    );
}

/// The marker the kill test's child process looks for.
const CHILD_DB: &str = "CONSENT_SQLITE_KILL_CHILD_DB";

/// In the child only: writes consent rows in a loop, printing `ack N`
/// after each write returns. Does nothing in a normal test run.
#[test]
fn kill_child_writes_until_killed() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteConsentStore::open(PathBuf::from(path)).await.unwrap();
        let mut stdout = std::io::stdout().lock();
        // libtest's "test … " has no newline yet: start the acks on a line of their own.
        writeln!(stdout).unwrap();
        for n in 0u64.. {
            let state = if n % 2 == 0 {
                ConsentState::Granted
            } else {
                ConsentState::Denied
            };
            store
                .set(
                    "killed",
                    &format!("wx-{n}"),
                    &scope("scope.userInfo"),
                    state,
                )
                .await
                .unwrap();
            writeln!(stdout, "ack {n}").unwrap();
            stdout.flush().unwrap();
        }
    });
}

/// How long the kill test waits for its child's acknowledgements: far
/// more than 200 fsynced writes take, even on a loaded machine.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Kills and reaps the child when dropped (killing one already reaped is
/// a harmless error).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill_mid_write() {
    const ACKS: u64 = 200;
    let dir = TempDir::new("kill");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_writes_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, dir.db())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The watchdog: the child is killed and reaped on every path out of
    // this test, a failed assertion or a timeout included.
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    // Lines are read on a thread of their own, so the wait for them is
    // bounded (a child that hangs or dies early fails the test, not CI).
    let (lines, acks) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    let mut acked = Vec::new();
    while (acked.len() as u64) < ACKS {
        let left = deadline.saturating_duration_since(Instant::now());
        match acks.recv_timeout(left) {
            Ok(line) => {
                if let Some(n) = line.unwrap().strip_prefix("ack ") {
                    acked.push(n.parse::<u64>().unwrap());
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "watchdog: the child acknowledged {} of {ACKS} writes in {WATCHDOG:?}",
                acked.len()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "the child stopped after {} of {ACKS} acknowledgements",
                acked.len()
            ),
        }
    }
    // SIGKILL while the child keeps writing: no chance to close anything.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert_eq!(
        acked,
        (0..ACKS).collect::<Vec<_>>(),
        "the child acknowledged in order"
    );

    // Reopening runs quick_check: an intact database, every ack in it.
    let store = SqliteConsentStore::open(dir.db()).await.unwrap();
    for n in acked {
        let state = if n % 2 == 0 {
            ConsentState::Granted
        } else {
            ConsentState::Denied
        };
        assert_eq!(
            store
                .get("killed", &format!("wx-{n}"), &scope("scope.userInfo"))
                .await
                .unwrap(),
            state,
            "acknowledged write {n}"
        );
    }
    store
        .set("after", "wx", &scope("scope.camera"), ConsentState::Granted)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_file_of_garbage_is_a_clear_error_and_is_left_as_it_was() {
    let dir = TempDir::new("garbage");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.db(), &garbage).unwrap();
    let (path, problem) = open_error(&dir.db()).await;
    assert_eq!(path, dir.db());
    assert!(problem.contains("not a SQLite database"), "{problem}");
    let message = SqliteConsentStore::open(dir.db())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(&dir.db().display().to_string()),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.db()).unwrap(),
        garbage,
        "never a silent reset"
    );
}

#[tokio::test]
async fn a_database_with_corrupt_pages_is_a_clear_error() {
    let dir = TempDir::new("corrupt");
    {
        let store = SqliteConsentStore::open(dir.db()).await.unwrap();
        for n in 0..50 {
            store
                .set(
                    "u",
                    &format!("wx-{n}"),
                    &scope("scope.camera"),
                    ConsentState::Granted,
                )
                .await
                .unwrap();
        }
    }
    // Fold the WAL in with a plain connection, then overwrite every page
    // after the first (the header stays valid) with noise.
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let mut bytes = std::fs::read(dir.db()).unwrap();
    assert!(bytes.len() > 4096, "more than one page");
    for (n, byte) in bytes.iter_mut().enumerate().skip(4096) {
        *byte = (n % 251) as u8;
    }
    std::fs::write(dir.db(), &bytes).unwrap();
    let (_, problem) = open_error(&dir.db()).await;
    assert!(problem.contains("corrupt"), "{problem}");
}

#[tokio::test]
async fn a_directory_is_a_clear_error() {
    let dir = TempDir::new("directory");
    let (path, problem) = open_error(&dir.0).await;
    assert_eq!(path, dir.0);
    assert_eq!(problem, "is a directory, expected a SQLite database file");
}

#[tokio::test]
async fn a_missing_parent_directory_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-dir").join("consent.db");
    let (named, problem) = open_error(&path).await;
    assert_eq!(named, path);
    assert!(problem.starts_with("cannot open the file"), "{problem}");
}

#[tokio::test]
async fn a_newer_schema_version_is_refused_not_rewritten() {
    let dir = TempDir::new("newer");
    drop(SqliteConsentStore::open(dir.db()).await.unwrap());
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION + 1)
            .unwrap();
    }
    let (_, problem) = open_error(&dir.db()).await;
    assert!(
        problem.starts_with("schema version 2 is newer than this build understands (1)"),
        "{problem}"
    );
}

#[tokio::test]
async fn another_applications_database_is_refused() {
    let dir = TempDir::new("foreign");
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
            .unwrap();
    }
    let (_, problem) = open_error(&dir.db()).await;
    assert!(problem.contains("not a consent database"), "{problem}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_file_this_process_may_not_write_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("readonly");
    drop(SqliteConsentStore::open(dir.db()).await.unwrap());
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root writes anyway: then there is nothing to refuse.
    let writable = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.db())
        .is_ok();
    let opened = SqliteConsentStore::open(dir.db()).await;
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    if writable {
        return;
    }
    match opened.unwrap_err() {
        ConsentError::Database { path, problem } => {
            assert_eq!(path, dir.db());
            assert!(
                problem.contains("read-only") || problem.contains("cannot open"),
                "{problem}"
            );
        }
        other => panic!("expected a database error, found {other}"),
    }
}

#[test]
fn the_store_works_without_a_tokio_runtime_running() {
    let dir = TempDir::new("no-runtime");
    // A host on another executor: the blocking work runs in place.
    let store = futures_lite_block_on(SqliteConsentStore::open(dir.db())).unwrap();
    futures_lite_block_on(store.set("u", "wx", &scope("scope.camera"), ConsentState::Granted))
        .unwrap();
    let got = futures_lite_block_on(store.get("u", "wx", &scope("scope.camera"))).unwrap();
    assert_eq!(got, ConsentState::Granted);
}

/// A minimal executor that is not tokio's: polls with a no-op waker (every
/// future here is ready on its first poll).
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A store that waits (SQLite) keeps `get_now`'s default: `check_now`
/// answers nothing at once, and `check` reads the stored answer itself.
#[tokio::test]
async fn a_store_that_waits_leaves_check_now_to_check() {
    let dir = TempDir::new("check-now");
    let store = SqliteConsentStore::open(dir.db()).await.unwrap();
    let camera = scope("scope.camera");
    store
        .set("u", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap();
    assert_eq!(store.get_now("u", "wx", &camera), None);
    let gate = ConsentGate::new(store);
    assert_eq!(gate.check_now("u", "wx", &camera), None);
    let checked = gate
        .check("u", "wx", &camera, |_| async {
            panic!("granted: no prompt")
        })
        .await;
    assert_eq!(checked, Ok(()));
}
