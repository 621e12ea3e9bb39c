//! The wx reply convention and the one errno table (`docs/errors.md`).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::api::OpenApi;
use crate::consent::ConsentError;
use crate::handler::{HostError, JsonObject};
use crate::platform::PlatformError;

/// `failure_kinds! { /// doc  Variant => errno, "name"; … }`: each kind
/// declared once, in errno order, with its errno and its name for logs;
/// the enum, `ALL`, `errno` and `as_str` come from the one list.
macro_rules! failure_kinds {
    ($($(#[$doc:meta])* $variant:ident => $errno:literal, $name:literal;)+) => {
        /// Why a dispatched call failed; each kind has one errno (`docs/errors.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum FailureKind {
            $($(#[$doc])* $variant,)+
        }

        impl FailureKind {
            /// Every kind, in errno order.
            pub const ALL: [FailureKind; [$($errno),+].len()] = [$(FailureKind::$variant),+];

            /// The errno a reply of this kind carries (the host may override
            /// [`FailureKind::HostError`]'s with [`HostError::Failed`]'s `errno`).
            pub const fn errno(self) -> i64 {
                match self {
                    $(FailureKind::$variant => $errno,)+
                }
            }

            /// A short name for logs and traces (`"timeout"`, `"not_implemented"`…).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FailureKind::$variant => $name,)+
                }
            }
        }
    };
}

failure_kinds! {
    /// The dispatcher itself failed, or a handler panicked.
    Internal => 1, "internal";
    /// The API name is not one of the supported wx APIs.
    NotSupported => 101, "not_supported";
    /// The params are not a JSON object, or a param has the wrong type.
    InvalidParams => 102, "invalid_params";
    /// v1 (or a non-built-in API) and the host does not implement the method.
    NotImplemented => 103, "not_implemented";
    /// v3, and the host does not implement `get_auth_code`.
    AuthCodeUnsupported => 104, "auth_code_unsupported";
    /// v2 built-in, and the host's `app_uid` returned no user.
    NotLoggedIn => 105, "not_logged_in";
    /// v3: the host's grant has neither `authCode` nor `code`.
    AuthCodeNull => 106, "auth_code_null";
    /// `invokeNativePlugin` named no custom API the host registered.
    UnknownCustomApi => 107, "unknown_custom_api";
    /// A custom API the calling mini program is not on the allow-list of.
    NotAllowed => 108, "not_allowed";
    /// A custom API sent more intermediate states than a call may carry.
    TooManyStates => 109, "too_many_states";
    /// More consent prompts wait for an answer than the dispatcher allows.
    TooManyPrompts => 110, "too_many_prompts";
    /// The user cancelled.
    Cancelled => 201, "cancelled";
    /// The user or the host refused (a v3 scope not granted, or `HostError::Denied`).
    Denied => 202, "denied";
    /// checkSession: the login session is no longer valid.
    SessionExpired => 203, "session_expired";
    /// The call showing the consent prompt went away before it answered.
    PromptAbandoned => 204, "prompt_abandoned";
    /// The host's handler failed.
    HostError => 301, "host_error";
    /// The consent store failed or is full.
    ConsentStore => 302, "consent_store";
    /// The platform answered with an error code.
    PlatformError => 401, "platform_error";
    /// The platform could not be reached or answered something else than its API.
    PlatformUnavailable => 402, "platform_unavailable";
    /// The call outlived its timeout.
    Timeout => 408, "timeout";
}

/// A failed call: its kind, the reason that follows `"<api>:fail "`, and the errno.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct CallError {
    kind: FailureKind,
    reason: String,
    errno: i64,
}

