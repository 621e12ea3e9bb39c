//! The dispatcher: resolves the version, routes each call, replies in the wx
//! convention, and never panics or hangs.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;

mod builtin;
mod open_data;
mod platform;

use self::platform::PlatformRef;
use crate::api::{OpenApi, UnknownApi};
use crate::app::{AppInfo, json_type};
use crate::handler::{JsonObject, OpenApiHandler};
use crate::openserver::OpenServer;
use crate::platform::Platform;
use crate::reply::{CallError, FailureKind, Reply};
use crate::version::{ApiVersion, VersionSource, resolve_version};

/// The default [`call_timeout`](DispatcherBuilder::call_timeout).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers a mini program's open-API calls for a host.
///
/// Cheap to clone (one `Arc`), `Send + Sync`. Build one with
/// [`Dispatcher::builder`].
///
/// ```
/// use async_trait::async_trait;
/// use serde_json::json;
/// use superapp_openapi::{AppInfo, Dispatcher, HandlerResult, JsonObject, OpenApiHandler};
///
/// struct Host;
///
/// #[async_trait]
/// impl OpenApiHandler for Host {
///     async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
///         Ok(json!({"userInfo": {"nickName": "xcode"}}).as_object().cloned().unwrap_or_default())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let dispatcher = Dispatcher::builder(Host).build();
/// let app = AppInfo::new("wx-demo");
/// let reply = dispatcher.invoke(&app, "wx.getUserInfo", json!({})).await;
/// assert_eq!(reply.err_msg(), "getUserInfo:ok");
/// assert_eq!(reply.get("userInfo").unwrap()["nickName"], "xcode");
///
/// let reply = dispatcher.invoke(&app, "requestPayment", json!({})).await;
/// assert_eq!(reply.err_msg(), "requestPayment:fail requestPayment is not implemented by the host");
/// assert_eq!(reply.errno(), Some(103));
/// # }
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    handler: Arc<dyn OpenApiHandler>,
    platform: PlatformRef,
    default_version: ApiVersion,
    call_timeout: Duration,
    open_data: bool,
}

/// Builds a [`Dispatcher`]; see [`Dispatcher::builder`].
pub struct DispatcherBuilder {
    handler: Arc<dyn OpenApiHandler>,
    platform: Option<PlatformRef>,
    default_version: ApiVersion,
    call_timeout: Duration,
    open_data: bool,
}

/// Who answers an API for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Responder {
    /// The host's [`OpenApiHandler`].
    Host,
    /// The crate's built-in flow of the resolved version (v2 or v3).
    BuiltIn,
}

/// What [`Dispatcher::explain`] says about an app and an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The API.
    pub api: OpenApi,
    /// The version that applies.
    pub version: ApiVersion,
    /// Where the version came from.
    pub source: VersionSource,
    /// Who answers.
    pub answered_by: Responder,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            VersionSource::AppJson => "apiVersion in app.json",
            VersionSource::Hook => "the host's open_api_version",
            VersionSource::Default => "the dispatcher's default",
        };
        write!(f, "{}: {} (from {source}) -> ", self.api, self.version)?;
        match (self.answered_by, self.version) {
            (Responder::Host, _) => f.write_str("the host's handler"),
            (Responder::BuiltIn, ApiVersion::V3) if self.api.needs_auth_code() => {
                match self.api.scope() {
                    Some(scope) => {
                        write!(f, "built-in v3 flow (asks get_auth_code for {scope})")
                    }
                    None => f.write_str("built-in v3 flow (asks get_auth_code)"),
                }
            }
            (Responder::BuiltIn, _) => f.write_str("built-in v2 flow (uses app_uid)"),
        }
    }
}

impl Dispatcher {
    /// Starts a dispatcher for `handler`: no platform set means an embedded
    /// [`OpenServer`], default version [`ApiVersion::V1`], call timeout 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use superapp_openapi::{ApiVersion, Dispatcher, OpenApiHandler, OpenServer};
    ///
    /// struct Host;
    /// impl OpenApiHandler for Host {}
    ///
    /// let server = OpenServer::new();
    /// let dispatcher = Dispatcher::builder(Host)
    ///     .platform(server.clone())
    ///     .default_version(ApiVersion::V2)
    ///     .call_timeout(Duration::from_secs(5))
    ///     .build();
    /// # let _ = dispatcher;
    /// ```
    pub fn builder(handler: impl OpenApiHandler) -> DispatcherBuilder {
        Dispatcher::builder_shared(Arc::new(handler))
    }

    /// Like [`Dispatcher::builder`], for a handler the host already shares.
    pub fn builder_shared(handler: Arc<dyn OpenApiHandler>) -> DispatcherBuilder {
        DispatcherBuilder {
            handler,
            platform: None,
            default_version: ApiVersion::V1,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            open_data: true,
        }
    }

