import { show } from '../core/options.js';
import {
  disconnect,
  keyPrefixOf,
  openCommandConnection,
  whereIs,
  type Connection,
} from './connections.js';
import { RedisAdminError } from './errors.js';
import { channelName } from './keys.js';
import type { ScriptSettings } from './scripts/index.js';
import { checkClient, checkPrefix, DEFAULTS, type RedisClient } from './options.js';
import { globMatcher } from './pattern.js';
import { operatorActor, readHistory, type HistoryEntry } from './history.js';
import { readProcesses, type FleetProcess } from './presence.js';
import type {
  FleetCircuit,
  FleetCommand,
  FleetCommandOptions,
  FleetCommandResult,
  FleetHistoryQuery,
  FleetTransition,
  MalformedCircuit,
  RedisAdminOptions,
} from './admin/types.js';
import { isReplyError, whenReady, type AdminConnection, type AdminScope } from './admin/scope.js';
import { inspect, listCircuits } from './admin/read.js';
import { checkCommand, checkKey, runCommand } from './admin/commands.js';
import { watchFleet } from './admin/watch.js';

/**
 * Sees and steers every circuit of a fleet that shares state through {@link RedisStore}: lists
 * them with their state and counters, changes one with the same Lua script a process's
 * `circuit.forceOpen()` (and the others) runs (one atomic decision, published once to every
 * process), and follows transitions live. It is what the `infuse-breaker` CLI and dashboard use.
 *
 * Reading changes nothing in Redis, not even a TTL: data under the keys that infuse-breaker did
 * not write is reported through `onMalformed` and skipped, never deleted.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { RedisAdmin } from 'infuse-breaker/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const admin = new RedisAdmin({ redis, prefix: 'checkout' });
 * for (const c of await admin.list('*.example.com')) console.log(c.key, c.mode);
 * await admin.command('api.example.com', 'force-open'); // every process rejects until cleared
 * await admin.close();
 * redis.disconnect();
 * ```
 */
export class RedisAdmin {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #onMalformed: (report: MalformedCircuit) => void;
  readonly #keyPrefix: string;
  readonly #settings: ScriptSettings;
  readonly #opened = new Set<Connection>();
  readonly #actor: string;
  #command: Promise<AdminConnection> | null = null;
  /** What the reads and commands share (admin/scope.ts). */
  readonly #scope: AdminScope;

