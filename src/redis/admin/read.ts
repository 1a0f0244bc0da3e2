import { DEFAULTS as CIRCUIT_DEFAULTS } from '../../core/options.js';
import type { Policy } from '../../stores/store.js';
import { runScript } from '../connections.js';
import { parseReply, type FleetState } from '../fleet.js';
import { circuitKeys } from '../keys.js';
import { indexKey } from '../sync/feed.js';
import { scriptHead } from '../scripts/index.js';
import type { FleetCircuit } from './types.js';
import { isReplyError, type AdminConnection, type AdminScope } from './scope.js';

/** The policy of a reader: only `resetTimeout` reaches a script (what `open` opens for). */
export const READER: Policy = {
  failMax: 1,
  resetTimeout: CIRCUIT_DEFAULTS.resetTimeout,
  halfOpenMaxCalls: 1,
  failureRate: null,
  initialState: null,
};

/** Circuits read at once by `list`. */
const BATCH = 256;

/** Every circuit under the prefix whose key `matches`, sorted by key (by UTF-16 code unit). */
export async function listCircuits(
  scope: AdminScope,
  connection: AdminConnection,
  matches: (key: string) => boolean,
): Promise<FleetCircuit[]> {
  const [found, named] = await Promise.all([
    scan(scope, connection),
    namedByFeed(scope, connection),
  ]);
  const circuits: FleetCircuit[] = [];
  for (let i = 0; i < found.length; i += BATCH) {
    const batch = found.slice(i, i + BATCH);
    const read = await Promise.all(
      batch.map(async (redisKey) => {
        // The change feed names most circuits: their key needs no read of its own (the
        // INSPECT script checks that the state hash names it).
        const key = named.get(redisKey.slice(0, redisKey.lastIndexOf(':') + 1));
        if (key === undefined) return readCircuitAt(scope, connection, redisKey, matches);
        return matches(key) ? inspect(scope, connection, key) : null;
      }),
    );
    for (const circuit of read) if (circuit !== null) circuits.push(circuit);
  }
  return circuits.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Where each circuit's key can be read: its state hash, or for a closed circuit that never
 * changed state, its failure-rate window. A SCAN of the node, or of every master of a Cluster.
 */
async function scan(scope: AdminScope, connection: AdminConnection): Promise<string[]> {
  const { keyPrefix } = scope;
  const match = `${escapeGlob(keyPrefix + scope.prefix)}:{${'?'.repeat(16)}}:*`;
  const nodes = connection.isCluster ? connection.nodes('master') : [connection];
  const found = new Map<string, string>(); // a key can be seen twice while a Cluster moves slots
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await scope.call(
        null,
        node.scan(cursor, 'MATCH', match, 'COUNT', 1_000),
      );
      for (const full of keys) {
        const key = full.slice(keyPrefix.length);
        const base = key.slice(0, key.lastIndexOf(':') + 1);
        if (key.endsWith(':state')) found.set(base, key);
        else if (/:(window|votes)$/.test(key) && !found.has(base)) found.set(base, key);
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found.values()];
}

/**
 * The circuit keys the change feed lists, by the start of their Redis keys (`prefix:{tag}:`), in
 * one read; empty when the feed cannot be read (each circuit's key is then read at its hash).
 */
async function namedByFeed(
  scope: AdminScope,
  connection: AdminConnection,
): Promise<Map<string, string>> {
  const named = new Map<string, string>();
  let keys: string[];
  try {
    keys = await connection.zrevrange(indexKey(scope.prefix), 0, -1);
  } catch (error) {
    if (isReplyError(error)) return named; // not a sorted set: not ours, and not needed
    throw scope.unreachable(null, error);
  }
  for (const key of keys) {
    const [state] = circuitKeys(scope.prefix, key);
    named.set(state.slice(0, state.lastIndexOf(':') + 1), key);
  }
  return named;
}

async function readCircuitAt(
  scope: AdminScope,
  connection: AdminConnection,
  redisKey: string,
  matches: (key: string) => boolean,
): Promise<FleetCircuit | null> {
  const hash = `${redisKey.slice(redisKey.lastIndexOf(':') + 1)} hash`;
  let key: string | null;
  try {
    key = await scope.call(null, connection.hget(redisKey, 'k'));
  } catch (error) {
    if (!isReplyError(error)) throw error;
    scope.malformedAt(redisKey, null, `the ${hash.split(' ')[0]} key is not a hash`);
    return null;
  }
  if (key === null) {
    // Expired since the scan, or a hash that names no circuit.
    if ((await scope.call(null, connection.exists(redisKey))) === 1) {
      scope.malformedAt(redisKey, null, `the ${hash} names no circuit key`);
    }
    return null;
  }
  const keys = circuitKeys(scope.prefix, key);
  if (!keys.includes(redisKey)) {
    scope.malformedAt(redisKey, key, `the ${hash} names a circuit whose keys are elsewhere`);
    return null;
  }
  return matches(key) ? inspect(scope, connection, key) : null;
}

/** Reads one circuit with the INSPECT script; null when Redis holds none (or it is malformed). */
export async function inspect(
  scope: AdminScope,
  connection: AdminConnection,
  key: string,
): Promise<FleetCircuit | null> {
  const keys = circuitKeys(scope.prefix, key);
  const raw = await scope.call(
    key,
    runScript(connection, 'infuseInspect', keys, scriptHead(key, READER, scope.settings)),
  );
  if (Array.isArray(raw) && raw[0] === 'malformed') {
    scope.malformedAt(keys[0], key, String(raw[1]));
    return null;
  }
  const { fleet } = parseReply(raw);
  // A closed circuit that never changed state is in Redis only by its failure-rate window or
  // its votes.
  return fleet.epoch === '' && fleet.calls === 0 && fleet.slowCalls === 0 && fleet.votes === 0
    ? null
    : toCircuit(key, fleet);
}

export function toCircuit(key: string, fleet: FleetState): FleetCircuit {
  const stored = fleet.epoch !== '';
  return {
    key,
    state: fleet.state,
    forced: fleet.forced,
    mode: fleet.forced ?? fleet.state,
    window: { calls: fleet.calls, failures: fleet.failures },
    trialsInFlight: fleet.state === 'half-open' ? fleet.trialsInFlight : 0,
    changedAt: stored ? fleet.changedAt : 0,
    retryAfter: retryAfter(fleet),
    generation: fleet.generation,
    votes: fleet.votes,
    shadow: fleet.shadow,
    slowCalls: { calls: fleet.slowCalls, slow: fleet.slow },
  };
}

/** Ms until an open circuit lets trial calls through; Infinity when forced open. */
export function retryAfter(fleet: FleetState): number {
  if (fleet.forced === 'forced-open') return Infinity;
  return fleet.forced === null && fleet.state === 'open' ? fleet.remaining : 0;
}

/** Escapes a literal for a Redis MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
