/**
 * Connecting the CLI to a fleet's Redis: ioredis is an optional peer, loaded only here; the
 * client is tuned to fail fast (an operator in an incident must not wait on retry loops), and
 * `--timeout` bounds a whole command, connecting and closing included.
 */
import { RedisAdmin, type MalformedCircuit } from '../redis/index.js';
import { operatorActor } from '../redis/history.js';
import type { IoRedisClient } from '../redis/options.js';
import { CliFailure, CommandTimeout, type FailureContext } from './failure.js';
import { printable } from './printable.js';
import { describeTarget, parseRedis, RedisUrlError, type RedisLocation } from './redis-url.js';
import { UsageError, type Io, type OptionSpecs, type Values } from './spec.js';

export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** The default of --timeout: long enough to list and steer a large fleet. */
const DEFAULT_TIMEOUT = 10_000;

/** How long one connection or command may wait for Redis (less when --timeout is shorter). */
const ANSWER_TIMEOUT = 2_000;

/** Options every command takes to find the fleet's circuits. */
export const CONNECTION_OPTIONS: OptionSpecs = {
  redis: {
    type: 'string',
    value: 'URL',
    help: `Redis to read (redis:// or rediss://); several, comma-separated, for a Cluster; redis+sentinel://host:26379,…/NAME through Sentinel [$REDIS_URL, else ${DEFAULT_URL}]`,
  },
  cluster: { type: 'boolean', help: 'connect to a Redis Cluster (implied by several URLs)' },
  sentinel: {
    type: 'string',
    value: 'NAME',
    help: 'the --redis URLs are Sentinels: connect to the master they know as NAME',
  },
  prefix: {
    type: 'string',
    value: 'P',
    help: 'the `prefix` the fleet’s RedisStores use [infuse]',
  },
  timeout: {
    type: 'string',
    value: 'MS',
    help: `give up after this long: the whole command (--watch, dashboard: their start); each answer from Redis waits at most ${ANSWER_TIMEOUT} [${DEFAULT_TIMEOUT}]`,
  },
};

/** Thrown when ioredis is not installed. */
export class MissingPeerError extends CliFailure {}

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
        'the CLI needs ioredis, an optional peer dependency: npm install ioredis',
        1,
      );
    }
    throw error;
  }
}

/** A connected admin and how to let go of it. */
export interface Fleet {
  readonly admin: RedisAdmin;
  /** Where it points, for messages: host:port, a list, or a Sentinel master; never a password. */
  readonly where: string;
  /** Closes every connection and waits until they have ended. */
  close(): Promise<void>;
  /** Drops every connection now, without waiting: after `--timeout`. */
  abandon(): void;
}

/** What a command needs to know before it connects: checked once, before anything is opened. */
export interface FleetSettings {
  readonly location: RedisLocation;
  readonly prefix: string;
  readonly timeout: number;
}

/** Reads the connection options (a UsageError names a bad one); connects to nothing. */
export function fleetSettings(values: Values, command: string, io: Io): FleetSettings {
  const given = (values.redis as string | undefined) ?? io.env.REDIS_URL ?? DEFAULT_URL;
  const sentinel = values.sentinel as string | undefined;
  if (sentinel === '') throw new UsageError('--sentinel: the master group name is empty', command);
  let location: RedisLocation;
  try {
    location = parseRedis(given, { cluster: values.cluster === true, sentinel });
  } catch (error) {
    if (error instanceof RedisUrlError) throw new UsageError(error.message, command);
    throw error;
  }
  const prefix = (values.prefix as string | undefined) ?? 'infuse';
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new UsageError(
      `--prefix: ${JSON.stringify(prefix)} must be non-empty, without braces`,
      command,
    );
  }
  return { location, prefix, timeout: parseTimeout(values.timeout as string | undefined, command) };
}

/** What a failure message needs to know of the command's settings. */
export function failureContext(settings: FleetSettings, steering: boolean): FailureContext {
  return {
    where: describeTarget(settings.location.target),
    user: printable(settings.location.auth.username ?? 'default'),
    prefix: settings.prefix,
    steering,
  };
}

