//! The host's own APIs (TCMPP's `@JsEvent` / `registerMiniAppApi`), called
//! by name or through `wx.invokeNativePlugin`, and their intermediate
//! states (`sendState`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::api::OpenApi;
use crate::app::AppInfo;
use crate::consent::ScopeName;
use crate::handler::{HandlerResult, JsonObject};
use crate::reply::ErrMsg;

/// The most intermediate states one call may send, unless the builder says
/// otherwise ([`max_states_per_call`](super::DispatcherBuilder::max_states_per_call)).
/// Past it the call fails with errno 109 (`docs/errors.md`).
pub const DEFAULT_MAX_STATES_PER_CALL: usize = 256;

/// The longest custom API name, in bytes.
pub const MAX_CUSTOM_API_NAME_LEN: usize = 64;

/// The names the dispatcher answers itself, which no custom API may take.
pub(crate) const RESERVED: [&str; 4] = ["authorize", "getSetting", "openSetting", PLUGIN];

/// The plugin API's name, written once for both constants below.
macro_rules! plugin_name {
    () => {
        "invokeNativePlugin"
    };
}

/// `wx.invokeNativePlugin`, which calls a custom API by `api_name`.
pub(crate) const PLUGIN: &str = plugin_name!();

/// Its success's `errMsg`.
pub(crate) static PLUGIN_OK: ErrMsg = ErrMsg::Static(concat!(plugin_name!(), ":ok"));

/// A custom API's handler: the params (the same object whether the mini
/// program called the API by name or through `invokeNativePlugin`'s
/// `data`), and a [`StateSender`] for intermediate states.
///
/// A closure `Fn(AppInfo, JsonObject, StateSender) -> impl Future<Output = HandlerResult>`
/// is one too.
#[async_trait]
pub trait CustomApiHandler: Send + Sync + 'static {
    /// Answers one call.
    async fn call(&self, app: &AppInfo, params: JsonObject, states: StateSender) -> HandlerResult;
}

#[async_trait]
impl<F, Fut> CustomApiHandler for F
where
    F: Fn(AppInfo, JsonObject, StateSender) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    async fn call(&self, app: &AppInfo, params: JsonObject, states: StateSender) -> HandlerResult {
        self(app.clone(), params, states).await
    }
}

/// One custom API: its name, handler, optional consent scope and optional
/// allow-list of mini programs.
///
/// ```
/// use superapp_openapi::{CustomApi, JsonObject};
///
/// let api = CustomApi::new("scanBadge", |_app, params: JsonObject, states: superapp_openapi::StateSender| async move {
///     states.send(JsonObject::from_iter([("progress".into(), 50.into())])).ok();
///     Ok(params)
/// })
/// .scope("scope.camera".parse()?)
/// .allow_apps(["wx-badges"]);
/// # let _ = api;
/// # Ok::<(), superapp_openapi::consent::ScopeNameError>(())
/// ```
#[derive(Clone)]
pub struct CustomApi {
    pub(crate) name: String,
    pub(crate) handler: Arc<dyn CustomApiHandler>,
    pub(crate) scope: Option<ScopeName>,
    pub(crate) allowed: Option<HashSet<String>>,
    pub(crate) takes_over: bool,
    /// `"<name>:ok"`, made once.
    pub(crate) ok_msg: ErrMsg,
}

impl CustomApi {
    /// A custom API called `name` (an identifier: checked at build time).
    pub fn new(name: impl Into<String>, handler: impl CustomApiHandler) -> Self {
        Self::from_arc(name, Arc::new(handler))
    }

    /// Like [`CustomApi::new`], for a handler already shared.
    pub fn from_arc(name: impl Into<String>, handler: Arc<dyn CustomApiHandler>) -> Self {
        let name = name.into();
        CustomApi {
            ok_msg: ErrMsg::ok_for(&name),
            name,
            handler,
            scope: None,
            allowed: None,
            takes_over: false,
        }
    }

