-- Asks for half-open trial permits: `wanted` of them, each a lease of leaseMs named
-- leasePrefix:<n>. An open circuit whose time is up turns half-open first. Replies with the
-- leases granted and, when none is left, how long until one may free up (hold).
--! prelude
--! argv: wanted leaseMs leasePrefix
local c = load()
local granted, hold = {}, 0
if c.fo == '' and c.st == 'open' and NOW >= c.ou then
  transition(c, 'half-open', '', 'resetTimeout')
end
if c.fo == '' and c.st == 'half-open' then
  local lease = tonumber(ARG.leaseMs)
  redis.call('ZREMRANGEBYSCORE', L, '-inf', NOW)
  local free = MAXTRIALS - c.ts - redis.call('ZCARD', L)
  local n = math.min(tonumber(ARG.wanted), free)
  for i = 1, n do
    granted[i] = ARG.leasePrefix .. ':' .. i
    redis.call('ZADD', L, NOW + lease, granted[i])
  end
  if n > 0 then touch() end
  if free - math.max(n, 0) <= 0 then
    local first = redis.call('ZRANGE', L, 0, 0, 'WITHSCORES')
    hold = first[2] and math.max(1, tonumber(first[2]) - NOW) or lease
  end
end
return reply(c, hold, granted)
