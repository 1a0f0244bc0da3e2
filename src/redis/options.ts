import { show } from '../core/options.js';
import { identifyClient } from './connection/clients.js';

/**
 * The part of an ioredis `Redis` or `Cluster` (ioredis 5 or 6, or iovalkey, whose API is
 * ioredis') that {@link RedisStore} relies on, written structurally so that any of them fits
 * without this package importing one. A `Redis` created with `{ sentinels, name }` connects
 * through Sentinel.
 */
export interface IoRedisClient {
  /** True for a `Cluster`. */
  readonly isCluster: boolean;
  /** The client's options; RedisStore copies them into the connections it opens. */
  readonly options: object;
  /** `duplicate()`: a new client with the same options (plus overrides). */
  duplicate(...args: never[]): unknown;
}

/**
 * The part of a node-redis (5 or 6) client, from `createClient()`, that {@link RedisStore} relies
 * on. It need not be connected: the store opens connections of its own from it.
 */
export interface NodeRedisClient {
  /** True while the client's socket is open. */
  readonly isOpen: boolean;
  /** True while the client can send commands. */
  readonly isReady: boolean;
  /** `duplicate()`: a new client with the same options (plus overrides). */
  duplicate(overrides?: never): unknown;
  /** Sends a command given as its arguments. */
  sendCommand(args: never, options?: never): Promise<unknown>;
}

/** The part of a node-redis (5 or 6) cluster, from `createCluster()`, that the store relies on. */
export interface NodeRedisCluster {
  /** True while the cluster is connected. */
  readonly isOpen: boolean;
  /** The masters (each is scanned by RedisAdmin). */
  readonly masters: readonly unknown[];
  /** `duplicate()`: a new cluster client with the same options (plus overrides). */
  duplicate(overrides?: never): unknown;
  /** The client of one node. */
  nodeClient(node: never): unknown;
  /** Sends a command to the node that owns `firstKey`. */
  sendCommand(firstKey: never, isReadonly: never, args: never, options?: never): Promise<unknown>;
}

/**
 * A Redis client that {@link RedisStore} and `RedisAdmin` accept: ioredis 5 or 6 or iovalkey
 * (`Redis`, through Sentinel or not, or `Cluster`), or node-redis 5 or 6 (`createClient()`,
 * `createCluster()`). The kind is told apart by shape when the store is created.
 */
export type RedisClient = IoRedisClient | NodeRedisClient | NodeRedisCluster;

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A Redis client (see {@link RedisClient}): ioredis or iovalkey `new Redis(url)`, `new
   * Redis({ sentinels, name })` or `new Cluster(nodes)`; node-redis `createClient({ url })` or
   * `createCluster({ rootNodes })`. The store never sends a command on it and needs it not
   * connected: it opens its own connections from it (one for commands, tuned to fail fast, and one
   * subscriber) and closes only those.
   */
  readonly redis: RedisClient;
  /**
   * Prefix of every key and of the pub/sub channel. Processes that share circuits use the same
   * prefix. Must not contain `{` or `}` (that would change the keys' hash tag).
   * @default 'infuse'
   */
  readonly prefix?: string;
  /**
   * Milliseconds a command may take on the store's command connection before it fails and the
   * store falls back to per-process state.
   * @default 250
   */
  readonly commandTimeout?: number;
  /**
   * Longest a guarded call waits on Redis, in milliseconds: for the first read of a key, for a
   * failure report, for a half-open permit, for a trial's outcome. When Redis has not answered by
   * then, the call is answered from per-process state (the same policy) and the answer, when it
   * comes, is applied afterwards. Healthy-path calls never wait at all.
   * @default 50
   */
  readonly waitTimeout?: number;
  /**
   * How often, in milliseconds, each circuit's successes are sent in one batch. Only circuits with
   * a `failureRate` policy send successes (the fleet's failure rate is counted in Redis); failures
   * are sent at once.
   * @default 1_000
   */
  readonly flushInterval?: number;
  /**
   * Mean interval, in milliseconds, of the slow poll. Each poll reads the fleet's change feed once,
   * whatever the number of circuits known (three Redis commands), reads again the circuits this
   * process knows that changed since (in case a pub/sub message was lost), and keeps forced modes
   * alive. Each poll is jittered by ±20%.
   * @default 30_000
   */
  readonly pollInterval?: number;
  /**
   * Milliseconds a circuit's state lives in Redis after its last change (a forced mode: after the
   * last poll of a process that knows it), and an entry of the change feed after its change.
   * Raised where needed to twice the circuit's `resetTimeout`. A failure-rate window lives two
   * window lengths after its last count; trial leases as long as the state.
   * @default 3_600_000 (one hour)
   */
  readonly ttl?: number;
  /**
   * Milliseconds a half-open trial permit lasts. The holder renews it every third of that while
   * its call runs; if the holder dies, the permit expires and another process may try.
   * @default 10_000
   */
  readonly trialLease?: number;
  /**
   * Milliseconds between attempts to reach Redis again while it is unreachable.
   * @default 1_000
   */
  readonly probeInterval?: number;
  /**
   * Circuits read when the store starts (most recently changed first), so that a new process
   * knows the fleet's circuits before its first call; 0 turns it off. Circuits not preloaded are
   * read the first time they are used.
   * @default 1_000
   */
  readonly preload?: number;
}

