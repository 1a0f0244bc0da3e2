-- The prelude's last part (see ../prelude.lua, which runs first and declares the reply's fields):
-- the reply every circuit script answers with.

-- 'counts': the windows' counts (see tally), when the caller counted them itself.
local function reply(c, hold, leases, counts, votes, agree)
  local ev = event or { '', '', '' }
  local trials = 0
  if c.st == 'half-open' then trials = redis.call('ZCOUNT', L, '(' .. NOW, '+inf') end
  local n = counts or { c = 0, f = 0, n = 0, s = 0 }
  if counts == nil and c.st == 'closed' and c.fo == '' then n = window(0, 0, 0) end
  if votes == nil then
    votes, agree = 0, 0
    if c.st == 'closed' and c.fo == '' then
      local n = count()
      votes, agree = n.votes, n.agree
    end
  end
  return pack({ flags = flags, epoch = c.e, at = AT, generation = c.g, state = c.st,
    forced = c.fo, remaining = remaining(c), changedAt = c.ca, trialsInFlight = trials,
    windowCalls = n.c, windowFailures = n.f, from = ev[1], fromForced = ev[2], reason = ev[3],
    hold = hold or 0, windowSlow = n.s, shadow = c.sh, votes = votes, agreeing = agree,
    slowWindowCalls = n.n }, leases)
end
