//! The in-memory consent store, the default: gone with the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;

use super::{ConsentError, ConsentState, ConsentStore, MAX_SCOPES_PER_APP, ScopeName, check_ids};

/// The most entries a [`MemoryConsentStore`] holds unless told otherwise.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

type Hasher = foldhash::fast::RandomState;
/// Answers by scope: `true` granted, `false` denied; sorted, so `list`
/// needs no sort.
type Scopes = BTreeMap<ScopeName, bool>;

#[derive(Debug, Default)]
struct Inner {
    // user → app → scope: a lookup borrows the caller's `&str`s, so the
    // hot path (`get` of a granted scope) allocates nothing.
    users: HashMap<String, HashMap<String, Scopes, Hasher>, Hasher>,
    entries: usize,
}

/// Consent in memory: the default store, for a host that keeps consent
/// elsewhere or does not need it to survive a restart.
///
/// Bounded: [`MAX_SCOPES_PER_APP`] per (user, app), and at most
/// [`DEFAULT_MAX_ENTRIES`] in all (see [`with_max_entries`](Self::with_max_entries));
/// past either, a set of a new entry fails ([`ConsentError::TooManyScopes`],
/// [`ConsentError::StoreFull`]) and nothing is evicted.
///
/// ```
/// use superapp_openapi::consent::{ConsentState, ConsentStore, MemoryConsentStore};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryConsentStore::new();
/// let camera = "scope.camera".parse()?;
/// store.set("user-42", "wx-shop", &camera, ConsentState::Denied).await?;
/// assert_eq!(store.get("user-42", "wx-shop", &camera).await?, ConsentState::Denied);
/// assert_eq!(store.clear("user-42", "wx-shop").await?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryConsentStore {
    inner: RwLock<Inner>,
    max_entries: usize,
}

impl MemoryConsentStore {
    /// An empty store holding at most [`DEFAULT_MAX_ENTRIES`] entries.
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// An empty store holding at most `max_entries` (user, app, scope) entries.
    pub fn with_max_entries(max_entries: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            max_entries,
        }
    }

    /// How many (user, app, scope) entries are stored.
    pub fn len(&self) -> usize {
        self.read().entries
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // No code panics while holding the lock, so a poisoned lock still
    // guards consistent maps.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Result<ConsentState, ConsentError> {
        check_ids(user, app)?;
        let inner = self.read();
        let answer = inner
            .users
            .get(user)
            .and_then(|apps| apps.get(app))
            .and_then(|scopes| scopes.get(scope));
        Ok(ConsentState::from_auth_setting(answer.copied()))
    }

    fn set_now(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), ConsentError> {
        let granted = match state {
            ConsentState::NotAsked => {
                self.remove(user, app, scope);
                return Ok(());
            }
            ConsentState::Granted => true,
            ConsentState::Denied => false,
        };
        let mut inner = self.write();
        let full = inner.entries >= self.max_entries;
        let scopes = inner
            .users
            .entry(user.to_owned())
            .or_default()
            .entry(app.to_owned())
            .or_default();
        if let Some(answer) = scopes.get_mut(scope) {
            *answer = granted;
            return Ok(());
        }
        let refused = if scopes.len() >= MAX_SCOPES_PER_APP {
            Some(ConsentError::TooManyScopes {
                app: app.to_owned(),
                limit: MAX_SCOPES_PER_APP,
            })
        } else if full {
            Some(ConsentError::StoreFull {
                limit: self.max_entries,
            })
        } else {
            scopes.insert(scope.clone(), granted);
            None
        };
        match refused {
            Some(error) => {
                // Leave no empty maps behind a refused insert.
                prune(&mut inner, user, app);
                Err(error)
            }
            None => {
                inner.entries += 1;
                Ok(())
            }
        }
    }

    fn remove(&self, user: &str, app: &str, scope: &ScopeName) {
        let mut inner = self.write();
        let removed = inner
            .users
            .get_mut(user)
            .and_then(|apps| apps.get_mut(app))
            .and_then(|scopes| scopes.remove(scope))
            .is_some();
        if removed {
            inner.entries -= 1;
            prune(&mut inner, user, app);
        }
    }
}

fn prune(inner: &mut Inner, user: &str, app: &str) {
    if let Some(apps) = inner.users.get_mut(user) {
        if apps.get(app).is_some_and(BTreeMap::is_empty) {
            apps.remove(app);
        }
        if apps.is_empty() {
            inner.users.remove(user);
        }
    }
}

impl Default for MemoryConsentStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ConsentStore for MemoryConsentStore {
    async fn get(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Result<ConsentState, ConsentError> {
        self.lookup(user, app, scope)
    }

    fn get_now(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Option<Result<ConsentState, ConsentError>> {
        Some(self.lookup(user, app, scope))
    }

    async fn set(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), ConsentError> {
        check_ids(user, app)?;
        self.set_now(user, app, scope, state)
    }

    async fn list(
        &self,
        user: &str,
        app: &str,
    ) -> Result<Vec<(ScopeName, ConsentState)>, ConsentError> {
        check_ids(user, app)?;
        let inner = self.read();
        let Some(scopes) = inner.users.get(user).and_then(|apps| apps.get(app)) else {
            return Ok(Vec::new());
        };
        Ok(scopes
            .iter()
            .map(|(scope, &granted)| {
                let state = if granted {
                    ConsentState::Granted
                } else {
                    ConsentState::Denied
                };
                (scope.clone(), state)
            })
            .collect())
    }

    async fn clear(&self, user: &str, app: &str) -> Result<usize, ConsentError> {
        check_ids(user, app)?;
        let mut inner = self.write();
        let removed = inner
            .users
            .get_mut(user)
            .and_then(|apps| apps.remove(app))
            .map_or(0, |scopes| scopes.len());
        inner.entries -= removed;
        prune(&mut inner, user, app);
        Ok(removed)
    }
}