/** {@link RedisStoreOptions}, validated and with defaults applied. */
export interface NormalizedRedisStoreOptions {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly commandTimeout: number;
  readonly waitTimeout: number;
  readonly flushInterval: number;
  readonly pollInterval: number;
  readonly ttl: number;
  readonly trialLease: number;
  readonly probeInterval: number;
  readonly preload: number;
}

export const DEFAULTS = {
  prefix: 'infuse',
  commandTimeout: 250,
  waitTimeout: 50,
  flushInterval: 1_000,
  pollInterval: 30_000,
  ttl: 3_600_000,
  trialLease: 10_000,
  probeInterval: 1_000,
  preload: 1_000,
} as const;

const KNOWN = new Set(['redis', ...Object.keys(DEFAULTS)]);

export function normalizeRedisStoreOptions(options: unknown): NormalizedRedisStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`RedisStore: options must be an object with "redis"; got ${show(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!KNOWN.has(name)) {
      throw new TypeError(
        `RedisStore: unknown option "${name}"; known options are: ${[...KNOWN].join(', ')}`,
      );
    }
  }
  const redis = checkClient('RedisStore', given.redis);
  const prefix = checkPrefix('RedisStore', given.prefix ?? DEFAULTS.prefix);
  const number = (name: Exclude<keyof typeof DEFAULTS, 'prefix'>, min: number): number => {
    const value = given[name] ?? DEFAULTS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new TypeError(
        `RedisStore: option "${name}" must be an integer of at least ${min}; got ${show(value)}`,
      );
    }
    return value;
  };
  const normalized = {
    redis,
    prefix,
    commandTimeout: number('commandTimeout', 1),
    waitTimeout: number('waitTimeout', 1),
    flushInterval: number('flushInterval', 1),
    pollInterval: number('pollInterval', 10),
    ttl: number('ttl', 1_000),
    trialLease: number('trialLease', 30),
    probeInterval: number('probeInterval', 10),
    preload: number('preload', 0),
  };
  if (normalized.ttl < 2 * normalized.pollInterval) {
    throw new TypeError(
      `RedisStore: option "ttl" (${normalized.ttl}) must be at least twice "pollInterval" (${normalized.pollInterval}), or idle circuits would expire between polls`,
    );
  }
  return normalized;
}

/** Checks the `redis` option of `owner` (RedisStore, RedisAdmin): a TypeError names what was given. */
export function checkClient(owner: string, redis: unknown): RedisClient {
  identifyClient(owner, redis);
  return redis as RedisClient;
}

/** Checks the `prefix` option of `owner` (RedisStore, RedisAdmin). */
export function checkPrefix(owner: string, prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new TypeError(
      `${owner}: option "prefix" must be a non-empty string without braces; got ${show(prefix)}`,
    );
  }
  return prefix;
}
