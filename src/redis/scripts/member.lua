-- A process's hash: its fields and values (empty once it expired).
--! keys: process
--! reply: ...fields
return redis.call('HGETALL', K.process)
