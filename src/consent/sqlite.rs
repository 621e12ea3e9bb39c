//! The durable consent store on SQLite (feature `sqlite`).
//!
//! One table, WAL with `synchronous = FULL` (a consent answer is written
//! rarely and must survive a kill and a power cut once acknowledged), and
//! a `user_version` so a newer schema is refused, never rewritten. A file
//! that is not our database is an error naming the path and the problem;
//! nothing here deletes or recreates a file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{ConsentError, ConsentState, ConsentStore, MAX_SCOPES_PER_APP, ScopeName, check_ids};

/// The schema this build writes, kept in the database's `user_version`.
/// A database with a higher one is refused ([`ConsentError::Database`]).
pub const SQLITE_SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE consent (
    user_id TEXT NOT NULL,
    app_id  TEXT NOT NULL,
    scope   TEXT NOT NULL,
    granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
    PRIMARY KEY (user_id, app_id, scope)
) WITHOUT ROWID;
PRAGMA user_version = 1;
";

/// Another connection (another process) writing: wait this long, then fail.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Consent in a SQLite file: survives a restart of the host process and a
/// kill mid-write. Cheap to clone; clones share one connection.
///
/// Blocking SQLite work runs on tokio's blocking pool
/// (`spawn_blocking`), off the async workers. Bounded like every store:
/// [`MAX_SCOPES_PER_APP`] per (user, app).
///
/// ```no_run
/// use superapp_openapi::consent::{ConsentGate, SqliteConsentStore};
/// # async fn run() -> Result<(), superapp_openapi::consent::ConsentError> {
/// let store = SqliteConsentStore::open("/var/lib/my-super-app/consent.db").await?;
/// let gate = ConsentGate::new(store);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteConsentStore {
    path: Arc<PathBuf>,
    // rusqlite's Connection is Send, not Sync: one at a time.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteConsentStore {
    /// Opens the database at `path`, creating it (and its schema) when the
    /// file does not exist.
    ///
    /// # Errors
    ///
    /// [`ConsentError::Database`] naming the path and the problem: a
    /// directory, a file that is not a SQLite database or is corrupt, a
    /// file this process may not read or write, a database of another
    /// application, or a newer schema version.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, ConsentError> {
        let path = path.into();
        let opened = path.clone();
        let conn = off_runtime(&path, move || open_connection(&opened)).await?;
        Ok(Self {
            path: Arc::new(path),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T, F>(&self, work: F) -> Result<T, ConsentError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<T, ConsentError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let path = Arc::clone(&self.path);
        off_runtime(&self.path.clone(), move || {
            // A panic inside rusqlite would leave the connection as SQLite
            // left it: its transaction is rolled back when the next one begins.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn, &path)
        })
        .await
    }
}

/// Runs blocking work on tokio's blocking pool, or in place when no tokio
/// runtime is running (a host on another executor): never a panic.
async fn off_runtime<T, F>(path: &Path, work: F) -> Result<T, ConsentError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ConsentError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime
                .spawn_blocking(work)
                .await
                .map_err(|join| ConsentError::Database {
                    path: path.to_owned(),
                    problem: format!("the blocking task failed: {join}"),
                })?
        }
        Err(_) => work(),
    }
}

fn open_connection(path: &Path) -> Result<Connection, ConsentError> {
    let fail = |problem: String| ConsentError::Database {
        path: path.to_owned(),
        problem,
    };
    if path.is_dir() {
        return Err(fail(
            "is a directory, expected a SQLite database file".to_owned(),
        ));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| db_error(path, &e))?;
    let sql = |e: rusqlite::Error| db_error(path, &e);
    // SQLite falls back to read-only when it may not write the file; a
    // consent store that cannot store answers must say so now.
    if conn.is_readonly("main").map_err(sql)? {
        return Err(fail(
            "opened read-only: this process may not write the file (check its permissions)"
                .to_owned(),
        ));
    }
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // The first statement reads the header: garbage fails here.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail(format!(
            "could not switch to WAL (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql)?;
    match version {
        0 => create_schema(&conn, path)?,
        SQLITE_SCHEMA_VERSION => {
            let verdict: String = conn
                .pragma_query_value(None, "quick_check", |row| row.get(0))
                .map_err(sql)?;
            if verdict != "ok" {
                return Err(fail(format!(
                    "the database is corrupt (quick_check: {verdict})"
                )));
            }
        }
        newer if newer > SQLITE_SCHEMA_VERSION => {
            return Err(fail(format!(
                "schema version {newer} is newer than this build understands ({SQLITE_SCHEMA_VERSION}); \
                 open it with the build that wrote it"
            )));
        }
        other => return Err(fail(format!("unknown schema version {other}"))),
    }
    Ok(conn)
}

