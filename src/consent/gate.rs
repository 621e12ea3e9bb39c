//! The consent rule and the one-prompt-at-a-time map.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{
    ConsentError, ConsentState, ConsentStore, PromptAnswer, ScopeInfo, ScopeName, ScopeTable,
};

/// The most prompts a gate lets wait for an answer at once, unless told
/// otherwise ([`ConsentGate::with_max_pending_prompts`]).
pub const DEFAULT_MAX_PENDING_PROMPTS: usize = 1024;

/// What the host's prompt is asked: the mini program, the scope, and what
/// to show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// The host user the answer is stored for ("" is the anonymous user).
    pub user: String,
    /// The mini program asking.
    pub app: String,
    /// The scope it asks for.
    pub scope: ScopeName,
    /// The title and description to show ([`ScopeTable::describe`]).
    pub info: ScopeInfo,
}

type Key = (String, String, ScopeName);
/// `None` until the prompt settles; the sender dropped without a value
/// means the prompting call went away.
type Outcome = Option<Result<(), ConsentError>>;
type Pending = Arc<Mutex<HashMap<Key, watch::Receiver<Outcome>, foldhash::fast::RandomState>>>;

/// Applies the consent rule over a [`ConsentStore`]:
///
/// | stored state | what `check` does |
/// |---|---|
/// | not asked | shows the prompt once; Allow stores granted and goes on, Deny stores denied and fails `auth deny`, Cancel stores nothing and fails `cancel` |
/// | granted | goes on, no prompt: one store lookup |
/// | denied | fails `auth deny`, no prompt |
///
/// Concurrent checks of the same unanswered (user, app, scope) share one
/// prompt and all get its answer. Cheap to clone; clones share the store
/// and the pending prompts.
#[derive(Debug, Clone)]
pub struct ConsentGate {
    store: Arc<dyn ConsentStore>,
    scopes: Arc<ScopeTable>,
    pending: Pending,
    max_pending: usize,
}

impl ConsentGate {
    /// A gate over `store`, with the built-in scope table.
    pub fn new(store: impl ConsentStore) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A gate over a shared store (the host keeps a handle too).
    pub fn from_arc(store: Arc<dyn ConsentStore>) -> Self {
        Self {
            store,
            scopes: Arc::new(ScopeTable::builtin()),
            pending: Pending::default(),
            max_pending: DEFAULT_MAX_PENDING_PROMPTS,
        }
    }

    /// Uses `scopes` for the prompt's titles and descriptions.
    #[must_use]
    pub fn with_scopes(mut self, scopes: ScopeTable) -> Self {
        self.scopes = Arc::new(scopes);
        self
    }