    /// Calls pass the consent rule for `scope` before the handler runs.
    #[must_use]
    pub fn scope(mut self, scope: ScopeName) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Only these mini programs may call it; others fail with errno 108.
    #[must_use]
    pub fn allow_apps<I, S>(mut self, app_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed = Some(app_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Takes over the built-in API of the same name (one of the eleven of
    /// [`OpenApi`]): asked for explicitly, or the name is refused.
    #[must_use]
    pub fn take_over_builtin(mut self) -> Self {
        self.takes_over = true;
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn allows(&self, app: &AppInfo) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|allowed| allowed.contains(app.app_id()))
    }
}

impl fmt::Debug for CustomApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomApi")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("allowed", &self.allowed)
            .field("takes_over", &self.takes_over)
            .finish_non_exhaustive()
    }
}

/// Why [`try_build`](super::DispatcherBuilder::try_build) refused the custom APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The name is not an identifier.
    #[error(
        "custom API name {name:?} is not valid: {reason} (allowed: an ASCII letter or '_', then letters, digits or '_', at most {MAX_CUSTOM_API_NAME_LEN} bytes)"
    )]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two custom APIs have the same name.
    #[error("custom API {name:?} is registered twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// The name is a built-in API and `take_over_builtin` was not asked for.
    #[error(
        "custom API {name:?} has the name of a built-in API: call take_over_builtin() to answer it yourself"
    )]
    BuiltinName {
        /// The name.
        name: String,
    },
    /// `take_over_builtin` on a name that is not a built-in API.
    #[error("custom API {name:?} takes over a built-in, but no built-in API has that name")]
    NotBuiltin {
        /// The name.
        name: String,
    },
    /// The name is one the dispatcher answers itself (authorize, getSetting,
    /// openSetting, invokeNativePlugin).
    #[error(
        "custom API {name:?} has a name the dispatcher answers itself (authorize, getSetting, openSetting, invokeNativePlugin)"
    )]
    Reserved {
        /// The name.
        name: String,
    },
}

pub(crate) type Registry = HashMap<String, CustomApi, foldhash::fast::RandomState>;

/// Checks every custom API and indexes them by name.
pub(crate) fn registry(apis: Vec<CustomApi>) -> Result<Registry, BuildError> {
    let mut registry = Registry::default();
    for api in apis {
        let name = api.name.clone();
        check_name(&name)?;
        if RESERVED.contains(&name.as_str()) {
            return Err(BuildError::Reserved { name });
        }
        match (OpenApi::from_name(&name).is_some(), api.takes_over) {
            (true, false) => return Err(BuildError::BuiltinName { name }),
            (false, true) => return Err(BuildError::NotBuiltin { name }),
            _ => {}
        }
        if registry.insert(name.clone(), api).is_some() {
            return Err(BuildError::Duplicate { name });
        }
    }
    Ok(registry)
}

fn check_name(name: &str) -> Result<(), BuildError> {
    let invalid = |reason: String| BuildError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    let Some(first) = name.chars().next() else {
        return Err(invalid("it is empty".to_owned()));
    };
    if name.len() > MAX_CUSTOM_API_NAME_LEN {
        return Err(invalid(format!("it is {} bytes long", name.len())));
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(invalid(format!("it starts with {first:?}")));
    }
    match name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        Some((at, c)) => Err(invalid(format!("{c:?} at byte {at}"))),
        None => Ok(()),
    }
}

/// Where a caller receives a custom API's intermediate states, in order
/// ([`Dispatcher::invoke_with_states`](super::Dispatcher::invoke_with_states)).
/// Called while the call runs, one state at a time: it should hand the
/// state on and return, not block.
pub trait StateSink: Send + Sync + 'static {
    /// One intermediate state.
    fn state(&self, state: JsonObject);
}

impl<F: Fn(JsonObject) + Send + Sync + 'static> StateSink for F {
    fn state(&self, state: JsonObject) {
        self(state);
    }
}

