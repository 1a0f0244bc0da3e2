-- Reads a circuit; where Redis holds nothing, writes the seed: a process's initialState, or a
-- state Redis lost that the process knew open or forced (seedState, seedForced, seedRemaining ms;
-- seedState '' = no seed). keepAlive '1': keeps a forced mode or shadow mode alive (the poll of a
-- process that knows it: an operator's decision lasts while the fleet runs, and `ttl` after the
-- last process has gone).
--! prelude
--! argv: seedState seedForced seedRemaining keepAlive
local c = load()
local state, forced = ARG.seedState, ARG.seedForced
if c.e == '' and STATES[state] and FORCED[forced] and (state ~= 'closed' or forced ~= '') then
  -- Only where nothing is stored: initial state, or a process re-seeding a Redis that lost it.
  c.g = 1
  c.st = state
  c.fo = forced
  if state == 'open' then c.ou = NOW + math.max(0, tonumber(ARG.seedRemaining) or RESET) end
  save(c)
  announce(c, 'closed', '', 'remote')
elseif ARG.keepAlive == '1' and (c.fo ~= '' or c.sh == '1') then
  touch()
end
return reply(c)
