//! The core's `Dispatcher` as a UniFFI object.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use superapp_openapi as openapi;

use crate::consent::{
    ConsentStore, CustomApi, ForeignSink, ScopeConsent, StateSink, consent_error, open_store, rows,
    scope_name,
};
use crate::delegate::{ForeignHost, OpenApiHandler};
use crate::openserver::OpenServer;
use crate::runtime;
use superapp_openapi::consent::ConsentState;
use superapp_openapi::{ApiVersion, Responder, VersionSource};

use crate::types::{AppInfo, JsonText, OpenApiError};

/// Answers a mini program's open-API calls for a native host: the core's
/// `Dispatcher` over the host's [`OpenApiHandler`].
///
/// Every call is `invoke(app, "wx.login", "{…}")` and answers the reply
/// JSON the mini program receives (`{"errMsg":"login:ok","code":"…"}` or
/// `{"errMsg":"login:fail …","errno":…}`); it never throws and never
/// hangs: a host that does not answer within the call timeout gets
/// `"<api>:fail timeout …"` (errno 408).
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct Dispatcher {
    inner: openapi::Dispatcher,
    open_server: Option<Arc<OpenServer>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl std::fmt::Display for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

fn builder(
    handler: Arc<dyn OpenApiHandler>,
    default_version: ApiVersion,
    call_timeout_ms: u64,
) -> openapi::DispatcherBuilder {
    openapi::Dispatcher::builder(ForeignHost(handler))
        .default_version(default_version)
        .call_timeout(Duration::from_millis(call_timeout_ms))
}

#[uniffi::export]
impl Dispatcher {
    /// A dispatcher on the embedded platform: `platform`, or a new
    /// [`OpenServer`] of its own when `None` (read it back with
    /// `open_server()`), so a host works offline from the first line.
    /// `call_timeout_ms` bounds every call (the core's default is 30,000).
    #[uniffi::constructor]
    pub fn new(
        handler: Arc<dyn OpenApiHandler>,
        default_version: ApiVersion,
        call_timeout_ms: u64,
        platform: Option<Arc<OpenServer>>,
    ) -> Arc<Self> {
        let server = platform.unwrap_or_else(OpenServer::new);
        let inner = builder(handler, default_version, call_timeout_ms)
            .platform(server.core().clone())
            .build();
        Arc::new(Dispatcher {
            inner,
            open_server: Some(server),
        })
    }

    /// Answers one call: `api` is the wx name (`"wx.login"` or `"login"`),
    /// `params` the call's JSON object text (`"null"` counts as `{}`); the
    /// answer is the reply's JSON text. Cancelling the call on the host's
    /// side cancels the dispatch and the host method under it.
    pub async fn invoke(&self, app: AppInfo, api: String, params: JsonText) -> JsonText {
        let dispatcher = self.inner.clone();
        runtime::run(async move {
            let app = openapi::AppInfo::from(app);
            let reply = dispatcher.invoke_json(&app, &api, &params.0).await;
            JsonText(reply.to_json_string())
        })
        .await
    }

    /// Which version applies to `api` for `app`, where it came from, and
    /// who answers; calls nothing of the host's but `open_api_version`.
    ///
    /// # Errors
    ///
    /// [`OpenApiError::InvalidArgument`] for a name that is not one of the
    /// eleven wx APIs.
    pub fn explain(&self, app: AppInfo, api: String) -> Result<Explanation, OpenApiError> {
        let parsed: openapi::OpenApi =
            api.parse()
                .map_err(|err: openapi::UnknownApi| OpenApiError::InvalidArgument {
                    detail: err.to_string(),
                })?;
        let explanation = self.inner.explain(&openapi::AppInfo::from(app), parsed);
        Ok(Explanation::from(explanation))
    }

    /// The embedded platform this dispatcher uses, if it uses one.
    pub fn open_server(&self) -> Option<Arc<OpenServer>> {
        self.open_server.clone()
    }

    /// Like [`Dispatcher::new`], with consent and custom APIs: consent in
    /// `consent_store` (the host's own) when given, else in the SQLite
    /// file at `sqlite_path` when given, else in memory; `custom_apis`
    /// registered; `guards` maps a wx API name to the scope it is guarded
    /// by (`{"getUserInfo": "scope.userInfo"}`).
    ///
    /// # Errors
    ///
    /// [`OpenApiError::Build`] for a refused custom API (a bad or
    /// colliding name), [`OpenApiError::InvalidArgument`] for a bad guard,
    /// [`OpenApiError::Consent`] when the SQLite file cannot be opened.
    #[uniffi::constructor]
    #[allow(clippy::too_many_arguments)]
    pub async fn with_consent(
        handler: Arc<dyn OpenApiHandler>,
        default_version: ApiVersion,
        call_timeout_ms: u64,
        platform: Option<Arc<OpenServer>>,
        consent_store: Option<Arc<dyn ConsentStore>>,
        sqlite_path: Option<String>,
        custom_apis: Vec<Arc<CustomApi>>,
        guards: HashMap<String, String>,
    ) -> Result<Arc<Self>, OpenApiError> {
        let server = platform.unwrap_or_else(OpenServer::new);
        let mut builder = builder(handler, default_version, call_timeout_ms)
            .platform(server.core().clone())
            .shared_consent_store(open_store(consent_store, sqlite_path).await?);
        for (api, scope) in guards {
            let parsed: openapi::OpenApi =
                api.parse()
                    .map_err(|err: openapi::UnknownApi| OpenApiError::InvalidArgument {
                        detail: err.to_string(),
                    })?;
            builder = builder.guard(parsed, scope_name(&scope)?);
        }
        for api in custom_apis {
            builder = builder.custom_api(api.core());
        }
        let inner = builder.try_build().map_err(|err| OpenApiError::Build {
            detail: err.to_string(),
        })?;
        Ok(Arc::new(Dispatcher {
            inner,
            open_server: Some(server),
        }))
    }

    /// Like [`invoke`](Dispatcher::invoke); a custom API's intermediate
    /// states go to `sink`, in order, before the reply is returned.
    pub async fn invoke_with_states(
        &self,
        app: AppInfo,
        api: String,
        params: JsonText,
        sink: Arc<dyn StateSink>,
    ) -> JsonText {
        let dispatcher = self.inner.clone();
        runtime::run(async move {
            let app = openapi::AppInfo::from(app);
            let reply = match serde_json::from_str(&params.0) {
                Ok(params) => {
                    dispatcher
                        .invoke_with_states(&app, &api, params, ForeignSink(sink))
                        .await
                }
                // Not JSON: the same reply invoke_json gives.
                Err(_) => dispatcher.invoke_json(&app, &api, &params.0).await,
            };
            JsonText(reply.to_json_string())
        })
        .await
    }

    /// A mini program's consent answers for `user` (`""`: the anonymous
    /// user), sorted by scope (TCMPP `getAuthStateList`).
    ///
    /// # Errors
    ///
    /// [`OpenApiError::Consent`]: a bad id or the store's failure.
    pub async fn consent_list(
        &self,
        user: String,
        app_id: String,
    ) -> Result<Vec<ScopeConsent>, OpenApiError> {
        let dispatcher = self.inner.clone();
        runtime::run(async move {
            let list = dispatcher.consent().list(&user, &app_id).await;
            list.map(rows).map_err(consent_error)
        })
        .await
    }

    /// Sets one answer (TCMPP `setAuthState`); `NotAsked` forgets it.
    ///
    /// # Errors
    ///
    /// [`OpenApiError::InvalidArgument`] for a bad scope name,
    /// [`OpenApiError::Consent`] for a bad id, a bound or the store.
    pub async fn consent_set(
        &self,
        user: String,
        app_id: String,
        scope: String,
        state: ConsentState,
    ) -> Result<(), OpenApiError> {
        let scope = scope_name(&scope)?;
        let dispatcher = self.inner.clone();
        runtime::run(async move {
            let set = dispatcher
                .consent()
                .set(&user, &app_id, &scope, state)
                .await;
            set.map_err(consent_error)
        })
        .await
    }

    /// Forgets all of a mini program's answers for `user` (the user
    /// deleted it); how many there were.
    ///
    /// # Errors
    ///
    /// [`OpenApiError::Consent`]: a bad id or the store's failure.
    pub async fn consent_clear(&self, user: String, app_id: String) -> Result<u64, OpenApiError> {
        let dispatcher = self.inner.clone();
        runtime::run(async move {
            let cleared = dispatcher.consent().clear(&user, &app_id).await;
            cleared
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                .map_err(consent_error)
        })
        .await
    }
}

// Its own block: UniFFI's export does not take a `cfg` on one method.
#[cfg(feature = "remote-platform")]
#[uniffi::export]
impl Dispatcher {
    /// A dispatcher whose built-in flows talk to a remote platform (an
    /// `openserver` at `base_url`, e.g. `http://10.0.2.2:8080`) with the
    /// host's SDK key.
    ///
    /// (Feature `remote-platform`, on by default.)
    #[uniffi::constructor]
    pub fn from_remote_platform(
        handler: Arc<dyn OpenApiHandler>,
        default_version: ApiVersion,
        call_timeout_ms: u64,
        base_url: String,
        sdk_key: String,
    ) -> Arc<Self> {
        let platform = openapi::http::RemotePlatform::new(base_url, openapi::SdkKey::new(sdk_key));
        let inner = builder(handler, default_version, call_timeout_ms)
            .platform(platform)
            .build();
        Arc::new(Dispatcher {
            inner,
            open_server: None,
        })
    }
}

/// What `Dispatcher.explain` says about an app and an API.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Explanation {
    /// The API's wx name (`"getPhoneNumber"`).
    pub api: String,
    /// The version that applies.
    pub version: ApiVersion,
    /// Where the version came from.
    pub source: VersionSource,
    /// Who answers.
    pub answered_by: Responder,
    /// The same, as one sentence (`"login: v2 (from the dispatcher's default) -> built-in v2 flow (uses app_uid)"`).
    pub summary: String,
}

impl From<openapi::Explanation> for Explanation {
    fn from(e: openapi::Explanation) -> Self {
        Explanation {
            api: e.api.as_str().to_owned(),
            version: e.version,
            source: e.source,
            answered_by: e.answered_by,
            summary: e.to_string(),
        }
    }
}
