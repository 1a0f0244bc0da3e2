/**
 * The Lua scripts of the operators' views: the history stream and the processes' heartbeats. They
 * touch no circuit key and take no part in a decision; every one is bounded (a capped stream, a
 * small hash per process, keys with a TTL). Kept apart from lua.ts (the circuits' protocol) and
 * free of imports, so that lua.ts can list them among the scripts a connection defines.
 */

/**
 * KEYS[1]: the history stream. ARGV[1]: most entries kept (approximately: MAXLEN ~ lets Redis trim
 * whole nodes, cheaply), ARGV[2]: ms the stream lives after its last entry, ARGV[3..]: the entry's
 * field/value pairs. Replies with the entry's id.
 */
const HISTORY_ADD = `
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id
`;

/**
 * KEYS[1]: the history stream. ARGV[1]: the oldest id to list ('-' for all), ARGV[2]: most entries.
 * Replies with the newest entries first, as XREVRANGE does.
 */
const HISTORY_READ = `
return redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', tonumber(ARGV[2]))
`;

/**
 * One heartbeat. KEYS[1]: the index of processes (sorted set, score = last beat, ms), KEYS[2]: the
 * process's hash. ARGV[1]: process id, ARGV[2]: ms the hash lives without a beat, ARGV[3]: how
 * many fields to delete, then those fields, then field/value pairs to set. Entries of the index
 * older than the TTL go (their hashes have expired). Replies with Redis's time (ms).
 */
const BEAT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2])
local deletes = tonumber(ARGV[3])
local i = 4
if deletes > 0 then
  local gone = {}
  for j = i, i + deletes - 1 do gone[#gone + 1] = ARGV[j] end
  redis.call('HDEL', KEYS[2], unpack(gone))
end
i = i + deletes
if #ARGV >= i then
  local set = {}
  for j = i, #ARGV do set[#set + 1] = ARGV[j] end
  redis.call('HSET', KEYS[2], unpack(set))
end
redis.call('HSET', KEYS[2], 'beat', now)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return now
`;

/** A process leaves. KEYS[1]: the index, KEYS[2]: its hash; ARGV[1]: its id. */
const LEAVE = `
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/**
 * The processes that beat within ARGV[1] ms. KEYS[1]: the index. Replies { now, id, beat, ... }.
 */
const MEMBERS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = { now }
local found = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
for i = 1, #found do out[#out + 1] = found[i] end
return out
`;

/** KEYS[1]: a process's hash; replies with its fields and values (empty once it expired). */
const MEMBER = `
return redis.call('HGETALL', KEYS[1])
`;

/** Script name → source, each with the number of keys it takes. */
export const OPS_SCRIPTS = {
  infuseHistoryAdd: { numberOfKeys: 1, lua: HISTORY_ADD },
  infuseHistoryRead: { numberOfKeys: 1, lua: HISTORY_READ },
  infuseBeat: { numberOfKeys: 2, lua: BEAT },
  infuseLeave: { numberOfKeys: 2, lua: LEAVE },
  infuseMembers: { numberOfKeys: 1, lua: MEMBERS },
  infuseMember: { numberOfKeys: 1, lua: MEMBER },
} as const;
