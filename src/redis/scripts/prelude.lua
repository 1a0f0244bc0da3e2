-- The prelude of every circuit script (read, acquire, report, settle, command, inspect): what
-- they share. Each runs atomically on the node that owns the circuit's hash tag, reads time from
-- Redis `TIME` (never from a process), and answers with remaining milliseconds rather than
-- absolute times.
--
-- It is made of four parts that Redis runs as one chunk, in this order (scripts/index.ts lists
-- them, scripts/declare.ts joins them): this file (the declarations, the run's time, and the
-- state: read, checked, written, and the one place it changes), prelude/window.lua (the
-- failure-rate and slow-call windows), prelude/quorum.lua (the quorum's ballots) and
-- prelude/reply.lua (the reply). Only this file declares (`--!` lines); a part may use what an
-- earlier one defines, never what a later one does.
--
-- Keys of one circuit (one hash tag; keys.ts names them after these declarations):
--   state   hash: k (circuit key), e (epoch: creation time in µs), g (generation), st (state),
--           fo (forced mode or ''), ou (open until, ms), ts (trial successes), ca (changed at,
--           ms), sh ('1' in shadow mode, else absent)
--   leases  sorted set: half-open trial permits, score = lease deadline (ms)
--   window  hash: failure-rate buckets, c<bucket> = calls, f<bucket> = failures, and slow-call
--           buckets, n<bucket> = calls, s<bucket> = slow calls (each window cut into ten buckets
--           of its own length: w and x, in ms)
--   votes   hash: the quorum's evidence while closed (prelude/quorum.lua): k (circuit key),
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
