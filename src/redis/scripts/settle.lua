-- The outcome of a trial call under lease `lease`, granted in the state (epoch, generation):
-- verdict success | failure | aborted (the permit goes back), and for a failure (a slow trial is
-- one) the reason to give (trialFailed when '', or retryAfter) and the open period it asks for
-- (period ms, 0 = resetTimeout). A lease that expired settles nothing.
--! prelude
--! argv: epoch generation lease verdict reason period
local c = load()
local deadline = tonumber(redis.call('ZSCORE', L, ARG.lease) or '0')
redis.call('ZREM', L, ARG.lease)
if deadline > NOW and c.e == ARG.epoch and c.g == tonumber(ARG.generation) and c.st == 'half-open'
  and c.fo == '' then
  if ARG.verdict == 'failure' then
    transition(c, 'open', '', OPENS[ARG.reason] and ARG.reason or 'trialFailed', ARG.period)
  elseif ARG.verdict == 'success' then
    c.ts = c.ts + 1
    if c.ts >= MAXTRIALS then
      transition(c, 'closed', '', 'trialSucceeded')
    else
      save(c)
    end
  end
end
return reply(c)
