//! [`DispatcherBuilder`]: the platform, the version default, the timeout,
//! consent (store, scope table, guarded APIs) and the custom APIs.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::custom::{self, BuildError, CustomApi, DEFAULT_MAX_STATES_PER_CALL};
use super::platform::PlatformRef;
use super::{Dispatcher, Inner};
use crate::api::OpenApi;
use crate::consent::{ConsentGate, ConsentStore, MemoryConsentStore, ScopeName, ScopeTable};
use crate::handler::OpenApiHandler;
use crate::openserver::OpenServer;
use crate::platform::Platform;
use crate::version::ApiVersion;

/// Builds a [`Dispatcher`]; see [`Dispatcher::builder`].
pub struct DispatcherBuilder {
    pub(super) handler: Arc<dyn OpenApiHandler>,
    pub(super) platform: Option<PlatformRef>,
    pub(super) default_version: ApiVersion,
    pub(super) call_timeout: Duration,
    consent_store: Option<Arc<dyn ConsentStore>>,
    scopes: ScopeTable,
    max_pending_prompts: Option<usize>,
    guards: Vec<(OpenApi, ScopeName)>,
    custom: Vec<CustomApi>,
    max_states: usize,
    open_data: bool,
}

impl DispatcherBuilder {
    pub(super) fn new(handler: Arc<dyn OpenApiHandler>) -> Self {
        DispatcherBuilder {
            handler,
            platform: None,
            default_version: ApiVersion::V1,
            call_timeout: super::DEFAULT_CALL_TIMEOUT,
            consent_store: None,
            scopes: ScopeTable::builtin(),
            max_pending_prompts: None,
            guards: Vec::new(),
            custom: Vec::new(),
            max_states: DEFAULT_MAX_STATES_PER_CALL,
            open_data: true,
        }
    }

    /// The platform the built-in flows use (default: a new embedded
    /// [`OpenServer`]).
    pub fn platform(mut self, platform: impl Platform) -> Self {
        self.platform = Some(PlatformRef::new(platform));
        self
    }

    /// Like [`platform`](DispatcherBuilder::platform), for a platform already shared.
    pub fn shared_platform(mut self, platform: Arc<dyn Platform>) -> Self {
        self.platform = Some(PlatformRef::Other(platform));
        self
    }

    /// The version when neither app.json nor the hook chooses (default v1).
    pub fn default_version(mut self, version: ApiVersion) -> Self {
        self.default_version = version;
        self
    }

    /// How long one call may take before it fails with a timeout (default 30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Whether v2/v3 replies carry WeChat's open data (default `true`):
    /// `rawData`, `signature`, `encryptedData` and `iv` beside a host's
    /// `getUserInfo` / `getUserProfile` `userInfo`, and `encryptedData` /
    /// `iv` beside the built-in `getPhoneNumber` code, sealed by the
    /// platform with the user's session key (`docs/openserver.md`, "Open
    /// data"). v1 replies are the host's alone either way.
    pub fn open_data(mut self, on: bool) -> Self {
        self.open_data = on;
        self
    }

    /// Where consent is stored (default: a new [`MemoryConsentStore`]).
    pub fn consent_store(self, store: impl ConsentStore) -> Self {
        self.shared_consent_store(Arc::new(store))
    }

    /// Like [`consent_store`](DispatcherBuilder::consent_store), for a store
    /// the host keeps a handle to.
    pub fn shared_consent_store(mut self, store: Arc<dyn ConsentStore>) -> Self {
        self.consent_store = Some(store);
        self
    }

    /// The scope table the prompt's titles come from (default:
    /// [`ScopeTable::builtin`]); the host's own scopes go here.
    pub fn scopes(mut self, scopes: ScopeTable) -> Self {
        self.scopes = scopes;
        self
    }

    /// At most `limit` consent prompts wait at once (default
    /// [`DEFAULT_MAX_PENDING_PROMPTS`](crate::consent::DEFAULT_MAX_PENDING_PROMPTS)); past it errno 110.
    pub fn max_pending_prompts(mut self, limit: usize) -> Self {
        self.max_pending_prompts = Some(limit);
        self
    }

    /// Calls of `api` pass the consent rule for `scope` before the host's
    /// method runs (e.g. `wx.getUserInfo` behind `scope.userInfo`, as
    /// TCMPP's Authorize page has it). None is guarded by default: WeChat
    /// no longer asks for `scope.userInfo` in mini programs, and a host
    /// that guarded nothing before keeps answering as it did.
    pub fn guard(mut self, api: OpenApi, scope: ScopeName) -> Self {
        self.guards.retain(|(guarded, _)| *guarded != api);
        self.guards.push((api, scope));
        self
    }

    /// Registers a custom API (checked by [`try_build`](DispatcherBuilder::try_build)).
    pub fn custom_api(mut self, api: CustomApi) -> Self {
        self.custom.push(api);
        self
    }

    /// At most `limit` intermediate states per call of a custom API
    /// (default [`DEFAULT_MAX_STATES_PER_CALL`]); past it the call fails
    /// with errno 109.
    pub fn max_states_per_call(mut self, limit: usize) -> Self {
        self.max_states = limit;
        self
    }

    /// Builds the dispatcher.
    ///
    /// # Panics
    ///
    /// When a custom API is refused (see [`try_build`](DispatcherBuilder::try_build),
    /// which a host registering custom APIs calls instead). Without custom
    /// APIs it never panics.
    #[track_caller]
    pub fn build(self) -> Dispatcher {
        match self.try_build() {
            Ok(dispatcher) => dispatcher,
            Err(err) => panic!("DispatcherBuilder::build: {err}; use try_build to handle it"),
        }
    }

    /// Builds the dispatcher, checking the custom APIs.
    ///
    /// # Errors
    ///
    /// [`BuildError`]: a name that is not an identifier, registered twice,
    /// the name of a built-in API without
    /// [`take_over_builtin`](CustomApi::take_over_builtin), or one the
    /// dispatcher answers itself.
    pub fn try_build(self) -> Result<Dispatcher, BuildError> {
        let custom = custom::registry(self.custom)?;
        let platform = self
            .platform
            .unwrap_or_else(|| PlatformRef::Embedded(OpenServer::new()));
        let store = self
            .consent_store
            .unwrap_or_else(|| Arc::new(MemoryConsentStore::new()));
        // The scopes `authorize` accepts: the table's, the guards' and the
        // custom APIs' (whose prompt then shows the scope's own name).
        let mut known: HashSet<ScopeName> = self.scopes.names().cloned().collect();
        known.extend(self.guards.iter().map(|(_, scope)| scope.clone()));
        known.extend(custom.values().filter_map(|api| api.scope.clone()));
        let mut consent = ConsentGate::from_arc(store).with_scopes(self.scopes);
        if let Some(limit) = self.max_pending_prompts {
            consent = consent.with_max_pending_prompts(limit);
        }
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                handler: self.handler,
                platform,
                default_version: self.default_version,
                call_timeout: self.call_timeout,
                consent,
                known_scopes: known,
                guards: self.guards,
                custom,
                max_states: self.max_states,
                open_data: self.open_data,
            }),
        })
    }
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("default_version", &self.default_version)
            .field("call_timeout", &self.call_timeout)
            .field("platform_set", &self.platform.is_some())
            .field("guards", &self.guards)
            .field("custom", &self.custom)
            .finish_non_exhaustive()
    }
}
