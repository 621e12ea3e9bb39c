//! Consent and custom APIs across the boundary: the host's own
//! `ConsentStore`, its custom APIs (with intermediate states), the sink
//! that receives states, and the records they share.

use std::sync::Arc;

use async_trait::async_trait;
use superapp_openapi as openapi;
use superapp_openapi::consent::{self as core, ConsentState, ScopeName};

use crate::runtime;
use crate::types::{AppInfo, HostError, JsonText, OpenApiError};

/// One scope's answer: `getSetting`'s row, the host's list and its
/// settings view.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScopeConsent {
    /// The scope (`"scope.userInfo"`).
    pub scope: String,
    /// Granted or denied (`NotAsked` in a change forgets the answer).
    pub state: ConsentState,
}

/// What the host's consent prompt shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentPrompt {
    /// The host user the answer is stored for (`""` is the anonymous user).
    pub user: String,
    /// The mini program asking.
    pub app_id: String,
    /// The scope it asks for.
    pub scope: String,
    /// The title to show.
    pub title: String,
    /// The description to show.
    pub description: String,
}

impl From<core::ConsentPrompt> for ConsentPrompt {
    fn from(prompt: core::ConsentPrompt) -> Self {
        ConsentPrompt {
            user: prompt.user,
            app_id: prompt.app,
            scope: prompt.scope.to_string(),
            title: prompt.info.title.into_owned(),
            description: prompt.info.description.into_owned(),
        }
    }
}

pub(crate) fn scope_name(scope: &str) -> Result<ScopeName, OpenApiError> {
    scope
        .parse()
        .map_err(|err: core::ScopeNameError| OpenApiError::InvalidArgument {
            detail: err.to_string(),
        })
}

pub(crate) fn rows(list: Vec<(ScopeName, ConsentState)>) -> Vec<ScopeConsent> {
    list.into_iter()
        .map(|(scope, state)| ScopeConsent {
            scope: scope.to_string(),
            state,
        })
        .collect()
}

/// What the host's consent prompt answered: the core's `PromptAnswer`.
///
/// Its own enum rather than the core's: UniFFI 0.32.2's Kotlin lowers a
/// foreign method's return value of another crate's enum with that crate's
/// `RustBuffer` type, which does not compile (docs/native-hosts.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentAnswer {
    /// The user allowed: stored as granted.
    Allow,
    /// The user refused: stored as denied.
    Deny,
    /// The user dismissed the prompt: nothing stored, the call fails `cancel`.
    Cancel,
}

impl From<ConsentAnswer> for core::PromptAnswer {
    fn from(answer: ConsentAnswer) -> Self {
        match answer {
            ConsentAnswer::Allow => core::PromptAnswer::Allow,
            ConsentAnswer::Deny => core::PromptAnswer::Deny,
            ConsentAnswer::Cancel => core::PromptAnswer::Cancel,
        }
    }
}

/// The host's own consent storage, in the host's language (the core's
/// `ConsentStore`): keyed by (user, app id, scope), it keeps only answers.
/// A thrown error fails the call that needed it (errno 302).
#[uniffi::export(foreign)]
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// One scope's answer: `true` granted, `false` denied, `None` when
    /// nothing is stored (as `getSetting`'s `authSetting`; a plain value
    /// rather than `ConsentState` for the reason given on [`ConsentAnswer`]).
    async fn get(
        &self,
        user: String,
        app_id: String,
        scope: String,
    ) -> Result<Option<bool>, HostError>;
    /// Stores one scope's state; `NotAsked` removes it.
    async fn set(
        &self,
        user: String,
        app_id: String,
        scope: String,
        state: ConsentState,
    ) -> Result<(), HostError>;
    /// The mini program's answers, sorted by scope.
    async fn list(&self, user: String, app_id: String) -> Result<Vec<ScopeConsent>, HostError>;
    /// Forgets all of the mini program's answers; how many there were.
    async fn clear(&self, user: String, app_id: String) -> Result<u64, HostError>;
}

/// The foreign store as the core's.
pub(crate) struct ForeignStore(pub(crate) Arc<dyn ConsentStore>);

impl std::fmt::Debug for ForeignStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignStore")
    }
}

fn storage(err: HostError) -> core::ConsentError {
    core::ConsentError::Storage(err.to_string())
}

#[async_trait]
impl core::ConsentStore for ForeignStore {
    async fn get(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
    ) -> Result<ConsentState, core::ConsentError> {
        core::check_ids(user, app)?;
        let granted = self
            .0
            .get(user.to_owned(), app.to_owned(), scope.to_string())
            .await
            .map_err(storage)?;
        Ok(ConsentState::from_auth_setting(granted))
    }

    async fn set(
        &self,
        user: &str,
        app: &str,
        scope: &ScopeName,
        state: ConsentState,
    ) -> Result<(), core::ConsentError> {
        core::check_ids(user, app)?;
        self.0
            .set(user.to_owned(), app.to_owned(), scope.to_string(), state)
            .await
            .map_err(storage)
    }

