//! The store's Lua scripts, one per rule, loaded once and run with EVALSHA.

use redis::Script;

/// The store's scripts. Status numbers: 1 invalid code, 2 code used,
/// 3 rate limited, 4 unknown openid, 5 user's code quota, 6 app's code
/// cap, 7 daily token quota, 8 user's authCode cap (see [`refusal`]).
pub(super) struct Scripts {
    pub(super) issue_code: Script,
    pub(super) redeem_login_code: Script,
    pub(super) redeem_user_code: Script,
    pub(super) replace_session: Script,
    pub(super) check_session: Script,
    pub(super) issue_token: Script,
    pub(super) issue_grant: Script,
    pub(super) redeem_grant: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            issue_code: Script::new(ISSUE_CODE),
            redeem_login_code: Script::new(REDEEM_LOGIN_CODE),
            redeem_user_code: Script::new(REDEEM_USER_CODE),
            replace_session: Script::new(REPLACE_SESSION),
            check_session: Script::new(CHECK_SESSION),
            issue_token: Script::new(ISSUE_TOKEN),
            issue_grant: Script::new(ISSUE_GRANT),
            redeem_grant: Script::new(REDEEM_GRANT),
        }
    }

    pub(super) fn all(&self) -> [&Script; 8] {
        [
            &self.issue_code,
            &self.redeem_login_code,
            &self.redeem_user_code,
            &self.replace_session,
            &self.check_session,
            &self.issue_token,
            &self.issue_grant,
            &self.redeem_grant,
        ]
    }
}

/// Issues a code under the user's quota, then the app's cap. Expired
/// members are trimmed first, so the counts need no sweeping.
///
/// KEYS: code, user-codes, app-codes, subject.
/// ARGV: now, exp, per_user, per_app, digest, app, user, openid, kind,
/// code ttl, subject ttl.
pub(super) const ISSUE_CODE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 5 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 6 end
redis.call('HSET', KEYS[1], 'app', ARGV[6], 'user', ARGV[7], 'openid', ARGV[8],
  'kind', ARGV[9], 'exp', ARGV[2], 'used', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[10])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[5])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[10]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[10])
  end
end
redis.call('HSET', KEYS[4], 'app', ARGV[6], 'user', ARGV[7])
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[11]) then
  redis.call('PEXPIRE', KEYS[4], ARGV[11])
end
return 0
";

/// Redeems a login code of an app once, counting its user's rate window;
/// a full window leaves the code unused.
///
/// KEYS: code. ARGV: app, now, rate limit, minute, subject key prefix.
/// Answers {0, user id}.
pub(super) const REDEEM_LOGIN_CODE: &str = r"
local c = redis.call('HMGET', KEYS[1], 'app', 'kind', 'exp', 'used', 'openid', 'user')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= 'login' or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return 1
end
if c[4] == '1' then return 2 end
local subject = ARGV[5] .. c[5]
local w = redis.call('HMGET', subject, 'wmin', 'wcount')
local count = 0
if w[1] == ARGV[4] then count = tonumber(w[2]) end
if count >= tonumber(ARGV[3]) then return 3 end
redis.call('HSET', subject, 'wmin', ARGV[4], 'wcount', count + 1)
redis.call('HSET', KEYS[1], 'used', '1')
return {0, c[6]}
";

/// Redeems a phone/email code of an app, issued to the user with the given
/// openid when one is given (checked first, even with no code to look at);
/// without one, the code names its user.
///
/// KEYS: subject (of the given openid, or the bare prefix)[, code].
/// ARGV: app, now, kind, openid ('' when none), subject key prefix.
/// Answers {0, user id}.
pub(super) const REDEEM_USER_CODE: &str = r"
local openid = ARGV[4]
if openid ~= '' then
  local s = redis.call('HGET', KEYS[1], 'app')
  if s ~= ARGV[1] then return 4 end
end
if #KEYS < 2 then return 1 end
local c = redis.call('HMGET', KEYS[2], 'app', 'kind', 'exp', 'used', 'openid')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= ARGV[3]
  or (openid ~= '' and c[5] ~= openid)
  or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return 1
end
if c[4] == '1' then return 2 end
redis.call('HSET', KEYS[2], 'used', '1')
local user = redis.call('HGET', ARGV[5] .. c[5], 'user')
return {0, user or ''}
";

/// Replaces a user's session: from now on only this signature verifies.
///
/// KEYS: subject. ARGV: app, user, signature digest, session expiry, subject ttl.
pub(super) const REPLACE_SESSION: &str = r"
redis.call('HSET', KEYS[1], 'app', ARGV[1], 'user', ARGV[2], 'sig', ARGV[3], 'sexp', ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 0
";

/// Reads what checksession decides on: the token's app and expiry, and the
/// openid's app, session signature digest and session expiry.
///
/// KEYS: token, subject. Answers {} for an unknown token.
pub(super) const CHECK_SESSION: &str = r"
local t = redis.call('HMGET', KEYS[1], 'app', 'exp')
if not t[1] then return {} end
local s = redis.call('HMGET', KEYS[2], 'app', 'sig', 'sexp')
return {t[1], t[2] or '0', s[1] or '', s[2] or '', s[3] or ''}
";

/// Issues an access token under the app's daily quota: the one before the
/// previous stops now, the previous lives until the overlap ends.
///
/// KEYS: app-tokens, token. ARGV: day, per day, exp, overlap end, app, now,
/// grace, token key prefix, digest, app-tokens ttl.
pub(super) const ISSUE_TOKEN: &str = r"
local s = redis.call('HMGET', KEYS[1], 'day', 'issued', 'cur', 'prev')
local issued = 0
if s[1] == ARGV[1] then issued = tonumber(s[2]) end
if issued >= tonumber(ARGV[2]) then return 7 end
if s[4] then redis.call('DEL', ARGV[8] .. s[4]) end
if s[3] then
  local previous = ARGV[8] .. s[3]
  local e = redis.call('HGET', previous, 'exp')
  if e and tonumber(e) > tonumber(ARGV[4]) then
    redis.call('HSET', previous, 'exp', ARGV[4])
    redis.call('PEXPIRE', previous, math.max(1, tonumber(ARGV[4]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
  end
  redis.call('HSET', KEYS[1], 'prev', s[3])
else
  redis.call('HDEL', KEYS[1], 'prev')
end
redis.call('HSET', KEYS[2], 'app', ARGV[5], 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[3]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
redis.call('HSET', KEYS[1], 'day', ARGV[1], 'issued', issued + 1, 'cur', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[10])
return 0
";

/// Issues an authCode grant under its user's cap.
///
/// KEYS: grant, user-grants. ARGV: now, exp, per user, digest, app, user,
/// scopes, ttl.
pub(super) const ISSUE_GRANT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 8 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[8]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
redis.call('HSET', KEYS[1], 'app', ARGV[5], 'user', ARGV[6], 'scopes', ARGV[7], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 0
";

/// Spends an authCode whatever happens; answers its user and scopes when
/// it was the app's and had not expired.
///
/// KEYS: grant. ARGV: app, now, user-grants key prefix, digest.
pub(super) const REDEEM_GRANT: &str = r"
local g = redis.call('HMGET', KEYS[1], 'app', 'user', 'scopes', 'exp')
if not g[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[3] .. g[2], ARGV[4])
if g[1] ~= ARGV[1] or tonumber(g[4]) <= tonumber(ARGV[2]) then return 0 end
return {g[2], g[3]}
";
