-- The prelude of every circuit script (read, acquire, report, settle, command, inspect): what
-- they share. Each runs atomically on the node that owns the circuit's hash tag, reads time from
-- Redis `TIME` (never from a process), and answers with remaining milliseconds rather than
-- absolute times.
--
-- Keys of one circuit (one hash tag; keys.ts names them after these declarations):
--   state   hash: k (circuit key), e (epoch: creation time in µs), g (generation), st (state),
--           fo (forced mode or ''), ou (open until, ms), ts (trial successes), ca (changed at,
--           ms), sh ('1' in shadow mode, else absent)
--   leases  sorted set: half-open trial permits, score = lease deadline (ms)
--   window  hash: failure-rate buckets, c<bucket> = calls, f<bucket> = failures, and slow-call
--           buckets, n<bucket> = calls, s<bucket> = slow calls (each window cut into ten buckets
--           of its own length: w and x, in ms)
--   votes   hash: the quorum's evidence while closed (see `ballot`): k (circuit key),
--           v:<process> = when its own streak reached failMax (a vote),
--           f:<process> = when its latest call failed (a mark),
--           n:<process> = its failures since its last success (its streak),
--           s:<process> = when it succeeded after hearing of a vote (contrary)
--
-- Arguments every circuit script takes first (scripts/head.ts): the circuit key, the channel to
-- publish on, ttl, and the policy: resetTimeout, halfOpenMaxCalls, the failure-rate threshold
-- (0 = off), minimumCalls and window, the longest open period it allows (maxOpen), the quorum,
-- and the slow-call rate's threshold (0 = off), minimumCalls and window.
--
-- Values read from Redis are bounded: anything no script of ours can have written (an epoch or a
-- change time from the future, an open-until beyond resetTimeout plus the longest open period, a
-- generation past any real count) is malformed: reported, dropped, never obeyed.
--
-- Every circuit script replies with the fields below (parseReply in fleet.ts reads them): flags
-- (1 = malformed data was found and dropped, 2 = this script created the state), the state
-- (epoch ... changedAt; at = when the script ran, µs), live trial leases, the windows' counts
-- (windowCalls/windowFailures: the failure-rate window, slowWindowCalls/windowSlow: the
-- slow-call window; zeros for a rule that is off), from/fromForced/reason when this script made
-- a transition (it then published it), hold (ms until a trial permit may free up, when none was
-- left), the quorum's votes and agreeing processes, and the trial leases granted to the caller.
--! keys: state leases window votes
--! argv: key channel ttl resetTimeout halfOpenMaxCalls threshold minimumCalls window maxOpen quorum slowThreshold slowMinimumCalls slowWindow
--! reply: flags epoch at generation state forced remaining changedAt trialsInFlight windowCalls windowFailures from fromForced reason hold windowSlow shadow votes agreeing slowWindowCalls ...leases
--! constants: GRACE
local S, L, W, V = K.state, K.leases, K.window, K.votes
local KEY, CHANNEL = ARG.key, ARG.channel
local TTL, RESET, MAXTRIALS = tonumber(ARG.ttl), tonumber(ARG.resetTimeout), tonumber(ARG.halfOpenMaxCalls)
local THRESHOLD, MINCALLS, WINDOW = tonumber(ARG.threshold), tonumber(ARG.minimumCalls), tonumber(ARG.window)
local MAXOPEN, QUORUM = tonumber(ARG.maxOpen), tonumber(ARG.quorum)
local SLOW, SLOWMIN, SLOWWINDOW = tonumber(ARG.slowThreshold), tonumber(ARG.slowMinimumCalls), tonumber(ARG.slowWindow)
-- INSPECT changes nothing, not even expired votes.
local READONLY = false
local clock = redis.call('TIME')
local AT = clock[1] .. string.format('%06d', tonumber(clock[2]))
local NOW = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local flags = 0
local event = nil

-- How far a stored time may run ahead of this node's clock: a failover to a replica whose clock
-- differs must not make every circuit malformed; a forged time from the future still is.
local SKEW = 60000
-- More transitions than any real circuit makes (one a millisecond for thirty years).
local MAXGEN = 1e12

local STATES = { closed = true, open = true, ['half-open'] = true }
local FORCED = { [''] = true, ['forced-open'] = true, disabled = true }