impl CallError {
    /// A failure of `kind` with `reason` and the kind's errno.
    pub(crate) fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        CallError {
            kind,
            reason: reason.into(),
            errno: kind.errno(),
        }
    }

    /// The kind.
    pub(crate) fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The reason, as it follows `"<api>:fail "`.
    pub(crate) fn reason(&self) -> &str {
        &self.reason
    }

    /// The errno the reply carries.
    pub(crate) fn errno(&self) -> i64 {
        self.errno
    }

    /// The `errMsg` for `api_name`: `"<api>:fail <reason>"`.
    pub(crate) fn err_msg(&self, api_name: &str) -> String {
        format!("{api_name}:fail {}", self.reason)
    }

    /// Maps a host error for `api_name`.
    pub(crate) fn from_host(api_name: &str, err: HostError) -> Self {
        match err {
            HostError::NotImplemented => CallError::new(
                FailureKind::NotImplemented,
                format!("{api_name} is not implemented by the host"),
            ),
            HostError::Cancelled => CallError::new(FailureKind::Cancelled, "cancel"),
            HostError::Denied { reason } => {
                CallError::new(FailureKind::Denied, format!("auth deny: {reason}"))
            }
            HostError::Failed { message, errno } => CallError {
                kind: FailureKind::HostError,
                reason: message,
                errno: errno.unwrap_or(FailureKind::HostError.errno()),
            },
        }
    }
}

impl From<ConsentError> for CallError {
    /// WeChat's words for the user's answers (`auth deny`, `cancel`, with
    /// nothing after them, as `authorize:fail auth deny`); the rest says
    /// what failed.
    fn from(err: ConsentError) -> Self {
        let kind = match &err {
            ConsentError::Denied { .. } => {
                return CallError::new(FailureKind::Denied, "auth deny");
            }
            ConsentError::Cancelled { .. } => {
                return CallError::new(FailureKind::Cancelled, "cancel");
            }
            ConsentError::InvalidScopeName(_) | ConsentError::InvalidId { .. } => {
                FailureKind::InvalidParams
            }
            ConsentError::PromptAbandoned { .. } => FailureKind::PromptAbandoned,
            ConsentError::TooManyPrompts { .. } => FailureKind::TooManyPrompts,
            _ => FailureKind::ConsentStore,
        };
        CallError::new(kind, err.to_string())
    }
}

impl From<PlatformError> for CallError {
    fn from(err: PlatformError) -> Self {
        let kind = match err {
            PlatformError::Api { .. } => FailureKind::PlatformError,
            PlatformError::Timeout => FailureKind::Timeout,
            _ => FailureKind::PlatformUnavailable,
        };
        CallError::new(kind, err.to_string())
    }
}

/// The failure field of the virtual-payment APIs beside `errno`.
const ERR_CODE: &str = "errCode";

/// The APIs whose failures carry `errCode` too, as WeChat's do.
const ERR_CODE_APIS: [OpenApi; 2] = [
    OpenApi::RequestVirtualPayment,
    OpenApi::RequestMidasPaymentGameItem,
];

/// What follows the API's name in a success's `errMsg`.
const OK_SUFFIX: &str = ":ok";

/// A reply's `errMsg`, made once where it can be: the API table's and the
/// consent APIs' successes are static text, a registered custom API's is
/// shared from its registration, and a failure's is built for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrMsg {
    Static(&'static str),
    Shared(Arc<str>),
    Owned(String),
}

impl ErrMsg {
    /// `"<name>:ok"`, made once (a custom API's, at its registration).
    pub(crate) fn ok_for(name: &str) -> ErrMsg {
        let mut text = String::with_capacity(name.len() + OK_SUFFIX.len());
        text.push_str(name);
        text.push_str(OK_SUFFIX);
        ErrMsg::Shared(Arc::from(text))
    }

    fn as_str(&self) -> &str {
        match self {
            ErrMsg::Static(text) => text,
            ErrMsg::Shared(text) => text,
            ErrMsg::Owned(text) => text,
        }
    }

    fn into_string(self) -> String {
        match self {
            ErrMsg::Owned(text) => text,
            other => other.as_str().to_owned(),
        }
    }
}

