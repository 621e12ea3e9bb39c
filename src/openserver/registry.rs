//! The registry: apps, and each user's subject (ids, session, rate-limit
//! window) in each app.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};

use super::OpenServer;
use super::config::AppRegistration;
use crate::app::{AppInfo, AppKind};
use crate::digest::{hmac_sha256_of, sha256, to_hex};
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::sync::{FastMap, ShardedMap, lock};

/// What never changes about a registered app.
pub(super) struct AppRecord {
    pub(super) app_id: String,
    /// The SHA-256 of the app secret, taken once: a check compares it in
    /// constant time with the digest of what the caller presents, as
    /// `secrets_equal` does, with one hash per call instead of two.
    pub(super) secret_digest: [u8; 32],
    pub(super) team_id: String,
}

pub(super) struct AppState {
    pub(super) record: Arc<AppRecord>,
    pub(super) kind: AppKind,
    pub(super) by_user: ShardedMap<Arc<Subject>>,
    pub(super) by_openid: ShardedMap<Arc<Subject>>,
    pub(super) tokens: Mutex<TokenSlots>,
}

/// An app's live access tokens — the current one and the previous one,
/// valid for the overlap — and today's issue count.
#[derive(Default)]
pub(super) struct TokenSlots {
    pub(super) current: Option<String>,
    pub(super) previous: Option<String>,
    /// The UTC day (`now / 86,400,000`) `issued_today` counts.
    pub(super) day: u64,
    pub(super) issued_today: u32,
}

/// One user in one app: its ids, session and rate-limit window.
pub(super) struct Subject {
    pub(super) app: Arc<AppRecord>,
    pub(super) user_id: String,
    pub(super) openid: String,
    pub(super) unionid: String,
    pub(super) state: Mutex<SubjectState>,
    /// Codes issued to this user in this app and not yet swept, against
    /// `max_outstanding_codes_per_user`.
    pub(super) outstanding_codes: AtomicUsize,
    /// Its number in the in-memory code store's subject table, given with
    /// its first code there: a stored code names its subject by this, not
    /// by a reference of its own (`store/memory/code_store.rs`).
    pub(super) code_number: OnceLock<u32>,
}

#[derive(Default)]
pub(super) struct SubjectState {
    pub(super) session: Option<Session>,
    pub(super) window_minute: u64,
    pub(super) window_count: u32,
}

pub(super) struct Session {
    /// hex(hmac_sha256(session_key, "")) computed once, so a check is one
    /// constant-time comparison.
    pub(super) expected_signature: [u8; 32],
    /// The per-session value the session_key derives from (open data).
    pub(super) nonce: [u8; 16],
    pub(super) expires_at: u64,
}

impl OpenServer {
    /// Registers an app.
    ///
    /// # Errors
    ///
    /// `10002` when the id, secret or team is empty or the id is taken.
    pub fn register_app(&self, registration: AppRegistration) -> Result<(), OpenServerError> {
        let AppRegistration {
            app_id,
            secret,
            team_id,
            kind,
        } = registration;
        for (name, value) in [
            ("app id", app_id.as_str()),
            ("app secret", secret.secret()),
            ("team id", team_id.as_str()),
        ] {
            if value.is_empty() {
                return Err(OpenServerError::new(ErrCode::InvalidParam)
                    .with_message(format!("invalid param: {name} is empty")));
            }
        }
        let _registering = lock(&self.inner.registering);
        if self.inner.apps.load().contains_key(&app_id) {
            return Err(OpenServerError::new(ErrCode::InvalidParam)
                .with_message(format!("invalid param: app {app_id} is already registered")));
        }
        let state = AppState {
            record: Arc::new(AppRecord {
                app_id: app_id.clone(),
                secret_digest: sha256(secret.secret().as_bytes()),
                team_id,
            }),
            kind,
            by_user: ShardedMap::new(),
            by_openid: ShardedMap::new(),
            tokens: Mutex::default(),
        };
        let mut apps = FastMap::clone(&self.inner.apps.load());
        apps.insert(app_id, Arc::new(state));
        self.inner.apps.store(Arc::new(apps));
        Ok(())
    }

    /// The [`AppInfo`] of a registered app (kind and team as registered).
    pub fn app_info(&self, app_id: &str) -> Option<AppInfo> {
        let app = self.app(app_id).ok()?;
        Some(
            AppInfo::new(app_id)
                .with_kind(app.kind)
                .with_team(app.record.team_id.clone()),
        )
    }

    pub(super) fn now(&self) -> u64 {
        self.inner.clock.now_millis()
    }

    /// The subject of `user_id` in `app`, made on first use.
    pub(super) fn subject(&self, app: &AppState, user_id: &str) -> Arc<Subject> {
        let record = &app.record;
        app.by_user.get_or_insert_with(
            user_id,
            || {
                Arc::new(Subject {
                    app: record.clone(),
                    user_id: user_id.to_owned(),
                    openid: self.derive_id("openid", &record.app_id, user_id),
                    unionid: self.derive_id("unionid", &record.team_id, user_id),
                    state: Mutex::default(),
                    outstanding_codes: AtomicUsize::new(0),
                    code_number: OnceLock::new(),
                })
            },
            |subject| {
                app.by_openid
                    .insert(subject.openid.clone(), subject.clone())
            },
        )
    }

    /// An opaque, stable id: hex(hmac(server key, kind ‖ scope ‖ user)).
    fn derive_id(&self, kind: &str, scope: &str, user_id: &str) -> String {
        to_hex(&hmac_sha256_of(
            &self.inner.id_key,
            [
                kind.as_bytes(),
                b"\0",
                scope.as_bytes(),
                b"\0",
                user_id.as_bytes(),
            ],
        ))
    }
}
