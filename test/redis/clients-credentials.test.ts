/**
 * No credential in anything the store or the admin hands out: with an ACL user whose password
 * holds URL-special characters, a password that stops working (rotated on the server) makes every
 * client fail AUTH over and over; no store event, error, cause or console line may carry it.
 */
import { Redis } from 'ioredis';
import { inspect } from 'node:util';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Infuse } from '../../src/index.js';
import { RedisAdmin, RedisStore, type RedisClient } from '../../src/redis/index.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { freshPrefix } from './harness.js';

const USER = 'infuse-app';
const PASSWORD = 'p@ss:w/rd#%41x';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD)];

let server: RedisServer;
let output: string[] = [];

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
  ['node-redis', () => ({ redis: createClient({ url: url() }), close: () => undefined })],
];

describe.each(CLIENTS)('%s with a password that stops working', (_, make) => {
  it('never shows the password in a store event, error or console line', async () => {
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

      expect(events.length).toBeGreaterThan(0);
      expect(failed).toBeInstanceOf(Error);
      expectNoSecret(seen(events));
      expectNoSecret(seen(refused));
      expectNoSecret(seen(failed));
      expectNoSecret(output.join('\n'));
    } finally {
      await infuse.shutdown();
      client.close();
    }
  }, 30_000);
});
