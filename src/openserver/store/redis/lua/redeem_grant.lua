-- Spends an authCode whatever happens; answers its user and scopes when
-- it was the app's and had not expired (DONE, nothing, otherwise).
--
-- KEYS: grant, user-grants (of the user the grant named when read just
-- before). ARGV: app, now, digest, that user.
-- STALE when the grant no longer names that user.
local g = redis.call('HMGET', KEYS[1], 'app', 'user', 'scopes', 'exp')
if not g[1] then return DONE end
if g[2] ~= ARGV[4] then return STALE end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
if g[1] ~= ARGV[1] or tonumber(g[4]) <= tonumber(ARGV[2]) then return DONE end
return {g[2], g[3]}
