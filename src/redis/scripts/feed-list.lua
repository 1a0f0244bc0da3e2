-- The change feed (sync/feed.ts): `index` is a sorted set of circuit keys scored by the time (ms,
-- Redis clock) of their last change. Lists circuit `key` as changed now; entries older than ttl
-- go (their circuit's keys have expired), and at most `max` stay. Read by every process's poll
-- and by `preload`; a hint of what to read again, never part of a decision.
--! keys: index
--! argv: key ttl max
--! reply: ok
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', K.index, now, ARG.key)
redis.call('ZREMRANGEBYSCORE', K.index, '-inf', now - tonumber(ARG.ttl))
redis.call('ZREMRANGEBYRANK', K.index, 0, -(tonumber(ARG.max) + 1))
redis.call('PEXPIRE', K.index, ARG.ttl)
return 1