    async fn list(
        &self,
        user: &str,
        app: &str,
    ) -> Result<Vec<(ScopeName, ConsentState)>, core::ConsentError> {
        core::check_ids(user, app)?;
        let rows = self
            .0
            .list(user.to_owned(), app.to_owned())
            .await
            .map_err(storage)?;
        let mut list = Vec::with_capacity(rows.len());
        for row in rows {
            let scope = row.scope.parse::<ScopeName>()?;
            if row.state != ConsentState::NotAsked {
                list.push((scope, row.state));
            }
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(list)
    }

    async fn clear(&self, user: &str, app: &str) -> Result<usize, core::ConsentError> {
        core::check_ids(user, app)?;
        let removed = self
            .0
            .clear(user.to_owned(), app.to_owned())
            .await
            .map_err(storage)?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }
}

/// A custom API's handler in the host's language (TCMPP's `@JsEvent`
/// method, `registerMiniAppApi`'s handler): the params as JSON object text
/// (the same whether the mini program called it by name or through
/// `invokeNativePlugin`'s `data`), a [`StateSender`] for intermediate
/// states, and the result object's text.
#[uniffi::export(foreign)]
#[async_trait]
pub trait CustomApiHandler: Send + Sync {
    /// Answers one call.
    async fn call(
        &self,
        app: AppInfo,
        params: JsonText,
        states: Arc<StateSender>,
    ) -> Result<JsonText, HostError>;
}

/// Sends a custom API's intermediate states (TCMPP's `sendState`).
#[derive(Debug, uniffi::Object)]
pub struct StateSender(openapi::StateSender);

#[uniffi::export]
impl StateSender {
    /// Sends one state (a JSON object's text).
    ///
    /// # Errors
    ///
    /// [`OpenApiError::InvalidArgument`] for text that is not a JSON
    /// object; [`OpenApiError::State`] past the per-call limit (the call
    /// then fails with errno 109) or after the final reply.
    pub fn send(&self, state: JsonText) -> Result<(), OpenApiError> {
        let state = state
            .into_object("state")
            .map_err(|err| OpenApiError::InvalidArgument {
                detail: err.to_string(),
            })?;
        self.0.send(state).map_err(|err| OpenApiError::State {
            detail: err.to_string(),
        })
    }
}

/// Where the caller of `Dispatcher.invoke_with_states` receives the
/// states, in order, before the final reply. Should return at once.
#[uniffi::export(foreign)]
pub trait StateSink: Send + Sync {
    /// One state, as JSON object text.
    fn state(&self, state: JsonText);
}

pub(crate) struct ForeignSink(pub(crate) Arc<dyn StateSink>);

impl openapi::StateSink for ForeignSink {
    fn state(&self, state: openapi::JsonObject) {
        self.0.state(JsonText::from_object(&state));
    }
}

struct ForeignCustom(Arc<dyn CustomApiHandler>);

#[async_trait]
impl openapi::CustomApiHandler for ForeignCustom {
    async fn call(
        &self,
        app: &openapi::AppInfo,
        params: openapi::JsonObject,
        states: openapi::StateSender,
    ) -> openapi::HandlerResult {
        let result = self
            .0
            .call(
                AppInfo::from(app),
                JsonText::from_object(&params),
                Arc::new(StateSender(states)),
            )
            .await?;
        result.into_object("result")
    }
}

/// One custom API to register on a dispatcher: its name, handler, and
/// optionally a consent scope, an allow-list of app ids, and whether it
/// takes over the built-in API of the same name.
#[derive(Debug, uniffi::Object)]
pub struct CustomApi(openapi::CustomApi);

#[uniffi::export]
impl CustomApi {
    /// A custom API; the name is checked when the dispatcher is built.
    ///
    /// # Errors
    ///
    /// [`OpenApiError::InvalidArgument`] for a scope that is not a valid
    /// scope name.
    #[uniffi::constructor]
    pub fn new(
        name: String,
        handler: Arc<dyn CustomApiHandler>,
        scope: Option<String>,
        allowed_apps: Option<Vec<String>>,
        take_over_builtin: bool,
    ) -> Result<Arc<Self>, OpenApiError> {
        let mut api = openapi::CustomApi::new(name, ForeignCustom(handler));
        if let Some(scope) = scope {
            api = api.scope(scope_name(&scope)?);
        }
        if let Some(apps) = allowed_apps {
            api = api.allow_apps(apps);
        }
        if take_over_builtin {
            api = api.take_over_builtin();
        }
        Ok(Arc::new(CustomApi(api)))
    }
}

impl CustomApi {
    pub(crate) fn core(&self) -> openapi::CustomApi {
        self.0.clone()
    }
}

/// The store a dispatcher keeps consent in: the host's own when given,
/// else a SQLite file at `sqlite_path` (created if missing; survives
/// restarts), else memory.
pub(crate) async fn open_store(
    store: Option<Arc<dyn ConsentStore>>,
    sqlite_path: Option<String>,
) -> Result<Arc<dyn core::ConsentStore>, OpenApiError> {
    Ok(match (store, sqlite_path) {
        (Some(store), _) => Arc::new(ForeignStore(store)),
        (None, Some(path)) => {
            let store = runtime::run(core::SqliteConsentStore::open(path))
                .await
                .map_err(consent_error)?;
            Arc::new(store)
        }
        (None, None) => Arc::new(core::MemoryConsentStore::new()),
    })
}

pub(crate) fn consent_error(err: core::ConsentError) -> OpenApiError {
    OpenApiError::Consent {
        detail: err.to_string(),
    }
}
