-- Redeems a login code of an app once, counting its user's rate window;
-- a full window leaves the code unused.
--
-- KEYS: code, subject (of the openid the code named when read just before).
-- ARGV: app, now, rate limit, minute, that openid.
-- Answers the user id; STALE when the code no longer names that openid.
local c = redis.call('HMGET', KEYS[1], 'app', 'kind', 'exp', 'used', 'openid', 'user')
if not c[1] or c[1] ~= ARGV[1] or c[2] ~= 'login' or tonumber(c[3]) <= tonumber(ARGV[2]) then
  return INVALID_CODE
end
if c[5] ~= ARGV[5] then return STALE end
if c[4] == '1' then return CODE_USED end
local w = redis.call('HMGET', KEYS[2], 'wmin', 'wcount')
local count = 0
if w[1] == ARGV[4] then count = tonumber(w[2]) end
if count >= tonumber(ARGV[3]) then return RATE_LIMITED end
redis.call('HSET', KEYS[2], 'wmin', ARGV[4], 'wcount', count + 1)
redis.call('HSET', KEYS[1], 'used', '1')
return c[6]
