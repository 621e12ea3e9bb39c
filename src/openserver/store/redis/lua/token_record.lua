-- Writes, shortens or retires a token's record. The writes of one
-- issue_token land in several slots, in any order (two issues racing
-- included): each keeps the earliest expiry any gave, and a retired
-- token stays retired.
--
-- KEYS: token. ARGV: app ('' to leave it), exp, ttl, '1' to retire it.
local e = redis.call('HGET', KEYS[1], 'exp')
if not e or tonumber(ARGV[2]) < tonumber(e) then
  redis.call('HSET', KEYS[1], 'exp', ARGV[2])
  if redis.call('PTTL', KEYS[1]) < 0 or redis.call('PTTL', KEYS[1]) > tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'app', ARGV[1]) end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'gone', '1') end
return DONE
