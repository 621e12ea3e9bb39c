//! The core's `Dispatcher` as a UniFFI object.

use std::sync::Arc;
use std::time::Duration;

use superapp_openapi as openapi;

use crate::delegate::{ForeignHost, OpenApiHandler};
use crate::openserver::OpenServer;
use crate::runtime;
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
