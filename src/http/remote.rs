//! [`RemotePlatform`]: the [`Platform`] of a host whose platform is an
//! `openserver` on another machine, over its SDK routes.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::paths;
use super::sdk::{FIELD_AVATAR, FIELD_NICKNAME, kind_name, principal_json};
use super::transport::{Transport, TransportError};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::platform::{Platform, PlatformError, Principal, UserCodeKind};
use crate::secret::{AuthCode, Code, SdkKey};

/// The default [`RemotePlatform::timeout`]: 10 s, well inside the
/// dispatcher's 30 s call timeout.
pub const DEFAULT_PLATFORM_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Platform`] over HTTP: the SDK routes of an `openserver` (or any
/// server that speaks `docs/http.md`), authenticated with the host's SDK key.
///
/// Failures map onto [`PlatformError`]: an answer with `errcode` ≠ 0 is
/// [`Api`](PlatformError::Api); no answer within the timeout is
/// [`Timeout`](PlatformError::Timeout); no connection is
/// [`Unreachable`](PlatformError::Unreachable); anything that is not the
/// API's JSON (HTML, a 500, a missing field) is
/// [`BadResponse`](PlatformError::BadResponse). Nothing panics, and `Debug`
/// does not show the key.
///
/// ```
/// use std::time::Duration;
/// use superapp_openapi::{ApiVersion, Dispatcher, OpenApiHandler, SdkKey, http::RemotePlatform};
///
/// struct Host;
/// impl OpenApiHandler for Host {}
///
/// let platform = RemotePlatform::new("http://127.0.0.1:8080", SdkKey::new("host-key"))
///     .timeout(Duration::from_secs(5));
/// assert!(!format!("{platform:?}").contains("host-key"));
/// let dispatcher = Dispatcher::builder(Host)
///     .platform(platform)
///     .default_version(ApiVersion::V2)
///     .build();
/// # let _ = dispatcher;
/// ```
pub struct RemotePlatform {
    transport: Transport,
    sdk_key: SdkKey,
}

impl RemotePlatform {
    /// A platform at `base_url` (scheme, host, port and any path prefix in
    /// front of `/openserver/...`), with the key this host was given and a
    /// [`DEFAULT_PLATFORM_TIMEOUT`].
    pub fn new(base_url: impl AsRef<str>, sdk_key: SdkKey) -> Self {
        RemotePlatform {
            transport: Transport::new(base_url.as_ref(), DEFAULT_PLATFORM_TIMEOUT),
            sdk_key,
        }
    }

    /// How long one request may take, connecting included.
    pub fn timeout(self, timeout: Duration) -> Self {
        RemotePlatform {
            transport: Transport::new(self.transport.base_url(), timeout),
            sdk_key: self.sdk_key,
        }
    }

    /// Asks the server to play the super-app server and issue a v3 authCode
    /// for `user_id` in `app_id` with the scopes the user granted
    /// (`/openserver/sdk/auth_code`, an `openserver` emulator route). A host
    /// whose super-app server is real gets its authCodes from there instead.
    ///
    /// # Errors
    ///
    /// As the [`Platform`] methods: `46001`/`46002` for an unknown or
    /// inactive user, `40001` for a wrong SDK key, transport failures.
    pub async fn issue_auth_code(
        &self,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
    ) -> Result<AuthCode, PlatformError> {
        let scopes = Value::Array(scopes.iter().map(|s| s.as_str().into()).collect());
        let app = AppInfo::new(app_id);
        let principal = Principal::Uid(user_id.to_owned());
        let extra = Some(("scopes", scopes));
        let code = self
            .string(paths::SDK_AUTH_CODE, &app, &principal, extra, "authCode")
            .await?;
        Ok(AuthCode::new(code))
    }

    /// Posts `{appid, principal, extra…}` and returns the result field.
    async fn call(
        &self,
        path: &str,
        app: &AppInfo,
        principal: &Principal,
        extra: Option<(&str, Value)>,
        field: &str,
    ) -> Result<Value, PlatformError> {
        let mut body = Map::new();
        body.insert("appid".into(), app.app_id().into());
        body.insert("principal".into(), principal_json(principal));
        if let Some((name, value)) = extra {
            body.insert(name.into(), value);
        }
        let mut answer = self
            .transport
            .post(path, Some(self.sdk_key.secret()), &Value::Object(body))
            .await
            .map_err(platform_error)?;
        let errcode = match answer.get("errcode") {
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| PlatformError::BadResponse("the answer has no integer errcode".into()))?;
        if errcode != 0 {
            let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
            return Err(PlatformError::Api {
                errcode,
                errmsg: text("errmsg").unwrap_or_default(),
                request_id: text("requestId"),
            });
        }
        answer
            .remove(field)
            .ok_or_else(|| PlatformError::BadResponse(format!("the answer has no {field}")))
    }

    async fn string(
        &self,
        path: &str,
        app: &AppInfo,
        principal: &Principal,
        extra: Option<(&str, Value)>,
        field: &str,
    ) -> Result<String, PlatformError> {
        match self.call(path, app, principal, extra, field).await? {
            Value::String(s) => Ok(s),
            _ => Err(PlatformError::BadResponse(format!(
                "{field} in the answer is not a string"
            ))),
        }
    }

    async fn code(
        &self,
        path: &str,
        app: &AppInfo,
        principal: &Principal,
        extra: Option<(&str, Value)>,
    ) -> Result<Code, PlatformError> {
        let code = self.string(path, app, principal, extra, "code").await?;
        if code.is_empty() {
            return Err(PlatformError::BadResponse(
                "the answer's code is empty".into(),
            ));
        }
        Ok(Code::new(code))
    }
}

fn platform_error(err: TransportError) -> PlatformError {
    match err {
        TransportError::Timeout => PlatformError::Timeout,
        TransportError::Unreachable(why) => PlatformError::Unreachable(why),
        TransportError::BadResponse(why) => PlatformError::BadResponse(why),
    }
}

#[async_trait]
impl Platform for RemotePlatform {
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        self.code(paths::SDK_LOGIN_CODE, app, principal, None).await
    }

    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        match self
            .call(paths::SDK_CHECK_SESSION, app, principal, None, "valid")
            .await?
        {
            Value::Bool(valid) => Ok(valid),
            _ => Err(PlatformError::BadResponse(
                "valid in the answer is not a boolean".into(),
            )),
        }
    }

    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let extra = Some(("kind", kind_name(kind).into()));
        self.code(paths::SDK_USER_CODE, app, principal, extra).await
    }

    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let extra = Some(("field", FIELD_AVATAR.into()));
        self.string(paths::SDK_PROFILE, app, principal, extra, "value")
            .await
    }

    async fn nickname(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let extra = Some(("field", FIELD_NICKNAME.into()));
        self.string(paths::SDK_PROFILE, app, principal, extra, "value")
            .await
    }
}

impl fmt::Debug for RemotePlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemotePlatform")
            .field("base_url", &self.transport.base_url())
            .field("timeout", &self.transport.timeout())
            .field("sdk_key", &self.sdk_key)
            .finish()
    }
}