    /// The embedded platform: the one the builder made when given no
    /// platform, or the [`OpenServer`] it was given.
    pub fn open_server(&self) -> Option<&OpenServer> {
        match &self.inner.platform {
            PlatformRef::Embedded(server) => Some(server),
            PlatformRef::Other(_) => None,
        }
    }

    /// Says which version applies to `api` for `app`, where it came from, and
    /// who answers, without calling anything but the version hook.
    ///
    /// A hook that panics is caught, logged, and counted as not answering
    /// (so the explanation falls through to the default); `invoke` fails
    /// such a call with `internal error: open_api_version panicked`.
    pub fn explain(&self, app: &AppInfo, api: OpenApi) -> Explanation {
        let hook = self.version_hook(app).unwrap_or_else(|err| {
            tracing::warn!(
                app.id = app.app_id(),
                reason = err.reason(),
                "explain: version hook failed"
            );
            None
        });
        let (version, source) =
            resolve_version(app.api_version(), hook, self.inner.default_version);
        Explanation {
            api,
            version,
            source,
            answered_by: responder(api, version),
        }
    }

    /// Answers one call: `api` is the wx name (`"login"` or `"wx.login"`),
    /// `params` the call's JSON object (`null` counts as `{}`).
    ///
    /// Never panics and never hangs: every failure — an unknown API, params
    /// that are not an object, a host that does not implement the method or
    /// panics, a platform error, a timeout — is a `"<api>:fail …"` reply with
    /// an `errno` from `docs/errors.md`.
    pub async fn invoke(&self, app: &AppInfo, api: &str, params: Value) -> Reply {
        let name = api.strip_prefix("wx.").unwrap_or(api);
        let span = tracing::info_span!(
            "openapi.invoke",
            api.name = name,
            app.id = app.app_id(),
            openapi.version = Empty,
            openapi.version_source = Empty,
            openapi.answered_by = Empty,
            outcome = Empty,
            errno = Empty,
        );
        // A span no subscriber wants is neither entered nor written to: each
        // `record` would still look its field up by name.
        let traced = !span.is_disabled();
        let result = if traced {
            self.dispatch(app, name, params, &span)
                .instrument(span.clone())
                .await
        } else {
            self.dispatch(app, name, params, &span).await
        };
        let _entered = traced.then(|| span.enter());
        match result {
            Ok((api, result)) => {
                if traced {
                    span.record("outcome", "ok");
                }
                tracing::debug!("open-api call answered");
                Reply::ok(api, result)
            }
            Err(err) => {
                if traced {
                    span.record("outcome", err.kind().as_str());
                    span.record("errno", err.errno());
                }
                tracing::info!(reason = err.reason(), "open-api call failed");
                Reply::fail(name, &err)
            }
        }
    }

    /// Like [`invoke`](Dispatcher::invoke), with the params as JSON text, as a
    /// mini program's bridge delivers them. Text that is not JSON is an
    /// invalid-params failure.
    pub async fn invoke_json(&self, app: &AppInfo, api: &str, params: &str) -> Reply {
        match serde_json::from_str::<Value>(params) {
            Ok(params) => self.invoke(app, api, params).await,
            Err(err) => {
                let name = api.strip_prefix("wx.").unwrap_or(api);
                let err = CallError::new(
                    FailureKind::InvalidParams,
                    format!("invalid params: not JSON ({err})"),
                );
                Reply::fail(name, &err)
            }
        }
    }

