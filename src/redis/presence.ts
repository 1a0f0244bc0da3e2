/**
 * Processes that share a store make themselves visible: each writes a heartbeat, one small hash
 * with a TTL, every `pollInterval`, holding only what changed since its last beat: who it is,
 * whether it lost Redis, and for each circuit it uses its own state, votes and counts (calls,
 * failures, refusals, and the last hour per minute). A process that stops beating expires.
 *
 * One script call per beat, whatever the number of circuits; the hash and the index of processes
 * share one hash tag. Nothing here is ever awaited by a request.
 * The heartbeat is written by presence/heartbeat.ts from the calls presence/usage.ts counts; this
 * file holds the keys both sides share and the reading side: the processes as operators see them
 * (RedisAdmin's `processes()`, the CLI, the dashboard).
 */
import type { CircuitMode } from '../core/types.js';
import type { FleetCircuit } from './admin/types.js';
import { runScript, type Connection } from './connections.js';
import { fieldsOf, SCRIPTS } from './scripts/index.js';
import { MINUTES } from './presence/usage.js';

/** The index of processes, and one process's hash: one hash tag, so one script writes both. */
export function presenceKeys(prefix: string, id: string): readonly [string, string] {
  return [`${prefix}:{procs}:index`, `${prefix}:{procs}:p:${id}`];
}

/** One circuit as one process uses it. */
export interface ProcessCircuit {
  readonly key: string;
  /** The mode in this process (its own, when it opened on its own evidence). */
  readonly mode: CircuitMode;
  /** `process` when that mode is this process's own, `fleet` for the fleet's; null if unknown. */
  readonly scope: 'process' | 'fleet' | null;
  /** Votes to open the circuit the fleet holds, as this process last read them; null if unknown. */
  readonly votes: number | null;
  /** Calls that went through, failures among them, and calls refused, since the process began. */
  readonly calls: number;
  readonly failures: number;
  readonly refusals: number;
  /** The last hour, per minute: [epoch minute, calls, failures]; minutes without calls left out. */
  readonly minutes: readonly (readonly [number, number, number])[];
}

/** A process that shares the store, as its heartbeat shows it. */
export interface FleetProcess {
  /** The store's id (random, per `RedisStore`). */
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  /** Epoch ms the store started, and of its last beat (Redis's clock). */
  readonly since: number;
  readonly beat: number;
  /** Milliseconds between its beats (its `pollInterval`). */
  readonly interval: number;
  /**
   * `up` while it beats on time; `silent` when its last beat is older than two intervals (it lost
   * Redis, or stopped without leaving).
   */
  readonly redis: 'up' | 'silent';
  /** Times it lost Redis, and when it last did and came back (epoch ms, 0 for never). */
  readonly outages: number;
  readonly lostAt: number;
  readonly backAt: number;
  readonly circuits: readonly ProcessCircuit[];
}

/** Every process whose heartbeat has not expired, with what each reports. */
export async function readProcesses(
  connection: Connection,
  prefix: string,
): Promise<FleetProcess[]> {
  const [index] = presenceKeys(prefix, '');
  const raw = await runScript(connection, 'infuseMembers', [index], { within: 24 * 3_600_000 });
  const { named, rest } = fieldsOf(SCRIPTS.infuseMembers, raw);
  const now = Number(named.now);
  const members: [string, number][] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) members.push([String(rest[i]), Number(rest[i + 1])]);
  const read = await Promise.all(
    members.map(async ([id]) => {
      const hash = await runScript(connection, 'infuseMember', [presenceKeys(prefix, id)[1]], {});
      return parseProcess(id, Array.isArray(hash) ? (hash as unknown[]) : [], now);
    }),
  );
  return read
    .filter((p): p is FleetProcess => p !== null)
    .sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid);
}

function parseProcess(id: string, pairs: readonly unknown[], now: number): FleetProcess | null {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) fields.set(String(pairs[i]), String(pairs[i + 1]));
  if (!fields.has('beat')) return null; // expired between the two reads
  const num = (name: string): number => {
    const value = Number(fields.get(name));
    return Number.isFinite(value) ? value : 0;
  };
  const circuits: ProcessCircuit[] = [];
  for (const [name, value] of fields) {
    if (!name.startsWith('c:')) continue;
    const circuit = parseCircuit(name.slice(2), value);
    if (circuit !== null) circuits.push(circuit);
  }
  circuits.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const interval = num('interval');
  const beat = num('beat');
  return {
    id,
    pid: num('pid'),
    host: fields.get('host') ?? '?',
    since: num('since'),
    beat,
    interval,
    redis: Number.isFinite(now) && now - beat > 2 * interval ? 'silent' : 'up',
    outages: num('outages'),
    lostAt: num('lostAt'),
    backAt: num('backAt'),
    circuits,
  };
}

const MODES = new Set<unknown>(['closed', 'open', 'half-open', 'forced-open', 'disabled']);

function parseCircuit(key: string, text: string): ProcessCircuit | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const data = parsed as Record<string, unknown>;
  if (!MODES.has(data.m)) return null;
  const count = (value: unknown): number =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
  const minutes = Array.isArray(data.h)
    ? (data.h as unknown[])
        .filter((m): m is [number, number, number] => Array.isArray(m) && m.length === 3)
        .slice(-MINUTES)
        .map(([at, calls, failures]) => [count(at), count(calls), count(failures)] as const)
    : [];
  return {
    key,
    mode: data.m as CircuitMode,
    scope: data.s === 'process' || data.s === 'fleet' ? data.s : null,
    votes: typeof data.v === 'number' ? data.v : null,
    calls: count(data.n),
    failures: count(data.f),
    refusals: count(data.r),
    minutes,
  };
}

/**
 * `circuits` (as Redis holds them) plus the circuits `processes` use that Redis holds nothing for
 * (healthy ones that never changed), as closed; sorted by key.
 */
export function withCircuitsInUse(
  circuits: readonly FleetCircuit[],
  processes: readonly FleetProcess[],
): FleetCircuit[] {
  const all = [...circuits];
  const known = new Set(circuits.map((c) => c.key));
  for (const process of processes) {
    for (const { key } of process.circuits) {
      if (known.has(key)) continue;
      known.add(key);
      all.push({
        key,
        state: 'closed',
        forced: null,
        mode: 'closed',
        window: { calls: 0, failures: 0 },
        trialsInFlight: 0,
        changedAt: 0,
        retryAfter: 0,
        generation: 0,
        votes: 0,
        shadow: false,
        slowCalls: { calls: 0, slow: 0 },
      });
    }
  }
  return all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
