//! The platform's lifetimes and limits, app registrations and sweep reports.

use std::time::Duration;

use crate::app::AppKind;
use crate::secret::AppSecret;

/// The platform's lifetimes and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenServerConfig {
    /// How long a login code (`js_code`) can be exchanged: 5 minutes.
    pub login_code_ttl: Duration,
    /// How long a phone/email code can be redeemed: 5 minutes.
    pub user_code_ttl: Duration,
    /// How long an access token lives: 7200 s.
    pub access_token_ttl: Duration,
    /// How long the previous access token stays valid after a new one: 5 minutes.
    pub access_token_overlap: Duration,
    /// How long a session (its `session_key`) stays valid: 3 days.
    pub session_ttl: Duration,
    /// jscode2session exchanges per user per app per minute: 100.
    pub rate_limit_per_minute: u32,
    /// Outstanding (not yet swept) login and phone/email codes per app:
    /// 1,000,000; past it, `45009`.
    pub max_outstanding_codes_per_app: usize,
    /// Outstanding (not yet swept) login and phone/email codes per user per
    /// app: 1,000, checked before the app's cap so that one user cannot
    /// use up the app's; past it, `45009`.
    pub max_outstanding_codes_per_user: usize,
    /// Access tokens issued per app per day (UTC): 2,000, as WeChat's
    /// daily quota; past it, `45009`.
    pub max_access_tokens_per_day: u32,
    /// Outstanding v3 authCodes per user in the in-memory directory: 100;
    /// past it, `45009`.
    pub max_auth_codes_per_user: usize,
    /// How often the background sweeper removes expired state: 60 s.
    pub sweep_interval: Duration,
}

impl Default for OpenServerConfig {
    fn default() -> Self {
        OpenServerConfig {
            login_code_ttl: Duration::from_secs(300),
            user_code_ttl: Duration::from_secs(300),
            access_token_ttl: Duration::from_secs(7200),
            access_token_overlap: Duration::from_secs(300),
            session_ttl: Duration::from_secs(3 * 24 * 3600),
            rate_limit_per_minute: 100,
            max_outstanding_codes_per_app: 1_000_000,
            max_outstanding_codes_per_user: 1_000,
            max_access_tokens_per_day: 2_000,
            max_auth_codes_per_user: 100,
            sweep_interval: Duration::from_secs(60),
        }
    }
}

/// An app to register on the platform.
///
/// ```
/// use superapp_openapi::openserver::AppRegistration;
/// use superapp_openapi::{AppKind, AppSecret};
/// let reg = AppRegistration::new("wx-game", AppSecret::new("s"), "team-a").with_kind(AppKind::MiniGame);
/// # let _ = reg;
/// ```
#[derive(Debug, Clone)]
pub struct AppRegistration {
    pub(super) app_id: String,
    pub(super) secret: AppSecret,
    pub(super) team_id: String,
    pub(super) kind: AppKind,
}

impl AppRegistration {
    /// A mini program with its id, secret and team.
    pub fn new(app_id: impl Into<String>, secret: AppSecret, team_id: impl Into<String>) -> Self {
        AppRegistration {
            app_id: app_id.into(),
            secret,
            team_id: team_id.into(),
            kind: AppKind::MiniProgram,
        }
    }

    /// The registration with another kind (default a mini program).
    pub fn with_kind(mut self, kind: AppKind) -> Self {
        self.kind = kind;
        self
    }
}

/// What one [`OpenServer::sweep`](super::OpenServer::sweep) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired login codes.
    pub login_codes: usize,
    /// Expired phone/email codes.
    pub user_codes: usize,
    /// Access tokens expired for longer than their lifetime.
    pub access_tokens: usize,
    /// Expired v3 authCodes of the in-memory directory.
    pub auth_codes: usize,
    /// Expired sessions.
    pub sessions: usize,
}
