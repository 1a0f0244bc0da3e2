-- One heartbeat: the process's hash lives `ttl` ms without a beat; the first `deletes` of its
-- `...fields` are fields to delete, the rest field/value pairs to set. The index of processes is
-- a sorted set scored by last beat (ms); its entries older than the TTL go (their hashes have
-- expired). Replies with Redis's time (ms).
--! keys: index process
--! argv: id ttl deletes ...fields
--! reply: now
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARG.ttl)
local deletes = tonumber(ARG.deletes)
local i = REST
if deletes > 0 then
  local gone = {}
  for j = i, i + deletes - 1 do gone[#gone + 1] = ARGV[j] end
  redis.call('HDEL', K.process, unpack(gone))
end
i = i + deletes
if #ARGV >= i then
  local set = {}
  for j = i, #ARGV do set[#set + 1] = ARGV[j] end
  redis.call('HSET', K.process, unpack(set))
end
redis.call('HSET', K.process, 'beat', now)
redis.call('PEXPIRE', K.process, ttl)
redis.call('ZADD', K.index, now, ARG.id)
redis.call('ZREMRANGEBYSCORE', K.index, '-inf', now - ttl)
redis.call('PEXPIRE', K.index, ttl)
return now
