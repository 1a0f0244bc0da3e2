/**
 * Connections from an ioredis (5, 6) or iovalkey client: `Redis` (also through Sentinel) or
 * `Cluster`. The three share one API, so one wrapper serves them all.
 */
import { SCRIPTS, type ScriptName } from '../scripts/index.js';
import type { IoRedisLike } from './clients.js';
import type { Redactor } from './redact.js';
import type { Connection, ConnectionEvent } from './types.js';

type Listener = (...args: unknown[]) => void;

/** The members of an ioredis `Redis` or `Cluster` this file calls. */
interface IoRedis {
  readonly status: string;
  readonly isCluster: boolean;
  readonly options: { readonly redisOptions?: object };
  on(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  duplicate(...args: unknown[]): IoRedis;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  zrem(key: string, member: string): Promise<unknown>;
  hget(key: string, field: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  nodes(role: 'master'): IoRedis[];
  connect(): Promise<void>;
  disconnect(): void;
}

/**
 * The connection every script runs on, tuned so that a dead or frozen Redis fails a command fast
 * instead of holding it: no offline queue, a command timeout, no retries, and nothing re-sent
 * after a reconnect (a re-sent report would count twice).
 *
 * On a Cluster, two things differ:
 * - auto-pipelining stays off: ioredis (5 and 6) hands a MOVED from a pipeline whose commands got
 *   different answers straight to the caller without refreshing its slot map, so after a failover
 *   every script on a moved slot failed until restart (found here with a SIGKILLed master). Single
 *   commands are redirected, and the slot map refreshed, by ioredis itself;
 * - the command timeout is ours, not the nodes' `commandTimeout`: that one also bounds the
 *   Cluster's own CLUSTER SLOTS and ready check, timed from when they are queued on a node still
 *   connecting, so a busy machine saw a healthy Cluster close and reconnect at start-up.
 */
export function openIoRedisCommand(
  source: IoRedisLike,
  commandTimeout: number,
  redactor: Redactor,
): Connection {
  const cluster = source.isCluster;
  const client = duplicate(
    source,
    { lazyConnect: false, enableOfflineQueue: false, enableAutoPipelining: !cluster },
    {
      ...(cluster ? {} : { commandTimeout }),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    },
  );
  for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys, lua });
  }
  return new IoRedisConnection(client, redactor, cluster ? commandTimeout : null);
}

/**
 * The subscriber connection; it subscribes again after a reconnect. On a single node the wrapper
 * does that itself rather than ioredis: ioredis and iovalkey send the SUBSCRIBE of a reconnect
 * without handling its promise, and when that reconnect's AUTH fails (a password rotated on the
 * server, while the default user may still run the ready check) iovalkey 0.4 rejects it with
 * WRONGPASS: an unhandled rejection in the application. A Cluster's subscriber is ioredis' own.
 */
export function openIoRedisSubscriber(source: IoRedisLike, redactor: Redactor): Connection {
  const cluster = source.isCluster;
  const connection = new IoRedisConnection(
    duplicate(
      source,
      {
        lazyConnect: false,
        enableOfflineQueue: true,
        ...(cluster ? {} : { autoResubscribe: false }),
      },
      {},
    ),
    redactor,
    null,
  );
  if (!cluster) connection.resubscribeOnReady();
  return connection;
}

/** The `keyPrefix` ioredis adds to every key of this client (channels excepted). */
export function ioRedisKeyPrefix(source: IoRedisLike): string {
  const options = source.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
  const prefix = options.keyPrefix ?? options.redisOptions?.keyPrefix;
  return typeof prefix === 'string' ? prefix : '';
}

/**
 * A new client with the source's options plus `top` and `node`. For a Cluster, per-node settings
 * go into `redisOptions` while `enableOfflineQueue`, `lazyConnect` and auto-pipelining stay at the
 * top level (ioredis ignores them inside `redisOptions`).
 */
