-- One poll of the change feed: up to `max` entries scored `from` (ms, Redis clock) or later,
-- oldest first, after Redis's time: { now, key, score, key, score, ... }. A process reads again
-- the circuits it knows among them.
--! keys: index
--! argv: from max
--! reply: now ...changes
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local found = redis.call('ZRANGEBYSCORE', K.index, ARG.from, '+inf', 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARG.max))
return pack({ now = now }, found)
