-- Redeems a phone/email code of an app, issued to the user with the given
-- openid when one is given (checked first, even with no code to look at);
-- without one, the code names its user.
--
-- KEYS: [code,] [subject of the given openid].
-- ARGV: app, now, kind, openid ('' when none), '1' when a code is given.
-- Answers the user id.
local openid = ARGV[4]
local code, subject = nil, KEYS[1]
if ARGV[5] == '1' then code, subject = KEYS[1], KEYS[2] end
if openid ~= '' then
  if redis.call('HGET', subject, 'app') ~= ARGV[1] then return UNKNOWN_OPENID end
end
if not code then return INVALID_CODE end
local c = redis.call('HMGET', code, 'app', 'kind', 'exp', 'used', 'openid', 'user')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= ARGV[3]
  or (openid ~= '' and c[5] ~= openid)
  or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return INVALID_CODE
end
if c[4] == '1' then return CODE_USED end
redis.call('HSET', code, 'used', '1')
return c[6] or ''
