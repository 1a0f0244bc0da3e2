// Test helpers for the axios and got adapters: a real node:http upstream for sockets (refused,
// reset, slow, timed out), an msw server for response shapes, and a recorder of breaker events.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
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

/** Two upstreams and a refused origin, started before the suite's tests and closed after them. */
export interface Upstreams {
  up: Upstream;
  other: Upstream;
  refused: string;
}

/** Registers `beforeAll`/`afterAll` hooks that start and stop {@link Upstreams}. */
export function useUpstreams(): Upstreams {
  const hosts = {} as Upstreams;
  beforeAll(async () => {
    hosts.up = await startUpstream();
    hosts.other = await startUpstream();
    hosts.refused = await refusedOrigin();
  });
  afterAll(async () => {
    await hosts.up.close();
    await hosts.other.close();
  });
  return hosts;
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

/** An msw server, listening while a suite that called {@link useMocks} runs. */
export const mocks = setupServer();

/** Registers hooks that run {@link mocks} for the suite, forgetting each test's handlers after it. */
export function useMocks(): void {
  beforeAll(() => mocks.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => mocks.resetHandlers());
  afterAll(() => mocks.close());
}

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

/**
 * Sends `GET <MOCK>/501` and `GET <MOCK>/503` through `send`, for a client whose Infuse excludes
 * `(outcome) => outcome.status === 501`, and checks what that predicate saw: the same Outcome
 * whichever client sent it, and whether or not the client threw.
 */
export async function expectStatusPredicate(
  send: (url: string) => Promise<unknown>,
  events: ReturnType<typeof record>,
): Promise<void> {
  respondWith('/501', 501);
  respondWith('/503', 503);
  await send(`${MOCK}/501`).catch(() => undefined);
  await send(`${MOCK}/503`).catch(() => undefined);
  expect(events.verdicts()).toEqual(['excluded', 'failure']);
  expect(events.all[0]!.outcome).toEqual({
    key: 'api.test',
    status: 501,
    method: 'GET',
    url: 'http://api.test/501',
    duration: expect.any(Number),
  });
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