/**
 * An admin for the Redis the settings name. `persistent` (for --watch and the dashboard) lets the
 * connections reconnect after Redis goes away; otherwise a lost connection is not retried.
 */
export async function openFleet(
  settings: FleetSettings,
  io: Io,
  persistent = false,
): Promise<Fleet> {
  const { location, prefix } = settings;
  // Each connection and command fails fast; --timeout bounds the whole command around them.
  const timeout = Math.min(settings.timeout, ANSWER_TIMEOUT);
  const { target, auth, tls } = location;
  const { Redis, Cluster } = await loadIoRedis();
  const retry = persistent ? (times: number) => Math.min(200 * times, 2_000) : () => null;
  const node = {
    connectTimeout: timeout,
    maxRetriesPerRequest: 0,
    ...auth,
    ...(tls ? { tls: {} } : {}),
  };
  // lazyConnect: this client never connects; the admin opens its own connections from it.
  const lazy = { lazyConnect: true, enableOfflineQueue: false };
  let client: IoRedisClient & { disconnect(): void };
  switch (target.kind) {
    case 'cluster':
      client = new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        {
          ...lazy,
          clusterRetryStrategy: retry,
          slotsRefreshTimeout: timeout,
          redisOptions: { ...node, retryStrategy: retry },
        },
      );
      break;
    case 'sentinel':
      client = new Redis({
        ...node,
        ...lazy,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.name,
        db: target.db,
        sentinelRetryStrategy: retry,
        sentinelCommandTimeout: timeout,
        ...(tls ? { enableTLSForSentinelMode: true } : {}),
        retryStrategy: retry,
      });
      break;
    case 'node':
      client = new Redis({
        ...node,
        ...lazy,
        host: target.node.host,
        port: target.node.port,
        db: target.db,
        retryStrategy: retry,
      });
      break;
  }
  const admin = new RedisAdmin({
    redis: client,
    prefix,
    commandTimeout: timeout,
    // The history names who sent each command (the dashboard names its client instead).
    actor: operatorActor('cli'),
    onMalformed: (report: MalformedCircuit) => {
      const what = report.key === null ? report.redisKey : `"${report.key}"`;
      io.stderr.write(`infuse-breaker: skipped ${printable(`${what}: ${report.reason}`)}\n`);
    },
  });
  return {
    admin,
    where: describeTarget(target),
    close: async () => {
      await admin.close();
      client.disconnect();
    },
    abandon: () => {
      void admin.close();
      client.disconnect();
    },
  };
}

/**
 * Runs `work` on a fleet opened for it, and closes it: connecting, the work and closing all
 * within `settings.timeout`. Past it during the work, the connections are dropped and a
 * {@link CommandTimeout} says how long it waited and for whom; past it while closing (the work is
 * done and its output printed), the connections are dropped and the result stands.
 */
export async function withFleet<T>(
  settings: FleetSettings,
  io: Io,
  work: (fleet: Fleet) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + settings.timeout;
  const where = describeTarget(settings.location.target);
  let fleet: Fleet | null = null;
  const close = async (): Promise<void> => {
    const opened = fleet;
    if (opened === null) return;
    await within(Math.max(1, deadline - Date.now()), opened.close(), where).catch(() =>
      opened.abandon(),
    );
  };
  const job = (async () => {
    fleet = await openFleet(settings, io);
    return work(fleet);
  })();
  try {
    return await within(settings.timeout, job, where);
  } catch (error) {
    if (error instanceof CommandTimeout) (fleet as Fleet | null)?.abandon();
    throw error;
  } finally {
    await close();
  }
}

/** `promise`, or a {@link CommandTimeout} after `ms`; a late rejection of `promise` is dropped. */
export function within<T>(ms: number, promise: Promise<T>, where: string): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandTimeout(ms, where)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function parseTimeout(text: string | undefined, command: string): number {
  if (text === undefined) return DEFAULT_TIMEOUT;
  const timeout = Number(text);
  if (!/^\d+$/.test(text) || timeout < 1) {
    throw new UsageError(
      `--timeout: ${JSON.stringify(text)} must be a whole number of milliseconds`,
      command,
    );
  }
  return timeout;
}
