-- Issues a code under the user's quota, then the app's cap. Expired
-- members are trimmed first, so the counts need no sweeping.
--
-- KEYS: code, user-codes, app-codes, subject.
-- ARGV: now, exp, per_user, per_app, digest, app, user, openid, kind,
-- code ttl, subject ttl.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return USER_CODE_QUOTA end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return APP_CODE_QUOTA end
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
return DONE
