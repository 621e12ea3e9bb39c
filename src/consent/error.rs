//! What can go wrong with consent: one error type for the stores and the
//! gate, so the dispatcher maps each variant to an errno in one place.

use std::path::PathBuf;

/// Why a text is not a valid scope name ([`ScopeName`](super::ScopeName)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeNameError {
    /// The name is empty.
    #[error("a scope name must not be empty")]
    Empty,
    /// The name is longer than [`ScopeName::MAX_LEN`](super::ScopeName::MAX_LEN) bytes.
    #[error("a scope name is at most {max} bytes, found {len}")]
    TooLong {
        /// The name's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name does not start with an ASCII letter.
    #[error("a scope name must start with an ASCII letter (as in scope.userInfo), found {found:?}")]
    BadStart {
        /// The first character.
        found: char,
    },
    /// The name holds a character outside the allowed set.
    #[error(
        "a scope name may hold only ASCII letters, digits, '.', '_' and '-', found {found:?} at byte {at}"
    )]
    BadChar {
        /// The offending character.
        found: char,
        /// Its byte offset.
        at: usize,
    },
}

/// A consent operation that failed.
///
/// `Clone`, because the one answer of a shared prompt reaches every call
/// that waited on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// The scope name is not valid.
    #[error("invalid scope name: {0}")]
    InvalidScopeName(#[from] ScopeNameError),
    /// A user id or app id is empty or too long.
    #[error("invalid {what}: {reason}")]
    InvalidId {
        /// `"user id"` or `"app id"`.
        what: &'static str,
        /// What was wrong and what is allowed.
        reason: String,
    },
    /// The user denied the scope (now, or earlier: then without a prompt).
    /// The wire form is `auth deny`.
    #[error("auth deny: {scope} was denied by the user")]
    Denied {
        /// The scope.
        scope: String,
    },
    /// The user dismissed the prompt without answering; nothing was stored.
    #[error("cancel")]
    Cancelled {
        /// The scope.
        scope: String,
    },
    /// The call that was showing the prompt went away (dropped, cancelled
    /// or panicked) before the prompt answered; nothing was stored and a
    /// later call prompts again.
    #[error("the consent prompt for {scope} was abandoned before it answered")]
    PromptAbandoned {
        /// The scope.
        scope: String,
    },
    /// More prompts are waiting for an answer than the gate allows.
    #[error("too many consent prompts pending (at most {limit})")]
    TooManyPrompts {
        /// The limit ([`ConsentGate::with_max_pending_prompts`](super::ConsentGate::with_max_pending_prompts)).
        limit: usize,
    },
    /// One (user, mini program) already has the most scopes a store keeps.
    #[error(
        "mini program {app} already holds {limit} consent entries for this user, the most a store keeps"
    )]
    TooManyScopes {
        /// The mini program.
        app: String,
        /// The limit ([`MAX_SCOPES_PER_APP`](super::MAX_SCOPES_PER_APP)).
        limit: usize,
    },
    /// The in-memory store holds its most entries.
    #[error("the consent store is full ({limit} entries)")]
    StoreFull {
        /// The limit ([`MemoryConsentStore::with_max_entries`](super::MemoryConsentStore::with_max_entries)).
        limit: usize,
    },
    /// A database could not be opened, read or written. Never a silent
    /// reset: the file is left as it was for the host to look at.
    #[error("consent database {}: {problem}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What went wrong, in words.
        problem: String,
    },
    /// A host's own store failed (the message is the host's).
    #[error("consent store error: {0}")]
    Storage(String),
}
