/**
 * The heartbeat a process writes: when it beats (something changed, or its keep-alive is due),
 * what it sends (the fields that changed since the last beat Redis took) and their format: the
 * process's own fields, and one `c:<circuit key>` field per circuit it uses, which
 * `parseCircuit` in ../presence.ts reads back. Its store (store.ts) starts and stops it and tells
 * it when Redis is lost and back.
 */
import { hostname } from 'node:os';
import type { CircuitSnapshot } from '../../core/types.js';
import { runScript, type Connection } from '../connections.js';
import { presenceKeys } from '../presence.js';
import type { Usage } from './usage.js';

/** Most circuits one process reports (the most recently used): the hash stays small. */
export const PRESENCE_MAX_CIRCUITS = 1_000;

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
