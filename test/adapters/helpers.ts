// Shared by the adapter tests: a real local node:http server for sockets (refused, reset, slow,
// timed out), msw for response shapes, a recorder of what the breaker counted, and small waits.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Infuse, Outcome, Store, Verdict } from '../../src/index.js';
import { changedMemoryStore } from '../helpers/stores.js';

/** A real HTTP server on 127.0.0.1, port 0, that counts the requests it sees. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The circuit key of its requests: `127.0.0.1:<port>`. */
  readonly host: string;
  /** Requests received so far. */
  readonly hits: number;
  /** Headers of every request received, in order. */
  readonly headers: readonly IncomingHttpHeaders[];
  /** Resolves when the server sees its next request. */
  nextRequest(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a server with these routes:
 * - `/ok`: 200 `ok`
 * - `/status/<code>`: that status, body `status <code>`
 * - `/slow/<ms>`: 200 after `ms` milliseconds
 * - `/reset`: destroys the socket without answering
 * - `/hang`: never answers
 * - anything else: 404
 */
export async function startServer(): Promise<TestServer> {
  const headers: IncomingHttpHeaders[] = [];
  let waiters: (() => void)[] = [];
  const server: Server = createServer((request, response) => {
    headers.push(request.headers);
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
    const [, route, arg] = (request.url ?? '/').split('?')[0]!.split('/');
    if (route === 'ok') {
      response.end('ok');
    } else if (route === 'status') {
      response.writeHead(Number(arg)).end(`status ${arg}`);
    } else if (route === 'slow') {
      const timer = setTimeout(() => response.end('slow ok'), Number(arg));
      response.on('close', () => clearTimeout(timer));
    } else if (route === 'reset') {
      request.socket.destroy();
    } else if (route !== 'hang') {
      response.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    get hits() {
      return headers.length;
    },
    headers,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Two servers and a refused origin, started before a suite's tests and closed after them. */
export interface TestServers {
  up: TestServer;
  other: TestServer;
  refused: string;
}

/** Registers `beforeAll`/`afterAll` hooks that start and stop {@link TestServers}. */
export function useServers(): TestServers {
  const servers = {} as TestServers;
  beforeAll(async () => {
    servers.up = await startServer();
    servers.other = await startServer();
    servers.refused = await refusedOrigin();
  });
  afterAll(async () => {
    await servers.up.close();
    await servers.other.close();
  });
  return servers;
}

/** An origin on which nothing listens: connections to it are refused. */
export async function refusedOrigin(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

/**
 * The failures a real server gives, by name, for tests that compare the client's own error with
 * and without the adapter.
 */
export const failingTargets: [string, (servers: TestServers) => string][] = [
  ['a 500 response', ({ up }) => `${up.origin}/status/500`],
  ['a reset connection', ({ up }) => `${up.origin}/reset`],
  ['a refused connection', ({ refused }) => `${refused}/ok`],
];

/** Hosts with fixed msw answers, counted in {@link mswHits}. */
export const SHAPE_HOSTS = ['a.test', 'b.test'] as const;

/** Counts of requests msw answered on {@link SHAPE_HOSTS}, per host; cleared after each test. */
export const mswHits = new Map<string, number>();

const shapeHandlers = SHAPE_HOSTS.flatMap((host) => {
  const base = `http://${host}`;
  const count = (): void => void mswHits.set(host, (mswHits.get(host) ?? 0) + 1);
  return [
    http.all(`${base}/status/:code`, ({ params }) => {
      count();
      return new HttpResponse(`status ${String(params.code)}`, { status: Number(params.code) });
    }),
    http.get(`${base}/json`, () => {
      count();
      return HttpResponse.json({ id: 7, name: 'Ada' });
    }),
    http.get(`${base}/empty`, () => {
      count();
      return new HttpResponse(null, { status: 204 });
    }),
    http.get(`${base}/text`, () => {
      count();
      return HttpResponse.text('plain words');
    }),
    http.get(`${base}/network-error`, () => {
      count();
      return HttpResponse.error();
    }),
  ];
});

/** The origin whose answers a test sets with {@link respondWith}; nothing listens there. */
export const MOCK = 'http://api.test';

/** The msw server: fixed answers on {@link SHAPE_HOSTS}, and what a test adds on {@link MOCK}. */
export const mocks = setupServer(...shapeHandlers);

/**
 * Registers hooks that run {@link mocks} for the suite, forgetting each test's handlers and counts
 * after it. `'bypass'` lets unhandled requests (to the real local servers) through; `'error'`
 * fails them.
 */
export function useMsw(onUnhandledRequest: 'bypass' | 'error'): void {
  beforeAll(() => mocks.listen({ onUnhandledRequest }));
  afterEach(() => {
    mocks.resetHandlers();
    mswHits.clear();
  });
  afterAll(() => mocks.close());
}

/**
 * Answers `<MOCK><path>` with the given statuses in turn (the last one repeats), counting the
 * requests msw saw.
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

/** One thing the breaker reported. */
export interface Recorded {
  readonly verdict: Verdict | 'reject';
  readonly key: string;
  readonly outcome?: Outcome;
}

/** What the breaker reported, in order. */
export interface Recording {
  /** Every outcome and rejection. */
  readonly all: Recorded[];
  /** The verdicts, rejections as `'reject'`; only those of `key` when given. */
  verdicts(key?: string): (Verdict | 'reject')[];
}

/** Records every outcome and rejection an Infuse reports. */
export function record(infuse: Infuse): Recording {
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
 * Sends `GET <MOCK>/503`, `/404` and `/429` through `send`, and checks that only the 503 counted
 * as a failure, whether or not the client threw on them.
 */
export async function expectOnly5xxFails(
  send: (url: string) => Promise<unknown>,
  infuse: Infuse,
  events: Recording,
): Promise<void> {
  respondWith('/503', 503);
  respondWith('/404', 404);
  respondWith('/429', 429);
  for (const path of ['/503', '/404', '/429']) await send(MOCK + path).catch(() => undefined);
  expect(events.all.map((r) => [r.outcome?.status, r.verdict])).toEqual([
    [503, 'failure'],
    [404, 'success'],
    [429, 'success'],
  ]);
  expect(infuse.circuit('api.test').failCounter).toBe(0);
}

/**
 * Sends `GET <MOCK>/501` and `GET <MOCK>/503` through `send`, for a client whose Infuse excludes
 * `(outcome) => outcome.status === 501`, and checks what that predicate saw: the same Outcome
 * whichever client sent it, and whether or not the client threw.
 */
export async function expectStatusPredicate(
  send: (url: string) => Promise<unknown>,
  events: Recording,
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

/**
 * True, after printing why, when this Node is older than a client major needs: its suite is
 * skipped here and runs in the other Node leg.
 */
export function unsupportedNode(client: string, minNode: number): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= minNode) return false;
  console.warn(
    `Skipping the ${client} adapter suite: ${client} needs Node >= ${minNode}, this is ${process.version}`,
  );
  return true;
}

/** Settles with the rejection of `promise` (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a resolution');
}

/**
 * A store that answers every `acquire` on a later turn, as a shared store does while it decides a
 * trial call: the in-memory store underneath, its answers handed over as promises.
 */
export function lateStore(): Store {
  return changedMemoryStore({
    acquire: (circuit) => Promise.resolve().then(() => circuit.acquire()),
  });
}