/// What the mini program receives: the result's fields plus
/// `"errMsg": "<api>:ok"`, or `"errMsg": "<api>:fail <reason>"` and `errno`
/// (and, for `requestVirtualPayment` and `requestMidasPaymentGameItem`,
/// `errCode` with the same number, the field WeChat's fail callbacks of
/// those two read).
///
/// `errMsg` and `errno` are kept beside the result's fields (a result field
/// of either name is replaced), so a success reply costs no allocation and
/// no map insert for them; they serialize last.
///
/// `Debug` shows `errMsg`, `errno` and the names of the other fields, never
/// their values (a login code is a secret).
#[derive(Clone, PartialEq)]
pub struct Reply {
    fields: JsonObject,
    err_msg: ErrMsg,
    errno: Option<i64>,
}

impl Reply {
    /// A success. The caller strips `errMsg`/`errno` from results it did
    /// not build itself (see [`Reply::strip_reserved`]).
    pub(crate) fn ok(api: OpenApi, fields: JsonObject) -> Reply {
        Reply {
            fields,
            err_msg: ErrMsg::Static(api.ok_msg()),
            errno: None,
        }
    }

    /// A success of an API the table does not name (a custom API, a
    /// consent API), with its `errMsg` made beforehand: `"<name>:ok"`.
    pub(crate) fn ok_named(err_msg: ErrMsg, fields: JsonObject) -> Reply {
        Reply {
            fields,
            err_msg,
            errno: None,
        }
    }

    /// Removes the fields a host may not set: the reply's own `errMsg`
    /// and `errno` win.
    pub(crate) fn strip_reserved(fields: &mut JsonObject) {
        for reserved in ["errMsg", "errno"] {
            fields.remove(reserved);
        }
    }

    pub(crate) fn fail(api_name: &str, err: &CallError) -> Reply {
        let mut fields = JsonObject::new();
        // WeChat's virtual-payment fail callbacks read `errCode`
        // (miniprogram-api-typings' RequestVirtualPaymentFailCallbackErr,
        // minigame-api-typings' MidasPaymentError), and WeChat sends it
        // beside `errno` with the same number.
        if ERR_CODE_APIS.iter().any(|api| api.as_str() == api_name) {
            fields.insert(ERR_CODE.into(), Value::from(err.errno()));
        }
        Reply {
            fields,
            err_msg: ErrMsg::Owned(err.err_msg(api_name)),
            errno: Some(err.errno()),
        }
    }

    /// Whether the call succeeded (`errMsg` ends in `:ok`, and no `errno`).
    pub fn is_ok(&self) -> bool {
        self.errno.is_none()
    }

    /// The `errMsg` field.
    pub fn err_msg(&self) -> &str {
        self.err_msg.as_str()
    }

    /// The `errno` of a failure.
    pub fn errno(&self) -> Option<i64> {
        self.errno
    }

    /// A result field of the reply (`errMsg` and `errno` have their own accessors).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// A string result field of the reply (`reply.get_str("code")`).
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// The result fields, without `errMsg` and `errno`.
    pub fn fields(&self) -> &JsonObject {
        &self.fields
    }

    /// The whole reply as a JSON object, `errMsg` and `errno` included.
    pub fn into_value(self) -> Value {
        let mut object = self.fields;
        object.insert("errMsg".into(), Value::String(self.err_msg.into_string()));
        if let Some(errno) = self.errno {
            object.insert("errno".into(), Value::from(errno));
        }
        Value::Object(object)
    }

    /// The reply as JSON text, ready for the mini program's bridge.
    pub fn to_json_string(&self) -> String {
        // Strings, numbers and maps with string keys always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = 1 + usize::from(self.errno.is_some());
        let mut map = serializer.serialize_map(Some(self.fields.len() + extra))?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("errMsg", self.err_msg.as_str())?;
        if let Some(errno) = self.errno {
            map.serialize_entry("errno", &errno)?;
        }
        map.end()
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        f.debug_struct("Reply")
            .field("errMsg", &self.err_msg.as_str())
            .field("errno", &self.errno)
            .field("fields", &fields)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::FailureKind;

    #[test]
    fn all_is_in_errno_order_and_each_errno_is_one_kinds() {
        // `failure_kinds!` lists every kind in `ALL` by construction; the
        // list must also keep errno order, with no errno twice.
        assert!(
            FailureKind::ALL
                .windows(2)
                .all(|pair| pair[0].errno() < pair[1].errno())
        );
    }
}
