-- A process's calls since its last report, while the circuit is closed in the state it knows
-- (epoch, generation): successes, failures, slow calls (counted among both), a reason to open now
-- ('' for none: failMax when the caller's streak trips, or retryAfter) with the open period it
-- asks for (period ms, 0 = resetTimeout), the caller's process id (voter; '' when the quorum is
-- 1: no ballot is kept), what else it tells (tell): 'withdraw' (it succeeded after failing: its
-- vote, mark and streak go), 'contrary' (it succeeded after hearing of a vote), or '', and the
-- policy's failMax (for the fleet's streak).
--
-- failMax opens the fleet only with a quorum (see quorumReached): `quorum` processes agree
-- (voted, or their latest call failed) and either their streaks add up to failMax with no process
-- contradicting, or one of them voted (its own streak reached failMax); or a lone vote found no
-- contrary evidence within GRACE. A process's own evidence is about its own path to the host; a
-- host down for all is seen failing by every process that calls it, so the fleet opens after
-- about failMax failures in all, as a single shared count would.
--! prelude
--! argv: epoch generation successes failures slow reason period voter tell failMax
local c = load()
local votes, agree = nil, nil
if c.e == ARG.epoch and c.g == tonumber(ARG.generation) and c.st == 'closed' and c.fo == '' then
  local failures, reason, voter = tonumber(ARG.failures), ARG.reason, ARG.voter or ''
  local counts = window(tonumber(ARG.successes) + failures, failures, tonumber(ARG.slow))
  local quorate = QUORUM <= 1 and reason == 'failMax'
  if voter ~= '' then
    local n = ballot(c, voter, failures > 0, reason == 'failMax', ARG.tell)
    votes, agree = n.votes, n.agree
    quorate = quorumReached(n, tonumber(ARG.failMax) or math.huge)
  end
  local trips = rateTrips(counts)
  if quorate then
    transition(c, 'open', '', 'failMax')
  elseif OPENS[reason] and reason ~= 'failMax' then
    transition(c, 'open', '', reason, ARG.period)
  elseif trips then
    transition(c, 'open', '', trips)
  elseif c.e ~= '' then
    touch()
  end
  if event then votes, agree = 0, 0 end
end
return reply(c, 0, nil, nil, votes, agree)
