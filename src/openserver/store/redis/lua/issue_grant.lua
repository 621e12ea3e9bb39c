-- Issues an authCode grant under its user's cap.
--
-- KEYS: grant, user-grants. ARGV: now, exp, per user, digest, app, user,
-- scopes, ttl.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return GRANT_QUOTA end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[8]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
redis.call('HSET', KEYS[1], 'app', ARGV[5], 'user', ARGV[6], 'scopes', ARGV[7], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return DONE
