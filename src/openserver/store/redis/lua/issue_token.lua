-- Issues an access token under the app's daily quota: the one before the
-- previous stops now, the previous lives until the overlap ends.
--
-- KEYS: app-tokens, token, [previous token,] [current token] (the two
-- named by app-tokens when read just before, when there were).
-- ARGV: day, per day, exp, overlap end, app, now, grace, current digest
-- read ('' none), previous digest read ('' none), digest, app-tokens ttl.
-- STALE when app-tokens no longer names the tokens read.
local s = redis.call('HMGET', KEYS[1], 'day', 'issued', 'cur', 'prev')
if (s[3] or '') ~= ARGV[8] or (s[4] or '') ~= ARGV[9] then return STALE end
local i = 3
local previous_key, current_key = nil, nil
if ARGV[9] ~= '' then previous_key = KEYS[i]; i = i + 1 end
if ARGV[8] ~= '' then current_key = KEYS[i] end
local issued = 0
if s[1] == ARGV[1] then issued = tonumber(s[2]) end
if issued >= tonumber(ARGV[2]) then return TOKEN_QUOTA end
if previous_key then redis.call('DEL', previous_key) end
if current_key then
  local e = redis.call('HGET', current_key, 'exp')
  if e and tonumber(e) > tonumber(ARGV[4]) then
    redis.call('HSET', current_key, 'exp', ARGV[4])
    redis.call('PEXPIRE', current_key, math.max(1, tonumber(ARGV[4]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
  end
  redis.call('HSET', KEYS[1], 'prev', ARGV[8])
else
  redis.call('HDEL', KEYS[1], 'prev')
end
redis.call('HSET', KEYS[2], 'app', ARGV[5], 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[3]) - tonumber(ARGV[6]) + tonumber(ARGV[7])))
redis.call('HSET', KEYS[1], 'day', ARGV[1], 'issued', issued + 1, 'cur', ARGV[10])
redis.call('PEXPIRE', KEYS[1], ARGV[11])
return DONE