local function int(value)
  if type(value) ~= 'string' or not string.find(value, '^%-?%d+$') or #value > 17 then return nil end
  return tonumber(value)
end

local function absent()
  return { e = '', g = 0, st = 'closed', fo = '', ou = 0, ts = 0, ca = NOW, sh = '' }
end

-- Reasons a report or a trial's outcome may give for opening, and the open period they carry.
local OPENS = { failMax = true, failureRate = true, retryAfter = true, slowCallRate = true,
  trialFailed = true }
-- An open period asked for (ms; 0 or nothing: resetTimeout), never longer than the policy allows.
local function period(ms)
  ms = tonumber(ms)
  if ms and ms > 0 then return math.min(ms, MAXOPEN) end
  return RESET
end

-- Reads the circuit without changing anything: the state (nil when Redis holds none) and, when
-- the data under its keys is not what these scripts write, why not.
local function inspect()
  local kind = redis.call('TYPE', S).ok
  local c = nil
  if kind == 'hash' then
    local f = redis.call('HMGET', S, 'k', 'e', 'g', 'st', 'fo', 'ou', 'ts', 'ca', 'sh')
    local g, ou, ts, ca = int(f[3]), int(f[6]), int(f[7]), int(f[8])
    if f[1] ~= KEY then
      return nil, 'the state hash does not name this circuit key'
    end
    local e = int(f[2])
    if not (e and g and g >= 1 and STATES[f[4]] and FORCED[f[5]] and ou and ts and ts >= 0
      and ca and (f[9] == false or f[9] == '1')) then
      return nil, 'the state hash has fields infuse-breaker does not write'
    end
    if e <= 0 or e > (NOW + SKEW) * 1000 or ca > NOW + SKEW or g > MAXGEN
      or ou > NOW + RESET + MAXOPEN + SKEW or ts > MAXGEN then
      return nil, 'the state hash holds values out of range (times from the future or an open period longer than the policy allows)'
    end
    c = { e = f[2], g = g, st = f[4], fo = f[5], ou = ou, ts = ts, ca = ca, sh = f[9] or '' }
  elseif kind ~= 'none' then
    return nil, 'the state key holds a ' .. kind .. ', not a hash'
  end
  local votesKind = redis.call('TYPE', V).ok
  if votesKind ~= 'none' and votesKind ~= 'hash' then
    return nil, 'the votes key holds a ' .. votesKind .. ', not a hash'
  end
  local leaseKind, windowKind = redis.call('TYPE', L).ok, redis.call('TYPE', W).ok
  if leaseKind ~= 'none' and leaseKind ~= 'zset' then
    return nil, 'the leases key holds a ' .. leaseKind .. ', not a sorted set'
  end
  if windowKind ~= 'none' and windowKind ~= 'hash' then
    return nil, 'the window key holds a ' .. windowKind .. ', not a hash'
  end
  return c, nil
end

-- Reads the circuit; anything that is not what these scripts write is dropped and reported.
local function load()
  local c, problem = inspect()
  if problem then
    flags = 1
    redis.call('DEL', S, L, W, V)
    return absent()
  end
  return c or absent()
end

-- How long the window's counts matter: two windows (the longer of the two rules').
local function windowTtl()
  return math.max(2 * WINDOW, 2 * SLOWWINDOW, 1000)
end

-- Keys live TTL after the last change (see scriptHead); the window only while its counts matter.
local function touch()
  redis.call('PEXPIRE', S, TTL)
  redis.call('PEXPIRE', L, TTL)
  redis.call('PEXPIRE', W, windowTtl())
end

local function save(c)
  if c.e == '' then
    c.e = AT
    flags = flags + 2
  end
  redis.call('HSET', S, 'k', KEY, 'e', c.e, 'g', c.g, 'st', c.st, 'fo', c.fo,
    'ou', c.ou, 'ts', c.ts, 'ca', c.ca)
  if c.sh == '1' then redis.call('HSET', S, 'sh', '1') else redis.call('HDEL', S, 'sh') end
  touch()
end

local function remaining(c)
  if c.fo == '' and c.st == 'open' then return math.max(0, c.ou - NOW) end
  return 0
