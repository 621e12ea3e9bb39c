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

/// The byte a user's state is placed by in a store that spreads it (the
/// Redis store's hash tag, `redis/keys.rs`): the first byte of the
/// SHA-256 of its openid (or, for authCodes, its user id).
pub(crate) fn tag_byte(id: &str) -> u8 {
    crate::digest::sha256(id.as_bytes())[0]
}

/// A fresh login or phone/email code for the user with `openid`: 120
/// random bits after the user's [`tag_byte`], so that a store finds the
/// code's place from the code alone (one round trip to redeem it).
pub(crate) fn code_key_for(openid: &str) -> CodeKey {
    let mut key = CodeKey::random();
    key.0[0] = tag_byte(openid);
    key
}

/// A fresh authCode for `user_id`: 32 hex digits, the user's
/// [`tag_byte`] then 120 random bits.
pub(crate) fn auth_code_for(user_id: &str) -> String {
    let mut code = crate::digest::random_hex::<16>();
    code.replace_range(..2, &crate::digest::to_hex(&[tag_byte(user_id)]));
    code
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
    pub(crate) now: u64,
    /// When it stops, in the clock's milliseconds.
    pub(crate) expires_at: u64,
    /// When the previous token stops (it lives no longer than it would have).
    pub(crate) overlap_end: u64,
    pub(crate) per_day: u32,
}

impl TokenTerms {
    /// The UTC day the daily quota counts.
    pub(crate) fn day(&self) -> u64 {
        self.now / 86_400_000
    }
}

/// What an authCode grant is issued under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantTerms {
    pub(crate) expires_at: u64,
    /// The user's cap on outstanding authCodes.
    pub(crate) per_user: usize,
}

/// Declares each store operation once: the [`Store`] trait's method and
/// [`StoreRef`]'s forwarding to the store it holds (a `match`, not a boxed
/// future, so the in-memory store is called as directly as a method).
///
/// It also defines `impl_store!`, which implements [`Store`] for a store
/// from each operation's name, its arguments' names and its body, the
/// types coming from here (so the stores restate no signature). `$d` is a
/// `$`, for the inner macro's own metavariables.
macro_rules! store_operations {
    ($d:tt $(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $answer:ty;
    )*) => {
        /// The platform's state. Every operation is atomic on its own: two
        /// callers racing for one code get one success, two instances on
        /// one Redis agree. `now` is the platform clock's milliseconds: a
        /// store compares expiry times with it, never with a clock of its
        /// own, so that every store gives the same answers on an injected
        /// clock (Redis TTLs only collect garbage). What only the registry
        /// knows (an app's state, a user's subject) a store asks through
        /// the lookup it is given, so that both stores answer the same types.
        pub(crate) trait Store: Send + Sync {
            $(
                $(#[$doc])*
                async fn $name(&self $(, $arg: $ty)*) -> Result<$answer, StoreError>;
            )*
        }

        impl StoreRef {
            $(
                $(#[$doc])*
                pub(crate) async fn $name(&self $(, $arg: $ty)*) -> Result<$answer, StoreError> {
                    match self {
                        StoreRef::Memory(store) => store.$name($($arg),*).await,
                        #[cfg(feature = "redis")]
                        StoreRef::Redis(store) => store.$name($($arg),*).await,
                    }
                }
            )*
        }

        macro_rules! impl_store {
            ($d store:ty, $d($d op:ident $d params:tt $d body:block)*) => {
                impl Store for $d store {
                    $d(impl_store!(@op $d op $d params $d body);)*
                }
            };
            $(
                (@op $name ($d this:ident $(, $d $arg:ident)* $d(,)?) $d body:block) => {
                    async fn $name(&$d this $(, $d $arg: $ty)*) -> Result<$answer, StoreError>
                        $d body
                };
            )*
        }
    };
}

/// The store a platform uses, called without boxing a future.
pub(crate) enum StoreRef {
    Memory(memory::MemoryStore),
    #[cfg(feature = "redis")]
    Redis(redis::RedisStore),
}

store_operations! { $
    /// Stores `key` for `subject`, under the user's quota first, then the
    /// app's cap.
    fn issue_code(
        &self,
        subject: &Arc<Subject>,
        key: CodeKey,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
        limits: CodeLimits,
    ) -> ();

    /// Redeems a login code of `app` once: counts the user's rate window
    /// (a full window leaves the code unused) and marks the code used.
    /// The subject it was issued to; `subject` gives it for a user id.
    fn redeem_login_code(
        &self,
        app: &Arc<AppState>,
        key: CodeKey,
        now: u64,
        rate_limit: u32,
        subject: impl Fn(&str) -> Arc<Subject> + Send,
    ) -> Arc<Subject>;

    /// Redeems a phone/email code of `app`, issued to the user with
    /// `openid` when one is given (WeChat's clients send none: the code
    /// names its user); `key` is `None` when the text is no code the
    /// platform issues (a given openid is still checked first). The user's id.
    fn redeem_user_code(
        &self,
        app: &Arc<AppState>,
        openid: Option<&str>,
        key: Option<CodeKey>,
        kind: CodeKind,
        now: u64,
    ) -> String;

    /// Replaces the subject's session: from now on only `signature` (the
    /// checksession signature of the new session_key) verifies. `nonce` is
    /// the session's random value, from which (with the server's id key)
    /// the session_key is derived again to seal open data: the store never
    /// holds the key itself.
    fn replace_session(
        &self,
        subject: &Subject,
        signature: [u8; 32],
        nonce: [u8; 16],
        now: u64,
        expires_at: u64,
    ) -> ();

    /// checksession's state in one step: `token` is live and its app
    /// registered (`registered` answers for an app id), the user with
    /// `openid` is a user of that app, and `signature` is its current
    /// session's (`None`: text that is no signature, always wrong once the
    /// openid is known). One round trip for a remote store.
    fn check_session(
        &self,
        token: &str,
        openid: &str,
        signature: Option<&[u8; 32]>,
        now: u64,
        registered: impl Fn(&str) -> bool + Send,
    ) -> ();

    /// Whether the subject has a session that has not expired.
    fn has_session(&self, subject: &Subject, now: u64) -> bool;

    /// The nonce of the subject's session, if it has not expired.
    fn session_nonce(&self, subject: &Subject, now: u64) -> Option<[u8; 16]>;

    /// Issues `token` for `app` under the daily quota; the previous token
    /// lives on until `overlap_end`, the one before it stops now.
    fn issue_token(&self, app: &Arc<AppState>, token: &str, terms: TokenTerms) -> ();

    /// The app of a live token; `app` gives a registered app's state for
    /// its id (`None`: no longer registered, an invalid token).
    fn resolve_token(
        &self,
        token: &str,
        now: u64,
        app: impl Fn(&str) -> Option<Arc<AppState>> + Send,
    ) -> Arc<AppState>;

    /// Issues an authCode grant, under the user's cap.
    fn issue_grant(
        &self,
        code: &str,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
        now: u64,
        terms: GrantTerms,
    ) -> ();

    /// Spends an authCode of `app_id`: the grant, once, if it has not expired.
    fn redeem_grant(&self, code: &str, app_id: &str, now: u64) -> Option<RedeemedGrant>;

    /// Whether the store answers.
    fn ping(&self) -> ();
}

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

impl StoreRef {
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
