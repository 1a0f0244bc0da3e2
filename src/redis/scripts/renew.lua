-- Extends the trial leases a process still holds (its `...leases`) by leaseMs, live ones only.
-- Takes every key of the circuit (one hash tag) and touches the leases only.
--! keys: state leases window votes
--! argv: leaseMs ...leases
--! reply: renewed
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local renewed = 0
for i = REST, #ARGV do
  local deadline = tonumber(redis.call('ZSCORE', K.leases, ARGV[i]) or '0')
  if deadline > now then
    redis.call('ZADD', K.leases, now + tonumber(ARG.leaseMs), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