fn create_schema(conn: &Connection, path: &Path) -> Result<(), ConsentError> {
    let sql = |e: rusqlite::Error| db_error(path, &e);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if tables > 0 {
        return Err(ConsentError::Database {
            path: path.to_owned(),
            problem: format!(
                "holds {tables} table(s) but no consent schema (user_version 0): not a consent database"
            ),
        });
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
        .map_err(sql)
}

/// A rusqlite error in words a host can act on, naming the file.
fn db_error(path: &Path, error: &rusqlite::Error) -> ConsentError {
    let problem = match error {
        rusqlite::Error::SqliteFailure(failure, detail) => {
            let what = match failure.code {
                ErrorCode::NotADatabase => "not a SQLite database (or its header is corrupt)",
                ErrorCode::DatabaseCorrupt => "the database is corrupt",
                ErrorCode::CannotOpen => {
                    "cannot open the file (does its directory exist, and may this process read and write it?)"
                }
                ErrorCode::PermissionDenied => "permission denied",
                ErrorCode::ReadOnly => "the database is read-only",
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    "the database stayed locked by another connection"
                }
                ErrorCode::DiskFull => "the disk is full",
                ErrorCode::SystemIoFailure => "an I/O error",
                _ => "SQLite failed",
            };
            match detail {
                Some(detail) => format!("{what} ({detail})"),
                None => format!("{what} ({failure})"),
            }
        }
        other => other.to_string(),
    };
    ConsentError::Database {
        path: path.to_owned(),
        problem,
    }
}

fn state_of(granted: bool) -> ConsentState {
    if granted {
        ConsentState::Granted
    } else {
        ConsentState::Denied
    }
}

#[async_trait]
impl ConsentStore for SqliteConsentStore {
    async fn get(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Result<ConsentState, ConsentError> {
        check_ids(user, app)?;
        let key = (user.to_owned(), app.to_owned(), scope.clone());
        self.run(move |conn, path| {
            conn.query_row(
                "SELECT granted FROM consent WHERE user_id = ?1 AND app_id = ?2 AND scope = ?3",
                (&key.0, &key.1, key.2.as_str()),
                |row| row.get::<_, bool>(0),
            )
            .optional()
            .map(|answer| answer.map_or(ConsentState::NotAsked, state_of))
            .map_err(|e| db_error(path, &e))
        })
        .await
    }

    async fn set(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), ConsentError> {
        check_ids(user, app)?;
        let key = (user.to_owned(), app.to_owned(), scope.clone());
        self.run(move |conn, path| {
            let sql = |e: rusqlite::Error| db_error(path, &e);
            let (user, app, scope) = (&key.0, &key.1, key.2.as_str());
            let granted = match state {
                ConsentState::NotAsked => {
                    conn.execute(
                        "DELETE FROM consent WHERE user_id = ?1 AND app_id = ?2 AND scope = ?3",
                        (user, app, scope),
                    )
                    .map_err(sql)?;
                    return Ok(());
                }
                ConsentState::Granted => true,
                ConsentState::Denied => false,
            };
            // IMMEDIATE: the count and the insert see the same rows, even
            // with another process writing the file.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            let updated = tx
                .execute(
                    "UPDATE consent SET granted = ?4 WHERE user_id = ?1 AND app_id = ?2 AND scope = ?3",
                    (user, app, scope, granted),
                )
                .map_err(sql)?;
            if updated == 0 {
                let held: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM consent WHERE user_id = ?1 AND app_id = ?2",
                        (user, app),
                        |row| row.get(0),
                    )
                    .map_err(sql)?;
                if usize::try_from(held).unwrap_or(usize::MAX) >= MAX_SCOPES_PER_APP {
                    return Err(ConsentError::TooManyScopes {
                        app: app.clone(),
                        limit: MAX_SCOPES_PER_APP,
                    });
                }
                tx.execute(
                    "INSERT INTO consent (user_id, app_id, scope, granted) VALUES (?1, ?2, ?3, ?4)",
                    (user, app, scope, granted),
                )
                .map_err(sql)?;
            }
            tx.commit().map_err(sql)
        })
        .await
    }

    async fn list(
        &self,
        user: &str,
        app: &str,
    ) -> Result<Vec<(ScopeName, ConsentState)>, ConsentError> {
        check_ids(user, app)?;
        let key = (user.to_owned(), app.to_owned());
        self.run(move |conn, path| {
            let sql = |e: rusqlite::Error| db_error(path, &e);
            let mut statement = conn
                .prepare(
                    "SELECT scope, granted FROM consent WHERE user_id = ?1 AND app_id = ?2 ORDER BY scope",
                )
                .map_err(sql)?;
            let rows = statement
                .query_map((&key.0, &key.1), |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))
                .map_err(sql)?;
            let mut states = Vec::new();
            for row in rows {
                let (scope, granted) = row.map_err(sql)?;
                let scope = ScopeName::new(scope).map_err(|e| ConsentError::Database {
                    path: path.to_owned(),
                    problem: format!("holds an invalid scope name: {e}"),
                })?;
                states.push((scope, state_of(granted)));
            }
            Ok(states)
        })
        .await
    }

    async fn clear(&self, user: &str, app: &str) -> Result<usize, ConsentError> {
        check_ids(user, app)?;
        let key = (user.to_owned(), app.to_owned());
        self.run(move |conn, path| {
            conn.execute(
                "DELETE FROM consent WHERE user_id = ?1 AND app_id = ?2",
                (&key.0, &key.1),
            )
            .map_err(|e| db_error(path, &e))
        })
        .await
    }
}
