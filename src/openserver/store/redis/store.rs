//! The rules' state operations, each one script (or one command).

use std::sync::Arc;

use redis::Value;
use subtle::ConstantTimeEq;

use super::keys::*;
use super::{GC_MARGIN, RedisStore, SUBJECT_RETENTION};
use crate::api::Scope;
use crate::openserver::codes::CodeKey;
use crate::openserver::codes::CodeKind;
use crate::openserver::directory::RedeemedGrant;
use crate::openserver::registry::{AppState, Subject};
use crate::openserver::store::{
    CodeLimits, GrantTerms, Redeemed, Refused, Store, StoreError, TokenApp, TokenTerms,
};

impl Store for RedisStore {
    async fn issue_code(
        &self,
        subject: &Arc<Subject>,
        key: CodeKey,
        kind: CodeKind,
        now: u64,
        expires_at: u64,
        limits: CodeLimits,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let digest = code_digest(key);
        let app_id = &subject.app.app_id;
        let code_ttl = ttl(now, expires_at, GC_MARGIN);
        let subject_ttl = ttl(now, expires_at, SUBJECT_RETENTION);
        let value = self
            .eval(
                &self.inner.scripts.issue_code,
                &[
                    &keys.code(&digest),
                    &keys.user_codes(&subject.openid),
                    &keys.app_codes(app_id),
                    &keys.subject(&subject.openid),
                ],
                &[
                    now.to_string().as_bytes(),
                    expires_at.to_string().as_bytes(),
                    limits.per_user.to_string().as_bytes(),
                    limits.per_app.to_string().as_bytes(),
                    digest.as_bytes(),
                    app_id.as_bytes(),
                    subject.user_id.as_bytes(),
                    subject.openid.as_bytes(),
                    kind_name(kind).as_bytes(),
                    code_ttl.to_string().as_bytes(),
                    subject_ttl.to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn redeem_login_code(
        &self,
        app: &Arc<AppState>,
        key: CodeKey,
        now: u64,
        rate_limit: u32,
    ) -> Result<Redeemed, StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.redeem_login_code,
                &[&keys.code(&code_digest(key))],
                &[
                    app.record.app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    rate_limit.to_string().as_bytes(),
                    (now / 60_000).to_string().as_bytes(),
                    keys.subject("").as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [_, user] => Ok(Redeemed::User(string(user)?)),
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn redeem_user_code(
        &self,
        app: &Arc<AppState>,
        openid: Option<&str>,
        key: Option<CodeKey>,
        kind: CodeKind,
        now: u64,
    ) -> Result<String, StoreError> {
        let keys = &self.inner.keys;
        let subject = keys.subject(openid.unwrap_or(""));
        let prefix = keys.subject("");
        let code = key.map(|key| keys.code(&code_digest(key)));
        let mut named: Vec<&str> = vec![&subject];
        named.extend(code.as_deref());
        let value = self
            .eval(
                &self.inner.scripts.redeem_user_code,
                &named,
                &[
                    app.record.app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    kind_name(kind).as_bytes(),
                    openid.unwrap_or("").as_bytes(),
                    prefix.as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [_, user] => string(user),
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn replace_session(
        &self,
        subject: &Subject,
        signature: [u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.replace_session,
                &[&keys.subject(&subject.openid)],
                &[
                    subject.app.app_id.as_bytes(),
                    subject.user_id.as_bytes(),
                    digest(&signature).as_bytes(),
                    expires_at.to_string().as_bytes(),
                    ttl(now, expires_at, SUBJECT_RETENTION)
                        .to_string()
                        .as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn check_session(
        &self,
        token: &str,
        openid: &str,
        signature: Option<&[u8; 32]>,
        now: u64,
        registered: impl Fn(&str) -> bool + Send,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let value = self
            .eval(
                &self.inner.scripts.check_session,
                &[
                    &keys.token(&digest(token.as_bytes())),
                    &keys.subject(openid),
                ],
                &[],
            )
            .await?;
        let fields = match value {
            Value::Array(fields) => fields,
            other => return Err(unexpected(&other)),
        };
        let [token_app, token_exp, subject_app, stored, session_exp] = fields.as_slice() else {
            return Err(Refused::InvalidToken.into());
        };
        let token_app = text(token_app).ok_or_else(|| unexpected(token_app))?;
        if text(token_exp)
            .and_then(millis)
            .is_none_or(|exp| exp <= now)
        {
            return Err(Refused::ExpiredToken.into());
        }
        let token_app = std::str::from_utf8(token_app).map_err(|_| unexpected(&fields[0]))?;
        if !registered(token_app) {
            return Err(Refused::InvalidToken.into());
        }
        if text(subject_app) != Some(token_app.as_bytes()) {
            return Err(Refused::UnknownOpenid.into());
        }
        let signature = signature.ok_or(Refused::BadSignature)?;
        if text(session_exp)
            .and_then(millis)
            .is_none_or(|exp| exp <= now)
        {
            return Err(Refused::BadSignature.into());
        }
        let given = digest(signature);
        let stored = text(stored).unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(stored)) {
            Ok(())
        } else {
            Err(Refused::BadSignature.into())
        }
    }

    async fn has_session(&self, subject: &Subject, now: u64) -> Result<bool, StoreError> {
        let key = self.inner.keys.subject(&subject.openid);
        let fields = self.hmget(&key, &["app", "sexp"]).await?;
        Ok(match fields.as_slice() {
            [Some(app), Some(exp)] => {
                *app == subject.app.app_id.as_bytes() && millis(exp).is_some_and(|exp| exp > now)
            }
            _ => false,
        })
    }

    async fn issue_token(
        &self,
        app: &Arc<AppState>,
        token: &str,
        terms: TokenTerms,
    ) -> Result<(), StoreError> {
        let keys = &self.inner.keys;
        let app_id = &app.record.app_id;
        let now = terms.now;
        // The day's count lives to the day's end, the current token's
        // digest as long as the token is told apart from an unknown one.
        let day_end = (terms.day + 1).saturating_mul(86_400_000);
        let slots_ttl = ttl(
            now,
            day_end.max(terms.expires_at.saturating_add(terms.grace)),
            GC_MARGIN,
        );
        let value = self
            .eval(
                &self.inner.scripts.issue_token,
                &[
                    &keys.app_tokens(app_id),
                    &keys.token(&digest(token.as_bytes())),
                ],
                &[
                    terms.day.to_string().as_bytes(),
                    terms.per_day.to_string().as_bytes(),
                    terms.expires_at.to_string().as_bytes(),
                    terms.overlap_end.to_string().as_bytes(),
                    app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    terms.grace.to_string().as_bytes(),
                    keys.token("").as_bytes(),
                    digest(token.as_bytes()).as_bytes(),
                    slots_ttl.to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn resolve_token(&self, token: &str, now: u64) -> Result<TokenApp, StoreError> {
        let key = self.inner.keys.token(&digest(token.as_bytes()));
        let fields = self.hmget(&key, &["app", "exp"]).await?;
        match fields.as_slice() {
            [Some(app), exp] => {
                if exp.as_deref().and_then(millis).is_none_or(|exp| exp <= now) {
                    return Err(Refused::ExpiredToken.into());
                }
                String::from_utf8(app.clone())
                    .map(TokenApp::Id)
                    .map_err(|_| Refused::InvalidToken.into())
            }
            _ => Err(Refused::InvalidToken.into()),
        }
    }

    async fn issue_grant(
        &self,
        code: &str,
        app_id: &str,
        user_id: &str,
        scopes: &[Scope],
        terms: GrantTerms,
    ) -> Result<(), StoreError> {
        let GrantTerms {
            now,
            expires_at,
            per_user,
        } = terms;
        let keys = &self.inner.keys;
        let digest = digest(code.as_bytes());
        let scopes = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let value = self
            .eval(
                &self.inner.scripts.issue_grant,
                &[&keys.grant(&digest), &keys.user_grants(user_id)],
                &[
                    now.to_string().as_bytes(),
                    expires_at.to_string().as_bytes(),
                    per_user.to_string().as_bytes(),
                    digest.as_bytes(),
                    app_id.as_bytes(),
                    user_id.as_bytes(),
                    scopes.as_bytes(),
                    ttl(now, expires_at, GC_MARGIN).to_string().as_bytes(),
                ],
            )
            .await?;
        answer(value).map(drop)
    }

    async fn redeem_grant(
        &self,
        code: &str,
        app_id: &str,
        now: u64,
    ) -> Result<Option<RedeemedGrant>, StoreError> {
        let keys = &self.inner.keys;
        let digest = digest(code.as_bytes());
        let value = self
            .eval(
                &self.inner.scripts.redeem_grant,
                &[&keys.grant(&digest)],
                &[
                    app_id.as_bytes(),
                    now.to_string().as_bytes(),
                    keys.user_grants("").as_bytes(),
                    digest.as_bytes(),
                ],
            )
            .await?;
        match answer(value)?.as_slice() {
            [] => Ok(None),
            [user, scopes] => {
                let scopes = string(scopes)?;
                let scopes = scopes
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<Scope>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::Unavailable(format!("redis: a stored grant: {e}")))?;
                Ok(Some(RedeemedGrant {
                    user_id: string(user)?,
                    scopes,
                }))
            }
            other => Err(unexpected(&Value::Array(other.to_vec()))),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
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
