-- Replaces a user's session: from now on only this signature verifies.
--
-- KEYS: subject. ARGV: app, user, signature digest, session expiry, subject ttl.
redis.call('HSET', KEYS[1], 'app', ARGV[1], 'user', ARGV[2], 'sig', ARGV[3], 'sexp', ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return DONE
