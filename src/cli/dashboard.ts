import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { RedisAdmin } from '../redis/admin.js';
import { startDashboard, type CommandRecord } from '../dashboard/server.js';
import { checkToken } from '../dashboard/guard.js';

/** The port the dashboard listens on unless told otherwise. */
export const DEFAULT_PORT = 4747;

const USAGE = `Usage: infuse-breaker dashboard [options]

Serves a live web page of every circuit the fleet shares in Redis, with buttons to
open, close and clear a circuit for every process at once.

Options:
  --redis URL    Redis to read (default: $REDIS_URL, else redis://127.0.0.1:6379)
  --prefix P     key prefix of the services' RedisStore (default: infuse)
  --port N       port to listen on; 0 picks a free one (default: ${DEFAULT_PORT})
  --host H       interface to listen on (default: 127.0.0.1, this machine only)
  --token T      token that steering requires, at least 16 characters (default: a
                 random one, printed in the link); $INFUSE_DASHBOARD_TOKEN also works
                 and keeps it out of the process list
  -h, --help     show this help

Reading is open to whoever can reach the page; opening, closing and clearing need
the token, which the page takes from the printed link's #token= fragment.
`;

/** Where the command writes; the process's streams unless a test passes its own. */
export interface DashboardIo {
  readonly out: Writable;
  readonly err: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the dashboard should stop (Ctrl-C, SIGTERM). */
  readonly stopped: Promise<unknown>;
}

/** A usage mistake: exit code 2 and the message. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `infuse-breaker dashboard`: serves the dashboard until stopped and resolves with the exit code
 * (0 stopped, 1 Redis unreachable or the port unusable, 2 bad arguments).
 */
export async function runDashboard(
  argv: readonly string[],
  io: DashboardIo = processIo(),
): Promise<number> {
  let options: DashboardArgs;
  try {
    options = parse(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof TypeError)) throw error;
    io.err.write(
      `infuse-breaker dashboard: ${error.message}\nSee infuse-breaker dashboard --help.\n`,
    );
    return 2;
  }
  if (options.help) {
    io.out.write(USAGE);
    return 0;
  }
  // The admin opens its own connections from this client and never uses it directly.
  const redis = new Redis(options.redis, { lazyConnect: true });
  const shown = redact(options.redis);
  const admin = new RedisAdmin({ redis, prefix: options.prefix });
  let dashboard;
  try {
    dashboard = await startDashboard({
      admin,
      prefix: options.prefix,
      host: options.host,
      port: options.port,
      ...(options.token === undefined ? {} : { token: options.token }),
      onCommand: (entry) => io.out.write(audit(entry)),
    });
  } catch (error) {
    await admin.close();
    redis.disconnect();
    io.err.write(`infuse-breaker dashboard: ${startProblem(error, options, shown)}\n`);
    return 1;
  }
  io.out.write(
    `infuse-breaker dashboard: prefix "${options.prefix}" on ${shown}\n` +
      (options.token === undefined
        ? `Open ${dashboard.tokenUrl}\n` +
          `The link carries the steering token: whoever has it can open and close circuits fleet-wide.\n`
        : `Open ${dashboard.url}#token=<your token> (or enter the token on the page)\n`) +
      (isLoopback(options.host)
        ? ''
        : `Warning: listening on ${options.host}: anyone on that network can read the fleet's circuits, ` +
          `and the token crosses it unencrypted.\n`) +
      `Press Ctrl-C to stop.\n`,
  );
  await io.stopped;
  await dashboard.close();
  await admin.close();
  redis.disconnect();
  return 0;
}

interface DashboardArgs {
  readonly help: boolean;
  readonly redis: string;
  readonly prefix: string;
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): DashboardArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        redis: { type: 'string' },
        prefix: { type: 'string', default: 'infuse' },
        port: { type: 'string', default: String(DEFAULT_PORT) },
        host: { type: 'string', default: '127.0.0.1' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(message(error));
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) {
    throw new UsageError(`--port must be a port number from 0 to 65535 (got "${values.port}")`);
  }
  if (values.prefix === '' || /[{}]/.test(values.prefix)) {
    throw new UsageError(`--prefix must be non-empty, without { or } (got "${values.prefix}")`);
  }
  const token = values.token ?? (env.INFUSE_DASHBOARD_TOKEN || undefined);
  if (token !== undefined) {
    checkToken(token, values.token === undefined ? 'INFUSE_DASHBOARD_TOKEN' : '--token');
  }
  return {
    help: values.help,
    redis: values.redis ?? (env.REDIS_URL || 'redis://127.0.0.1:6379'),
    prefix: values.prefix,
    port,
    host: values.host,
    token,
  };
}

function startProblem(error: unknown, options: DashboardArgs, redis: string): string {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: unknown };
  const where = `port ${options.port} on ${options.host}`;
  switch (code) {
    case 'EREDISUNAVAILABLE':
      return `cannot reach Redis at ${redis}: ${message(cause ?? error)}`;
    case 'EADDRINUSE':
      return `${where} is already in use: stop what listens there or choose another with --port (0 picks a free one)`;
    case 'EACCES':
      return `not allowed to listen on ${where}: choose a port above 1023 with --port`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `cannot listen on ${options.host}: no such address on this machine (--host)`;
    default:
      return `cannot start: ${message(error)}`;
  }
}

function audit(entry: CommandRecord): string {
  const result =
    entry.error === null
      ? `${entry.before ?? 'unknown'} -> ${entry.after ?? 'unknown'}`
      : `failed: ${entry.error}`;
  return `${new Date().toISOString()} ${entry.command} ${JSON.stringify(entry.key)} from ${entry.from}: ${result}\n`;
}

/** The URL without its password, for printing. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function processIo(): DashboardIo {
  return {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    stopped: new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }),
  };
}
