-- The processes that beat within the last `within` ms: { now, id, beat, id, beat, ... }.
--! keys: index
--! argv: within
--! reply: now ...members
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local found = redis.call('ZRANGEBYSCORE', K.index, now - tonumber(ARG.within), '+inf', 'WITHSCORES')
return pack({ now = now }, found)
