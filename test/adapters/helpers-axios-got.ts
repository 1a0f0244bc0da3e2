// Test helpers for the axios and got adapters: a real node:http upstream for sockets (refused,
// reset, slow, timed out), an msw server for response shapes, and a recorder of breaker events.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import type { Infuse, Outcome, Verdict } from '../../src/index.js';

/** A real local HTTP server on port 0 that counts the requests it sees. */
export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The circuit key of its requests: `127.0.0.1:<port>`. */
  readonly host: string;
  /** Paths of the requests seen so far, in order. */
  readonly seen: string[];
  /** Resolves when the server sees its next request. */
  nextRequest(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an upstream with these routes:
 * - `/ok` (and anything unknown): 200 `ok`
 * - `/status/<code>`: that status
 * - `/slow/<ms>`: 200 after `ms` milliseconds
 * - `/reset`: destroys the socket without answering
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: string[] = [];
  let waiters: (() => void)[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    seen.push(path);
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
    const [, route, arg] = path.split('/');
    if (route === 'status') {
      res.writeHead(Number(arg)).end(`status ${arg}`);
    } else if (route === 'slow') {
      const timer = setTimeout(() => res.end('slow ok'), Number(arg));
      res.on('close', () => clearTimeout(timer));
    } else if (route === 'reset') {
      req.socket.destroy();
    } else {
      res.end('ok');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An origin nobody listens on: connections to it are refused. */
export async function refusedOrigin(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

/** The msw origin the response-shape tests use; nothing listens there, msw answers. */
export const MOCK = 'http://api.test';

/** An msw server; each suite starts it in `beforeAll` and stops it in `afterAll`. */
export const mocks = setupServer();

/**
 * Answers `GET|POST <MOCK><path>` with the given statuses in turn (the last one repeats), counting
 * the requests msw saw.
 */
export function respondWith(path: string, ...statuses: number[]): { readonly calls: () => number } {
  let calls = 0;
  mocks.use(
    http.all(`${MOCK}${path}`, () => {
      const status = statuses[Math.min(calls, statuses.length - 1)]!;
      calls++;
      return HttpResponse.json({ status }, { status });
    }),
  );
  return { calls: () => calls };
}

/** Answers `<MOCK><path>` with a network error (what msw calls `HttpResponse.error()`). */
export function networkError(path: string): { readonly calls: () => number } {
  let calls = 0;
  mocks.use(
    http.all(`${MOCK}${path}`, () => {
      calls++;
      return HttpResponse.error();
    }),
  );
  return { calls: () => calls };
}

/** What the breaker reported, in order. */
export interface Recorded {
  readonly verdict: Verdict | 'reject';
  readonly key: string;
  readonly outcome?: Outcome;
}

/** Records every outcome and rejection an Infuse reports. */
export function record(infuse: Infuse): {
  readonly all: Recorded[];
  verdicts(key?: string): (Verdict | 'reject')[];
} {
  const all: Recorded[] = [];
  for (const event of ['success', 'failure', 'abort'] as const) {
    infuse.on(event, ({ key, outcome, verdict }) => all.push({ verdict, key, outcome }));
  }
  infuse.on('reject', ({ key }) => all.push({ verdict: 'reject', key }));
  return {
    all,
    verdicts: (key) => all.filter((r) => key === undefined || r.key === key).map((r) => r.verdict),
  };
}

/** Waits for a promise to reject and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Waits until `check` holds, polling; for outcomes that settle a tick after the caller sees them. */
export async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