    async fn dispatch(
        &self,
        app: &AppInfo,
        name: &str,
        params: Value,
        span: &tracing::Span,
    ) -> Result<(OpenApi, JsonObject), CallError> {
        let api = OpenApi::from_name(name).ok_or_else(|| {
            let err = UnknownApi {
                name: name.to_owned(),
            };
            CallError::new(FailureKind::NotSupported, err.to_string())
        })?;
        let params = match params {
            Value::Object(params) => params,
            Value::Null => JsonObject::new(),
            other => {
                return Err(CallError::new(
                    FailureKind::InvalidParams,
                    format!(
                        "invalid params: expected a JSON object, found {}",
                        json_type(&other)
                    ),
                ));
            }
        };
        let timeout = self.timeout_for(api, &params)?;
        let inner = &*self.inner;
        let hook = self.version_hook(app)?;
        let (version, source) = resolve_version(app.api_version(), hook, inner.default_version);
        let answered_by = responder(api, version);
        if !span.is_disabled() {
            span.record("openapi.version", version.as_str());
            span.record("openapi.version_source", source.as_str());
            span.record(
                "openapi.answered_by",
                match answered_by {
                    Responder::Host => "host",
                    Responder::BuiltIn => "builtin",
                },
            );
        }

        let seal = open_data::wanted(api, &params) && inner.open_data && version != ApiVersion::V1;
        let call = async {
            let result = match answered_by {
                Responder::BuiltIn => {
                    builtin::run(&*inner.handler, &inner.platform, app, api, version).await
                }
                Responder::Host => call_host(&*inner.handler, app, api, params).await,
            };
            match result {
                Ok(mut result) if seal => {
                    open_data::add(&*inner.handler, &inner.platform, app, api, &mut result).await;
                    Ok(result)
                }
                other => other,
            }
        };
        let mut call = CatchUnwind(std::pin::pin!(call));
        // Most hosts answer at once: poll once before arming a timer.
        let first = std::future::poll_fn(|cx| match Pin::new(&mut call).poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        let outcome = match first {
            Some(output) => Ok(output),
            None => tokio::time::timeout(timeout, call).await,
        };
        match outcome {
            Ok(Ok(result)) => result.map(|result| (api, result)),
            Ok(Err(())) => Err(CallError::new(
                FailureKind::Internal,
                "internal error: the handler panicked",
            )),
            Err(_) => Err(CallError::new(
                FailureKind::Timeout,
                format!("timeout: no answer within {} ms", timeout.as_millis()),
            )),
        }
    }

    /// The host's `open_api_version` hook, its panic caught.
    fn version_hook(&self, app: &AppInfo) -> Result<Option<ApiVersion>, CallError> {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.inner.handler.open_api_version(app)
        }))
        .map_err(|_| {
            CallError::new(
                FailureKind::Internal,
                "internal error: open_api_version panicked",
            )
        })
    }

    /// The call timeout, shortened by wx.login's own `timeout` param (ms).
    /// A value beyond what a `Duration` holds is clamped to the call
    /// timeout, like any value above it (`docs/errors.md`).
    fn timeout_for(&self, api: OpenApi, params: &JsonObject) -> Result<Duration, CallError> {
        let limit = self.inner.call_timeout;
        if api != OpenApi::Login {
            return Ok(limit);
        }
        match params.get("timeout") {
            None | Some(Value::Null) => Ok(limit),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(ms) if ms > 0.0 && ms.is_finite() => {
                    Ok(Duration::try_from_secs_f64(ms / 1000.0)
                        .map_or(limit, |asked| limit.min(asked)))
                }
                _ => Err(invalid_timeout(&n.to_string())),
            },
            Some(other) => Err(invalid_timeout(json_type(other))),
        }
    }
}

fn invalid_timeout(found: &str) -> CallError {
    CallError::new(
        FailureKind::InvalidParams,
        format!("invalid params: timeout must be a positive number of milliseconds, found {found}"),
    )
}

fn responder(api: OpenApi, version: ApiVersion) -> Responder {
    if version != ApiVersion::V1 && api.has_builtin() {
        Responder::BuiltIn
    } else {
        Responder::Host
    }
}

/// The handler method that answers each API, from the table in
/// `with_open_apis!`.
macro_rules! host_call {
    ($({ $variant:ident, $name:literal, $method:ident, $($rest:tt)* })+) => {
        // The match inline in the one async fn, as it was written by hand:
        // no nested future on the v1 path (BENCHMARKS.md, row 1).
        async fn call_host(
            handler: &dyn OpenApiHandler,
            app: &AppInfo,
            api: OpenApi,
            params: JsonObject,
        ) -> Result<JsonObject, CallError> {
            let result = match api {
                $(OpenApi::$variant => handler.$method(app, params).await,)+
            };
            match result {
                Ok(mut result) => {
                    Reply::strip_reserved(&mut result);
                    Ok(result)
                }
                Err(err) => Err(CallError::from_host(api.as_str(), err)),
            }
        }
    };
}

crate::with_open_apis!(host_call);

/// Turns a panic while polling the inner future into `Err(())`, so one bad
/// handler call becomes one failed reply and the dispatcher keeps serving.
struct CatchUnwind<'a, F>(Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

impl DispatcherBuilder {
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

    /// Builds the dispatcher.
    pub fn build(self) -> Dispatcher {
        let platform = self
            .platform
            .unwrap_or_else(|| PlatformRef::Embedded(OpenServer::new()));
        Dispatcher {
            inner: Arc::new(Inner {
                handler: self.handler,
                platform,
                default_version: self.default_version,
                call_timeout: self.call_timeout,
                open_data: self.open_data,
            }),
        }
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("default_version", &self.inner.default_version)
            .field("call_timeout", &self.inner.call_timeout)
            .field("embedded_platform", &self.open_server().is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("default_version", &self.default_version)
            .field("call_timeout", &self.call_timeout)
            .field("platform_set", &self.platform.is_some())
            .finish_non_exhaustive()
    }
}
