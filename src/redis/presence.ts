/**
 * Processes that share a store make themselves visible: each writes a heartbeat, one small hash
 * with a TTL, every `pollInterval`, holding only what changed since its last beat: who it is,
 * whether it lost Redis, and for each circuit it uses its own state, votes and counts (calls,
 * failures, refusals, and the last hour per minute). A process that stops beating expires.
 *
 * One script call per beat, whatever the number of circuits; the hash and the index of processes
 * share one hash tag. Nothing here is ever awaited by a request.
 */
import { hostname } from 'node:os';
import type { CircuitMode, CircuitSnapshot } from '../core/types.js';
import type { Admission, StoreVerdict } from '../stores/store.js';
import type { FleetCircuit } from './admin/types.js';
import { runScript, type Connection } from './connections.js';
import { fieldsOf, SCRIPTS } from './scripts/index.js';

/** Most circuits one process reports (the most recently used): the hash stays small. */
export const PRESENCE_MAX_CIRCUITS = 1_000;

/** Minutes of calls and failures each circuit reports (one bucket a minute). */
const MINUTES = 60;

/** The index of processes, and one process's hash: one hash tag, so one script writes both. */
export function presenceKeys(prefix: string, id: string): readonly [string, string] {
  return [`${prefix}:{procs}:index`, `${prefix}:{procs}:p:${id}`];
}

/**
 * A circuit's calls in this process, counted on the call path (two increments at most): the
 * heartbeat turns them into per-minute counts.
 */
export class Usage {
  calls = 0;
  failures = 0;
  refusals = 0;
  /** Totals at the last beat, and the per-minute counts so far: [minute, calls, failures]. */
  #seen = [0, 0];
  #minutes: [number, number, number][] = [];
  /** Epoch ms of the last beat that saw calls (or of creation): the least recent go first. */
  lastUsed = Date.now();

  /** Counts an allowed call's end. */
  settled(verdict: StoreVerdict): void {
    if (verdict === 'aborted') return;
    this.calls++;
    if (verdict === 'failure') this.failures++;
  }

  /** Counts a refusal in `admission` (a value or a promise of one), and passes it on. */
  admit(admission: Admission | Promise<Admission>): Admission | Promise<Admission> {
    if (admission instanceof Promise) return admission.then((a) => this.#count(a));
    return this.#count(admission);
  }

  #count(admission: Admission): Admission {
    if (!admission.allowed) this.refusals++;
    return admission;
  }

