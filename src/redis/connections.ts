import { SCRIPTS, type ScriptName } from './lua.js';
import type { IoRedisClient } from './options.js';

/** What the store uses of an ioredis connection (`Redis` or `Cluster`, 5 or 6). */
export interface Connection {
  readonly status: string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  zrem(key: string, member: string): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(): void;
}

interface Duplicable {
  readonly isCluster: boolean;
  readonly options: { readonly keyPrefix?: string; readonly redisOptions?: object };
  duplicate(...args: unknown[]): Connection;
}

/**
 * Opens a connection from the client the user gave, with its options plus `overrides`. For a
 * Cluster, per-node settings go into `redisOptions` while `enableOfflineQueue`, `lazyConnect` and
 * auto-pipelining stay at the top level (ioredis ignores them inside `redisOptions`).
 */
function duplicate(
  client: IoRedisClient,
  top: Record<string, unknown>,
  node: Record<string, unknown>,
): Connection {
  const source = client as unknown as Duplicable;
  if (source.isCluster) {
    return source.duplicate(undefined, {
      ...top,
      redisOptions: { ...source.options.redisOptions, ...node },
    });
  }
  return source.duplicate({ ...top, ...node });
}

/**
 * The connection every script runs on, tuned so that a dead or frozen Redis fails a command fast
 * instead of holding it: no offline queue, a command timeout, no retries, and nothing re-sent
 * after a reconnect (a re-sent report would count twice).
 */
export function openCommandConnection(client: IoRedisClient, commandTimeout: number): Connection {
  const connection = duplicate(
    client,
    { lazyConnect: false, enableOfflineQueue: false, enableAutoPipelining: true },
    { commandTimeout, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false },
  );
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    connection.defineCommand(name, definition);
  }
  return connection;
}

/** The subscriber connection; ioredis subscribes again by itself after a reconnect. */
export function openSubscriber(client: IoRedisClient): Connection {
  return duplicate(client, { lazyConnect: false, enableOfflineQueue: true }, {});
}

/** The `keyPrefix` ioredis adds to every key of this client (channels excepted). */
export function keyPrefixOf(client: IoRedisClient): string {
  const options = (client as unknown as Duplicable).options;
  const redisOptions = options.redisOptions as { keyPrefix?: unknown } | undefined;
  const prefix = options.keyPrefix ?? redisOptions?.keyPrefix;
  return typeof prefix === 'string' ? prefix : '';
}

/** Runs one of our scripts (defined on `connection` by {@link openCommandConnection}). */
export function runScript(
  connection: Connection,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const command = (connection as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
    name
  ];
  if (command === undefined) return Promise.reject(new Error(`script ${name} is not defined`));
  return command.call(connection, ...keys, ...args);
}

/** Closes a connection and resolves once it has ended (or after a second at most). */
export function disconnect(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    // Owners' listeners check that the connection is still theirs, so they need not be removed
    // (removeAllListeners would also strip ioredis' own, and 'end' would never come).
    connection.on('error', () => undefined);
    if (connection.status === 'end') {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, 1_000);
    timer.unref();
    connection.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.disconnect();
  });
}
