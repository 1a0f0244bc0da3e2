-- Lists the history stream from id `from` ('-' for all), at most `count` entries, newest first,
-- as XREVRANGE does.
--! keys: stream
--! argv: from count
--! reply: ...entries
return redis.call('XREVRANGE', K.stream, '+', ARG.from, 'COUNT', tonumber(ARG.count))
