//! The in-memory store: codes in 16 independently locked shards with exact
//! per-app quotas, each user's session and rate window in its subject, the
//! live tokens in one map (at most two per app), authCode grants by code.
//! State goes with the process; `sweep` gives back what expired.

mod code_store;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use subtle::ConstantTimeEq;

use self::code_store::CodeStore;
use super::{CodeLimits, GrantTerms, Refused, Store, StoreError, TokenTerms};
use crate::api::Scope;
use crate::openserver::codes::CodeKey;
use crate::openserver::codes::CodeKind;
use crate::openserver::config::SweepReport;
use crate::openserver::directory::RedeemedGrant;
use crate::openserver::registry::{AppState, Session, Subject};
use crate::sync::{FastMap, lock};

/// An access token's app and expiry.
struct TokenEntry {
    app: Arc<AppState>,
    expires_at: u64,
}

/// An authCode not yet redeemed.
struct PendingGrant {
    app_id: String,
    grant: RedeemedGrant,
    expires_at: u64,
}

/// Outstanding authCodes by code, and how many each user holds. Issue and
/// redeem touch one entry of each; expired codes go in a sweep.
#[derive(Default)]
struct Grants {
    by_code: FastMap<String, PendingGrant>,
    per_user: FastMap<String, usize>,
}

impl Grants {
    fn remove(&mut self, code: &str) -> Option<PendingGrant> {
        let grant = self.by_code.remove(code)?;
        if let Some(count) = self.per_user.get_mut(&grant.grant.user_id) {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(&grant.grant.user_id);
            }
        }
        Some(grant)
    }
}

/// The default store.
pub(crate) struct MemoryStore {
    /// Login codes and phone/email codes, under one per-app cap.
    codes: CodeStore,
    /// Every app's live access tokens (at most two per app).
    tokens: Mutex<FastMap<String, TokenEntry>>,
    grants: Mutex<Grants>,
}

impl MemoryStore {
    pub(crate) fn new() -> Self {
        MemoryStore {
            codes: CodeStore::new(),
            tokens: Mutex::default(),
            grants: Mutex::default(),
        }
    }

    /// Login and phone/email codes not yet swept.
    pub(crate) fn outstanding_codes(&self) -> usize {
        self.codes.len()
    }

    /// Access tokens held, live or expired and not yet swept.
    pub(crate) fn access_tokens(&self) -> usize {
        lock(&self.tokens).len()
    }

    /// AuthCodes issued and not yet redeemed or swept.
    pub(crate) fn outstanding_auth_codes(&self) -> usize {
        lock(&self.grants).by_code.len()
    }

    /// Subjects whose session has not expired.
    pub(crate) fn live_sessions(&self, apps: &[Arc<AppState>], now: u64) -> usize {
        let mut live = 0;
        for app in apps {
            app.by_user.for_each(|subject| {
                if lock(&subject.state)
                    .session
                    .as_ref()
                    .is_some_and(|s| s.expires_at > now)
                {
                    live += 1;
                }
            });
        }
        live
    }

    /// The app of a live token.
    fn live_token(&self, token: &str, now: u64) -> Result<Arc<AppState>, Refused> {
        let tokens = lock(&self.tokens);
        let entry = tokens.get(token).ok_or(Refused::InvalidToken)?;
        if entry.expires_at <= now {
            return Err(Refused::ExpiredToken);
        }
        Ok(entry.app.clone())
    }

    /// Removes expired codes (freeing their users' quota), sessions,
    /// tokens expired for longer than `grace`, and expired authCodes.
    pub(crate) fn sweep(&self, apps: &[Arc<AppState>], now: u64, grace: u64) -> SweepReport {
        let (mut login_codes, mut user_codes) = (0, 0);
        self.codes.retain(
            |code| code.expires_at() > now,
            |subject, code| {
                subject.outstanding_codes.fetch_sub(1, Ordering::Relaxed);
                match code.kind() {
                    CodeKind::Login => login_codes += 1,
                    CodeKind::User(_) => user_codes += 1,
                }
            },
        );
        let access_tokens = {
            let mut tokens = lock(&self.tokens);
            let before = tokens.len();
            tokens.retain(|_, t| t.expires_at.saturating_add(grace) > now);
            before - tokens.len()
        };
        let mut sessions = 0;
        for app in apps {
            app.by_user.for_each(|subject| {
                let mut state = lock(&subject.state);
                if state.session.as_ref().is_some_and(|s| s.expires_at <= now) {
                    state.session = None;
                    sessions += 1;
                }
            });
        }
        let auth_codes = {
            let mut grants = lock(&self.grants);
            let expired: Vec<String> = grants
                .by_code
                .iter()
                .filter(|(_, g)| g.expires_at <= now)
                .map(|(code, _)| code.clone())
                .collect();
            for code in &expired {
                grants.remove(code);
            }
            if grants.by_code.capacity() > 4 * grants.by_code.len() + 64 {
                grants.by_code.shrink_to_fit();
                grants.per_user.shrink_to_fit();
            }
            expired.len()
        };
        SweepReport {
            login_codes,
            user_codes,
            access_tokens,
            sessions,
            auth_codes,
        }
    }
}

