//! The consent rules in the dispatcher: `wx.authorize`, `wx.getSetting`,
//! `wx.openSetting`, and the scope check before a guarded API.

use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::app::{AppInfo, json_type};
use crate::consent::{ConsentGate, PromptAnswer, ScopeName};
use crate::handler::{HostError, JsonObject, OpenApiHandler};
use crate::reply::{CallError, ErrMsg, FailureKind};

/// The three APIs the dispatcher answers from the consent store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SettingApi {
    Authorize,
    GetSetting,
    OpenSetting,
}

/// `setting_apis! { Variant => "wxName", … }`: each consent API's name
/// and success text, written once.
macro_rules! setting_apis {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        impl SettingApi {
            pub(crate) fn from_name(name: &str) -> Option<SettingApi> {
                match name {
                    $($name => Some(SettingApi::$variant),)+
                    _ => None,
                }
            }

            /// A success's `errMsg`.
            pub(crate) fn ok_msg(self) -> &'static ErrMsg {
                match self {
                    $(SettingApi::$variant => {
                        static OK: ErrMsg = ErrMsg::Static(concat!($name, ":ok"));
                        &OK
                    })+
                }
            }
        }
    };
}

setting_apis! {
    Authorize => "authorize",
    GetSetting => "getSetting",
    OpenSetting => "openSetting",
}

/// The host user consent is stored for: `app_uid`, or the anonymous user
/// `""` when the host gives none.
pub(crate) fn host_user(handler: &dyn OpenApiHandler, app: &AppInfo) -> Result<String, CallError> {
    std::panic::catch_unwind(AssertUnwindSafe(|| handler.app_uid(app)))
        .map(Option::unwrap_or_default)
        .map_err(|_| CallError::new(FailureKind::Internal, "internal error: app_uid panicked"))
}

/// Applies the consent rule to `scope` before a guarded call.
pub(crate) async fn guard(
    handler: &dyn OpenApiHandler,
    gate: &ConsentGate,
    app: &AppInfo,
    scope: &ScopeName,
) -> Result<(), CallError> {
    let user = host_user(handler, app)?;
    // The hot path: an answer stored in a store that answers at once.
    match gate.check_now(&user, app.app_id(), scope) {
        Some(checked) => checked.map_err(CallError::from),
        // Boxed: the prompt's machinery stays out of every guarded call's
        // future until a prompt may be needed.
        None => Box::pin(prompted(handler, gate, app, scope, &user)).await,
    }
}

/// The rule through [`ConsentGate::check`], which may prompt.
async fn prompted(
    handler: &dyn OpenApiHandler,
    gate: &ConsentGate,
    app: &AppInfo,
    scope: &ScopeName,
    user: &str,
) -> Result<(), CallError> {
    // The prompt's own failure (not implemented, an error) is kept here and
    // answered as Cancel to the gate, so nothing is stored for it.
    let failed: Mutex<Option<HostError>> = Mutex::new(None);
    let checked = gate
        .check(user, app.app_id(), scope, |prompt| async {
            match handler.consent_prompt(app, prompt).await {
                Ok(answer) => answer,
                Err(err) => {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
                    PromptAnswer::Cancel
                }
            }
        })
        .await;
    match (
        checked,
        failed.into_inner().unwrap_or_else(PoisonError::into_inner),
    ) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(HostError::NotImplemented)) => Err(CallError::new(
            FailureKind::NotImplemented,
            "the host shows no consent prompt (consent_prompt is not implemented)",
        )),
        (Err(_), Some(err)) => Err(CallError::from_host("consent_prompt", err)),
        (Err(err), None) => Err(err.into()),
    }
}

