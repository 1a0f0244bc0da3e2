import { DEFAULTS as CIRCUIT_DEFAULTS, show } from '../core/options.js';
import type { CircuitMode, CircuitState, ForcedMode, TransitionReason } from '../core/types.js';
import type { Command, Policy } from '../stores/store.js';
import {
  disconnect,
  keyPrefixOf,
  openCommandConnection,
  openSubscriber,
  runScript,
  whereIs,
  type Connection,
} from './connections.js';
import { RedisAdminError } from './errors.js';
import { parseMessage, parseReply, type FleetState } from './fleet.js';
import { channelName, circuitKeys } from './keys.js';
import { indexKey, writeFeed } from './sync/feed.js';
import { MANUAL_OPEN_MAX, scriptHead, type ScriptSettings } from './scripts/index.js';
import { checkClient, checkPrefix, DEFAULTS, type RedisClient } from './options.js';
import { globMatcher } from './pattern.js';
import { operatorActor, readHistory, writeHistory, type HistoryEntry } from './history.js';
import { readProcesses, type FleetProcess } from './presence.js';

/**
 * One circuit as the fleet sees it, read from Redis: what every process sharing the circuit
 * through a {@link RedisStore} with the same `prefix` acts on. It is a `CircuitSnapshot` without
 * `failures`: consecutive failures are counted by each process for its own calls (see "What
 * consecutive means" in the README) and are not in Redis.
 */
export interface FleetCircuit {
  readonly key: string;
  readonly state: CircuitState;
  /** The forced mode, or `null` when none is set. */
  readonly forced: ForcedMode | null;
  /** State and forced mode in one value: the forced mode when there is one, else the state. */
  readonly mode: CircuitMode;
  /**
   * Calls and failures in the fleet's failure-rate window, counted over the window length the
   * fleet's processes use (zeros when they use no `failureRate`, or the circuit is not closed).
   */
  readonly window: { readonly calls: number; readonly failures: number };
  /** Half-open trial calls running now, across the fleet. */
  readonly trialsInFlight: number;
  /**
   * Epoch milliseconds, by Redis's clock, of the last transition; 0 for a closed circuit that
   * never changed state (Redis then holds only its failure-rate window).
   */
  readonly changedAt: number;
  /**
   * Milliseconds until an open circuit lets a trial call through, measured by Redis when it was
   * read: 0 when a call may go now, `Infinity` while forced open.
   */
  readonly retryAfter: number;
  /** Incremented on every transition (0 before the first). */
  readonly generation: number;
  /**
   * Processes that have the circuit open for themselves alone and vote to open it for the fleet
   * (their own calls reached `failMax`, too few processes agree yet; see `quorum`). 0 when none,
   * and for a circuit that is not closed.
   */
  readonly votes: number;
  /**
   * The fleet runs the circuit in shadow mode (the `shadow` command): every process lets through
   * the calls it would refuse, and the state machine runs on.
   */
  readonly shadow: boolean;
  /**
   * Calls and slow calls in the fleet's slow-call window (zeros when the fleet's processes use no
   * `slowCallRate`, or the circuit is not closed).
   */
  readonly slowCalls: { readonly calls: number; readonly slow: number };
}

/** A change of a circuit's state or forced mode, made by any process (or admin) of the fleet. */
export interface FleetTransition {
  readonly key: string;
  readonly from: CircuitState;
  readonly fromForced: ForcedMode | null;
  readonly to: CircuitState;
  readonly forced: ForcedMode | null;
  /** Why the process that made it made it (`manual` for a command; never `remote` but on a re-seed). */
  readonly reason: TransitionReason;
  readonly generation: number;
  /** Epoch milliseconds (Redis's clock) of the transition. */
  readonly changedAt: number;
  /** As {@link FleetCircuit.retryAfter}, when the transition was made. */
  readonly retryAfter: number;
}

/** Data under infuse-breaker's keys that it did not write: skipped, and reported with a reason. */
export interface MalformedCircuit {
  /** The Redis key (without the client's `keyPrefix`) where it was found. */
  readonly redisKey: string;
  /** The circuit key, when it could be read. */
  readonly key: string | null;
  readonly reason: string;
}

/**
 * What {@link RedisAdmin.command} does, the same as the `Circuit` method of that name:
 * `open`, `close`, `half-open` (`halfOpen()`), `force-open` (`forceOpen()`), `disable`,
 * `clear-forced` (`clearForced()`); and, for the fleet only, `shadow` and `unshadow`: switch the
 * circuit into and out of shadow mode in every process (as option `shadow` does in one; see
 * {@link FleetCircuit.shadow}). Shadow mode is not a state: it leaves state and counters as they
 * are.
 */
