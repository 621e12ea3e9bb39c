//! The rules' state operations, each one script (or one command), with its
//! keys and arguments typed.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::decode::{Reply, Status, millis, refusal};
use super::keys::*;
use super::{GC_MARGIN, RedisStore, SUBJECT_RETENTION, evalsha};
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
    /// One attempt of `redeem_grant`: the grant names the user whose count
    /// it frees.
    async fn redeem_grant_attempt(
        &self,
        code: &str,
        digest: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Reply<Option<(String, String)>>, StoreError> {
        let keys = &self.inner.keys;
        let grant = keys.grant(code, digest);
        let Some(user) = self.hget(&grant, "user").await? else {
            return Ok(Reply::Data(None));
        };
        self.invoke(
            self.inner
                .scripts
                .redeem_grant
                .key(&grant)
                .key(keys.user_grants(grant_tag(code), &user))
                .arg(app_id)
                .arg(now)
                .arg(digest)
                .arg(&user),
        )
        .await
    }
}

impl RedisStore {
    /// What checksession decides on. One Redis: one script. A cluster:
    /// the token's and the openid's keys lie in two slots, read together
    /// (two commands, one round trip's wait).
    async fn session_state(&self, token: &str, openid: &str) -> Result<SessionState, StoreError> {
        let keys = &self.inner.keys;
        let token_key = keys.token(&digest(token.as_bytes()));
        let subject_key = keys.subject(openid);
        if !self.inner.cluster {
            let reply: Reply<SessionState> = self
                .invoke(
                    self.inner
                        .scripts
                        .check_session
                        .key(&token_key)
                        .key(&subject_key),
                )
                .await?;
            return reply.into_result();
        }
        let (token_state, subject_state) = tokio::join!(
            self.hmget::<[Option<Vec<u8>>; 3]>(&token_key, &["app", "exp", "gone"]),
            self.hmget::<[Option<Vec<u8>>; 3]>(&subject_key, &["app", "sig", "sexp"]),
        );
        let [app, exp, gone] = token_state?;
        let Some(app) = app.filter(|_| gone.is_none()) else {
            return Err(Refused::InvalidToken.into());
        };
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| Refused::InvalidToken);
        let [subject_app, sig, sexp] = subject_state?;
        Ok((
            text(app)?,
            exp.unwrap_or_default(),
            subject_app.map(text).transpose()?.unwrap_or_default(),
            sig.unwrap_or_default(),
            sexp.unwrap_or_default(),
        ))
    }

    /// Writes, shortens or retires a token's record (`token_record.lua`);
    /// nothing for no token (`''`).
    async fn token_record(
        &self,
        digest: &str,
        app_id: &str,
        exp: u64,
        ttl: u64,
        retire: bool,
    ) -> Result<(), StoreError> {
        if digest.is_empty() {
            return Ok(());
        }
        let reply: Reply<()> = self
            .invoke(
                self.inner
                    .scripts
                    .token_record
                    .key(self.inner.keys.token(digest))
                    .arg(app_id)
                    .arg(exp)
                    .arg(ttl)
                    .arg(if retire { "1" } else { "0" }),
            )
            .await?;
        reply.into_result()
    }

    /// What each tag's counter may hold of the app's cap: all of it on one
    /// Redis; on a cluster a 256th, rounded up (docs/openserver.md).
    fn app_cap_share(&self, per_app: usize) -> usize {
        if self.inner.keys.sharded_app_cap {
            per_app.div_ceil(256)
        } else {
            per_app
        }
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
                    .key(keys.code(key, &digest))
                    .key(keys.user_codes(&subject.openid))
                    .key(keys.app_codes(&subject.openid, app_id))
                    .key(keys.subject(&subject.openid))
                    .arg(now)
                    .arg(expires_at)
                    .arg(limits.per_user)
                    .arg(self.app_cap_share(limits.per_app))
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
        let keys = &self.inner.keys;
        let minute = now / 60_000;
        let code = keys.code(key, &code_digest(key));
        let script = &self.inner.scripts.redeem_login_code;
        let mut evalsha = evalsha(script, &[&code, &keys.rate(code_tag(key), minute)]);
        evalsha
            .arg(&app.record.app_id)
            .arg(now)
            .arg(rate_limit)
            .arg(ttl(now, (minute + 1) * 60_000, GC_MARGIN));
        let reply: Reply<String> = self.redeem(script, evalsha, &code).await?;
        Ok(subject(&reply.into_result()?))
    }

    redeem_user_code(self, app, openid, key, kind, now) {
        let keys = &self.inner.keys;
        let script = &self.inner.scripts.redeem_user_code;
        let mut invocation = script.prepare_invoke();
        // A code carries its user's tag: one whose tag is not the given
        // openid's is not that user's, and is not looked at (on a cluster
        // its key lies in another slot).
        let key = key.filter(|&key| openid.is_none_or(|openid| code_tag(key) == subject_tag(openid)));
        let code = key.map(|key| keys.code(key, &code_digest(key)));
        if let Some(code) = &code {
            invocation.key(code);
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
        let user_id = reply.into_result()?;
        if let Some(code) = &code {
            self.replicated(code).await?;
        }
        Ok(user_id)
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
        let (token_app, token_exp, subject_app, stored, session_exp) =
            self.session_state(token, openid).await?;
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
        let rotated: Reply<(String, String)> = self
            .invoke(
                self.inner
                    .scripts
                    .issue_token
                    .key(self.inner.keys.app_tokens(app_id))
                    .arg(terms.day())
                    .arg(terms.per_day)
                    .arg(&token_digest)
                    .arg(slots_ttl),
            )
            .await?;
        let (current, previous) = rotated.into_result()?;
        // The new token, the current one shortened, the previous retired:
        // three slots, written together (`token_record` merges them in
        // any order).
        let lifetime = |until: u64| ttl(now, until, grace);
        let (written, shortened, retired) = tokio::join!(
            self.token_record(&token_digest, app_id, terms.expires_at, lifetime(terms.expires_at), false),
            self.token_record(&current, "", terms.overlap_end, lifetime(terms.overlap_end), false),
            self.token_record(&previous, "", now, GC_MARGIN, true),
        );
        written.and(shortened).and(retired)
    }

    resolve_token(self, token, now, app) {
        let key = self.inner.keys.token(&digest(token.as_bytes()));
        let [app_id, exp, gone]: [Option<Vec<u8>>; 3] =
            self.hmget(&key, &["app", "exp", "gone"]).await?;
        let app_id = app_id.filter(|_| gone.is_none()).ok_or(Refused::InvalidToken)?;
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
                    .key(keys.grant(code, &digest))
                    .key(keys.user_grants(grant_tag(code), user_id))
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
        let redeemed = settled!(self.redeem_grant_attempt(code, &digest, app_id, now).await?)?;
        let Some((user_id, scopes)) = redeemed else {
            return Ok(None);
        };
        self.replicated(&self.inner.keys.grant(code, &digest)).await?;
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
