-- Redeems a login code of an app once, counting its user's rate window;
-- a full window leaves the code unused.
--
-- KEYS: code, rate (the code's tag, this minute: one count per openid).
-- ARGV: app, now, rate limit, rate ttl.
-- Answers the user id.
local c = redis.call('HMGET', KEYS[1], 'app', 'kind', 'exp', 'used', 'openid', 'user')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= 'login' or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return INVALID_CODE
end
if c[4] == '1' then return CODE_USED end
local count = tonumber(redis.call('HGET', KEYS[2], c[5]) or '0')
if count >= tonumber(ARGV[3]) then return RATE_LIMITED end
redis.call('HINCRBY', KEYS[2], c[5], 1)
if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
redis.call('HSET', KEYS[1], 'used', '1')
return c[6]