function duplicate(
  source: IoRedisLike,
  top: Record<string, unknown>,
  node: Record<string, unknown>,
): IoRedis {
  const client = source as unknown as IoRedis;
  const opened = client.isCluster
    ? client.duplicate(undefined, {
        ...top,
        redisOptions: { ...client.options.redisOptions, ...node },
      })
    : client.duplicate({ ...top, ...node });
  // Without a listener, ioredis prints every error (and whatever it quotes) to the console.
  opened.on('error', () => undefined);
  return opened;
}

class IoRedisConnection implements Connection {
  readonly #client: IoRedis;
  readonly #redactor: Redactor;
  /** The redacting wrapper of each 'error' listener, for removeListener. */
  readonly #errorListeners = new Map<Listener, Listener>();
  /** Milliseconds after which a command's promise rejects, when ioredis does not bound it. */
  readonly #timeout: number | null;
  readonly #reject: (error: unknown) => never;
  /** Channels subscribed to, when this wrapper (not ioredis) subscribes again after a reconnect. */
  #channels: Set<string> | null = null;

  constructor(client: IoRedis, redactor: Redactor, timeout: number | null) {
    this.#client = client;
    this.#redactor = redactor;
    this.#timeout = timeout;
    this.#reject = (error) => {
      throw redactor.error(error);
    };
  }

  /** `command`, bounded by our timeout if any, with its error redacted. */
  #settle<T>(command: Promise<T>): Promise<T> {
    const timeout = this.#timeout;
    if (timeout === null) return command.catch(this.#reject);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Command timed out')), timeout);
      command.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          // (ioredis rejects with Errors only)
          reject(this.#redactor.error(error as Error));
        },
      );
    });
  }

  get status(): string {
    return this.#client.status;
  }

  get isCluster(): boolean {
    return this.#client.isCluster;
  }

  on(event: ConnectionEvent, listener: Listener): this {
    if (event === 'error') {
      const redacting: Listener = (error) => listener(this.#redactor.error(error));
      this.#errorListeners.set(listener, redacting);
      this.#client.on(event, redacting);
    } else {
      this.#client.on(event, listener);
    }
    return this;
  }

  removeListener(event: ConnectionEvent, listener: Listener): this {
    const registered = event === 'error' ? this.#errorListeners.get(listener) : listener;
    if (registered !== undefined) this.#client.removeListener(event, registered);
    if (event === 'error') this.#errorListeners.delete(listener);
    return this;
  }

  runScript(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const command = (
      this.#client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
    )[name];
    if (command === undefined) return Promise.reject(new Error(`script ${name} is not defined`));
    return this.#settle(command.call(this.#client, ...keys, ...args));
  }

  subscribe(channel: string): Promise<unknown> {
    this.#channels?.add(channel);
    return this.#settle(this.#client.subscribe(channel));
  }

  /** Subscribes again to every channel at each `ready` (a failure waits for the next one). */
  resubscribeOnReady(): void {
    const channels = new Set<string>();
    this.#channels = channels;
    this.#client.on('ready', () => {
      for (const channel of channels) this.#client.subscribe(channel).catch(() => undefined);
    });
  }

  ping(): Promise<unknown> {
    return this.#settle(this.#client.ping());
  }

  zrevrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.#settle(this.#client.zrevrange(key, start, stop));
  }

  zrem(key: string, member: string): Promise<unknown> {
    return this.#settle(this.#client.zrem(key, member));
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#settle(this.#client.hget(key, field));
  }

  exists(key: string): Promise<number> {
    return this.#settle(this.#client.exists(key));
  }

  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    size: number,
  ): Promise<[string, string[]]> {
    return this.#settle(this.#client.scan(cursor, match, pattern, count, size));
  }

  nodes(role: 'master'): Connection[] {
    if (!this.#client.isCluster) return [this];
    return this.#client
      .nodes(role)
      .map((node) => new IoRedisConnection(node, this.#redactor, this.#timeout));
  }

  connect(): Promise<void> {
    return this.#settle(this.#client.connect());
  }

  disconnect(): void {
    this.#client.disconnect();
  }
}