/// Why [`StateSender::send`] did not deliver a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The call already sent its most states; it will fail with errno 109.
    #[error("too many intermediate states: at most {limit} per call")]
    TooMany {
        /// The limit.
        limit: usize,
    },
    /// The call has its final reply; states after it go nowhere.
    #[error("the call has already been answered")]
    Answered,
}

/// Sends a custom API's intermediate states (TCMPP's `sendState`) to the
/// caller, in order, before the final reply. Cheap to clone.
#[derive(Clone)]
pub struct StateSender {
    channel: Arc<Channel>,
}

struct Channel {
    sink: Option<Arc<dyn StateSink>>,
    limit: usize,
    state: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    sent: usize,
    overflowed: bool,
    answered: bool,
}

impl StateSender {
    pub(crate) fn new(sink: Option<Arc<dyn StateSink>>, limit: usize) -> Self {
        StateSender {
            channel: Arc::new(Channel {
                sink,
                limit,
                state: Mutex::new(Progress::default()),
            }),
        }
    }

    /// Sends one state. A caller that asked for no states (plain `invoke`)
    /// gets none, but the limit counts them all the same.
    ///
    /// # Errors
    ///
    /// [`StateError::TooMany`] past the limit (the call then fails: nothing
    /// is dropped silently), [`StateError::Answered`] after the final reply.
    pub fn send(&self, state: JsonObject) -> Result<(), StateError> {
        let mut progress = self.lock();
        if progress.answered {
            return Err(StateError::Answered);
        }
        if progress.sent >= self.channel.limit {
            progress.overflowed = true;
            return Err(StateError::TooMany {
                limit: self.channel.limit,
            });
        }
        progress.sent += 1;
        // Under the lock, so states from clones on other tasks arrive in
        // the order they were counted, and none after `finish`.
        if let Some(sink) = &self.channel.sink {
            sink.state(state);
        }
        Ok(())
    }

    /// Closes the channel at the final reply; `Err(limit)` when a state
    /// was refused for the limit.
    pub(crate) fn finish(&self) -> Result<(), usize> {
        let mut progress = self.lock();
        progress.answered = true;
        if progress.overflowed {
            Err(self.channel.limit)
        } else {
            Ok(())
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        // The sink runs under the lock; a sink that panicked leaves the
        // counters consistent (they are updated before it runs).
        self.channel
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for StateSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSender")
            .field("limit", &self.channel.limit)
            .finish_non_exhaustive()
    }
}

/// `invokeNativePlugin({api_name, data})`: the custom API named and the
/// params it gets (`data`; absent or `null` is `{}`), the same object as
/// when the API is called by its name.
pub(crate) fn plugin_target(
    registry: &Registry,
    mut params: JsonObject,
) -> Result<(&CustomApi, JsonObject), crate::reply::CallError> {
    use crate::app::json_type;
    use crate::reply::{CallError, FailureKind};
    use serde_json::Value;

    let invalid = |what: String| CallError::new(FailureKind::InvalidParams, what);
    let name = match params.get("api_name") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "invalid params: api_name must be a string, found {}",
                json_type(other)
            )));
        }
        None => {
            return Err(invalid(
                "invalid params: api_name is required (the custom API to call)".to_owned(),
            ));
        }
    };
    let data = match params.remove("data") {
        None | Some(Value::Null) => JsonObject::new(),
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(invalid(format!(
                "invalid params: data must be a JSON object, found {}",
                json_type(&other)
            )));
        }
    };
    match registry.get(name.as_str()) {
        Some(api) => Ok((api, data)),
        None => {
            let mut shown: String = name.chars().take(MAX_CUSTOM_API_NAME_LEN).collect();
            if shown.len() < name.len() {
                shown.push('…');
            }
            Err(CallError::new(
                FailureKind::UnknownCustomApi,
                format!("no custom API named {shown:?} is registered by the host"),
            ))
        }
    }
}
