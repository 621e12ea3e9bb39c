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

mod builder;
mod builtin;
mod consent;
mod custom;
mod explain;
mod open_data;
mod platform;

pub use self::builder::DispatcherBuilder;
pub(crate) use self::consent::SettingApi;
pub(crate) use self::custom::RESERVED;
pub use self::custom::{
    BuildError, CustomApi, CustomApiHandler, DEFAULT_MAX_STATES_PER_CALL, MAX_CUSTOM_API_NAME_LEN,
    StateError, StateSender, StateSink,
};
use self::custom::{PLUGIN, Registry};
pub use self::explain::{Explanation, Responder};
use self::platform::PlatformRef;
use crate::api::{OpenApi, UnknownApi};
use crate::app::{AppInfo, json_type};
use crate::consent::{ConsentGate, ScopeName};
use crate::handler::{JsonObject, OpenApiHandler};
use crate::openserver::OpenServer;
use crate::reply::{CallError, ErrMsg, FailureKind, Reply};
use crate::version::{ApiVersion, resolve_version};

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
    consent: ConsentGate,
    /// The scopes `wx.authorize` accepts.
    known_scopes: std::collections::HashSet<ScopeName>,
    /// The table's APIs guarded by a scope (at most one row per API).
    guards: Vec<(OpenApi, ScopeName)>,
    custom: Registry,
    max_states: usize,
    open_data: bool,
}

/// What answered a call: one of the table's APIs (its `errMsg` is
/// static), or a name the table does not hold (a custom or setting API).
enum Answered<'a> {
    Api(OpenApi, JsonObject),
    /// Another API's success, with its `errMsg` (the dispatcher's own,
    /// borrowed: the reply clones it, a copy or a reference count).
    Named(&'a ErrMsg, JsonObject),
}

