//! The rules' state operations, each one script (or one command), with its
//! keys and arguments typed.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::decode::{Reply, Status, millis, refusal};
use super::keys::*;
use super::{GC_MARGIN, RedisStore, SUBJECT_RETENTION};
use crate::api::Scope;
use crate::digest::to_hex;
use crate::openserver::codes::{CodeKey, CodeKind};
use crate::openserver::directory::RedeemedGrant;
use crate::openserver::registry::{AppState, Subject};
use crate::openserver::store::{CodeLimits, GrantTerms, Refused, Store, StoreError, TokenTerms};

/// How many times an operation that names keys it read first tries when
/// they change in between ([`Status::Stale`]).
const ATTEMPTS: usize = 3;

/// What checksession decides on: the token's app and expiry, the openid's
/// app, session signature digest and session expiry (`''` when none).
type SessionState = (String, Vec<u8>, String, Vec<u8>, Vec<u8>);

/// Runs an attempt (an expression answering a [`Reply`]) until it answers
/// something other than [`Status::Stale`], at most [`ATTEMPTS`] times.
/// A macro, not a function taking an async closure: the futures of those
/// are not yet known to be `Send` for every lifetime.
macro_rules! settled {
    ($attempt:expr) => {{
        let mut outcome = Err(refusal(Status::Stale as i64));
        for _ in 0..ATTEMPTS {
            match $attempt {
                Reply::Status(Status::Stale) => continue,
                reply => {
                    outcome = reply.into_result();
                    break;
                }
            }
        }
        outcome
    }};
}

impl RedisStore {
    /// One attempt of `redeem_login_code`: the code names the subject
    /// whose rate window it counts.
    async fn redeem_login_attempt(
        &self,
        code: &str,
        app: &AppState,
        now: u64,
        rate_limit: u32,
    ) -> Result<Reply<String>, StoreError> {
        let Some(openid) = self.hget(code, "openid").await? else {
            return Ok(Reply::Status(Status::InvalidCode));
        };
        self.invoke(
            self.inner
                .scripts
                .redeem_login_code
                .key(code)
                .key(self.inner.keys.subject(&openid))
                .arg(&app.record.app_id)
                .arg(now)
                .arg(rate_limit)
                .arg(now / 60_000)
                .arg(&openid),
        )
        .await
    }

    /// One attempt of `issue_token`: the app's current and previous
    /// tokens, whose keys the script shortens and removes, read first.
    async fn issue_token_attempt(
        &self,
        app_id: &str,
        token_digest: &str,
        terms: &TokenTerms,
        grace: u64,
        slots_ttl: u64,
    ) -> Result<Reply<()>, StoreError> {
        let keys = &self.inner.keys;
        let slots = keys.app_tokens(app_id);
        let (current, previous): (Option<String>, Option<String>) =
            self.hmget(&slots, &["cur", "prev"]).await?;
        let mut invocation = self.inner.scripts.issue_token.prepare_invoke();
        invocation.key(&slots).key(keys.token(token_digest));
        for named in [&previous, &current].into_iter().flatten() {
            invocation.key(keys.token(named));
        }
        invocation
            .arg(terms.day())
            .arg(terms.per_day)
            .arg(terms.expires_at)
            .arg(terms.overlap_end)
            .arg(app_id)
            .arg(terms.now)
            .arg(grace)
            .arg(current.as_deref().unwrap_or(""))
            .arg(previous.as_deref().unwrap_or(""))
            .arg(token_digest)
            .arg(slots_ttl);
        self.invoke(&invocation).await
    }

