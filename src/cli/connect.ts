/**
 * Connecting the CLI to a fleet's Redis: ioredis is an optional peer, loaded only here; the
 * client is tuned to fail fast (an operator in an incident must not wait on retry loops).
 */
import { RedisAdmin, type MalformedCircuit } from '../redis/index.js';
import type { IoRedisClient } from '../redis/options.js';
import { UsageError, type Io, type OptionSpecs, type Values } from './spec.js';

export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Options every command takes to find the fleet's circuits. */
export const CONNECTION_OPTIONS: OptionSpecs = {
  redis: {
    type: 'string',
    value: 'URL',
    help: `Redis to read (redis:// or rediss://); several, comma-separated, for a Cluster [$REDIS_URL, else ${DEFAULT_URL}]`,
  },
  cluster: { type: 'boolean', help: 'connect to a Redis Cluster (implied by several URLs)' },
  prefix: {
    type: 'string',
    value: 'P',
    help: 'the `prefix` the fleet’s RedisStores use [infuse]',
  },
  timeout: {
    type: 'string',
    value: 'MS',
    help: 'how long to wait for Redis to connect and answer [2000]',
  },
};

/** Thrown when ioredis is not installed. */
export class MissingPeerError extends Error {}

interface IoRedisModule {
  Redis: new (options: object) => IoRedisClient & { disconnect(): void };
  Cluster: new (
    nodes: { host: string; port: number }[],
    options: object,
  ) => IoRedisClient & { disconnect(): void };
}

async function loadIoRedis(): Promise<IoRedisModule> {
  try {
    return await import('ioredis');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerError(
        'infuse-breaker: the CLI needs ioredis, an optional peer dependency: npm install ioredis',
      );
    }
    throw error;
  }
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls: boolean;
}

function parseUrl(text: string, command: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `--redis: ${JSON.stringify(text)} is not a URL (redis://host:port)`,
      command,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(
      `--redis: ${JSON.stringify(text)} must start with redis:// or rediss://`,
      command,
    );
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new UsageError(`--redis: database ${JSON.stringify(db)} must be a number`, command);
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === '' ? {} : { db: Number(db) }),
    tls: url.protocol === 'rediss:',
  };
}

/** A connected admin and how to let go of it. */
export interface Fleet {
  readonly admin: RedisAdmin;
  /** Where it points, for messages: the URL(s) as given. */
  readonly where: string;
  close(): Promise<void>;
}

/**
 * An admin for the Redis the options name. `persistent` (for --watch) lets the connections
 * reconnect after Redis goes away; otherwise a lost connection is not retried.
 */
export async function openFleet(
  values: Values,
  command: string,
  io: Io,
  persistent = false,
): Promise<Fleet> {
  const given = (values.redis as string | undefined) ?? io.env.REDIS_URL ?? DEFAULT_URL;
  const urls = given
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (urls.length === 0) throw new UsageError('--redis: no URL given', command);
  const targets = urls.map((url) => parseUrl(url, command));
  const timeout = parseTimeout(values.timeout as string | undefined, command);
  const prefix = (values.prefix as string | undefined) ?? 'infuse';
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new UsageError(
      `--prefix: ${JSON.stringify(prefix)} must be non-empty, without braces`,
      command,
    );
  }
  const { Redis, Cluster } = await loadIoRedis();
  const retry = persistent ? (times: number) => Math.min(200 * times, 2_000) : () => null;
  const [first] = targets as [Target, ...Target[]];
  const node = {
    connectTimeout: timeout,
    maxRetriesPerRequest: 0,
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(first.password === undefined ? {} : { password: first.password }),
    ...(first.tls ? { tls: {} } : {}),
  };
  // lazyConnect: this client never connects; the admin opens its own connections from it.
  const client =
    values.cluster === true || targets.length > 1
      ? new Cluster(
          targets.map(({ host, port }) => ({ host, port })),
          {
            lazyConnect: true,
            enableOfflineQueue: false,
            clusterRetryStrategy: retry,
            slotsRefreshTimeout: timeout,
            redisOptions: { ...node, retryStrategy: retry },
          },
        )
      : new Redis({
          ...node,
          host: first.host,
          port: first.port,
          db: first.db ?? 0,
          lazyConnect: true,
          enableOfflineQueue: false,
          retryStrategy: retry,
        });
  const admin = new RedisAdmin({
    redis: client,
    prefix,
    commandTimeout: timeout,
    onMalformed: (report: MalformedCircuit) => {
      const what = report.key === null ? report.redisKey : JSON.stringify(report.key);
      io.stderr.write(`infuse-breaker: skipped ${what}: ${report.reason}\n`);
    },
  });
  return {
    admin,
    where: urls.join(','),
    close: async () => {
      await admin.close();
      client.disconnect();
    },
  };
}

function parseTimeout(text: string | undefined, command: string): number {
  if (text === undefined) return 2_000;
  const timeout = Number(text);
  if (!/^\d+$/.test(text) || timeout < 1) {
    throw new UsageError(
      `--timeout: ${JSON.stringify(text)} must be a whole number of milliseconds`,
      command,
    );
  }
  return timeout;
}
