-- Adds one entry (its field/value pairs) to the history stream, which keeps about `max` entries
-- (MAXLEN ~ lets Redis trim whole nodes, cheaply) and lives `ttl` ms after its last entry.
-- Replies with the entry's id.
--! keys: stream
--! argv: max ttl ...fields
--! reply: id
local fields = {}
for i = REST, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', K.stream, 'MAXLEN', '~', ARG.max, '*', unpack(fields))
redis.call('PEXPIRE', K.stream, ARG.ttl)
return id
