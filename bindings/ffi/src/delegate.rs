//! The foreign delegate: the host's `OpenApiHandler` written in Kotlin,
//! Swift or Python, and the adapter that makes it the core's.

use std::sync::Arc;

use async_trait::async_trait;
use superapp_openapi as openapi;

use crate::runtime;
use superapp_openapi::ApiVersion;

use crate::consent::{ConsentAnswer, ConsentPrompt, ScopeConsent, rows};
use crate::types::{AppInfo, AuthCodeRequest, AuthGrant, HostError, JsonText};
use superapp_openapi::consent::{ConsentState, PromptAnswer, ScopeName};

/// The host's delegate, implemented in the host's language: one async
/// method per wx open API (params and result as JSON object text), the v3
/// `get_auth_code`, and the two sync hooks. It mirrors the core's
/// `OpenApiHandler` (and iOS `TMFMiniAppSDKDelegate`, Android
/// `MiniOpenApiProxy`).
///
/// Every method returns a `Result`: throw `HostError` (`HostException` in
/// Kotlin) to fail a call with its errno; any other exception fails it too
/// (errno 301), and never crashes the library. A method the host does not
/// offer throws `HostError.NotImplemented` (in Python, the generated base
/// class's `NotImplementedError` counts as that).
///
/// Under v1 every call comes here; under v2/v3 login, checkSession,
/// getPhoneNumber, getEmail, chooseAvatar and getNickName are answered by
/// the built-in flows (which call `app_uid` or `get_auth_code`), and the
/// others still come here.
/// The delegate trait and the adapter's forwarding, one method per row of
/// the core's wx API table (`superapp_openapi::with_open_apis!`).
macro_rules! delegate {
    ($({ $variant:ident, $name:literal, $method:ident, builtin: $builtin:literal
         $(, scope: $scope:ident)?, host: $host:literal })+) => {
        /// The host's delegate, implemented in the host's language: one async
        /// method per wx open API (params and result as JSON object text), the v3
        /// `get_auth_code`, and the two sync hooks. It mirrors the core's
        /// `OpenApiHandler` (and iOS `TMFMiniAppSDKDelegate`, Android
        /// `MiniOpenApiProxy`).
        ///
        /// Every method returns a `Result`: throw `HostError` (`HostException` in
        /// Kotlin) to fail a call with its errno; any other exception fails it too
        /// (errno 301), and never crashes the library. A method the host does not
        /// offer throws `HostError.NotImplemented` (in Python, the generated base
        /// class's `NotImplementedError` counts as that).
        ///
        /// Under v1 every call comes here; under v2/v3 login, checkSession,
        /// getPhoneNumber, getEmail, chooseAvatar and getNickName are answered by
        /// the built-in flows (which call `app_uid` or `get_auth_code`), and the
        /// others still come here.
        #[uniffi::export(foreign)]
        #[async_trait]
        pub trait OpenApiHandler: Send + Sync {
            $(
                #[doc = $host]
                async fn $method(&self, app: AppInfo, params: JsonText)
                -> Result<JsonText, HostError>;
            )+
            /// v3 mutual trust: an authCode from the super-app server for the
            /// current user and the requested scopes.
            async fn get_auth_code(
                &self,
                app: AppInfo,
                request: AuthCodeRequest,
            ) -> Result<AuthGrant, HostError>;
            /// The version this host wants for `app` when its app.json sets none
            /// (iOS `openApiVersion`); `None` (or an error) leaves it to the
            /// dispatcher's default.
            fn open_api_version(&self, app: AppInfo) -> Result<Option<ApiVersion>, HostError>;
            /// The host's current user id (iOS `getAppUID`) for the v2 built-ins;
            /// `None` (or an error) means nobody is signed in.
            fn app_uid(&self, app: AppInfo) -> Result<Option<String>, HostError>;
            /// The consent view (Android `showAuthView`, iOS
            /// `createAuthorizeAlertView…`): Allow, Deny or Cancel.
            /// `HostError.NotImplemented` fails the call (errno 103), nothing stored.
            async fn consent_prompt(
                &self,
                app: AppInfo,
                prompt: ConsentPrompt,
            ) -> Result<ConsentAnswer, HostError>;
            /// `wx.openSetting`'s settings view: the scopes asked for and their
            /// answers in, the user's changes out.
            async fn open_setting(
                &self,
                app: AppInfo,
                settings: Vec<ScopeConsent>,
            ) -> Result<Vec<ScopeConsent>, HostError>;
        }

        #[async_trait]
        impl openapi::OpenApiHandler for ForeignHost {
            $(
                async fn $method(
                    &self,
                    app: &openapi::AppInfo,
                    params: openapi::JsonObject,
                ) -> openapi::HandlerResult {
                    call(app, params, |a, p| self.0.$method(a, p)).await
                }
            )+

            async fn get_auth_code(
                &self,
                app: &openapi::AppInfo,
                request: openapi::AuthCodeRequest,
            ) -> Result<openapi::AuthGrant, openapi::HostError> {
                let request = AuthCodeRequest::from(request);
                let grant = self.0.get_auth_code(AppInfo::from(app), request).await?;
                Ok(grant.into())
            }

            fn open_api_version(&self, app: &openapi::AppInfo) -> Option<openapi::ApiVersion> {
                self.0
                    .open_api_version(AppInfo::from(app))
                    .ok()
                    .flatten()
            }

            fn app_uid(&self, app: &openapi::AppInfo) -> Option<String> {
                self.0.app_uid(AppInfo::from(app)).ok().flatten()
            }

            async fn consent_prompt(
                &self,
                app: &openapi::AppInfo,
                prompt: openapi::consent::ConsentPrompt,
            ) -> Result<PromptAnswer, openapi::HostError> {
                let prompt = ConsentPrompt::from(prompt);
                let answer = self.0.consent_prompt(AppInfo::from(app), prompt).await?;
                Ok(answer.into())
            }

            async fn open_setting(
                &self,
                app: &openapi::AppInfo,
                settings: Vec<(ScopeName, ConsentState)>,
            ) -> Result<Vec<(ScopeName, ConsentState)>, openapi::HostError> {
                let changes = self.0.open_setting(AppInfo::from(app), rows(settings)).await?;
                changes
                    .into_iter()
                    .map(|row| {
                        row.scope
                            .parse::<ScopeName>()
                            .map(|scope| (scope, row.state))
                            .map_err(|err| {
                                openapi::HostError::failed(format!(
                                    "open_setting returned an invalid scope: {err}"
                                ))
                            })
                    })
                    .collect()
            }
        }
    };
}