export type FleetCommand = Command | 'shadow' | 'unshadow';

/** Options of {@link RedisAdmin.command}. */
export interface FleetCommandOptions {
  /**
   * How long an `open` command opens the circuit for, in milliseconds (the fleet's processes do
   * not store their `resetTimeout` in Redis). At most one hour: a longer open period is beyond
   * what the fleet's processes accept as written by infuse-breaker. The other commands ignore it.
   * @default 60_000
   */
  readonly resetTimeout?: number;
  /**
   * Write the circuit's state even when Redis holds none (a circuit no process has used yet, e.g.
   * to force a host open before its first call). Without it, such a key rejects with
   * `ECIRCUITUNKNOWN` and nothing is written.
   * @default false
   */
  readonly create?: boolean;
  /**
   * Who sends the command, for the history (e.g. `dashboard 10.0.0.7`).
   * @default the admin's `actor`
   */
  readonly actor?: string;
}

/** Options of {@link RedisAdmin.history}. */
export interface FleetHistoryQuery {
  /** Only this circuit's entries. */
  readonly key?: string;
  /** Only entries at or after this time (epoch ms). */
  readonly since?: number;
  /**
   * Most entries returned, the newest.
   * @default 100
   */
  readonly limit?: number;
}

/** What {@link RedisAdmin.command} changed. */
export interface FleetCommandResult {
  /** The circuit just before the command (null when Redis held nothing and `create` was set). */
  readonly before: FleetCircuit | null;
  /** The circuit as the command left it. */
  readonly after: FleetCircuit;
}

/** Options of {@link RedisAdmin}. */
export interface RedisAdminOptions {
  /**
   * An ioredis `Redis` or `Cluster` (5 or 6). The admin never sends a command on it: it opens its
   * own connections from it (one for commands, one subscriber per `watch`) and closes only those.
   */
  readonly redis: RedisClient;
  /**
   * The `prefix` of the fleet's {@link RedisStore}s.
   * @default 'infuse'
   */
  readonly prefix?: string;
  /**
   * Milliseconds to wait for Redis to be reached, and for each command, before a call rejects
   * with `EREDISUNAVAILABLE`.
   * @default 2_000
   */
  readonly commandTimeout?: number;
  /**
   * Told about each circuit skipped because the data under its keys (or a pub/sub message on its
   * channel) was not written by infuse-breaker. Nothing is deleted.
   * @default emits a process warning (`RedisAdminWarning`)
   */
  readonly onMalformed?: (report: MalformedCircuit) => void;
  /**
   * Who this admin's commands come from, as the history names it.
   * @default `admin <user> on <host>` (the operating system's user and host name)
   */
  readonly actor?: string;
}

const COMMANDS = new Set<unknown>([
  'open',
  'close',
  'half-open',
  'force-open',
  'disable',
  'clear-forced',
  'shadow',
  'unshadow',
] satisfies FleetCommand[]);

/** The policy of a reader: only `resetTimeout` reaches a script (what `open` opens for). */
const READER: Policy = {
  failMax: 1,
  resetTimeout: CIRCUIT_DEFAULTS.resetTimeout,
  halfOpenMaxCalls: 1,
  failureRate: null,
  initialState: null,
};

/** Circuits read at once by `list`. */
const BATCH = 256;

