import type { Policy } from '../stores/store.js';
import { OPS_SCRIPTS } from './ops-lua.js';

/**
 * The Lua scripts that make every decision of a shared circuit. Each runs atomically on the node
 * that owns the circuit's hash tag, reads time from Redis `TIME` (never from a process), and
 * answers with remaining milliseconds rather than absolute times.
 *
 * Keys of one circuit (one hash tag):
 *   KEYS[1] state  hash: k (circuit key), e (epoch: creation time in µs), g (generation),
 *                        st (state), fo (forced mode or ''), ou (open until, ms), ts (trial
 *                        successes), ca (changed at, ms), sh ('1' in shadow mode, else absent)
 *   KEYS[2] leases sorted set: half-open trial permits, score = lease deadline (ms)
 *   KEYS[3] window hash: failure-rate buckets, c<bucket> = calls, f<bucket> = failures, and
 *                        slow-call buckets, n<bucket> = calls, s<bucket> = slow calls (each
 *                        window cut into ten buckets of its own length: w and x, in ms)
 *   KEYS[4] votes  hash: the quorum's evidence while closed (see `ballot`): k (circuit key),
 *                        v:<process> = when its own streak reached failMax (a vote),
 *                        f:<process> = when its latest call failed (a mark),
 *                        n:<process> = its failures since its last success (its streak),
 *                        s:<process> = when it succeeded after hearing of a vote (contrary)
 *
 * ARGV[1..13] are the same for every script: circuit key, channel, ttl, resetTimeout,
 * halfOpenMaxCalls, failure-rate threshold (0 = off), minimumCalls, window, the longest open
 * period the policy allows (see `scriptHead`), the quorum, and the slow-call rate's threshold
 * (0 = off), minimumCalls and window. Script arguments follow from ARGV[14].
 *
 * Values read from Redis are bounded: anything no script of ours can have written (an epoch or a
 * change time from the future, an open-until beyond resetTimeout plus the longest open period, a
 * generation past any real count) is malformed: reported, dropped, never obeyed.
 *
 * Every script answers with one reply (see `parseReply` in fleet.ts):
 *   { flags, epoch, at, generation, state, forced, remaining, changedAt, trialsInFlight,
 *     windowCalls, windowFailures, from, fromForced, reason, hold, windowSlow, shadow,
 *     votes, agreeing, slowWindowCalls, lease... }
 * windowCalls/windowFailures count the failure-rate window, slowWindowCalls/windowSlow the
 * slow-call window (zeros for a rule that is off).
 * flags: 1 = malformed data was found and dropped, 2 = this script created the state.
 * from/fromForced/reason are set when this script made a transition (it then published it).
 */

/**
 * How long (ms) a vote waits for contrary evidence before it may open the fleet alone (see
 * quorumReached); the voter asks again once it has passed.
 */
export const QUORUM_GRACE = 1_000;

const PRELUDE = `
local S, L, W, V = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local KEY, CHANNEL = ARGV[1], ARGV[2]
local TTL, RESET, MAXTRIALS = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local THRESHOLD, MINCALLS, WINDOW = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local MAXOPEN, QUORUM = tonumber(ARGV[9]), tonumber(ARGV[10])
local SLOW, SLOWMIN, SLOWWINDOW = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
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
local GRACE = ${QUORUM_GRACE}

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
    redis.call('HINCRBY', V, 'n:' .. voter, 1)
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
  local out = { flags, c.e, AT, c.g, c.st, c.fo, remaining(c), c.ca, trials, n.c, n.f,
    ev[1], ev[2], ev[3], hold or 0, n.s, c.sh, votes, agree, n.n }
  for _, lease in ipairs(leases or {}) do out[#out + 1] = lease end
  return out
end
`;

/**
 * ARGV[14..17]: seed state, seed forced mode, seed remaining ms ('' = no seed), '1' to keep a
 * forced mode or shadow mode alive (the poll of a process that knows it: an operator's decision
 * lasts while the fleet runs, and `ttl` after the last process has gone).
 */
const READ = `
local c = load()
local state, forced = ARGV[14], ARGV[15]
if c.e == '' and STATES[state] and FORCED[forced] and (state ~= 'closed' or forced ~= '') then
  -- Only where nothing is stored: initial state, or a process re-seeding a Redis that lost it.
  c.g = 1
  c.st = state
  c.fo = forced
  if state == 'open' then c.ou = NOW + math.max(0, tonumber(ARGV[16]) or RESET) end
  save(c)
  announce(c, 'closed', '', 'remote')
elseif ARGV[17] == '1' and (c.fo ~= '' or c.sh == '1') then
  touch()
end
return reply(c)
`;

