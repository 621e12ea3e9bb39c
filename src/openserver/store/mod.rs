//! The store seam: the state the platform's rules act on — codes,
//! sessions, access tokens, rate-limit windows, quotas and authCode grants —
//! behind one interface whose every operation is atomic on its own.
//!
//! `OpenServer` keeps the rules (what is asked, who may ask, what each
//! refusal says); a store keeps the state and answers each operation in one
//! step: in memory (sharded, the default) or in Redis (feature `redis`, for
//! restarts and several instances). The stores are called through
//! [`StoreRef`] without a boxed future per call, so the in-memory store
//! costs what the code it replaced did.

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::sync::Arc;

use super::codes::CodeKey;
use super::codes::CodeKind;
use super::config::SweepReport;
use super::directory::RedeemedGrant;
use super::registry::{AppState, Subject};
use crate::api::Scope;

/// Why a store refused an operation; `OpenServer` says it to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The user holds `max_outstanding_codes_per_user` codes.
    UserCodeQuota,
    /// The app holds `max_outstanding_codes_per_app` codes.
    AppCodeQuota,
    /// Unknown, expired, or another app's, user's or kind's code.
    InvalidCode,
    /// The code was redeemed before (and has not yet expired).
    CodeUsed,
    /// The user's jscode2session window is full.
    RateLimited,
    /// No user of the app has this openid.
    UnknownOpenid,
    /// No valid session, or another session_key's signature.
    BadSignature,
    /// The app issued `max_access_tokens_per_day` tokens today.
    TokenQuota,
    /// An unknown token (or one replaced twice since).
    InvalidToken,
    /// A token past its lifetime or overlap.
    ExpiredToken,
    /// The user holds `max_auth_codes_per_user` authCodes.
    GrantQuota,
}

/// A store operation that did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// A rule of the state said no.
    Refused(Refused),
    /// The store could not be asked (Redis down or slow): `-1`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // only a remote store fails so
    Unavailable(String),
}

impl From<Refused> for StoreError {
    fn from(refused: Refused) -> Self {
        StoreError::Refused(refused)
    }
}

/// Who a redeemed login code was for: the subject itself (in memory), or
/// the user's id, for the caller to look the subject up.
pub(crate) enum Redeemed {
    Subject(Arc<Subject>),
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's answer
    User(String),
}

/// The app an access token belongs to.
pub(crate) enum TokenApp {
    State(Arc<AppState>),
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's answer
    Id(String),
}

/// The limits a code is issued under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeLimits {
    pub(crate) per_user: usize,
    pub(crate) per_app: usize,
}

/// What an access token is issued under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenTerms {
    /// The platform clock's milliseconds.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's TTLs
    pub(crate) now: u64,
    /// When it stops, in the clock's milliseconds.
    pub(crate) expires_at: u64,
    /// When the previous token stops (it lives no longer than it would have).
    pub(crate) overlap_end: u64,
    /// The UTC day (`now / 86,400,000`) the quota counts.
    pub(crate) day: u64,
    pub(crate) per_day: u32,
    /// How long an expired token is still told from an unknown one
    /// (`42001`, not `40014`): the in-memory sweep's grace.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's TTLs
    pub(crate) grace: u64,
}

/// What an authCode grant is issued under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantTerms {
    /// The platform clock's milliseconds.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's TTLs
    pub(crate) now: u64,
    pub(crate) expires_at: u64,
    /// The user's cap on outstanding authCodes.
    pub(crate) per_user: usize,
}

/// The platform's state. Every operation is atomic on its own: two callers
/// racing for one code get one success, two instances on one Redis agree.
/// `now` is the platform clock's milliseconds: a store compares expiry
/// times with it, never with a clock of its own, so that every store gives
/// the same answers on an injected clock (Redis TTLs only collect garbage).
pub(crate) trait Store: Send + Sync {
    /// Stores `key` for `subject`, under the user's quota first, then the
    /// app's cap.
    async fn issue_code(
        &self,
        subject: &Arc<Subject>,
        key: CodeKey,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
        limits: CodeLimits,
    ) -> Result<(), StoreError>;

    /// Redeems a login code of `app` once: counts the user's rate window
    /// (a full window leaves the code unused) and marks the code used.
    async fn redeem_login_code(
        &self,
        app: &Arc<AppState>,
        key: CodeKey,
        now: u64,
        rate_limit: u32,
    ) -> Result<Redeemed, StoreError>;

    /// Redeems a phone/email code of `app`, issued to the user with
    /// `openid` when one is given (WeChat's clients send none: the code
    /// names its user); `key` is `None` when the text is no code the
    /// platform issues (a given openid is still checked first). The user's id.
    async fn redeem_user_code(
        &self,
        app: &Arc<AppState>,
        openid: Option<&str>,
        key: Option<CodeKey>,
        kind: CodeKind,
        now: u64,
    ) -> Result<String, StoreError>;

