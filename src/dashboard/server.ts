import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DashboardAdmin, FleetCommand } from './admin.js';
import { LiveFeed, toView } from './feed.js';
import { checkToken, generateToken, RequestGuard, type Refusal } from './guard.js';
import { renderPage } from './page.js';
import { Insight, withIdleCircuits } from './insight.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Reads and steers the fleet. */
  readonly admin: DashboardAdmin;
  /** The key prefix the admin reads, shown on the page. @default 'infuse' */
  readonly prefix?: string;
  /** Interface to listen on. Anything but loopback exposes the fleet's circuits to that network. @default '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Token required to steer circuits (at least 16 characters). @default a fresh random one */
  readonly token?: string;
  /** Milliseconds between full re-reads of the fleet while a page is open. @default 5_000 */
  readonly refreshInterval?: number;
  /** Called after every command a page sent, for an audit trail. */
  readonly onCommand?: (entry: CommandRecord) => void;
}

/** One steering command, as {@link DashboardOptions.onCommand} reports it. */
export interface CommandRecord {
  readonly key: string;
  readonly command: FleetCommand;
  /** The client's address. */
  readonly from: string;
  /** The mode before and after, or the error message when the command failed. */
  readonly before: string | null;
  readonly after: string | null;
  readonly error: string | null;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, without the token. */
  readonly url: string;
  /** The page's address with the token in its fragment: what the operator opens. */
  readonly tokenUrl: string;
  readonly token: string;
  /** Ends every open page's stream, stops listening and unsubscribes (the admin stays open). */
  close(): Promise<void>;
}

/** Commands a page may send. */
const COMMANDS: ReadonlySet<string> = new Set<FleetCommand>([
  'force-open',
  'close',
  'clear-forced',
  'open',
  'half-open',
  'disable',
  'shadow',
  'unshadow',
]);

const MAX_BODY = 16 * 1024;

/** Headers on every response: no caching, no framing, no sniffing, no Referer. */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * Serves the live dashboard: one page, its event stream, a JSON list, and the steering endpoint.
 * Resolves once it listens; rejects with the listen error (`code` EADDRINUSE, EACCES, ...).
 *
 * @example
 * const dashboard = await startDashboard({ admin: new RedisAdmin({ redis }), port: 4747 });
 * console.log(dashboard.tokenUrl);
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined ? generateToken() : checkToken(options.token);
  const refreshInterval = options.refreshInterval ?? 5_000;
  if (!Number.isFinite(refreshInterval) || refreshInterval < 100) {
    throw new TypeError(`refreshInterval must be at least 100 ms (got ${String(refreshInterval)})`);
  }
  // Circuits processes use show even while Redis holds nothing for them (insight.ts).
  const admin = withIdleCircuits(options.admin);
  const feed = new LiveFeed({ admin, refreshInterval });
  const server = createServer();
  await listen(server, host, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  try {
    await feed.start();
  } catch (error) {
    server.close();
    throw error;
  }
  const handler = new Handler({
    admin,
    feed,
    insight: new Insight(admin),
    guard: new RequestGuard(token, host, port),
    prefix: options.prefix ?? 'infuse',
    onCommand: options.onCommand,
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handler.handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: message(error) });
      else response.destroy();
    });
  });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  return {
    url,
    tokenUrl: `${url}#token=${token}`,
    token,
    async close() {
      await feed.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

interface HandlerParts {
  readonly admin: DashboardAdmin;
  readonly feed: LiveFeed;
  readonly insight: Insight;
  readonly guard: RequestGuard;
  readonly prefix: string;
  readonly onCommand: ((entry: CommandRecord) => void) | undefined;
}

class Handler {
  readonly #parts: HandlerParts;

  constructor(parts: HandlerParts) {
    this.#parts = parts;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refused = this.#parts.guard.checkHost(request);
    if (refused !== null) return refuse(response, refused);
    const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
    const method = request.method ?? 'GET';
    const route = ROUTES[path];
    if (route === undefined) return json(response, 404, { error: `no such page: ${path}` });
    if (route !== method && !(route === 'GET' && method === 'HEAD')) {
      response.setHeader('Allow', route);
      return json(response, 405, { error: `${path} answers ${route} only` });
    }
    switch (path) {
      case '/':
        return this.#page(response);
      case '/favicon.ico':
        response.writeHead(204, COMMON_HEADERS).end();
        return;
      case '/api/circuits':
        try {
          const circuits = await this.#parts.admin.list();
          return json(response, 200, { now: Date.now(), circuits: circuits.map(toView) });
        } catch (error) {
          return json(response, statusOf(error), { error: message(error) });
        }
      case '/api/events':
        this.#parts.feed.attach(response);
        return;
      case '/api/insight':
        try {
          return json(response, 200, await this.#parts.insight.read());
        } catch (error) {
          return json(response, statusOf(error), { error: message(error) });
        }
      default:
        return this.#command(request, response);
    }
  }

  #page(response: ServerResponse): void {
    const nonce = randomBytes(16).toString('base64');
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy':
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
        `connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; ` +
        `frame-ancestors 'none'`,
    });
    response.end(renderPage({ nonce, prefix: this.#parts.prefix }));
  }

  async #command(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refused = this.#parts.guard.checkSteering(request);
    if (refused !== null) {
      if (refused.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
      return refuse(response, refused);
    }
    const body = await readBody(request);
    if (typeof body === 'object' && 'status' in body) return refuse(response, body);
    const { key, command } = body;
    const from = request.socket.remoteAddress ?? '?';
    try {
      const { before, after } = await this.#parts.admin.command(key, command, {
        actor: `dashboard ${from}`,
      });
      this.#parts.feed.refreshOne(key);
      const views = { before: before === null ? null : toView(before), after: toView(after) };
      this.#parts.onCommand?.({
        key,
        command,
        from,
        before: views.before?.mode ?? null,
        after: views.after.mode,
        error: null,
      });
      return json(response, 200, { key, command, ...views });
    } catch (error) {
      this.#parts.onCommand?.({
        key,
        command,
        from,
        before: null,
        after: null,
        error: message(error),
      });
      return json(response, statusOf(error), { error: message(error) });
    }
  }
}

/** Each path and the one method it answers. */
const ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  '/': 'GET',
  '/favicon.ico': 'GET',
  '/api/circuits': 'GET',
  '/api/events': 'GET',
  '/api/insight': 'GET',
  '/api/command': 'POST',
};

async function readBody(
  request: IncomingMessage,
): Promise<{ key: string; command: FleetCommand } | Refusal> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return { status: 413, message: `a command is at most ${MAX_BODY} bytes` };
    chunks.push(chunk);
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { status: 400, message: 'the body is not JSON' };
  }
  const { key, command } = (typeof data === 'object' && data !== null ? data : {}) as Record<
    string,
    unknown
  >;
  if (typeof key !== 'string' || key === '') {
    return { status: 400, message: 'key must be a non-empty string' };
  }
  if (typeof command !== 'string' || !COMMANDS.has(command)) {
    return {
      status: 400,
      message: `command must be one of ${[...COMMANDS].join(', ')} (got ${JSON.stringify(command)})`,
    };
  }
  return { key, command: command as FleetCommand };
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  json(response, refusal.status, { error: refusal.message });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
  });
  response.end(JSON.stringify(body));
}

/** 404 for a circuit Redis does not hold, 503 when Redis does not answer, 500 for a bug. */
function statusOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECIRCUITUNKNOWN') return 404;
  if (code === 'EREDISUNAVAILABLE') return 503;
  return 500;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