/** ARGV[14..16]: permits wanted, lease ms, lease id prefix. */
const ACQUIRE = `
local c = load()
local granted, hold = {}, 0
if c.fo == '' and c.st == 'open' and NOW >= c.ou then
  transition(c, 'half-open', '', 'resetTimeout')
end
if c.fo == '' and c.st == 'half-open' then
  local lease = tonumber(ARGV[15])
  redis.call('ZREMRANGEBYSCORE', L, '-inf', NOW)
  local free = MAXTRIALS - c.ts - redis.call('ZCARD', L)
  local n = math.min(tonumber(ARGV[14]), free)
  for i = 1, n do
    granted[i] = ARGV[16] .. ':' .. i
    redis.call('ZADD', L, NOW + lease, granted[i])
  end
  if n > 0 then touch() end
  if free - math.max(n, 0) <= 0 then
    local first = redis.call('ZRANGE', L, 0, 0, 'WITHSCORES')
    hold = first[2] and math.max(1, tonumber(first[2]) - NOW) or lease
  end
end
return reply(c, hold, granted)
`;

/**
 * ARGV[14..23]: epoch, generation, successes, failures, slow calls (counted among the successes
 * and failures), a reason to open now ('' for none: failMax when the caller's streak trips, or
 * retryAfter), the open period it asks for (ms, 0 = resetTimeout), the caller's process id (''
 * when the quorum is 1: no ballot is kept), what else it tells: 'withdraw' (it succeeded after
 * failing: its vote, mark and streak go), 'contrary' (it succeeded after hearing of a vote), or
 * '', and the policy's failMax (for the fleet's streak; absent: no streak rule).
 *
 * failMax opens the fleet only with a quorum (see quorumReached): `quorum` processes agree
 * (voted, or their latest call failed) and either their streaks add up to failMax with no process
 * contradicting, or one of them voted (its own streak reached failMax); or a lone vote found no
 * contrary evidence within GRACE. A process's own evidence is about its own path to the host; a
 * host down for all is seen failing by every process that calls it, so the fleet opens after
 * about failMax failures in all, as a single shared count would.
 */
const REPORT = `
local c = load()
local votes, agree = nil, nil
if c.e == ARGV[14] and c.g == tonumber(ARGV[15]) and c.st == 'closed' and c.fo == '' then
  local failures, reason, voter = tonumber(ARGV[17]), ARGV[19], ARGV[21] or ''
  local counts = window(tonumber(ARGV[16]) + failures, failures, tonumber(ARGV[18]))
  local quorate = QUORUM <= 1 and reason == 'failMax'
  if voter ~= '' then
    local n = ballot(c, voter, failures > 0, reason == 'failMax', ARGV[22])
    votes, agree = n.votes, n.agree
    quorate = quorumReached(n, tonumber(ARGV[23]) or math.huge)
  end
  local trips = rateTrips(counts)
  if quorate then
    transition(c, 'open', '', 'failMax')
  elseif OPENS[reason] and reason ~= 'failMax' then
    transition(c, 'open', '', reason, ARGV[20])
  elseif trips then
    transition(c, 'open', '', trips)
  elseif c.e ~= '' then
    touch()
  end
  if event then votes, agree = 0, 0 end
end
return reply(c, 0, nil, nil, votes, agree)
`;

/**
 * ARGV[14..19]: epoch, generation, lease id, verdict (success | failure | aborted), and for a
 * failure (a slow trial is one) the reason to give (trialFailed when '', or retryAfter) and the open period it asks for
 * (ms, 0 = resetTimeout).
 */
const SETTLE = `
local c = load()
local deadline = tonumber(redis.call('ZSCORE', L, ARGV[16]) or '0')
redis.call('ZREM', L, ARGV[16])
if deadline > NOW and c.e == ARGV[14] and c.g == tonumber(ARGV[15]) and c.st == 'half-open'
  and c.fo == '' then
  if ARGV[17] == 'failure' then
    transition(c, 'open', '', OPENS[ARGV[18]] and ARGV[18] or 'trialFailed', ARGV[19])
  elseif ARGV[17] == 'success' then
    c.ts = c.ts + 1
    if c.ts >= MAXTRIALS then
      transition(c, 'closed', '', 'trialSucceeded')
    else
      save(c)
    end
  end
end
return reply(c)
`;

/**
 * ARGV[14]: open | close | half-open | force-open | disable | clear-forced | shadow | unshadow.
 * ARGV[15]: 'existing' to change only a circuit Redis holds (state, a failure-rate window or
 * votes; RedisAdmin): nothing is written for an unknown key. ARGV[16]: how long `open` opens for (ms,
 * 0 = resetTimeout). Shadow mode is not a state: it bumps the generation and is published, so
 * that every process reads it, and leaves state and counters as they are.
 */