/// Where a name goes.
enum Route<'a> {
    Open(OpenApi),
    Custom(&'a CustomApi),
    Setting(SettingApi),
    Plugin,
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
        DispatcherBuilder::new(handler)
    }

    /// The consent gate: the host's list / set / clear of a mini
    /// program's answers (`docs/consent.md`), over the builder's store.
    /// The user id is what the host's `app_uid` answers (`""` for none).
    pub fn consent(&self) -> &ConsentGate {
        &self.inner.consent
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
        let answered_by = if self.inner.custom.contains_key(api.as_str()) {
            Responder::Custom
        } else {
            responder(api, version)
        };
        Explanation {
            api,
            version,
            source,
            answered_by,
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
        self.invoke_inner(app, api, params, None).await
    }

    /// Like [`invoke`](Dispatcher::invoke), and a custom API's intermediate
    /// states go to `sink`, in the order sent, all before this returns the
    /// final reply (at most [`max_states_per_call`](DispatcherBuilder::max_states_per_call);
    /// past it the call fails with errno 109). Other APIs send none.
    pub async fn invoke_with_states(
        &self,
        app: &AppInfo,
        api: &str,
        params: Value,
        sink: impl StateSink,
    ) -> Reply {
        self.invoke_inner(app, api, params, Some(Arc::new(sink)))
            .await
    }

    async fn invoke_inner(
        &self,
        app: &AppInfo,
        api: &str,
        params: Value,
        sink: Option<Arc<dyn StateSink>>,
    ) -> Reply {
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
            self.dispatch(app, name, params, &span, sink)
                .instrument(span.clone())
                .await
        } else {
            self.dispatch(app, name, params, &span, sink).await
        };
        let _entered = traced.then(|| span.enter());
        match result {
            Ok(answered) => {
                if traced {
                    span.record("outcome", "ok");
                }
                tracing::debug!("open-api call answered");
                match answered {
                    Answered::Api(api, result) => Reply::ok(api, result),
                    Answered::Named(err_msg, result) => Reply::ok_named(err_msg.clone(), result),
                }
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

    fn route(&self, name: &str) -> Result<Route<'_>, CallError> {
        let custom = &self.inner.custom;
        // No custom APIs, no lookup: the v1 path stays as it was.
        if !custom.is_empty() {
            if let Some(api) = custom.get(name) {
                return Ok(Route::Custom(api));
            }
        }
        if let Some(api) = OpenApi::from_name(name) {
            return Ok(Route::Open(api));
        }
        if let Some(api) = SettingApi::from_name(name) {
            return Ok(Route::Setting(api));
        }
        if name == PLUGIN {
            return Ok(Route::Plugin);
        }
        let err = UnknownApi {
            name: name.to_owned(),
        };
        Err(CallError::new(FailureKind::NotSupported, err.to_string()))
    }

    async fn dispatch(
        &self,
        app: &AppInfo,
        name: &str,
        params: Value,
        span: &tracing::Span,
        sink: Option<Arc<dyn StateSink>>,
    ) -> Result<Answered<'_>, CallError> {
        let route = self.route(name)?;
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
        let inner = &*self.inner;
        let api = match route {
            Route::Open(api) => api,
            Route::Custom(custom) => {
                record(span, "openapi.answered_by", "custom");
                return self
                    .call_custom(app, custom, params, sink, &custom.ok_msg)
                    .await;
            }
            Route::Plugin => {
                record(span, "openapi.answered_by", "custom");
                let (custom, data) = custom::plugin_target(&inner.custom, params)?;
                return self
                    .call_custom(app, custom, data, sink, &custom::PLUGIN_OK)
                    .await;
            }
            Route::Setting(setting) => {
                record(span, "openapi.answered_by", "consent");
                let known = |scope: &ScopeName| inner.known_scopes.contains(scope);
                let call = consent::answer(
                    &*inner.handler,
                    &inner.consent,
                    &known,
                    app,
                    setting,
                    &params,
                );
                let answered = bounded(call, inner.call_timeout).await;
                return answered.map(|result| Answered::Named(setting.ok_msg(), result));
            }
        };
        let timeout = self.timeout_for(api, &params)?;
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
                    Responder::Custom => "custom",
                },
            );
        }
        let guard = inner
            .guards
            .iter()
            .find_map(|(guarded, scope)| (*guarded == api).then_some(scope));

        let seal = open_data::wanted(api, &params) && inner.open_data && version != ApiVersion::V1;
        let call = async {
            if let Some(scope) = guard {
                consent::guard(&*inner.handler, &inner.consent, app, scope).await?;
            }
            let result = match answered_by {
                Responder::BuiltIn => {
                    builtin::run(&*inner.handler, &inner.platform, app, api, version).await
                }
                Responder::Host | Responder::Custom => {
                    call_host(&*inner.handler, app, api, params).await
                }
            };
            match result {
                Ok(mut result) if seal => {
                    open_data::add(&*inner.handler, &inner.platform, app, api, &mut result).await;
                    Ok(result)
                }
                other => other,
            }
        };
        bounded(call, timeout)
            .await
            .map(|result| Answered::Api(api, result))
    }

    /// A custom API: its allow-list, its scope, then its handler with a
    /// state channel that closes at the final reply, answered with `err_msg`.
    async fn call_custom<'a>(
        &'a self,
        app: &AppInfo,
        custom: &'a CustomApi,
        params: JsonObject,
        sink: Option<Arc<dyn StateSink>>,
        err_msg: &'a ErrMsg,
    ) -> Result<Answered<'a>, CallError> {
        let inner = &*self.inner;
        if !custom.allows(app) {
            return Err(CallError::new(
                FailureKind::NotAllowed,
                format!(
                    "{} is not available to mini program {}",
                    custom.name,
                    app.app_id()
                ),
            ));
        }
        let states = StateSender::new(sink, inner.max_states);
        let call = async {
            if let Some(scope) = &custom.scope {
                consent::guard(&*inner.handler, &inner.consent, app, scope).await?;
            }
            match custom.handler.call(app, params, states.clone()).await {
                Ok(mut result) => {
                    Reply::strip_reserved(&mut result);
                    Ok(result)
                }
                Err(err) => Err(CallError::from_host(&custom.name, err)),
            }
        };
        let result = bounded(call, inner.call_timeout).await;
        match states.finish() {
            Ok(()) => result.map(|result| Answered::Named(err_msg, result)),
            Err(limit) => Err(CallError::new(
                FailureKind::TooManyStates,
                format!(
                    "{} sent more than {limit} intermediate states, the most one call may send",
                    custom.name
                ),
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

/// Records a span field when a subscriber listens.
fn record(span: &tracing::Span, field: &str, value: &str) {
    if !span.is_disabled() {
        span.record(field, value);
    }
}

/// Runs `call` with panics caught and within `timeout`: polled once before
/// a timer is armed, since most hosts answer at once.
async fn bounded<F>(call: F, timeout: Duration) -> Result<JsonObject, CallError>
where
    F: Future<Output = Result<JsonObject, CallError>>,
{
    let mut call = CatchUnwind(std::pin::pin!(call));
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
        Ok(Ok(result)) => result,
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

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("default_version", &self.inner.default_version)
            .field("call_timeout", &self.inner.call_timeout)
            .field("embedded_platform", &self.open_server().is_some())
            .finish_non_exhaustive()
    }
}