/// Answers one of the three setting APIs.
pub(crate) async fn answer(
    handler: &dyn OpenApiHandler,
    gate: &ConsentGate,
    known: &(dyn Fn(&ScopeName) -> bool + Sync),
    app: &AppInfo,
    api: SettingApi,
    params: &JsonObject,
) -> Result<JsonObject, CallError> {
    match api {
        SettingApi::Authorize => {
            let scope = match params.get("scope") {
                Some(Value::String(scope)) => scope.parse::<ScopeName>().map_err(|err| {
                    CallError::new(
                        FailureKind::InvalidParams,
                        format!("invalid params: scope: {err}"),
                    )
                })?,
                Some(other) => return Err(invalid_scope(json_type(other))),
                None => return Err(invalid_scope("nothing")),
            };
            if !known(&scope) {
                return Err(CallError::new(
                    FailureKind::InvalidParams,
                    format!(
                        "invalid params: {scope} is not a scope this host knows (the built-in scope table, the host's own scopes and its custom APIs' scopes)"
                    ),
                ));
            }
            guard(handler, gate, app, &scope).await?;
            Ok(JsonObject::new())
        }
        SettingApi::GetSetting => {
            let subscriptions = with_subscriptions(params)?;
            let user = host_user(handler, app)?;
            settings(gate, &user, app, subscriptions).await
        }
        SettingApi::OpenSetting => {
            let subscriptions = with_subscriptions(params)?;
            let user = host_user(handler, app)?;
            let current = gate.list(&user, app.app_id()).await?;
            let changes = match handler.open_setting(app, current.clone()).await {
                Ok(changes) => changes,
                Err(HostError::NotImplemented) => {
                    return Err(CallError::new(
                        FailureKind::NotImplemented,
                        "the host shows no settings view (open_setting is not implemented)",
                    ));
                }
                Err(err) => return Err(CallError::from_host("open_setting", err)),
            };
            // The settings view shows only what the mini program asked
            // for; a change to anything else is the host's mistake.
            if let Some((scope, _)) = changes
                .iter()
                .find(|(scope, _)| !current.iter().any(|(asked, _)| asked == scope))
            {
                return Err(CallError::new(
                    FailureKind::HostError,
                    format!("open_setting changed {scope}, which the mini program never asked for"),
                ));
            }
            for (scope, state) in &changes {
                gate.set(&user, app.app_id(), scope, *state).await?;
            }
            settings(gate, &user, app, subscriptions).await
        }
    }
}

fn invalid_scope(found: &str) -> CallError {
    CallError::new(
        FailureKind::InvalidParams,
        format!(
            "invalid params: scope must be a scope name such as \"scope.userInfo\", found {found}"
        ),
    )
}

/// `withSubscriptions`: absent, `null` or a bool.
fn with_subscriptions(params: &JsonObject) -> Result<bool, CallError> {
    match params.get("withSubscriptions") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(other) => Err(CallError::new(
            FailureKind::InvalidParams,
            format!(
                "invalid params: withSubscriptions must be a boolean, found {}",
                json_type(other)
            ),
        )),
    }
}

/// `{authSetting, subscriptionsSetting?}`: only the scopes asked for;
/// `subscriptionsSetting` only when `withSubscriptions` is true, as
/// WeChat's getSetting page says (this host has no subscription messages:
/// the main switch is on and no item is set).
async fn settings(
    gate: &ConsentGate,
    user: &str,
    app: &AppInfo,
    subscriptions: bool,
) -> Result<JsonObject, CallError> {
    let mut auth = JsonObject::new();
    for (scope, state) in gate.list(user, app.app_id()).await? {
        if let Some(granted) = state.as_auth_setting() {
            auth.insert(scope.as_str().to_owned(), Value::Bool(granted));
        }
    }
    let mut result = JsonObject::new();
    result.insert("authSetting".into(), Value::Object(auth));
    if subscriptions {
        let mut setting = JsonObject::new();
        setting.insert("mainSwitch".into(), Value::Bool(true));
        setting.insert("itemSettings".into(), Value::Object(JsonObject::new()));
        result.insert("subscriptionsSetting".into(), Value::Object(setting));
    }
    Ok(result)
}