const COMMAND = `
local c = load()
local command = ARGV[14]
if ARGV[15] == 'existing' and c.e == '' and redis.call('EXISTS', W, V) == 0 then
  return reply(c)
end
if command == 'open' then
  transition(c, 'open', '', 'manual', ARGV[16])
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
`;

/**
 * Reads a circuit and changes nothing, not even a TTL or malformed data (RedisAdmin). Replies as
 * every script does, or with { 'malformed', why } when the data under its keys is not ours.
 */
const INSPECT = `
READONLY = true
local c, problem = inspect()
if problem then return { 'malformed', problem } end
c = c or absent()
local counts = nil
if c.st == 'closed' and c.fo == '' and redis.call('TYPE', W).ok == 'hash' then
  local lengths = redis.call('HMGET', W, 'w', 'x')
  counts = tally(int(lengths[1]), int(lengths[2]), false)
end
return reply(c, 0, nil, counts or { c = 0, f = 0, n = 0, s = 0 })
`;

/** ARGV[14]: lease ms; ARGV[15..]: lease ids still held by the caller. Extends live leases only. */
const RENEW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local renewed = 0
for i = 15, #ARGV do
  local deadline = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i]) or '0')
  if deadline > now then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[14]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
`;

/**
 * The change feed. KEYS[1]: the index, a sorted set of circuit keys scored by the time (ms, Redis
 * clock) of their last change; ARGV: circuit key, ttl, max entries. Entries older than ttl go
 * (their circuit's keys have expired). Read by every process's poll and by `preload`; a hint of
 * what to read again, never part of a decision.
 */
const INDEX = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * One poll of the change feed. KEYS[1]: the index; ARGV: from (ms, Redis clock; entries with a
 * lower score are skipped), most entries. Replies { now, key, score, key, score, ... }, oldest
 * first: a process reads again the circuits it knows among them.
 */
const POLL = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = { now }
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[2]))
for i = 1, #found do out[#out + 1] = found[i] end
return out
`;

/** Script name → source, each with the number of keys it takes. */
export const SCRIPTS = {
  infuseRead: { numberOfKeys: 4, lua: PRELUDE + READ },
  infuseAcquire: { numberOfKeys: 4, lua: PRELUDE + ACQUIRE },
  infuseReport: { numberOfKeys: 4, lua: PRELUDE + REPORT },
  infuseSettle: { numberOfKeys: 4, lua: PRELUDE + SETTLE },
  infuseCommand: { numberOfKeys: 4, lua: PRELUDE + COMMAND },
  infuseInspect: { numberOfKeys: 4, lua: PRELUDE + INSPECT },
  infuseRenew: { numberOfKeys: 4, lua: RENEW },
  infuseIndex: { numberOfKeys: 1, lua: INDEX },
  infusePoll: { numberOfKeys: 1, lua: POLL },
  // History and heartbeats (ops-lua.ts): never part of a decision.
  ...OPS_SCRIPTS,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/**
 * The longest a manual `open` (RedisAdmin's `resetTimeout`) may last. Every reader accepts an
 * open period up to its own `resetTimeout` plus this; anything longer is malformed.
 */
export const MANUAL_OPEN_MAX = 3_600_000;

/** The parts of a store's or admin's settings that go into every script's ARGV[1..13]. */
export interface ScriptSettings {
  readonly channel: string;
  readonly ttl: number;
  readonly trialLease: number;
}

/**
 * ARGV[1..13] of a circuit script (see the top of this file). Keys live at least twice as long as
 * anything the policy waits for, so that no key expires in the middle of an episode.
 */
export function scriptHead(
  key: string,
  policy: Policy,
  settings: ScriptSettings,
): (string | number)[] {
  const rate = policy.failureRate;
  const slow = policy.slowCallRate ?? null;
  const ttl = Math.max(
    settings.ttl,
    2 * policy.resetTimeout,
    2 * (rate?.window ?? 0),
    2 * (slow?.window ?? 0),
    2 * settings.trialLease,
  );
  return [
    key,
    settings.channel,
    ttl,
    policy.resetTimeout,
    policy.halfOpenMaxCalls,
    rate?.threshold ?? 0,
    rate?.minimumCalls ?? 0,
    rate?.window ?? 0,
    Math.max(policy.resetTimeout, MANUAL_OPEN_MAX),
    policy.quorum ?? 1,
    slow?.threshold ?? 0,
    slow?.minimumCalls ?? 0,
    slow?.window ?? 0,
  ];
}
