-- The prelude's failure-rate and slow-call windows (see ../prelude.lua, which runs first): the
-- counts of recent calls that the rate rules (`failureRate`, `slowCallRate`) judge the fleet by,
-- in the window hash (key W), cut into buckets that age out.

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

-- Why the windows' counts open the circuit, or nil.
local function rateTrips(n)
  if THRESHOLD > 0 and n.c >= MINCALLS and n.f > 0 and n.f / n.c >= THRESHOLD then
    return 'failureRate'
  end
  if SLOW > 0 and n.n >= SLOWMIN and n.s > 0 and n.s / n.n >= SLOW then return 'slowCallRate' end
  return nil
end