    /// One attempt of `redeem_grant`: the grant names the user whose count
    /// it frees.
    async fn redeem_grant_attempt(
        &self,
        digest: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Reply<Option<(String, String)>>, StoreError> {
        let keys = &self.inner.keys;
        let grant = keys.grant(digest);
        let Some(user) = self.hget(&grant, "user").await? else {
            return Ok(Reply::Data(None));
        };
        self.invoke(
            self.inner
                .scripts
                .redeem_grant
                .key(&grant)
                .key(keys.user_grants(&user))
                .arg(app_id)
                .arg(now)
                .arg(digest)
                .arg(&user),
        )
        .await
    }
}

impl_store! { RedisStore,
    issue_code(self, subject, key, kind, now, expires_at, limits) {
        let keys = &self.inner.keys;
        let digest = code_digest(key);
        let app_id = &subject.app.app_id;
        let reply: Reply<()> = self
            .invoke(
                self.inner
                    .scripts
                    .issue_code
                    .key(keys.code(&digest))
                    .key(keys.user_codes(&subject.openid))
                    .key(keys.app_codes(app_id))
                    .key(keys.subject(&subject.openid))
                    .arg(now)
                    .arg(expires_at)
                    .arg(limits.per_user)
                    .arg(limits.per_app)
                    .arg(&digest)
                    .arg(app_id)
                    .arg(&subject.user_id)
                    .arg(&subject.openid)
                    .arg(kind_name(kind))
                    .arg(ttl(now, expires_at, GC_MARGIN))
                    .arg(ttl(now, expires_at, SUBJECT_RETENTION)),
            )
            .await?;
        reply.into_result()
    }

    redeem_login_code(self, app, key, now, rate_limit, subject) {
        let code = self.inner.keys.code(&code_digest(key));
        let user_id: String = settled!(
            self.redeem_login_attempt(&code, app, now, rate_limit)
                .await?
        )?;
        Ok(subject(&user_id))
    }

    redeem_user_code(self, app, openid, key, kind, now) {
        let keys = &self.inner.keys;
        let script = &self.inner.scripts.redeem_user_code;
        let mut invocation = script.prepare_invoke();
        if let Some(key) = key {
            invocation.key(keys.code(&code_digest(key)));
        }
        if let Some(openid) = openid {
            invocation.key(keys.subject(openid));
        }
        invocation
            .arg(&app.record.app_id)
            .arg(now)
            .arg(kind_name(kind))
            .arg(openid.unwrap_or(""))
            .arg(if key.is_some() { "1" } else { "0" });
        let reply: Reply<String> = self.invoke(&invocation).await?;
        reply.into_result()
    }

    replace_session(self, subject, signature, nonce, now, expires_at) {
        let reply: Reply<()> = self
            .invoke(
                self.inner
                    .scripts
                    .replace_session
                    .key(self.inner.keys.subject(&subject.openid))
                    .arg(&subject.app.app_id)
                    .arg(&subject.user_id)
                    .arg(digest(&signature))
                    .arg(to_hex(&nonce))
                    .arg(expires_at)
                    .arg(ttl(now, expires_at, SUBJECT_RETENTION)),
            )
            .await?;
        reply.into_result()
    }

    check_session(self, token, openid, signature, now, registered) {
        let keys = &self.inner.keys;
        let reply: Reply<SessionState> = self
            .invoke(
                self.inner
                    .scripts
                    .check_session
                    .key(keys.token(&digest(token.as_bytes())))
                    .key(keys.subject(openid)),
            )
            .await?;
        let (token_app, token_exp, subject_app, stored, session_exp) = reply.into_result()?;
        if millis(&token_exp).is_none_or(|exp| exp <= now) {
            return Err(Refused::ExpiredToken.into());
        }
        if !registered(&token_app) {
            return Err(Refused::InvalidToken.into());
        }
        if subject_app != token_app {
            return Err(Refused::UnknownOpenid.into());
        }
        let signature = signature.ok_or(Refused::BadSignature)?;
        if millis(&session_exp).is_none_or(|exp| exp <= now) {
            return Err(Refused::BadSignature.into());
        }
        if bool::from(digest(signature).as_bytes().ct_eq(&stored)) {
            Ok(())
        } else {
            Err(Refused::BadSignature.into())
        }
    }

    has_session(self, subject, now) {
        let key = self.inner.keys.subject(&subject.openid);
        let (app, exp): (Option<Vec<u8>>, Option<Vec<u8>>) =
            self.hmget(&key, &["app", "sexp"]).await?;
        Ok(match (app, exp) {
            (Some(app), Some(exp)) => {
                app == subject.app.app_id.as_bytes() && millis(&exp).is_some_and(|exp| exp > now)
            }
            _ => false,
        })
    }

    session_nonce(self, subject, now) {
        let key = self.inner.keys.subject(&subject.openid);
        let (app, nonce, exp): (Option<Vec<u8>>, Option<String>, Option<Vec<u8>>) =
            self.hmget(&key, &["app", "nonce", "sexp"]).await?;
        Ok(match (app, nonce, exp) {
            (Some(app), Some(nonce), Some(exp))
                if app == subject.app.app_id.as_bytes()
                    && millis(&exp).is_some_and(|exp| exp > now) =>
            {
                // Written by replace_session as 32 hex digits; anything else
                // is no session this platform made.
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(nonce, &mut bytes).ok().map(|()| bytes)
            }
            _ => None,
        })
    }

    issue_token(self, app, token, terms) {
        let app_id = &app.record.app_id;
        let now = terms.now;
        // An expired token is told from an unknown one for as long as it
        // lived: the in-memory sweep's grace (the token's lifetime).
        let grace = terms.expires_at.saturating_sub(now);
        // The day's count lives to the day's end, the current token's
        // digest as long as the token is told apart from an unknown one.
        let day_end = (terms.day() + 1).saturating_mul(86_400_000);
        let slots_ttl = ttl(
            now,
            day_end.max(terms.expires_at.saturating_add(grace)),
            GC_MARGIN,
        );
        let token_digest = digest(token.as_bytes());
        settled!(
            self.issue_token_attempt(app_id, &token_digest, &terms, grace, slots_ttl)
                .await?
        )
    }

    resolve_token(self, token, now, app) {
        let key = self.inner.keys.token(&digest(token.as_bytes()));
        let (app_id, exp): (Option<Vec<u8>>, Option<Vec<u8>>) =
            self.hmget(&key, &["app", "exp"]).await?;
        let app_id = app_id.ok_or(Refused::InvalidToken)?;
        if exp.as_deref().and_then(millis).is_none_or(|exp| exp <= now) {
            return Err(Refused::ExpiredToken.into());
        }
        std::str::from_utf8(&app_id)
            .ok()
            .and_then(app)
            .ok_or_else(|| Refused::InvalidToken.into())
    }

    issue_grant(self, code, app_id, user_id, scopes, now, terms) {
        let keys = &self.inner.keys;
        let digest = digest(code.as_bytes());
        let scopes = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let reply: Reply<()> = self
            .invoke(
                self.inner
                    .scripts
                    .issue_grant
                    .key(keys.grant(&digest))
                    .key(keys.user_grants(user_id))
                    .arg(now)
                    .arg(terms.expires_at)
                    .arg(terms.per_user)
                    .arg(&digest)
                    .arg(app_id)
                    .arg(user_id)
                    .arg(scopes)
                    .arg(ttl(now, terms.expires_at, GC_MARGIN)),
            )
            .await?;
        reply.into_result()
    }

    redeem_grant(self, code, app_id, now) {
        let digest = digest(code.as_bytes());
        let redeemed = settled!(self.redeem_grant_attempt(&digest, app_id, now).await?)?;
        let Some((user_id, scopes)) = redeemed else {
            return Ok(None);
        };
        let scopes = scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<Scope>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Unavailable(format!("redis: a stored grant: {e}")))?;
        Ok(Some(RedeemedGrant { user_id, scopes }))
    }

    ping(self) {
        let pong: String =
            self.run(|mut connection| async move {
                redis::cmd("PING").query_async(&mut connection).await
            })
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "redis: PING answered {pong:?}"
            )))
        }
    }
}
