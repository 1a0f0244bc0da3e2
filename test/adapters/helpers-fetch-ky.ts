// Shared by the fetch and ky adapter tests: a real local HTTP server for sockets (refused, reset,
// slow, timed out), msw handlers for response shapes, and a recorder of what the breaker counted.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Infuse, OutcomeEvent, RejectEvent } from '../../src/index.js';

/** A real HTTP server on 127.0.0.1, port 0. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The circuit key its URLs get: `127.0.0.1:<port>`. */
  readonly host: string;
  /** Requests received so far. */
  readonly hits: number;
  /** Headers of every request received, in order. */
  readonly headers: readonly IncomingHttpHeaders[];
  close(): Promise<void>;
}

/**
 * Routes: `/ok` (200 JSON), `/fail` (500), `/status/<code>`, `/slow?ms=N` (200 after N ms),
 * `/reset` (socket destroyed without a response), `/hang` (never answers).
 */
export async function startServer(): Promise<TestServer> {
  const headers: IncomingHttpHeaders[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    headers.push(request.headers);
    const url = new URL(request.url ?? '/', 'http://local');
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (url.pathname === '/ok') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    } else if (url.pathname === '/fail') {
      response.writeHead(500).end('boom');
    } else if (status !== null) {
      response.writeHead(Number(status[1])).end();
    } else if (url.pathname === '/slow') {
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          response.writeHead(200).end('late');
        },
        Number(url.searchParams.get('ms') ?? 1_000),
      );
      timers.add(timer);
    } else if (url.pathname === '/reset') {
      request.socket.destroy();
    } else if (url.pathname !== '/hang') {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    get hits() {
      return headers.length;
    },
    headers,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts a server per test file and closes it after. */
export function useServer(): { readonly current: TestServer } {
  const holder = {} as { current: TestServer };
  beforeAll(async () => {
    holder.current = await startServer();
  });
  afterAll(() => holder.current.close());
  return holder;
}

/** An origin on which nothing listens: connections to it are refused. */
export async function refusedOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Hosts msw answers for; nothing else is intercepted. */
export const SHAPE_HOSTS = ['a.test', 'b.test'] as const;

/** Counts of requests msw answered, per host. */
export const mswHits = new Map<string, number>();

const handlers = SHAPE_HOSTS.flatMap((host) => {
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

/** msw for this test file: unhandled requests (the real local server) pass through. */
export function useMsw(): void {
  const server = setupServer(...handlers);
  beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
  afterEach(() => mswHits.clear());
  afterAll(() => server.close());
}

/** What the breaker counted, in order. */
export interface Recording {
  readonly outcomes: OutcomeEvent[];
  readonly rejects: RejectEvent[];
  verdicts(): string[];
}

export function record(infuse: Infuse): Recording {
  const outcomes: OutcomeEvent[] = [];
  const rejects: RejectEvent[] = [];
  for (const event of ['success', 'failure', 'abort'] as const) {
    infuse.on(event, (e) => outcomes.push(e));
  }
  infuse.on('reject', (e) => rejects.push(e));
  return { outcomes, rejects, verdicts: () => outcomes.map((e) => e.verdict) };
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

/** Waits until `check()` is true, polling; fails after `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
