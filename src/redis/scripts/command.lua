-- A manual change (RedisStore's circuit commands, RedisAdmin): command is open | close |
-- half-open | force-open | disable | clear-forced | shadow | unshadow. scope 'existing' changes
-- only a circuit Redis holds (state, a failure-rate window or votes; RedisAdmin): nothing is
-- written for an unknown key. period: how long `open` opens for (ms, 0 = resetTimeout). Shadow
-- mode is not a state: it bumps the generation and is published, so that every process reads it,
-- and leaves state and counters as they are.
--! prelude
--! argv: command scope period
local c = load()
local command = ARG.command
if ARG.scope == 'existing' and c.e == '' and redis.call('EXISTS', W, V) == 0 then
  return reply(c)
end
if command == 'open' then
  transition(c, 'open', '', 'manual', ARG.period)
elseif command == 'close' then
  transition(c, 'closed', '', 'manual')
elseif command == 'half-open' then
  transition(c, 'half-open', '', 'manual')
elseif command == 'force-open' then
  transition(c, c.st, 'forced-open', 'manual')
elseif command == 'disable' then
  transition(c, c.st, 'disabled', 'manual')
elseif command == 'clear-forced' then
  if c.fo ~= '' then transition(c, 'closed', '', 'manual') end
elseif command == 'shadow' or command == 'unshadow' then
  local sh = command == 'shadow' and '1' or ''
  if c.sh ~= sh then
    c.sh = sh
    c.g = c.g + 1
    save(c)
    announce(c, c.st, c.fo, 'manual')
  end
else
  return redis.error_reply('infuse: unknown command ' .. command)
end
return reply(c)