impl_store! { MemoryStore,
    issue_code(self, subject, key, kind, _now, expires_at, limits) {
        // The user's quota first: one counter, O(1), so that a user at its
        // quota never reaches (or locks) the app's shards.
        if subject.outstanding_codes.fetch_add(1, Ordering::Relaxed) >= limits.per_user {
            subject.outstanding_codes.fetch_sub(1, Ordering::Relaxed);
            return Err(Refused::UserCodeQuota.into());
        }
        if self
            .codes
            .insert_capped(key, subject, expires_at, kind, limits.per_app)
        {
            Ok(())
        } else {
            subject.outstanding_codes.fetch_sub(1, Ordering::Relaxed);
            Err(Refused::AppCodeQuota.into())
        }
    }

    redeem_login_code(self, app, key, now, rate_limit, _subject) {
        // The code holds its subject.
        let mut shard = self.codes.shard(&key);
        let (code, subject) = shard.get_mut(&key).ok_or(Refused::InvalidCode)?;
        if code.kind() != CodeKind::Login
            || code.expires_at() <= now
            || !Arc::ptr_eq(&subject.app, &app.record)
        {
            return Err(Refused::InvalidCode.into());
        }
        if code.used() {
            return Err(Refused::CodeUsed.into());
        }
        let mut state = lock(&subject.state);
        let minute = now / 60_000;
        if state.window_minute != minute {
            state.window_minute = minute;
            state.window_count = 0;
        }
        if state.window_count >= rate_limit {
            return Err(Refused::RateLimited.into());
        }
        state.window_count += 1;
        drop(state);
        code.mark_used();
        Ok(subject)
    }

    redeem_user_code(self, app, openid, key, kind, now) {
        let named = match openid {
            Some(openid) => Some(app.by_openid.get(openid).ok_or(Refused::UnknownOpenid)?),
            None => None,
        };
        let key = key.ok_or(Refused::InvalidCode)?;
        let mut shard = self.codes.shard(&key);
        let (code, subject) = shard.get_mut(&key).ok_or(Refused::InvalidCode)?;
        let other_user = named.as_ref().is_some_and(|s| !Arc::ptr_eq(&subject, s));
        if code.expires_at() <= now
            || code.kind() != kind
            || !Arc::ptr_eq(&subject.app, &app.record)
            || other_user
        {
            return Err(Refused::InvalidCode.into());
        }
        if code.used() {
            return Err(Refused::CodeUsed.into());
        }
        code.mark_used();
        Ok(subject.user_id.clone())
    }

    replace_session(self, subject, signature, nonce, _now, expires_at) {
        lock(&subject.state).session = Some(Session {
            expected_signature: signature,
            nonce,
            expires_at,
        });
        Ok(())
    }

    check_session(self, token, openid, signature, now, _registered) {
        // A token here holds its app's state: it is registered.
        let app = self.live_token(token, now)?;
        app.by_openid.with(openid, |subject| {
            let subject = subject.ok_or(Refused::UnknownOpenid)?;
            let signature = signature.ok_or(Refused::BadSignature)?;
            let state = lock(&subject.state);
            let session = state
                .session
                .as_ref()
                .filter(|s| s.expires_at > now)
                .ok_or(Refused::BadSignature)?;
            if bool::from(session.expected_signature.ct_eq(signature)) {
                Ok(())
            } else {
                Err(Refused::BadSignature.into())
            }
        })
    }

    has_session(self, subject, now) {
        Ok(lock(&subject.state)
            .session
            .as_ref()
            .is_some_and(|s| s.expires_at > now))
    }

    session_nonce(self, subject, now) {
        Ok(lock(&subject.state)
            .session
            .as_ref()
            .filter(|s| s.expires_at > now)
            .map(|s| s.nonce))
    }

    issue_token(self, app, token, terms) {
        let mut slots = lock(&app.tokens);
        let day = terms.day();
        if slots.day != day {
            slots.day = day;
            slots.issued_today = 0;
        }
        if slots.issued_today >= terms.per_day {
            return Err(Refused::TokenQuota.into());
        }
        slots.issued_today += 1;
        let mut tokens = lock(&self.tokens);
        // The one before the previous stops now; the previous one lives on
        // for the overlap; so an app never has more than two live tokens.
        if let Some(stale) = slots.previous.take() {
            tokens.remove(&stale);
        }
        if let Some(current) = slots.current.take() {
            if let Some(entry) = tokens.get_mut(&current) {
                entry.expires_at = entry.expires_at.min(terms.overlap_end);
            }
            slots.previous = Some(current);
        }
        tokens.insert(
            token.to_owned(),
            TokenEntry {
                app: app.clone(),
                expires_at: terms.expires_at,
            },
        );
        slots.current = Some(token.to_owned());
        Ok(())
    }

    resolve_token(self, token, now, _app) {
        // A token here holds its app's state.
        Ok(self.live_token(token, now)?)
    }

    issue_grant(self, code, app_id, user_id, scopes, _now, terms) {
        let mut grants = lock(&self.grants);
        let held = grants.per_user.get(user_id).copied().unwrap_or(0);
        if held >= terms.per_user {
            return Err(Refused::GrantQuota.into());
        }
        *grants.per_user.entry(user_id.to_owned()).or_default() += 1;
        grants.by_code.insert(
            code.to_owned(),
            PendingGrant {
                app_id: app_id.to_owned(),
                grant: RedeemedGrant {
                    user_id: user_id.to_owned(),
                    scopes: scopes.to_vec(),
                },
                expires_at: terms.expires_at,
            },
        );
        Ok(())
    }

    redeem_grant(self, code, app_id, now) {
        // Removed whatever happens: a code shown once is spent.
        Ok(lock(&self.grants)
            .remove(code)
            .filter(|g| g.app_id == app_id && g.expires_at > now)
            .map(|g| g.grant))
    }

    ping(self) {
        Ok(())
    }
}