    /// At most `limit` prompts wait for an answer at once; past it a check
    /// that would prompt fails with [`ConsentError::TooManyPrompts`].
    #[must_use]
    pub fn with_max_pending_prompts(mut self, limit: usize) -> Self {
        self.max_pending = limit;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ConsentStore> {
        &self.store
    }

    /// The scope table.
    pub fn scopes(&self) -> &ScopeTable {
        &self.scopes
    }

    /// How many prompts are waiting for an answer.
    pub fn pending_prompts(&self) -> usize {
        self.lock_pending().len()
    }

    /// Applies the rule to `scope` for (`user`, `app`): `Ok(())` means the
    /// guarded call may go on. `prompt` runs only when the scope is not
    /// asked yet and no other check is already prompting for it.
    ///
    /// If the check that is prompting is dropped (or its prompt panics)
    /// before the prompt answers, nothing is stored and the checks that
    /// waited on it fail with [`ConsentError::PromptAbandoned`]; the next
    /// check prompts again.
    ///
    /// # Errors
    ///
    /// [`ConsentError::Denied`], [`ConsentError::Cancelled`],
    /// [`ConsentError::PromptAbandoned`], [`ConsentError::TooManyPrompts`],
    /// an invalid id, or the store's error.
    pub async fn check<F, Fut>(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        prompt: F,
    ) -> Result<(), ConsentError>
    where
        F: FnOnce(ConsentPrompt) -> Fut,
        Fut: Future<Output = PromptAnswer>,
    {
        // The hot path: one lookup, nothing allocated by the gate (nor by
        // a store that answers at once).
        let state = match self.store.get_now(user, app, scope) {
            Some(state) => state?,
            None => self.store.get(user, app, scope).await?,
        };
        if let Some(settled) = settled(state, scope) {
            return settled;
        }
        let key: Key = (user.to_owned(), app.to_owned(), scope.clone());
        let leader = {
            let mut pending = self.lock_pending();
            match pending.get(&key) {
                Some(answer) => Err(answer.clone()),
                None if pending.len() >= self.max_pending => {
                    return Err(ConsentError::TooManyPrompts {
                        limit: self.max_pending,
                    });
                }
                None => {
                    let (sender, receiver) = watch::channel(None);
                    pending.insert(key.clone(), receiver);
                    Ok(Leader {
                        pending: Arc::clone(&self.pending),
                        key,
                        sender,
                    })
                }
            }
        };
        match leader {
            Ok(leader) => leader.prompt(self, prompt).await,
            Err(mut answer) => match answer.wait_for(Option::is_some).await {
                Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
                Err(_) => Err(ConsentError::PromptAbandoned {
                    scope: scope.to_string(),
                }),
            },
        }
    }

    /// The rule without waiting, where it needs no prompt and the store
    /// answers at once ([`ConsentStore::get_now`]): `Some(Ok(()))`
    /// granted, `Some(Err(…))` denied (or an invalid id, or the store's
    /// error); `None` when [`check`](ConsentGate::check) must run (not
    /// asked yet, or a store that waits).
    pub fn check_now(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Option<Result<(), ConsentError>> {
        match self.store.get_now(user, app, scope)? {
            Ok(state) => settled(state, scope),
            Err(err) => Some(Err(err)),
        }
    }

    /// The mini program's answers for the user: only the scopes it has
    /// asked for (`getSetting`'s `authSetting`), sorted by scope.
    ///
    /// # Errors
    ///
    /// An invalid id or the store's error.
    pub async fn list(
        &self,
        user: &str,
        app: &str,
    ) -> Result<Vec<(ScopeName, ConsentState)>, ConsentError> {
        self.store.list(user, app).await
    }

    /// Sets one answer (the host's settings view; `NotAsked` forgets it).
    ///
    /// # Errors
    ///
    /// A bound, an invalid id, or the store's error.
    pub async fn set(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), ConsentError> {
        self.store.set(user, app, scope, state).await
    }

    /// Forgets every answer of the mini program for the user (the user
    /// deleted it); returns how many were removed.
    ///
    /// # Errors
    ///
    /// An invalid id or the store's error.
    pub async fn clear(&self, user: &str, app: &str) -> Result<usize, ConsentError> {
        self.store.clear(user, app).await
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<Key, watch::Receiver<Outcome>, foldhash::fast::RandomState>,
    > {
        // Nothing panics while holding it, so a poisoned map is consistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a stored state decides: `None` while it is not asked yet.
fn settled(state: ConsentState, scope: &ScopeName) -> Option<Result<(), ConsentError>> {
    match state {
        ConsentState::Granted => Some(Ok(())),
        ConsentState::Denied => Some(Err(denied(scope))),
        ConsentState::NotAsked => None,
    }
}

fn denied(scope: &ScopeName) -> ConsentError {
    ConsentError::Denied {
        scope: scope.to_string(),
    }
}

/// The check that shows the prompt. Dropping it — at the end of
/// [`Leader::prompt`], or because the check was cancelled or panicked —
/// removes the pending entry; the sender goes with it, so waiters never hang.
struct Leader {
    pending: Pending,
    key: Key,
    sender: watch::Sender<Outcome>,
}

impl Leader {
    /// Shows the prompt for the leader's (user, app, scope) and stores the
    /// answer, unless a check that settled meanwhile stored one.
    async fn prompt<F, Fut>(self, gate: &ConsentGate, prompt: F) -> Result<(), ConsentError>
    where
        F: FnOnce(ConsentPrompt) -> Fut,
        Fut: Future<Output = PromptAnswer>,
    {
        let (user, app, scope) = &self.key;
        // A check that settled between our lookup and our entry: its
        // answer is stored by now (the store is written before the entry
        // goes), so read again rather than prompt twice.
        let outcome = match gate.store.get(user, app, scope).await {
            Ok(state) => match settled(state, scope) {
                Some(settled) => settled,
                None => {
                    let request = ConsentPrompt {
                        user: user.clone(),
                        app: app.clone(),
                        scope: scope.clone(),
                        info: gate.scopes.describe(scope),
                    };
                    match prompt(request).await {
                        PromptAnswer::Allow => {
                            gate.store
                                .set(user, app, scope, ConsentState::Granted)
                                .await
                        }
                        PromptAnswer::Deny => gate
                            .store
                            .set(user, app, scope, ConsentState::Denied)
                            .await
                            .and(Err(denied(scope))),
                        PromptAnswer::Cancel => Err(ConsentError::Cancelled {
                            scope: scope.to_string(),
                        }),
                    }
                }
            },
            Err(error) => Err(error),
        };
        self.sender.send_replace(Some(outcome.clone()));
        outcome
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}
