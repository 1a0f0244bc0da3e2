/**
 * No credential in anything the store, the admin or the dashboard hands out, with every client
 * (ioredis, iovalkey, node-redis): with an ACL user whose password holds URL-special characters, a
 * password that stops working (rotated on the server) makes every client fail AUTH over and over;
 * no store event, error, cause, dashboard response or stream message, or console line may carry
 * it, and nothing rejects unhandled (the run fails on any unhandled rejection). The CLI builds its
 * own ioredis client: test/cli/safety.test.ts.
 */
import { Redis } from 'ioredis';
import { Redis as Valkey } from 'iovalkey';
import { inspect } from 'node:util';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Infuse } from '../../src/index.js';
import { RedisAdmin, RedisStore, type RedisClient } from '../../src/redis/index.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { EventStream, send } from '../dashboard/helpers.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { freshPrefix } from './harness.js';

const USER = 'infuse-app';
const PASSWORD = 'p@ss:w/rd#%41x';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD)];

let server: RedisServer;
let output: string[] = [];
const closing: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server.stop());
afterEach(() => {
  vi.restoreAllMocks();
  output = [];
});

/** Everything an object shows, own properties and causes included. */
function seen(value: unknown): string {
  return inspect(value, { depth: 10, showHidden: true, breakLength: Infinity });
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

function captureConsole(): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      output.push(args.map(seen).join(' '));
    });
  }
  vi.spyOn(process, 'emitWarning').mockImplementation((warning) => {
    output.push(seen(warning));
  });
}

const url = (): string =>
  `redis://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`;

const CLIENTS: [string, () => { redis: RedisClient; close(): void }][] = [
  [
    'ioredis',
    () => {
      const redis = new Redis(url(), { lazyConnect: true });
      return { redis, close: () => redis.disconnect() };
    },
  ],
  [
    'iovalkey',
    () => {
      const redis = new Valkey(url(), { lazyConnect: true });
      return { redis, close: () => redis.disconnect() };
    },
  ],
  ['node-redis', () => ({ redis: createClient({ url: url() }), close: () => undefined })],
];

describe.each(CLIENTS)('%s with a password that stops working', (_, make) => {
  it('never shows the password in a store event, an admin or dashboard error, response or message, or a console line', async () => {
    await server.cli('ACL', 'SETUSER', USER, 'reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
    captureConsole();
    const client = make();
    const { redis } = client;
    const store = new RedisStore({ redis, prefix: freshPrefix(), probeInterval: 50 });
    const infuse = new Infuse({ store });
    const events: unknown[] = [];
    infuse.on('store', (event) => events.push(event));
    try {
      expect(await store.ready()).toBe(true);
      await infuse.circuit('api.example.com').call(() => Promise.resolve('ok'));
      const dashboardAdmin = new RedisAdmin({ redis, prefix: 'x', commandTimeout: 1_000 });
      const dashboard = await startDashboard({ admin: dashboardAdmin, refreshInterval: 200 });
      closing.push(async () => {
        await dashboard.close();
        await dashboardAdmin.close();
      });
      const stream = await EventStream.open(dashboard.url);
      closing.push(() => stream.close());

      // The password is rotated and every connection of the user dropped: each reconnect's AUTH
      // fails (ioredis attaches the failed AUTH command, password included, to its error).
      await server.cli('ACL', 'SETUSER', USER, 'resetpass', '>rotated-elsewhere');
      await server.cli('CLIENT', 'KILL', 'USER', USER);
      await eventually(() => expect(store.degraded).toBe(true), { timeout: 10_000 });
      // Several probes fail AUTH meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await expect(infuse.circuit('api.example.com').forceOpen()).rejects.toThrow();
      const refused = await infuse
        .circuit('api.example.com')
        .forceOpen()
        .catch((error: unknown) => error);

      const admin = new RedisAdmin({ redis, prefix: 'x', commandTimeout: 1_000 });
      const failed = await admin.list().catch((error: unknown) => error);
      await admin.close();

      // The dashboard started before: its page is told Redis cannot be reached, its API says why.
      const status = await stream.next('status', (event) => event.redis === 'unreachable', {
        timeout: 10_000,
      });
      const listed = await send(dashboard.url, 'GET', '/api/circuits');
      expect(listed.status).toBe(503);
      // One started now cannot subscribe, and says so.
      const notStarted = await startDashboard({ admin }).catch((error: unknown) => error);
      expect(notStarted).toBeInstanceOf(Error);
      expectNoSecret(seen(status));
      expectNoSecret(listed.body);
      expectNoSecret(seen(notStarted));
      expectNoSecret(stream.describe());

      expect(events.length).toBeGreaterThan(0);
      expect(failed).toBeInstanceOf(Error);
      expectNoSecret(seen(events));
      expectNoSecret(seen(refused));
      expectNoSecret(seen(failed));
      expectNoSecret(output.join('\n'));
    } finally {
      for (const close of closing.splice(0).reverse()) await close();
      await infuse.shutdown();
      client.close();
    }
  }, 30_000);
});
