/**
 * The seam between src/redis and the Redis client the user gave: the store and the admin open
 * their connections here and use nothing of a client but {@link Connection}. Which client it is
 * (ioredis 5 or 6, iovalkey, node-redis 5 or 6) is decided once per client object, by shape.
 */
import { argv, SCRIPTS, type Arg, type ScriptName } from './scripts/index.js';
import {
  describeClient,
  identifyClient,
  secretsOf,
  type KnownClient,
} from './connection/clients.js';
import {
  ioRedisKeyPrefix,
  openIoRedisCommand,
  openIoRedisSubscriber,
} from './connection/ioredis.js';
import {
  openNodeRedisClusterCommand,
  openNodeRedisClusterSubscriber,
  openNodeRedisCommand,
  openNodeRedisSubscriber,
} from './connection/node-redis.js';
import { Redactor } from './connection/redact.js';
import type { RedisClient } from './options.js';
import type { Connection } from './connection/types.js';

export type { Connection, ConnectionEvent } from './connection/types.js';

interface Client {
  readonly known: KnownClient;
  readonly redactor: Redactor;
}

const clients = new WeakMap<object, Client>();

function clientOf(redis: RedisClient): Client {
  let client = clients.get(redis);
  if (client === undefined) {
    const known = identifyClient('RedisStore', redis);
    client = { known, redactor: new Redactor(secretsOf(known)) };
    clients.set(redis, client);
  }
  return client;
}

/**
 * The connection every script runs on, tuned so that a dead, frozen or failing-over Redis fails a
 * command fast instead of holding it (no offline queue, a command timeout, no retries, nothing
 * re-sent after a reconnect) and a Cluster redirection is followed, never reported.
 */
export function openCommandConnection(redis: RedisClient, commandTimeout: number): Connection {
  const { known, redactor } = clientOf(redis);
  switch (known.kind) {
    case 'ioredis':
      return openIoRedisCommand(known.client, commandTimeout, redactor);
    case 'node-redis':
      return openNodeRedisCommand(known.client, commandTimeout, redactor);
    case 'node-redis-cluster':
      return openNodeRedisClusterCommand(known.client, commandTimeout, redactor);
  }
}

/** The subscriber connection; it subscribes again by itself after a reconnect. */
export function openSubscriber(redis: RedisClient): Connection {
  const { known, redactor } = clientOf(redis);
  switch (known.kind) {
    case 'ioredis':
      return openIoRedisSubscriber(known.client, redactor);
    case 'node-redis':
      return openNodeRedisSubscriber(known.client, redactor);
    case 'node-redis-cluster':
      return openNodeRedisClusterSubscriber(known.client, redactor);
  }
}

/** The prefix the client adds to every key (ioredis' `keyPrefix`; channels excepted). */
export function keyPrefixOf(redis: RedisClient): string {
  const { known } = clientOf(redis);
  return known.kind === 'ioredis' ? ioRedisKeyPrefix(known.client) : '';
}

/** Where the client points (host:port, never credentials), for error messages. */
export function whereIs(redis: RedisClient): string {
  return describeClient(clientOf(redis).known);
}

/** `text` with the client's credentials masked (for messages built from what a client said). */
export function redact(redis: RedisClient, text: string): string {
  return clientOf(redis).redactor.text(text);
}

/**
 * Runs one of our scripts on `connection`: `keys` in the order its `--! keys` declare them,
 * `args` by the names its `--! argv` declares, then `rest` (its `...` arguments).
 */
export function runScript(
  connection: Connection,
  name: ScriptName,
  keys: readonly string[],
  args: Readonly<Record<string, Arg>>,
  rest?: readonly Arg[],
): Promise<unknown> {
  // Wrong keys or arguments are a bug, but reject like any failed command: no caller (a request
  // among them) ever sees a synchronous throw.
  const script = SCRIPTS[name];
  if (keys.length !== script.numberOfKeys) {
    return Promise.reject(
      new Error(`${name}: takes ${script.numberOfKeys} keys, not ${keys.length}`),
    );
  }
  let values: Arg[];
  try {
    values = argv(script, args, rest);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return connection.runScript(name, keys, values);
}

/** Closes a connection and resolves once it has ended (or after a second at most). */
export function disconnect(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    // Owners' listeners check that the connection is still theirs, so they need not be removed.
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