end

local function announce(c, from, fromForced, reason)
  redis.call('PUBLISH', CHANNEL, cjson.encode({ k = KEY, e = c.e, g = c.g, st = c.st,
    fo = c.fo, rm = remaining(c), ca = c.ca, f = from, ff = fromForced, r = reason }))
end

-- The one place a state changes: new generation, fresh counters, old leases void, published once.
-- 'ms': how long an opening lasts (see period()).
local function transition(c, to, fo, reason, ms)
  local from, fromForced = c.st, c.fo
  c.g = c.g + 1
  c.st = to
  c.fo = fo
  c.ca = NOW
  c.ts = 0
  if to == 'open' then c.ou = NOW + period(ms) end
  redis.call('DEL', L, W, V)
  save(c)
  event = { from, fromForced, reason }
  announce(c, from, fromForced, reason)
end

-- A failure-rate window of length ms is ten buckets of this many ms.
local function bucketSize(length)
  return math.max(1, math.floor(length / 10))
end

-- The counts of the window hash: calls and failures of the failure-rate window ('rate' ms long),
-- calls and slow calls of the slow-call window ('slow' ms long). A length of nil counts every
-- bucket; 0 counts none (the rule is off). With 'prune', older buckets and foreign fields go (but
-- not 'w', 'x' and 'k': the lengths and the circuit key).
local function tally(rate, slow, prune)
  local lengths = { c = rate, f = rate, n = slow, s = slow }
  local counts = { c = 0, f = 0, n = 0, s = 0 }
  local fields = redis.call('HGETALL', W)
  for i = 1, #fields, 2 do
    local kind, bucket = string.match(fields[i], '^([cfns])(%d+)$')
    local count = int(fields[i + 1])
    local length = kind and lengths[kind]
    local size = length and length > 0 and bucketSize(length)
    local old = size and tonumber(bucket) <= math.floor(NOW / size) - 10
    if kind == nil or count == nil or old then
      if prune and fields[i] ~= 'w' and fields[i] ~= 'x' and fields[i] ~= 'k' then
        redis.call('HDEL', W, fields[i])
      end
    elseif length ~= 0 then
      counts[kind] = counts[kind] + count
    end
  end
  return { c = counts.c, f = counts.f, n = counts.n, s = counts.s }
end

-- Adds a batch to the rules' windows: 'calls' calls, 'failures' of them failed, 'slow' of them
-- slow. Returns the windows' counts (see tally); older buckets go.
local function window(calls, failures, slow)
  local rate, slowRate = THRESHOLD > 0 and WINDOW or 0, SLOW > 0 and SLOWWINDOW or 0
  if rate == 0 and slowRate == 0 then return { c = 0, f = 0, n = 0, s = 0 } end
  if calls > 0 then
    if rate > 0 then
      local bucket = math.floor(NOW / bucketSize(rate))
      redis.call('HINCRBY', W, 'c' .. bucket, calls)
      if failures > 0 then redis.call('HINCRBY', W, 'f' .. bucket, failures) end
    end
    if slowRate > 0 then
      local bucket = math.floor(NOW / bucketSize(slowRate))
      redis.call('HINCRBY', W, 'n' .. bucket, calls)
      if slow > 0 then redis.call('HINCRBY', W, 's' .. bucket, slow) end
    end
    -- The windows' lengths and circuit key, so that a reader without the policy (RedisAdmin) can
    -- count them, also for a circuit that never changed state (and so has no state hash).
    redis.call('HSET', W, 'w', rate, 'x', slowRate, 'k', KEY)
    redis.call('PEXPIRE', W, windowTtl())
  end
  return tally(rate, slowRate, true)
end

-- How long (ms) a vote waits for contrary evidence before it alone may open the fleet: long
-- enough for every process that calls the host to hear of the vote and succeed once.

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

-- Why the windows' counts open the circuit, or nil.
local function rateTrips(n)
  if THRESHOLD > 0 and n.c >= MINCALLS and n.f > 0 and n.f / n.c >= THRESHOLD then
    return 'failureRate'
  end
  if SLOW > 0 and n.n >= SLOWMIN and n.s > 0 and n.s / n.n >= SLOW then return 'slowCallRate' end
  return nil
end

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