    /// Replaces the subject's session: from now on only `signature` (the
    /// checksession signature of the new session_key) verifies.
    async fn replace_session(
        &self,
        subject: &Subject,
        signature: [u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError>;

    /// checksession's state in one step: `token` is live and its app
    /// registered (`registered` answers for an app id), the user with
    /// `openid` is a user of that app, and `signature` is its current
    /// session's (`None`: text that is no signature, always wrong once the
    /// openid is known). One round trip for a remote store.
    async fn check_session(
        &self,
        token: &str,
        openid: &str,
        signature: Option<&[u8; 32]>,
        now: u64,
        registered: impl Fn(&str) -> bool + Send,
    ) -> Result<(), StoreError>;

    /// Whether the subject has a session that has not expired.
    async fn has_session(&self, subject: &Subject, now: u64) -> Result<bool, StoreError>;

    /// Issues `token` for `app` under the daily quota; the previous token
    /// lives on until `overlap_end`, the one before it stops now.
    async fn issue_token(
        &self,
        app: &Arc<AppState>,
        token: &str,
        terms: TokenTerms,
    ) -> Result<(), StoreError>;

    /// The app of a live token.
    async fn resolve_token(&self, token: &str, now: u64) -> Result<TokenApp, StoreError>;

    /// Issues an authCode grant, under the user's cap.
    async fn issue_grant(
        &self,
        code: &str,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
        terms: GrantTerms,
    ) -> Result<(), StoreError>;

    /// Spends an authCode of `app_id`: the grant, once, if it has not expired.
    async fn redeem_grant(
        &self,
        code: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Option<RedeemedGrant>, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The store a platform uses, called without boxing a future.
pub(crate) enum StoreRef {
    Memory(memory::MemoryStore),
    #[cfg(feature = "redis")]
    Redis(redis::RedisStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            StoreRef::Memory($store) => $call.await,
            #[cfg(feature = "redis")]
            StoreRef::Redis($store) => $call.await,
        }
    };
}

impl StoreRef {
    pub(crate) async fn issue_code(
        &self,
        subject: &Arc<Subject>,
        key: CodeKey,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
        limits: CodeLimits,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.issue_code(subject, key, kind, now, expires_at, limits))
    }

    pub(crate) async fn redeem_login_code(
        &self,
        app: &Arc<AppState>,
        key: CodeKey,
        now: u64,
        rate_limit: u32,
    ) -> Result<Redeemed, StoreError> {
        dispatch!(self, s => s.redeem_login_code(app, key, now, rate_limit))
    }

    pub(crate) async fn redeem_user_code(
        &self,
        app: &Arc<AppState>,
        openid: Option<&str>,
        key: Option<CodeKey>,
        kind: CodeKind,
        now: u64,
    ) -> Result<String, StoreError> {
        dispatch!(self, s => s.redeem_user_code(app, openid, key, kind, now))
    }

    pub(crate) async fn replace_session(
        &self,
        subject: &Subject,
        signature: [u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.replace_session(subject, signature, now, expires_at))
    }

    pub(crate) async fn check_session(
        &self,
        token: &str,
        openid: &str,
        signature: Option<&[u8; 32]>,
        now: u64,
        registered: impl Fn(&str) -> bool + Send,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.check_session(token, openid, signature, now, registered))
    }

    pub(crate) async fn has_session(
        &self,
        subject: &Subject,
        now: u64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.has_session(subject, now))
    }

    pub(crate) async fn issue_token(
        &self,
        app: &Arc<AppState>,
        token: &str,
        terms: TokenTerms,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.issue_token(app, token, terms))
    }

    pub(crate) async fn resolve_token(
        &self,
        token: &str,
        now: u64,
    ) -> Result<TokenApp, StoreError> {
        dispatch!(self, s => s.resolve_token(token, now))
    }

    pub(crate) async fn issue_grant(
        &self,
        code: &str,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
        terms: GrantTerms,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.issue_grant(code, app_id, user_id, scopes, terms))
    }

    pub(crate) async fn redeem_grant(
        &self,
        code: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Option<RedeemedGrant>, StoreError> {
        dispatch!(self, s => s.redeem_grant(code, app_id, now))
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping())
    }

    /// The in-memory store, which sweeps and counts.
    pub(crate) fn memory(&self) -> Option<&memory::MemoryStore> {
        match self {
            StoreRef::Memory(memory) => Some(memory),
            #[cfg(feature = "redis")]
            StoreRef::Redis(_) => None,
        }
    }

    /// Removes expired state (the Redis store's expires by itself).
    pub(crate) fn sweep(&self, apps: &[Arc<AppState>], now: u64, grace: u64) -> SweepReport {
        self.memory()
            .map_or_else(SweepReport::default, |m| m.sweep(apps, now, grace))
    }
}