openapi::with_open_apis!(delegate);

/// The foreign delegate as the core's `OpenApiHandler`: JSON text in and
/// out, errors mapped, nothing decided here.
pub(crate) struct ForeignHost(pub(crate) Arc<dyn OpenApiHandler>);

impl std::fmt::Debug for ForeignHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignHost")
    }
}

/// One API method of the foreign delegate, called with JSON text and its
/// result read back as an object.
async fn call<F, Fut>(
    app: &openapi::AppInfo,
    params: openapi::JsonObject,
    f: F,
) -> openapi::HandlerResult
where
    F: FnOnce(AppInfo, JsonText) -> Fut,
    Fut: std::future::Future<Output = Result<JsonText, HostError>>,
{
    let result = f(AppInfo::from(app), JsonText::from_object(&params)).await?;
    result.into_object("result")
}

/// The bench's baseline (`bindings/ffi/bench.py`): awaits the host's
/// `get_user_info` once, with the library's runtime entered as
/// `Dispatcher.invoke` does, and returns its result text (or the error's text) with no
/// dispatching around it. `invoke` against this is the dispatcher's share
/// of an FFI round trip.
#[uniffi::export]
pub async fn host_round_trip(
    handler: Arc<dyn OpenApiHandler>,
    app: AppInfo,
    params: JsonText,
) -> JsonText {
    runtime::run(async move {
        match handler.get_user_info(app, params).await {
            Ok(result) => result,
            Err(err) => JsonText(err.to_string()),
        }
    })
    .await
}
