-- Counts a new access token of an app under its daily quota and makes it
-- the current one; answers the digests of the tokens it replaces (the
-- current, which the store then shortens to the overlap's end, and the
-- previous, which it retires), '' for none.
--
-- KEYS: app-tokens. ARGV: day, per day, digest, ttl.
local s = redis.call('HMGET', KEYS[1], 'day', 'issued', 'cur', 'prev')
local issued = 0
if s[1] == ARGV[1] then issued = tonumber(s[2]) end
if issued >= tonumber(ARGV[2]) then return TOKEN_QUOTA end
if s[3] then
  redis.call('HSET', KEYS[1], 'prev', s[3])
else
  redis.call('HDEL', KEYS[1], 'prev')
end
redis.call('HSET', KEYS[1], 'day', ARGV[1], 'issued', issued + 1, 'cur', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {s[3] or '', s[4] or ''}
