//! Which platform a dispatcher holds: the embedded [`OpenServer`], called
//! directly (no boxed future per call), or any other [`Platform`] through
//! the seam. The choice lives here, on the dispatcher's side, so that the
//! seam (`crate::platform`) knows no implementation.

use std::sync::Arc;

use crate::api::Scope;
use crate::app::AppInfo;
use crate::handler::JsonObject;
use crate::opendata::{OpenData, SealedData};
use crate::openserver::OpenServer;
use crate::platform::{Platform, PlatformError, Principal, UserCodeKind};
use crate::secret::Code;

/// The platform a dispatcher talks to: the embedded [`OpenServer`], called
/// directly (no boxed future per call), or any other [`Platform`].
#[derive(Clone)]
pub(crate) enum PlatformRef {
    Embedded(OpenServer),
    Other(Arc<dyn Platform>),
}

impl PlatformRef {
    /// Recognizes an `OpenServer` among all platforms, once, when the
    /// dispatcher is built.
    pub(crate) fn new<P: Platform>(platform: P) -> Self {
        match (&platform as &dyn std::any::Any).downcast_ref::<OpenServer>() {
            Some(server) => PlatformRef::Embedded(server.clone()),
            None => PlatformRef::Other(Arc::new(platform)),
        }
    }

    pub(crate) async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        match self {
            PlatformRef::Embedded(server) => Ok(server.issue_login_code(app, principal).await?),
            PlatformRef::Other(platform) => platform.issue_login_code(app, principal).await,
        }
    }

    pub(crate) async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        match self {
            PlatformRef::Embedded(server) => Ok(server.has_valid_session(app, principal).await?),
            PlatformRef::Other(platform) => platform.check_session(app, principal).await,
        }
    }

    pub(crate) async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        match self {
            PlatformRef::Embedded(server) => {
                Ok(server.issue_user_code(app, principal, kind).await?)
            }
            PlatformRef::Other(platform) => platform.issue_user_code(app, principal, kind).await,
        }
    }

    pub(crate) async fn profile_field(
        &self,
        app: &AppInfo,
        principal: &Principal,
        scope: Scope,
    ) -> Result<String, PlatformError> {
        match (self, scope) {
            (PlatformRef::Embedded(server), _) => {
                Ok(server.profile_field(app, principal, scope).await?)
            }
            (PlatformRef::Other(platform), Scope::Avatar) => {
                platform.avatar_url(app, principal).await
            }
            (PlatformRef::Other(platform), _) => platform.nickname(app, principal).await,
        }
    }

    pub(crate) async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &JsonObject,
    ) -> Result<OpenData, PlatformError> {
        match self {
            PlatformRef::Embedded(server) => {
                Ok(server.seal_user_info(app, principal, user_info).await?)
            }
            PlatformRef::Other(platform) => {
                platform.seal_user_info(app, principal, user_info).await
            }
        }
    }

    pub(crate) async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, PlatformError> {
        match self {
            PlatformRef::Embedded(server) => Ok(server.seal_phone_number(app, principal).await?),
            PlatformRef::Other(platform) => platform.seal_phone_number(app, principal).await,
        }
    }
}
