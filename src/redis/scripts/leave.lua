-- A process leaves: its hash and its entry in the index of processes go.
--! keys: index process
--! argv: id
--! reply: ok
redis.call('DEL', K.process)
redis.call('ZREM', K.index, ARG.id)
return 1