  /** Validates `options` (a TypeError names any bad one). Connections open on first use. */
  constructor(options: RedisAdminOptions) {
    if (typeof options !== 'object' || (options as unknown) === null) {
      throw new TypeError(
        `RedisAdmin: options must be an object with "redis"; got ${show(options)}`,
      );
    }
    this.#redis = checkClient('RedisAdmin', options.redis);
    this.#prefix = checkPrefix('RedisAdmin', options.prefix ?? DEFAULTS.prefix);
    const timeout = options.commandTimeout ?? 2_000;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
      throw new TypeError(
        `RedisAdmin: option "commandTimeout" must be an integer of at least 1; got ${show(timeout)}`,
      );
    }
    this.#timeout = timeout;
    const onMalformed = options.onMalformed ?? warn;
    if (typeof onMalformed !== 'function') {
      throw new TypeError(
        `RedisAdmin: option "onMalformed" must be a function; got ${show(onMalformed)}`,
      );
    }
    this.#onMalformed = onMalformed;
    this.#keyPrefix = keyPrefixOf(this.#redis);
    const actor = options.actor ?? operatorActor('admin');
    if (typeof actor !== 'string' || actor === '') {
      throw new TypeError(
        `RedisAdmin: option "actor" must be a non-empty string; got ${show(actor)}`,
      );
    }
    this.#actor = actor;
    this.#settings = {
      channel: channelName(this.#keyPrefix, this.#prefix),
      ttl: DEFAULTS.ttl,
      trialLease: DEFAULTS.trialLease,
    };
    this.#scope = {
      prefix: this.#prefix,
      keyPrefix: this.#keyPrefix,
      settings: this.#settings,
      call: (key, command) => this.#call(key, command),
      malformedAt: (redisKey, key, reason) => {
        this.#onMalformed({ redisKey, key, reason });
      },
      unreachable: (key, cause) => this.#unreachable(key, cause),
    };
  }

  /** The key prefix the admin reads, as given or defaulted. */
  get prefix(): string {
    return this.#prefix;
  }

  /**
   * Every circuit that has state in Redis under the prefix, sorted by key (by UTF-16 code unit).
   * Complete: it scans the keys of every master of a Cluster. With `pattern`, only keys it
   * matches: `*.example.com`, or any glob (`*`, `?`, `[a-z]`, `\` to escape).
   */
  async list(pattern?: string): Promise<FleetCircuit[]> {
    if (pattern !== undefined && typeof pattern !== 'string') {
      throw new TypeError(`RedisAdmin: pattern must be a string; got ${show(pattern)}`);
    }
    const matches = pattern === undefined ? () => true : globMatcher(pattern);
    return this.#withConnection(null, (connection) =>
      listCircuits(this.#scope, connection, matches),
    );
  }

  /** One circuit, or null when Redis holds nothing for it (or only malformed data). */
  get(key: string): Promise<FleetCircuit | null> {
    const bad = checkKey(key);
    if (bad !== null) return Promise.reject(bad);
    return this.#withConnection(key, (connection) => inspect(this.#scope, connection, key));
  }

  /**
   * Changes one circuit for the whole fleet: runs the script a process's own `circuit.open()`
   * (etc.) runs, so the change is one atomic decision, published once, and every process
   * sharing the circuit applies it within a pub/sub message. Rejects with a
   * {@link RedisAdminError}: `ECIRCUITUNKNOWN` when Redis holds no state for the key (unless
   * `create`), `EREDISUNAVAILABLE` when Redis cannot be reached; nothing is changed then.
   */
  command(
    key: string,
    command: FleetCommand,
    options: FleetCommandOptions = {},
  ): Promise<FleetCommandResult> {
    const bad = checkKey(key) ?? checkCommand(command, options);
    if (bad !== null) return Promise.reject(bad);
    return this.#withConnection(key, (connection) =>
      runCommand(this.#scope, connection, key, command, options, this.#actor),
    );
  }

  /**
   * Calls `listener` with every transition any process of the fleet makes from now on (received
   * by pub/sub, on a subscriber connection of its own), until the returned function is called.
   * Resolves once subscribed. It subscribes again by itself after a reconnect; transitions
   * made while disconnected are not replayed (read them with {@link list} or {@link history}).
   * Each message is checked against the circuit as Redis holds it (one read) before `listener`
   * hears of it: a message telling of a generation Redis does not hold (forged by someone
   * allowed to PUBLISH) is reported through `onMalformed` and dropped.
   */
  async watch(listener: (transition: FleetTransition) => void): Promise<() => Promise<void>> {
    if (typeof listener !== 'function') {
      throw new TypeError(`RedisAdmin: watch needs a listener function; got ${show(listener)}`);
    }
    return watchFleet(
      this.#scope,
      this.#redis,
      this.#timeout,
      this.#opened,
      this.#onMalformed,
      (key) => this.get(key),
      listener,
    );
  }

  /**
   * The fleet's history: every transition a process made and every command sent, newest first,
   * from a capped stream (the last ~10,000 changes, for a week after the last one).
   */
  history(query: FleetHistoryQuery = {}): Promise<HistoryEntry[]> {
    if (typeof query !== 'object' || (query as unknown) === null) {
      return Promise.reject(
        new TypeError(`RedisAdmin: history takes an options object; got ${show(query)}`),
      );
    }
    const { key, since, limit } = query;
    if (key !== undefined) {
      const bad = checkKey(key);
      if (bad !== null) return Promise.reject(bad);
    }
    if (since !== undefined && (typeof since !== 'number' || !Number.isFinite(since))) {
      return Promise.reject(
        new TypeError(`RedisAdmin: "since" must be epoch milliseconds; got ${show(since)}`),
      );
    }
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      return Promise.reject(
        new TypeError(`RedisAdmin: "limit" must be a positive integer; got ${show(limit)}`),
      );
    }
    return this.#withConnection(key ?? null, async (connection) => {
      const { entries } = await this.#call(
        key ?? null,
        readHistory(connection, this.#prefix, query),
      );
      return entries;
    });
  }

  /**
   * The processes that share the fleet's circuits now, as their heartbeats show them (each
   * `RedisStore` beats within `pollInterval` of a change, and every 5 s at least): who they are,
   * whether they lost Redis, and each circuit they use with its state, votes and counts there.
   */
  processes(): Promise<FleetProcess[]> {
    return this.#withConnection(null, (connection) =>
      this.#call(null, readProcesses(connection, this.#prefix)),
    );
  }

  /** Closes the connections this admin opened (never the client it was given). */
  async close(): Promise<void> {
    const opened = [...this.#opened];
    this.#opened.clear();
    this.#command = null;
    await Promise.all(opened.map(disconnect));
  }

  /** The command connection, opened and ready; rejects when Redis cannot be reached. */
  #connect(key: string | null): Promise<AdminConnection> {
    if (this.#command !== null) return this.#command;
    const connection = openCommandConnection(this.#redis, this.#timeout);
    this.#opened.add(connection);
    connection.on('error', () => undefined); // failures reach the caller as rejected commands
    const opened = whenReady(connection, this.#timeout).then(
      () => connection,
      async (error: unknown) => {
        if (this.#command === opened) this.#command = null;
        this.#opened.delete(connection);
        await disconnect(connection);
        throw this.#unreachable(key, error);
      },
    );
    this.#command = opened;
    return opened;
  }

  async #withConnection<T>(
    key: string | null,
    work: (connection: AdminConnection) => Promise<T>,
  ): Promise<T> {
    const connection = await this.#connect(key);
    try {
      return await work(connection);
    } finally {
      // A connection that gave up reconnecting is replaced on the next call.
      if (connection.status === 'end' && this.#command !== null) {
        const current = this.#command;
        this.#command = null;
        void current.then((c) => {
          this.#opened.delete(c);
        });
      }
    }
  }

  /** A Redis command: a reply error is Redis's answer; anything else means it is unreachable. */
  async #call<T>(key: string | null, command: Promise<T>): Promise<T> {
    try {
      return await command;
    } catch (error) {
      throw isReplyError(error) ? error : this.#unreachable(key, error);
    }
  }

  #unreachable(key: string | null, cause: unknown): RedisAdminError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new RedisAdminError(
      'EREDISUNAVAILABLE',
      key,
      `RedisAdmin: Redis cannot be reached at ${whereIs(this.#redis)} (${why}); nothing was changed`,
      cause,
    );
  }
}

function warn(report: MalformedCircuit): void {
  process.emitWarning(
    `RedisAdmin: skipped ${report.key === null ? report.redisKey : JSON.stringify(report.key)}: ${report.reason}`,
    'RedisAdminWarning',
  );
}
