//! The consent states and the store seam a host may implement.

use async_trait::async_trait;

use super::{ConsentError, ScopeName};

/// The user's answer for one (host user, mini program, scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ConsentState {
    /// Never asked, or cleared: the next guarded call prompts.
    NotAsked,
    /// Allowed: guarded calls go on without a prompt.
    Granted,
    /// Refused: guarded calls fail with `auth deny` without a prompt.
    Denied,
}

impl ConsentState {
    /// `getSetting`'s `authSetting` value: `Some(true)` granted,
    /// `Some(false)` denied, `None` (absent from the object) not asked.
    pub const fn as_auth_setting(self) -> Option<bool> {
        match self {
            ConsentState::NotAsked => None,
            ConsentState::Granted => Some(true),
            ConsentState::Denied => Some(false),
        }
    }

    /// The state an `authSetting` value (or a stored granted flag) stands
    /// for: the inverse of [`as_auth_setting`](ConsentState::as_auth_setting).
    pub const fn from_auth_setting(granted: Option<bool>) -> ConsentState {
        match granted {
            None => ConsentState::NotAsked,
            Some(true) => ConsentState::Granted,
            Some(false) => ConsentState::Denied,
        }
    }
}

/// What the host's consent prompt answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PromptAnswer {
    /// The user allowed: stored as [`ConsentState::Granted`].
    Allow,
    /// The user refused: stored as [`ConsentState::Denied`].
    Deny,
    /// The user dismissed the prompt: nothing stored, the call fails as
    /// `cancel`, and the next call prompts again.
    Cancel,
}

wire_names!(
    /// The three answers, in the order a prompt offers them.
    PromptAnswer {
        Allow => "allow",
        Deny => "deny",
        Cancel => "cancel",
    }
);

/// The most scopes one store keeps for one (host user, mini program).
/// WeChat documents 14 scopes; the rest is room for the host's own. Past
/// it, a set of a new scope fails with [`ConsentError::TooManyScopes`].
pub const MAX_SCOPES_PER_APP: usize = 64;

/// The longest user id or app id a store accepts, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Checks a (user id, app id) pair against what every store accepts: a
/// user id of at most [`MAX_ID_LEN`] bytes (the empty id is the anonymous
/// user, for a host that has none), a non-empty app id of at most
/// [`MAX_ID_LEN`] bytes. A host's own store may call it too.
///
/// # Errors
///
/// [`ConsentError::InvalidId`] naming the id and the limit.
pub fn check_ids(user: &str, app: &str) -> Result<(), ConsentError> {
    if user.len() > MAX_ID_LEN {
        return Err(ConsentError::InvalidId {
            what: "user id",
            reason: format!("at most {MAX_ID_LEN} bytes, found {}", user.len()),
        });
    }
    if app.is_empty() {
        return Err(ConsentError::InvalidId {
            what: "app id",
            reason: "must not be empty".to_owned(),
        });
    }
    if app.len() > MAX_ID_LEN {
        return Err(ConsentError::InvalidId {
            what: "app id",
            reason: format!("at most {MAX_ID_LEN} bytes, found {}", app.len()),
        });
    }
    Ok(())
}

/// Where consent lives, keyed by (host user id, mini-program app id,
/// scope). Object safe: used as `Arc<dyn ConsentStore>`.
///
/// Every operation is atomic on its own. A store keeps at most
/// [`MAX_SCOPES_PER_APP`] scopes per (user, app) and may have limits of
/// its own; it never forgets an answer to make room.
///
/// A host implements it over its own storage (and, through the bindings,
/// from Kotlin, Swift or Python). [`check`](super::ConsentGate::check)
/// calls [`get`](ConsentStore::get) once on every guarded call, so `get`
/// should be a single lookup.
#[async_trait]
pub trait ConsentStore: Send + Sync + std::fmt::Debug + 'static {
    /// One scope's state; [`ConsentState::NotAsked`] when nothing is stored.
    ///
    /// # Errors
    ///
    /// An invalid id ([`check_ids`]) or the storage failing.
    async fn get(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Result<ConsentState, ConsentError>;

    /// [`get`](ConsentStore::get) without waiting, for a store that never
    /// waits (in memory): `Some` answer, and `check` skips the future's
    /// allocation on the guarded call's path. The default answers `None`:
    /// `check` then awaits `get`.
    fn get_now(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Option<Result<ConsentState, ConsentError>> {
        let _ = (user, app, scope);
        None
    }

    /// Stores one scope's state; [`ConsentState::NotAsked`] removes it.
    ///
    /// # Errors
    ///
    /// [`ConsentError::TooManyScopes`] (or a store's own limit) when a new
    /// scope does not fit; an invalid id; the storage failing.
    async fn set(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), ConsentError>;

    /// The scopes the mini program has asked for and their answers (never
    /// [`ConsentState::NotAsked`]), sorted by scope name.
    ///
    /// # Errors
    ///
    /// An invalid id or the storage failing.
    async fn list(
        &self,
        user: &str,
        app: &str,
    ) -> Result<Vec<(ScopeName, ConsentState)>, ConsentError>;

    /// Forgets every answer of the mini program for the user (the user
    /// deleted it); returns how many were removed.
    ///
    /// # Errors
    ///
    /// An invalid id or the storage failing.
    async fn clear(&self, user: &str, app: &str) -> Result<usize, ConsentError>;
}
