-- Replaces a user's session: from now on only this signature verifies.
--
-- KEYS: subject. ARGV: app, user, signature digest, session nonce (hex: the
-- session_key derives from it and the servers' id_secret, which Redis never
-- sees), session expiry, subject ttl.
redis.call('HSET', KEYS[1], 'app', ARGV[1], 'user', ARGV[2], 'sig', ARGV[3], 'nonce', ARGV[4], 'sexp', ARGV[5])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return DONE