  /** At a beat: adds the calls since the last one to this minute; the last hour per minute. */
  minutes(now: number): readonly (readonly [number, number, number])[] {
    const minute = Math.floor(now / 60_000);
    const calls = this.calls - (this.#seen[0] ?? 0);
    const failures = this.failures - (this.#seen[1] ?? 0);
    this.#seen = [this.calls, this.failures];
    if (calls > 0) {
      this.lastUsed = now;
      const last = this.#minutes.at(-1);
      if (last !== undefined && last[0] === minute) {
        last[1] += calls;
        last[2] += failures;
      } else this.#minutes.push([minute, calls, failures]);
    }
    while ((this.#minutes[0]?.[0] ?? minute) <= minute - MINUTES) this.#minutes.shift();
    return this.#minutes;
  }
}

/** What a store shows of each circuit to its heartbeat. */
export interface PresentCircuit {
  readonly key: string;
  readonly usage: Usage;
  snapshot(): CircuitSnapshot;
}

/** What the heartbeat needs from its store. */
export interface PresenceHost {
  readonly prefix: string;
  readonly id: string;
  readonly interval: number;
  /** The command connection while Redis answers, else null. */
  connection(): Connection | null;
  circuits(): Iterable<PresentCircuit>;
}

/**
 * A process with nothing new to say beats this often at the most rarely (or every
 * `pollInterval` when that is longer): an idle fleet's Redis load stays a poll's, whatever the
 * number of circuits (issue 12: at most 10 commands/s per idle process at `pollInterval: 1000`).
 */
export const KEEP_ALIVE = 5_000;

/**
 * The heartbeat of one process. Every `pollInterval` it looks at what changed; it beats when
 * something did (a circuit came, went, changed mode or counted calls) or when its keep-alive is
 * due. A beat sends the fields that changed since the last one Redis took (all of them after a
 * failed beat), deletes those of circuits no longer used, and renews the TTL: 3 × the keep-alive,
 * so that one late beat does not make a process vanish.
 */
export class Presence {
  readonly #host: PresenceHost;
  readonly #keys: readonly [string, string];
  readonly #started = Date.now();
  /** What Redis holds for each field, as last written. */
  #written = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #beating = false;
  /** Date.now() of the last beat Redis took. */
  #lastBeat = 0;
  #outages = 0;
  #lostAt = 0;
  #backAt = 0;

  constructor(host: PresenceHost) {
    this.#host = host;
    this.#keys = presenceKeys(host.prefix, host.id);
  }

  /** The longest a process goes without a beat. */
  get keepAlive(): number {
    return Math.max(this.#host.interval, KEEP_ALIVE);
  }

  get ttl(): number {
    return 3 * this.keepAlive;
  }

  /** Starts beating (now, then as needed every interval) unless it already does. */
  start(): void {
    if (this.#timer !== null) return;
    void this.beat();
    this.#timer = setInterval(() => void this.beat(false), this.#host.interval);
    this.#timer.unref();
  }

  /** Redis was lost (the beat says so once it is back). */
  lost(): void {
    this.#outages++;
    this.#lostAt = Date.now();
  }

  /** Redis is back: beat at once, with everything (what Redis held may be gone). */
  back(): void {
    this.#backAt = Date.now();
    this.#written.clear();
    void this.beat();
  }

  /** Stops beating and removes this process's entry (best effort: it expires anyway). */
  async stop(connection: Connection | null): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#written.clear();
    if (connection === null) return;
    await runScript(connection, 'infuseLeave', this.#keys, { id: this.#host.id }).catch(
      () => undefined,
    );
  }

  /**
   * One beat (unless `always` is false and nothing changed and the keep-alive is not due);
   * resolves once Redis answered (never rejects).
   */
  async beat(always = true): Promise<void> {
    const connection = this.#host.connection();
    if (connection === null || this.#beating) return;
    const now = Date.now();
    const fields = this.#fields(now);
    const set: string[] = [];
    const gone: string[] = [];
    for (const [name, value] of fields) {
      if (this.#written.get(name) !== value) set.push(name, value);
    }
    for (const name of this.#written.keys()) if (!fields.has(name)) gone.push(name);
    const due = now - this.#lastBeat >= this.keepAlive - this.#host.interval / 2;
    if (!always && set.length === 0 && gone.length === 0 && !due) return;
    this.#beating = true;
    try {
      await runScript(
        connection,
        'infuseBeat',
        this.#keys,
        { id: this.#host.id, ttl: this.ttl, deletes: gone.length },
        [...gone, ...set],
      );
      this.#written = fields;
      this.#lastBeat = now;
    } catch {
      // Redis did not take it: the store hears of that on its own; send everything next time.
      this.#written.clear();
    } finally {
      this.#beating = false;
    }
  }

  #fields(now: number): Map<string, string> {
    const fields = new Map<string, string>([
      ['pid', String(process.pid)],
      ['host', hostname()],
      ['since', String(this.#started)],
      ['interval', String(this.keepAlive)],
      ['outages', String(this.#outages)],
      ['lostAt', String(this.#lostAt)],
      ['backAt', String(this.#backAt)],
    ]);
    const circuits = [...this.#host.circuits()];
    const lines = circuits.map((circuit) => ({ circuit, minutes: circuit.usage.minutes(now) }));
    lines.sort((a, b) => b.circuit.usage.lastUsed - a.circuit.usage.lastUsed);
    for (const { circuit, minutes } of lines.slice(0, PRESENCE_MAX_CIRCUITS)) {
      const snapshot = circuit.snapshot() as CircuitSnapshot & {
        readonly scope?: string;
        readonly votes?: number;
      };
      const { usage } = circuit;
      fields.set(
        `c:${circuit.key}`,
        JSON.stringify({
          m: snapshot.mode,
          ...(snapshot.scope === undefined ? {} : { s: snapshot.scope }),
          ...(snapshot.votes === undefined ? {} : { v: snapshot.votes }),
          n: usage.calls,
          f: usage.failures,
          r: usage.refusals,
          h: minutes,
        }),
      );
    }
    return fields;
  }
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
