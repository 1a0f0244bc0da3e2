-- Reads a circuit and changes nothing, not even a TTL or malformed data (RedisAdmin). Replies as
-- every circuit script does, or with { 'malformed', why } when the data under its keys is not
-- ours.
--! prelude
READONLY = true
local c, problem = inspect()
if problem then return { 'malformed', problem } end
c = c or absent()
local counts = nil
if c.st == 'closed' and c.fo == '' and redis.call('TYPE', W).ok == 'hash' then
  local lengths = redis.call('HMGET', W, 'w', 'x')
  counts = tally(int(lengths[1]), int(lengths[2]), false)
end
return reply(c, 0, nil, counts or { c = 0, f = 0, n = 0, s = 0 })
