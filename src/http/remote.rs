//! [`RemotePlatform`]: the [`Platform`] of a host whose platform is an
//! `openserver` on another machine, over its SDK routes.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::transport::{Failure, TlsRoots, Transport};
use serde_json::{Map, Value};

use super::wire::{
    FIELD_AVATAR, FIELD_NICKNAME, PHONE_NUMBER, SdkRequest, SdkResponse, kind_name, paths,
};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::opendata::{OpenData, SealedData};
use crate::platform::{Platform, PlatformError, Principal, UserCodeKind};
use crate::secret::{AuthCode, Code, SdkKey};

/// The default [`RemotePlatformBuilder::timeout`]: 10 s, well inside the
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
/// use superapp_openapi::http::RemotePlatform;
/// use superapp_openapi::{ApiVersion, Dispatcher, OpenApiHandler, SdkKey};
///
/// struct Host;
/// impl OpenApiHandler for Host {}
///
/// let platform = RemotePlatform::builder("http://127.0.0.1:8080", SdkKey::new("host-key"))
///     .timeout(Duration::from_secs(5))
///     .build();
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

/// Builds a [`RemotePlatform`]; see [`RemotePlatform::builder`].
pub struct RemotePlatformBuilder {
    base_url: String,
    sdk_key: SdkKey,
    timeout: Duration,
    tls: TlsRoots,
}

impl RemotePlatformBuilder {
    /// How long one request may take, connecting included (default
    /// [`DEFAULT_PLATFORM_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts the certificate authority in `pem` (PEM, one or more
    /// certificates) besides the platform's roots, for an https platform
    /// whose certificate a private CA signed. A PEM that does not parse
    /// makes every call fail as unreachable, saying why.
    #[cfg(feature = "rustls")]
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.add_pem(pem.into());
        self
    }

    /// Builds the platform client.
    pub fn build(self) -> RemotePlatform {
        RemotePlatform {
            transport: Transport::new(&self.base_url, self.timeout, &self.tls),
            sdk_key: self.sdk_key,
        }
    }
}

impl fmt::Debug for RemotePlatformBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemotePlatformBuilder")
            .field("base_url", &self.base_url)
            .field("sdk_key", &self.sdk_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RemotePlatform {
    /// A platform at `base_url` (scheme, host, port and any path prefix in
    /// front of `/openserver/...`), with the key this host was given and a
    /// [`DEFAULT_PLATFORM_TIMEOUT`].
    pub fn new(base_url: impl Into<String>, sdk_key: SdkKey) -> Self {
        RemotePlatform::builder(base_url, sdk_key).build()
    }

    /// Starts a platform client with a timeout of its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use superapp_openapi::SdkKey;
    /// use superapp_openapi::http::RemotePlatform;
    /// let platform = RemotePlatform::builder("http://127.0.0.1:8080", SdkKey::new("host-key"))
    ///     .timeout(Duration::from_secs(5))
    ///     .build();
    /// assert!(!format!("{platform:?}").contains("host-key"));
    /// ```
    pub fn builder(base_url: impl Into<String>, sdk_key: SdkKey) -> RemotePlatformBuilder {
        RemotePlatformBuilder {
            base_url: base_url.into(),
            sdk_key,
            timeout: DEFAULT_PLATFORM_TIMEOUT,
            tls: TlsRoots::default(),
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
        let request = SdkRequest {
            scopes: Some(scopes.to_vec()),
            ..SdkRequest::new(app_id, &Principal::Uid(user_id.to_owned()))
        };
        let answer = self.call(paths::SDK_AUTH_CODE, &request).await?;
        Ok(AuthCode::new(required(answer.auth_code, "authCode")?))
    }

    /// Posts the request and returns the answer.
    async fn call(&self, path: &str, request: &SdkRequest) -> Result<SdkResponse, PlatformError> {
        self.transport
            .post(path, Some(self.sdk_key.secret()), request)
            .await
            .map_err(platform_error)
    }

    async fn code(&self, path: &str, request: &SdkRequest) -> Result<Code, PlatformError> {
        let answer = self.call(path, request).await?;
        Ok(Code::new(required(answer.code, "code")?))
    }

    async fn profile(
        &self,
        app: &AppInfo,
        principal: &Principal,
        field: &str,
    ) -> Result<String, PlatformError> {
        let request = SdkRequest {
            field: Some(field.to_owned()),
            ..SdkRequest::new(app.app_id(), principal)
        };
        let answer = self.call(paths::SDK_PROFILE, &request).await?;
        answer
            .value
            .ok_or_else(|| PlatformError::BadResponse("the answer has no value".into()))
    }
}

/// A result string the answer must carry, not empty.
fn required(value: Option<String>, name: &str) -> Result<String, PlatformError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PlatformError::BadResponse(format!("the answer has no {name}")))
}

fn platform_error(failure: Failure) -> PlatformError {
    match failure {
        Failure::Api(err) => PlatformError::Api(err),
        Failure::Timeout => PlatformError::Timeout,
        Failure::Unreachable(err) => PlatformError::Unreachable(err),
        Failure::BadResponse(why) => PlatformError::BadResponse(why),
    }
}

#[async_trait]
impl Platform for RemotePlatform {
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        let request = SdkRequest::new(app.app_id(), principal);
        self.code(paths::SDK_LOGIN_CODE, &request).await
    }

    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        let request = SdkRequest::new(app.app_id(), principal);
        let answer = self.call(paths::SDK_CHECK_SESSION, &request).await?;
        answer
            .valid
            .ok_or_else(|| PlatformError::BadResponse("the answer has no valid".into()))
    }

    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let request = SdkRequest {
            kind: Some(kind_name(kind).to_owned()),
            ..SdkRequest::new(app.app_id(), principal)
        };
        self.code(paths::SDK_USER_CODE, &request).await
    }

    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        self.profile(app, principal, FIELD_AVATAR).await
    }

    async fn nickname(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        self.profile(app, principal, FIELD_NICKNAME).await
    }

    async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &Map<String, Value>,
    ) -> Result<OpenData, PlatformError> {
        let request = SdkRequest {
            user_info: Some(user_info.clone()),
            ..SdkRequest::new(app.app_id(), principal)
        };
        let answer = self.call(paths::SDK_OPEN_DATA, &request).await?;
        Ok(OpenData {
            raw_data: required(answer.raw_data, "rawData")?,
            signature: required(answer.signature, "signature")?,
            encrypted_data: required(answer.encrypted_data, "encryptedData")?,
            iv: required(answer.iv, "iv")?,
        })
    }

    async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, PlatformError> {
        let request = SdkRequest {
            kind: Some(PHONE_NUMBER.to_owned()),
            ..SdkRequest::new(app.app_id(), principal)
        };
        let answer = self.call(paths::SDK_OPEN_DATA, &request).await?;
        Ok(SealedData {
            encrypted_data: required(answer.encrypted_data, "encryptedData")?,
            iv: required(answer.iv, "iv")?,
        })
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
