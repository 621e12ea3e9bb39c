-- Reads what checksession decides on: the token's app and expiry, and the
-- openid's app, session signature digest and session expiry.
--
-- KEYS: token, subject. Answers INVALID_TOKEN for an unknown or retired token.
local t = redis.call('HMGET', KEYS[1], 'app', 'exp', 'gone')
if not t[1] or t[3] then return INVALID_TOKEN end
local s = redis.call('HMGET', KEYS[2], 'app', 'sig', 'sexp')
return {t[1], t[2] or '', s[1] or '', s[2] or '', s[3] or ''}