/** Everything the admin needs of a connection is on the seam. */
type AdminConnection = Connection;

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
    return this.#withConnection(null, async (connection) => {
      const [found, named] = await Promise.all([
        this.#scan(connection),
        this.#namedByFeed(connection),
      ]);
      const circuits: FleetCircuit[] = [];
      for (let i = 0; i < found.length; i += BATCH) {
        const batch = found.slice(i, i + BATCH);
        const read = await Promise.all(
          batch.map(async (redisKey) => {
            // The change feed names most circuits: their key needs no read of its own (the
            // INSPECT script checks that the state hash names it).
            const key = named.get(redisKey.slice(0, redisKey.lastIndexOf(':') + 1));
            if (key === undefined) return this.#readCircuitAt(connection, redisKey, matches);
            return matches(key) ? this.#inspect(connection, key) : null;
          }),
        );
        for (const circuit of read) if (circuit !== null) circuits.push(circuit);
      }
      return circuits.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  /** One circuit, or null when Redis holds nothing for it (or only malformed data). */
  get(key: string): Promise<FleetCircuit | null> {
    const bad = checkKey(key);
    if (bad !== null) return Promise.reject(bad);
    return this.#withConnection(key, (connection) => this.#inspect(connection, key));
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
    const policy = { ...READER, resetTimeout: options.resetTimeout ?? READER.resetTimeout };
    const create = options.create === true;
    return this.#withConnection(key, async (connection) => {
      const before = await this.#inspect(connection, key);
      if (before === null && !create) throw unknown(key);
      const raw = await this.#call(
        key,
        runScript(connection, 'infuseCommand', circuitKeys(this.#prefix, key), {
          ...scriptHead(key, policy, this.#settings),
          command,
          // Only a circuit that still exists: it may have expired since it was read.
          scope: create ? '' : 'existing',
          period: 0,
        }),
      );
      const { fleet, event } = parseReply(raw);
      if (fleet.epoch === '' && before === null && !create) throw unknown(key);
      // Processes that missed the pub/sub message catch the change at their next poll (a shadow
      // switch changes the generation without a transition).
      if (event !== null || fleet.generation !== (before?.generation ?? 0)) {
        await this.#call(
          key,
          writeFeed(connection, indexKey(this.#prefix), key, this.#settings.ttl),
        );
      }
      const after = toCircuit(key, fleet);
      // Every manual action goes into the history, also one that changed no mode. The command
      // is done: a history Redis did not take must not make it look failed.
      await writeHistory(connection, this.#prefix, {
        key,
        from: before?.mode ?? 'closed',
        to: after.mode,
        reason: 'manual',
        by: options.actor ?? this.#actor,
        command,
        scope: 'fleet',
      }).catch(() => undefined);
      return { before, after };
    });
  }

  /**
   * Calls `listener` with every transition any process of the fleet makes from now on (received
   * by pub/sub, on a subscriber connection of its own), until the returned function is called.
   * Resolves once subscribed. It subscribes again by itself after a reconnect; transitions
   * made while disconnected are not replayed (read them with {@link list}).
   */
  async watch(listener: (transition: FleetTransition) => void): Promise<() => Promise<void>> {
    if (typeof listener !== 'function') {
      throw new TypeError(`RedisAdmin: watch needs a listener function; got ${show(listener)}`);
    }
    const channel = this.#settings.channel;
    const subscriber = openSubscriber(this.#redis);
    this.#opened.add(subscriber);
    subscriber.on('error', () => undefined); // it reconnects by itself
    subscriber.on('message', (from, message) => {
      if (from !== channel || typeof message !== 'string') return;
      const news = parseMessage(message);
      if (news === null) {
        this.#onMalformed({
          redisKey: channel,
          key: null,
          reason: `a message on ${channel} was not written by infuse-breaker`,
        });
        return;
      }
      const { key, fleet, event } = news;
      if (event === null) return; // a vote: the circuit did not change
      listener({
        key,
        from: event.from,
        fromForced: event.fromForced,
        to: fleet.state,
        forced: fleet.forced,
        reason: event.reason,
        generation: fleet.generation,
        changedAt: fleet.changedAt,
        retryAfter: retryAfter(fleet),
      });
    });
    const stop = async (): Promise<void> => {
      if (!this.#opened.delete(subscriber)) return;
      await disconnect(subscriber);
    };
    try {
      await whenReady(subscriber, this.#timeout);
      await bounded(subscriber.subscribe(channel), this.#timeout);
    } catch (error) {
      await stop();
      throw this.#unreachable(null, error);
    }
    return stop;
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

  /**
   * Where each circuit's key can be read: its state hash, or for a closed circuit that never
   * changed state, its failure-rate window. A SCAN of the node, or of every master of a Cluster.
   */
  async #scan(connection: AdminConnection): Promise<string[]> {
    const match = `${escapeGlob(this.#keyPrefix + this.#prefix)}:{${'?'.repeat(16)}}:*`;
    const nodes = connection.isCluster ? connection.nodes('master') : [connection];
    const found = new Map<string, string>(); // a key can be seen twice while a Cluster moves slots
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#call(
          null,
          node.scan(cursor, 'MATCH', match, 'COUNT', 1_000),
        );
        for (const full of keys) {
          const key = full.slice(this.#keyPrefix.length);
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
  async #namedByFeed(connection: AdminConnection): Promise<Map<string, string>> {
    const named = new Map<string, string>();
    let keys: string[];
    try {
      keys = await connection.zrevrange(indexKey(this.#prefix), 0, -1);
    } catch (error) {
      if (isReplyError(error)) return named; // not a sorted set: not ours, and not needed
      throw this.#unreachable(null, error);
    }
    for (const key of keys) {
      const [state] = circuitKeys(this.#prefix, key);
      named.set(state.slice(0, state.lastIndexOf(':') + 1), key);
    }
    return named;
  }

  async #readCircuitAt(
    connection: AdminConnection,
    redisKey: string,
    matches: (key: string) => boolean,
  ): Promise<FleetCircuit | null> {
    const hash = `${redisKey.slice(redisKey.lastIndexOf(':') + 1)} hash`;
    let key: string | null;
    try {
      key = await this.#call(null, connection.hget(redisKey, 'k'));
    } catch (error) {
      if (!isReplyError(error)) throw error;
      this.#malformedAt(redisKey, null, `the ${hash.split(' ')[0]} key is not a hash`);
      return null;
    }
    if (key === null) {
      // Expired since the scan, or a hash that names no circuit.
      if ((await this.#call(null, connection.exists(redisKey))) === 1) {
        this.#malformedAt(redisKey, null, `the ${hash} names no circuit key`);
      }
      return null;
    }
    const keys = circuitKeys(this.#prefix, key);
    if (!keys.includes(redisKey)) {
      this.#malformedAt(redisKey, key, `the ${hash} names a circuit whose keys are elsewhere`);
      return null;
    }
    return matches(key) ? this.#inspect(connection, key) : null;
  }

  /** Reads one circuit with the INSPECT script; null when Redis holds none (or it is malformed). */
  async #inspect(connection: AdminConnection, key: string): Promise<FleetCircuit | null> {
    const keys = circuitKeys(this.#prefix, key);
    const raw = await this.#call(
      key,
      runScript(connection, 'infuseInspect', keys, scriptHead(key, READER, this.#settings)),
    );
    if (Array.isArray(raw) && raw[0] === 'malformed') {
      this.#malformedAt(keys[0], key, String(raw[1]));
      return null;
    }
    const { fleet } = parseReply(raw);
    // A closed circuit that never changed state is in Redis only by its failure-rate window or
    // its votes.
    return fleet.epoch === '' && fleet.calls === 0 && fleet.slowCalls === 0 && fleet.votes === 0
      ? null
      : toCircuit(key, fleet);
  }

  #malformedAt(redisKey: string, key: string | null, reason: string): void {
    this.#onMalformed({ redisKey, key, reason });
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

function toCircuit(key: string, fleet: FleetState): FleetCircuit {
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

function retryAfter(fleet: FleetState): number {
  if (fleet.forced === 'forced-open') return Infinity;
  return fleet.forced === null && fleet.state === 'open' ? fleet.remaining : 0;
}

function unknown(key: string): RedisAdminError {
  return new RedisAdminError(
    'ECIRCUITUNKNOWN',
    key,
    `RedisAdmin: Redis holds no state for circuit ${JSON.stringify(key)} (no process has used it, or it expired); nothing was changed`,
  );
}

function checkKey(key: unknown): TypeError | null {
  return typeof key === 'string' && key.length > 0
    ? null
    : new TypeError(`RedisAdmin: a circuit key must be a non-empty string; got ${show(key)}`);
}

function checkCommand(command: unknown, options: FleetCommandOptions): TypeError | null {
  if (!COMMANDS.has(command)) {
    return new TypeError(
      `RedisAdmin: unknown command ${show(command)}; known commands are: ${[...COMMANDS].join(', ')}`,
    );
  }
  const { resetTimeout } = options;
  if (
    resetTimeout !== undefined &&
    (typeof resetTimeout !== 'number' ||
      !Number.isInteger(resetTimeout) ||
      resetTimeout < 0 ||
      resetTimeout > MANUAL_OPEN_MAX)
  ) {
    return new TypeError(
      `RedisAdmin: option "resetTimeout" must be an integer from 0 to ${MANUAL_OPEN_MAX}; got ${show(resetTimeout)}`,
    );
  }
  return null;
}

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** Escapes a literal for a Redis MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Resolves when the connection is ready; rejects on its first error or after `ms`. */
function whenReady(connection: AdminConnection, ms: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      connection.removeListener('ready', onReady);
      connection.removeListener('error', onError);
      connection.removeListener('end', onEnd);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error('connection failed'));
    };
    const onReady = (): void => finish();
    const onError = (error: unknown): void => finish(error);
    const onEnd = (): void => finish(new Error('connection closed'));
    const timer = setTimeout(() => finish(new Error(`no answer within ${ms} ms`)), ms);
    connection.on('ready', onReady);
    connection.on('error', onError);
    connection.on('end', onEnd);
  });
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function warn(report: MalformedCircuit): void {
  process.emitWarning(
    `RedisAdmin: skipped ${report.key === null ? report.redisKey : JSON.stringify(report.key)}: ${report.reason}`,
    'RedisAdminWarning',
  );
}
