//! The reference server's users and its bounded, expiring code books.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use serde::Deserialize;

use crate::secret::{EmailAddress, PhoneNumber};

/// A user of the reference super-app server, as its users file lists them
/// (the same fields as the `openserver` config's `users`, plus the
/// password the host-facing `login` checks).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceUser {
    /// The user id (what the host's `app_uid` returns, and `userAccount`).
    pub id: String,
    /// The password `login` checks; a user without one cannot log in
    /// through the host-facing API (v2 still works).
    #[serde(default)]
    pub password: Option<String>,
    /// The phone number.
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    /// The email address.
    #[serde(default)]
    pub email: Option<EmailAddress>,
    /// The nickname.
    #[serde(default)]
    pub nickname: String,
    /// The avatar URL.
    #[serde(default)]
    pub avatar: String,
    /// Whether the user may log in (default true).
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

impl fmt::Debug for ReferenceUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceUser")
            .field("id", &self.id)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("phone", &self.phone)
            .field("email", &self.email)
            .field("nickname", &self.nickname)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// The users file: `{"users": [...]}`; other top-level keys (an
/// `openserver` config's `apps`, `id_secret`, …) are ignored, so one file
/// can serve both binaries.
#[derive(Debug, Deserialize)]
struct UsersFile {
    users: Vec<ReferenceUser>,
}

/// Why a users file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// Unreadable.
    #[error("cannot read the users file {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not the expected JSON.
    #[error(
        "the users file {path} is not {{\"users\": [{{\"id\", \"password\", \"phone\", \"email\", \"nickname\", \"avatar\", \"active\"}}]}}: {why}"
    )]
    Invalid {
        /// The file.
        path: String,
        /// What serde said (line and column).
        why: String,
    },
    /// An empty or repeated id.
    #[error("the users file {path}: users[{index}]: {why}")]
    BadUser {
        /// The file.
        path: String,
        /// The entry.
        index: usize,
        /// What is wrong.
        why: String,
    },
}

/// Reads a users file.
///
/// # Errors
///
/// [`UsersFileError`] naming the file and what is wrong.
pub fn load_users(path: &Path) -> Result<Vec<ReferenceUser>, UsersFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    parse_users(&text, &shown)
}

pub(crate) fn parse_users(text: &str, shown: &str) -> Result<Vec<ReferenceUser>, UsersFileError> {
    let file: UsersFile = serde_json::from_str(text).map_err(|e| UsersFileError::Invalid {
        path: shown.to_owned(),
        why: e.to_string(),
    })?;
    let mut seen = std::collections::HashSet::new();
    for (index, user) in file.users.iter().enumerate() {
        let why = if user.id.is_empty() {
            "id must not be empty"
        } else if !seen.insert(user.id.as_str()) {
            "the id is listed twice"
        } else {
            continue;
        };
        return Err(UsersFileError::BadUser {
            path: shown.to_owned(),
            index,
            why: why.to_owned(),
        });
    }
    Ok(file.users)
}

/// A book is full: `capacity` codes outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full(pub(crate) usize);

/// Codes (or tokens) mapped to what they stand for, each expiring, at most
/// `capacity` outstanding. Expired entries are dropped when the book is
/// full, before it refuses.
pub(crate) struct CodeBook<V> {
    entries: Mutex<HashMap<String, (V, u64)>>,
    capacity: usize,
}

impl<V: Clone> CodeBook<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        CodeBook {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// A fresh random code for `value`, valid until `expires_at` (ms).
    pub(crate) fn issue(&self, value: V, now: u64, expires_at: u64) -> Result<String, Full> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, expiry)| *expiry > now);
            if entries.len() >= self.capacity {
                return Err(Full(self.capacity));
            }
        }
        let code = crate::digest::random_hex::<16>();
        entries.insert(code.clone(), (value, expires_at));
        Ok(code)
    }

    /// Removes and returns a live code's value: single use.
    pub(crate) fn take(&self, code: &str, now: u64) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .remove(code)
            .and_then(|(value, expiry)| (expiry > now).then_some(value))
    }

    /// A live code's value, leaving it in place (login tokens).
    pub(crate) fn get(&self, code: &str, now: u64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(code)
            .and_then(|(value, expiry)| (*expiry > now).then(|| value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_single_use_expire_and_are_bounded() {
        let book = CodeBook::new(2);
        let a = book.issue("a", 0, 100).unwrap();
        assert_eq!(book.take(&a, 50), Some("a"));
        assert_eq!(book.take(&a, 50), None);
        let b = book.issue("b", 0, 100).unwrap();
        let _c = book.issue("c", 0, 100).unwrap();
        assert_eq!(book.issue("d", 50, 200), Err(Full(2)));
        // Past the expiry the full book makes room.
        assert!(book.issue("d", 100, 200).is_ok());
        assert_eq!(book.get(&b, 150), None);
    }

    #[test]
    fn a_users_file_with_a_repeated_id_is_refused_naming_the_entry() {
        let text = r#"{"users": [{"id": "u-1"}, {"id": "u-1"}]}"#;
        let err = parse_users(text, "users.json").unwrap_err().to_string();
        assert!(
            err.contains("users.json") && err.contains("users[1]"),
            "{err}"
        );
        let users = parse_users(
            r#"{"apps": [], "users": [{"id": "u-2", "password": "pw"}]}"#,
            "f",
        )
        .unwrap();
        assert!(users[0].active && !format!("{users:?}").contains("pw"));
    }
}
