/** `infuse-breaker dashboard`: a live web page of the fleet's circuits, with steering buttons. */
import { RedisAdminError } from '../redis/index.js';
import { startDashboard, type CommandRecord, type Dashboard } from '../dashboard/server.js';
import { checkToken } from '../dashboard/guard.js';
import {
  CONNECTION_OPTIONS,
  failureContext,
  fleetSettings,
  openFleet,
  type Fleet,
  type FleetSettings,
} from './connect.js';
import { refusal, scrubUrls } from './failure.js';
import { printable } from './printable.js';
import { UsageError, type CommandSpec, type Io, type Values } from './spec.js';

/** The port the dashboard listens on unless told otherwise. */
export const DEFAULT_PORT = 4747;

/** Where the token may come from without showing in the process list. */
const TOKEN_VARIABLE = 'INFUSE_DASHBOARD_TOKEN';

export const dashboard: CommandSpec = {
  name: 'dashboard',
  summary: 'serve a live web page of every circuit, with buttons to steer them',
  args: '',
  positionals: 0,
  description: [
    'Serves a web page that shows every circuit the fleet shares in Redis (state, failure rate, time to retry, last change), updated live as circuits change in any process, with buttons to open (force open), close, disable, clear and shadow (or unshadow) a circuit for the whole fleet, each asking for confirmation. The tabs of one browser share one live stream (on loopback, where browsers allow it), so any number of tabs stay live.',
    `Reading is open to whoever can reach the page; steering needs a token. By default a random one is made at start and printed inside the link, after #token= (a URL's fragment never reaches a server or its logs). To choose it, set $${TOKEN_VARIABLE} (--token shows in the process list). The page listens on 127.0.0.1 only unless --host says otherwise; it serves plain HTTP.`,
    'Runs until Ctrl-C. Every command sent from the page is logged on stdout. Exit status 0 when stopped, 1 when the port cannot be used or Redis cannot be reached at start, 2 for a bad command line.',
  ],
  options: {
    ...CONNECTION_OPTIONS,
    port: {
      type: 'string',
      value: 'N',
      help: `port to listen on; 0 picks a free one [${DEFAULT_PORT}]`,
    },
    host: {
      type: 'string',
      value: 'H',
      help: 'interface to listen on; anything but loopback exposes the page to that network [127.0.0.1]',
    },
    token: {
      type: 'string',
      value: 'T',
      help: `token that steering requires, 16+ characters [$${TOKEN_VARIABLE}, else a random one]`,
    },
  },
  examples: [
    'infuse-breaker dashboard --redis redis://10.0.0.5:6379 --prefix checkout',
    `${TOKEN_VARIABLE}=$(cat ~/.dashboard-token) infuse-breaker dashboard --port 8080`,
  ],
  run: (values, _positionals, io) => serve(values, io),
};

async function serve(values: Values, io: Io): Promise<number> {
  const port = parsePort(values.port as string | undefined);
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const given = (values.token as string | undefined) ?? (io.env[TOKEN_VARIABLE] || undefined);
  if (given !== undefined) {
    const source = values.token === undefined ? `$${TOKEN_VARIABLE}` : '--token';
    try {
      checkToken(given, source);
    } catch (error) {
      throw new UsageError((error as Error).message, 'dashboard');
    }
  }
  const settings = fleetSettings(values, 'dashboard', io);
  // Persistent: while the page is open, the connections come back by themselves after an outage.
  const fleet = await openFleet(settings, io, true);
  let running: Dashboard;
  try {
    running = await startDashboard({
      admin: fleet.admin,
      prefix: fleet.admin.prefix,
      host,
      port,
      ...(given === undefined ? {} : { token: given }),
      onCommand: (entry) => io.stdout.write(audit(entry)),
    });
  } catch (error) {
    await fleet.close();
    io.stderr.write(
      `infuse-breaker: dashboard: ${startProblem(error, fleet, settings, host, port)}\n`,
    );
    return 1;
  }
  const stopped = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stdout.write(banner(running, fleet, host, given !== undefined));
  await stopped;
  await running.close();
  await fleet.close();
  return 0;
}

function banner(running: Dashboard, fleet: Fleet, host: string, chosen: boolean): string {
  const lines = [
    `infuse-breaker dashboard: prefix "${printable(fleet.admin.prefix)}" on ${fleet.where}`,
  ];
  if (chosen) lines.push(`Open ${running.url}#token=<your token> (or enter the token on the page)`);
  else {
    lines.push(
      `Open ${running.tokenUrl}`,
      'The link carries the steering token: whoever has it can open and close circuits fleet-wide.',
    );
  }
  if (!isLoopback(host)) {
    lines.push(
      `Warning: listening on ${host}: anyone on that network can read the circuits, and the token crosses it unencrypted (plain HTTP).`,
    );
  }
  lines.push('Press Ctrl-C to stop.', '');
  return lines.join('\n');
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new UsageError(
      `--port: ${JSON.stringify(text)} must be a port number from 0 to 65535`,
      'dashboard',
    );
  }
  return port;
}

function startProblem(
  error: unknown,
  fleet: Fleet,
  settings: FleetSettings,
  host: string,
  port: number,
): string {
  const refused = refusal(error, failureContext(settings, false));
  if (refused !== null) return refused;
  if (error instanceof RedisAdminError) {
    const cause = error.cause instanceof Error ? error.cause.message : error.message;
    return `cannot reach Redis at ${fleet.where}: ${scrubUrls(cause)}`;
  }
  const where = `port ${port} on ${host}`;
  switch ((error as { code?: unknown } | null)?.code) {
    case 'EADDRINUSE':
      return `${where} is already in use: stop what listens there or choose another with --port (0 picks a free one)`;
    case 'EACCES':
      return `not allowed to listen on ${where}: choose a port above 1023 with --port`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `cannot listen on ${host}: no such address on this machine (--host)`;
    default:
      return `cannot start: ${scrubUrls(error instanceof Error ? error.message : String(error))}`;
  }
}

/** One line per command sent from the page: when, what, from where, and what it changed. */
function audit(entry: CommandRecord): string {
  const result =
    entry.error === null
      ? `${entry.before ?? '(none)'} → ${entry.after ?? '(none)'}`
      : `failed: ${entry.error.replace(/^RedisAdmin: /, '')}`;
  return (
    printable(
      `${new Date().toISOString()} ${entry.command} "${entry.key}" from ${entry.from}: ${result}`,
    ) + '\n'
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
