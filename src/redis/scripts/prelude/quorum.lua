-- The prelude's quorum (see ../prelude.lua, which runs first): the ballots processes cast in the
-- votes hash (key V) while the fleet's circuit is closed, and when they open it on failMax.
--
-- GRACE (a constant the code supplies, QUORUM_GRACE in scripts/head.ts): how long (ms) a vote
-- waits for contrary evidence before it alone may open the fleet: long enough for every process
-- that calls the host to hear of the vote and succeed once.

-- A vote or mark stands this long (ms): the voter's own open period, and at least three times
-- the grace a vote waits for contrary evidence. A success withdraws both.
local function voteLife()
  return math.max(RESET, 3 * GRACE)
end

-- The quorum's evidence: processes that vote (their own streak reached failMax), that agree
-- (vote, or their latest call failed), that contradict (succeeded after hearing of a vote), when
-- the oldest standing vote was cast, and the fleet's streak: the consecutive failures that the
-- agreeing processes reported since their last success, added up. Expired ballots go (unless
-- READONLY); a streak stands as long as its process's mark.
local function count()
  local fields = redis.call('HGETALL', V)
  local oldest = NOW - voteLife()
  local n = { votes = 0, agree = 0, contrary = 0, first = NOW, streak = 0 }
  local agreeing, streaks = {}, {}
  for i = 1, #fields, 2 do
    local kind, voter = string.match(fields[i], '^([vfsn]):(.+)$')
    local at = int(fields[i + 1])
    if kind == 'n' then
      streaks[voter] = at or 0
    elseif kind ~= nil then
      if at == nil or at <= oldest or at > NOW + SKEW then
        if not READONLY then redis.call('HDEL', V, fields[i]) end
      elseif kind == 's' then
        n.contrary = n.contrary + 1
      else
        if kind == 'v' then
          n.votes = n.votes + 1
          n.first = math.min(n.first, at)
        end
        if not agreeing[voter] then
          agreeing[voter] = true
          n.agree = n.agree + 1
        end
      end
    end
  end
  for voter, streak in pairs(streaks) do
    if agreeing[voter] then
      n.streak = n.streak + math.min(streak, 1000000)
    elseif not READONLY then
      redis.call('HDEL', V, 'n:' .. voter)
    end
  end
  return n
end

-- Records what one process tells: 'failed' (its latest call failed), 'voted' (its own streak
-- reached failMax: published, so that every process reads it and may contradict), 'withdraw'
-- (it succeeded after failing) or 'contrary' (it succeeded after hearing of a vote).
local function ballot(c, voter, failed, voted, told)
  if told == 'withdraw' then redis.call('HDEL', V, 'v:' .. voter, 'f:' .. voter, 'n:' .. voter) end
  if told == 'contrary' then redis.call('HSET', V, 's:' .. voter, NOW, 'k', KEY) end
  if failed then
    redis.call('HSET', V, 'f:' .. voter, NOW, 'k', KEY)
    -- Not HINCRBY: a malformed count (anyone who may write the key could) is replaced, never
    -- an error that fails the report.
    local streak = int(redis.call('HGET', V, 'n:' .. voter)) or 0
    redis.call('HSET', V, 'n:' .. voter, math.max(0, math.min(streak, 999999)) + 1)
  end
  if voted then redis.call('HSET', V, 'v:' .. voter, NOW, 'k', KEY) end
  redis.call('PEXPIRE', V, 2 * voteLife())
  local n = count()
  if voted then announce(c, c.st, c.fo, '') end
  return n
end

-- failMax opens the fleet when a process votes and 'quorum' processes agree, or when a vote has
-- waited GRACE and no process has contradicted it (nobody else calls the host, or all fail), or
-- before any vote when 'quorum' processes fail together and their streaks add up to failMax
-- (a host down for all: the fleet pays failMax once, not once per process).
local function quorumReached(n, failMax)
  if n.agree >= QUORUM and n.contrary == 0 and n.streak >= failMax then return true end
  return n.votes >= 1 and (n.agree >= QUORUM or (n.contrary == 0 and n.first <= NOW - GRACE))
end
