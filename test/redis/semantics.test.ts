/**
 * What sharing means, with two RedisStores (own connections each: two processes as far as Redis
 * can tell) on one real redis-server.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StateChangeEvent,
} from '../../src/index.js';
import { RedisStore, type RedisStoreOptions } from '../../src/redis/index.js';
import { sleep, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { failTimes } from '../helpers/calls.js';
import { Opened, StoreFactory } from './harness.js';

let server: RedisServer;
let factory: StoreFactory;
const opened = new Opened();

beforeAll(async () => {
  server = await startRedis();
  factory = new StoreFactory(server, { waitTimeout: 2_000, commandTimeout: 2_000 });
});

afterEach(async () => {
  await opened.close(factory);
  vi.restoreAllMocks();
});

afterAll(() => server.stop());

/** Two processes of one fleet: each its own store and Infuse, on the same prefix. */
async function fleetOf(
  count: number,
  options: InfuseOptions = {},
  storeOptions: Partial<RedisStoreOptions> = {},
): Promise<Infuse[]> {
  const first = await factory.create(undefined, storeOptions);
  const stores = [first];
  for (let i = 1; i < count; i++) stores.push(await factory.share(first, storeOptions));
  opened.stores.push(...stores);
  const fleet = stores.map(
    (store) => new Infuse({ resetTimeout: 300, quorum: 1, ...options, store }),
  );
  opened.infuse.push(...fleet);
  return fleet;
}

const ok = () => Promise.resolve('ok');

async function succeed(infuse: Infuse, key: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await infuse.circuit(key).call(ok);
}

describe('what "consecutive" means across processes', () => {
  it("another process's successes do not reset a process's streak", async () => {
    const [a, b] = await fleetOf(2, { failMax: 3 });
    await failTimes(a!, 'svc', 2);
    await succeed(b!, 'svc', 10);
    expect(a!.circuit('svc').failCounter).toBe(2);
    await failTimes(a!, 'svc', 1);
    expect(a!.circuit('svc').state).toBe('open');
    await expect.poll(() => b!.circuit('svc').state, { timeout: 2_000 }).toBe('open');
  });

  it('failures of different processes are not pooled into one streak', async () => {
    const [a, b] = await fleetOf(2, { failMax: 3 });
    await failTimes(a!, 'svc', 2);
    await failTimes(b!, 'svc', 2);
    expect(a!.circuit('svc').state).toBe('closed');
    expect(b!.circuit('svc').state).toBe('closed');
    await failTimes(b!, 'svc', 1);
    expect(b!.circuit('svc').state).toBe('open');
  });

  it('batching changes nothing: flushed or not, successes elsewhere do not delay a trip', async () => {
    const [a, b] = await fleetOf(
      2,
      { failMax: 3, failureRate: { threshold: 0.99, minimumCalls: 1_000, window: 60_000 } },
      { flushInterval: 20 },
    );
    await failTimes(a!, 'svc', 2);
    await succeed(b!, 'svc', 20);
    await sleep(100); // b's successes are in Redis now
    await failTimes(a!, 'svc', 1);
    expect(a!.circuit('svc').state).toBe('open');
  });
});

describe('the failure rate is the fleet’s', () => {
  it('counts every process’s calls, successes in batches and failures at once', async () => {
    const changes: StateChangeEvent[] = [];
    const [a, b] = await fleetOf(
      2,
      { failMax: 100, failureRate: { threshold: 0.5, minimumCalls: 10, window: 60_000 } },
      { flushInterval: 20 },
    );
    a!.on('stateChange', (event) => changes.push(event));
    await succeed(a!, 'svc', 5);
    await sleep(100);
    await failTimes(b!, 'svc', 4);
    // Neither process alone has minimumCalls; together they have 9 calls, 4 failed.
    expect(b!.circuit('svc').state).toBe('closed');
    expect(b!.circuit('svc').snapshot().window).toEqual({ calls: 9, failures: 4 });
    await failTimes(a!, 'svc', 1);
    expect(a!.circuit('svc').state).toBe('open');
    expect(changes).toMatchObject([{ from: 'closed', to: 'open', reason: 'failureRate' }]);
  });
});

describe('generations', () => {
  it("a success that began before another process's trip does not close the circuit", async () => {
    const [a, b] = await fleetOf(2, { failMax: 1, resetTimeout: 60_000 });
    let finish!: (value: string) => void;
    const slow = a!.circuit('svc').call(() => new Promise<string>((r) => (finish = r)));
    await expect.poll(() => typeof finish).toBe('function');
    await failTimes(b!, 'svc', 1);
    await expect.poll(() => a!.circuit('svc').state).toBe('open');
    finish('late');
    await expect(slow).resolves.toBe('late');
    expect(a!.circuit('svc').state).toBe('open');
    await expect(b!.circuit('svc').call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
  });

  it('a trial of an older generation does not close a circuit opened by hand meanwhile', async () => {
    const [a, b] = await fleetOf(2, { failMax: 1, resetTimeout: 200 });
    await failTimes(a!, 'svc', 1);
    await sleep(250);
    let finish!: (value: string) => void;
    const trial = a!.circuit('svc').call(() => new Promise<string>((r) => (finish = r)));
    await expect.poll(() => typeof finish).toBe('function');
    await b!.circuit('svc').open();
    finish('late');
    await trial;
    expect(a!.circuit('svc').state).toBe('open');
    expect(b!.circuit('svc').state).toBe('open');
  });

  it('after a failed trial, a process that read the old half-open state cannot start another', async () => {
    const [a, b] = await fleetOf(2, { failMax: 1, resetTimeout: 300, halfOpenMaxCalls: 1 });
    await failTimes(a!, 'svc', 1);
    await expect.poll(() => b!.circuit('svc').state).toBe('open');
    for (let round = 0; round < 5; round++) {
      await sleep(320);
      let fail!: (error: Error) => void;
      const trial = a!.circuit('svc').call(() => new Promise((_, r) => (fail = r)));
      await expect.poll(() => typeof fail).toBe('function');
      await expect.poll(() => b!.circuit('svc').state).toBe('half-open');
      fail(new Error('trial failed'));
      await trial.catch(() => undefined);
      // b may not have heard of the failure yet; it must be refused all the same.
      let called = false;
      const second = b!.circuit('svc').call(() => {
        called = true;
        return Promise.resolve();
      });
      await expect(second).rejects.toBeInstanceOf(CircuitBreakerError);
      expect(called).toBe(false);
    }
  });
});

describe('the first meeting of a key', () => {
  it('concurrent first calls share one read', async () => {
    const [infuse] = await fleetOf(1);
    await succeed(infuse!, 'warm-up', 1); // the script is in Redis's cache from here on
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      await admin.config('RESETSTAT');
      const calls = Array.from({ length: 20 }, () => infuse!.circuit('first').call(ok));
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, () => 'ok'));
      const stats = await admin.info('commandstats');
      expect(stats).toMatch(/cmdstat_evalsha:calls=1,/);
      expect(stats).not.toMatch(/cmdstat_eval:/);
    } finally {
      admin.disconnect();
    }
  });

  it('a process that starts while a circuit is open rejects its very first call to it', async () => {
    const [a] = await fleetOf(1, { failMax: 1, resetTimeout: 60_000 });
    await failTimes(a!, 'down.example', 1);
    const store = a!.store;
    for (const preload of [0, 1_000]) {
      const late = await factory.share(store, { preload });
      opened.stores.push(late);
      const infuse = new Infuse({ store: late });
      opened.infuse.push(infuse);
      let called = false;
      const first = infuse.circuit('down.example').call(() => {
        called = true;
        return Promise.resolve();
      });
      await expect(first).rejects.toMatchObject({ state: 'open' });
      expect(called).toBe(false);
    }
  });

  it('a process that starts never resets the fleet: initialState fills only what is absent', async () => {
    const [a] = await fleetOf(1, { failMax: 1, resetTimeout: 60_000 });
    await failTimes(a!, 'svc', 1);
    const joined = await factory.share(a!.store, { preload: 0 });
    opened.stores.push(joined);
    const b = new Infuse({ store: joined, initialState: 'closed' });
    opened.infuse.push(b);
    await expect(b.circuit('svc').call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
    await expect(b.circuit('fresh').call(ok)).resolves.toBe('ok');
  });
});

describe('announcements', () => {
  it('publishes each transition once, and every process hears it once', async () => {
    const [a, b] = await fleetOf(2, { failMax: 1, resetTimeout: 200 });
    const prefix = factory.prefixOf(a!.store);
    const listener = new Redis(server.port, '127.0.0.1');
    const messages: { g: number; st: string }[] = [];
    listener.on('message', (_channel: string, message: string) =>
      messages.push(JSON.parse(message)),
    );
    await listener.subscribe(`${prefix}:transitions`);
    await succeed(b!, 'svc', 1); // b knows the circuit (a process ignores news of keys it never met)
    const heard: string[] = [];
    b!.on('stateChange', ({ from, to, reason }) => heard.push(`${from}>${to}:${reason}`));
    try {
      await failTimes(a!, 'svc', 1);
      await sleep(250);
      await succeed(a!, 'svc', 1);
      await expect.poll(() => heard.at(-1)).toMatch(/>closed:remote$/);
      await sleep(100);
      expect(messages.map((m) => [m.g, m.st])).toEqual([
        [1, 'open'],
        [2, 'half-open'],
        [3, 'closed'],
      ]);
      // A message makes b read the circuit again: it sees the state Redis holds when it reads,
      // so a half-open attempt that closed within a round trip may reach it as open>closed.
      expect([
        ['closed>open:remote', 'open>half-open:remote', 'half-open>closed:remote'],
        ['closed>open:remote', 'open>closed:remote'],
      ]).toContainEqual(heard);
    } finally {
      listener.disconnect();
    }
  });
});

describe('time', () => {
  it('comes from Redis: a process with a wrong clock keeps to the fleet’s deadline', async () => {
    const [a] = await fleetOf(1, { failMax: 1, resetTimeout: 60_000 });
    const real = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(real + 3_600_000);
    await failTimes(a!, 'svc', 1);
    const snapshot = a!.circuit('svc').snapshot();
    expect(snapshot.state).toBe('open');
    expect(Math.abs(snapshot.changedAt - real)).toBeLessThan(10_000);
    expect(snapshot.retryAfter).toBeGreaterThan(50_000);
    expect(snapshot.retryAfter).toBeLessThanOrEqual(60_000);
  });
});

describe('trial leases', () => {
  it('a trial that outlasts its lease keeps it while its holder lives: no second trial', async () => {
    const [a, b] = await fleetOf(2, { failMax: 1, resetTimeout: 100 }, { trialLease: 300 });
    await b!.circuit('svc').call(ok);
    await failTimes(a!, 'svc', 1);
    await sleep(150);
    let finish!: (value: string) => void;
    const trial = a!.circuit('svc').call(() => new Promise<string>((r) => (finish = r)));
    await expect.poll(() => typeof finish).toBe('function');
    let others = 0;
    const deadline = Date.now() + 1_000; // more than three leases long
    while (Date.now() < deadline) {
      await b!
        .circuit('svc')
        .call(() => {
          others++;
          return Promise.resolve();
        })
        .catch(() => undefined);
      await sleep(20);
    }
    expect(others).toBe(0);
    finish('ok');
    await trial;
    await expect.poll(() => b!.circuit('svc').state).toBe('closed');
  });
});

describe('ioredis keyPrefix', () => {
  it('is honoured for keys and channel: fleets with different key prefixes do not mix', async () => {
    const clients: Redis[] = [];
    const make = async (keyPrefix: string) => {
      const redis = new Redis({ port: server.port, host: '127.0.0.1', keyPrefix });
      clients.push(redis);
      const store = new RedisStore({ redis, prefix: 'shared-prefix' });
      expect(await store.ready()).toBe(true);
      const infuse = new Infuse({ store, failMax: 1, resetTimeout: 60_000, quorum: 1 });
      opened.infuse.push(infuse);
      return infuse;
    };
    try {
      const [a1, a2, b] = [await make('app1:'), await make('app1:'), await make('app2:')];
      for (const infuse of [a1, a2, b]) await succeed(infuse, 'svc', 1);
      await failTimes(a1, 'svc', 1);
      await expect.poll(() => a2.circuit('svc').state).toBe('open');
      await sleep(100);
      expect(b.circuit('svc').state).toBe('closed');
      await expect(b.circuit('svc').call(ok)).resolves.toBe('ok');
      const admin = new Redis(server.port, '127.0.0.1');
      const keys = await admin.keys('*shared-prefix*');
      admin.disconnect();
      expect(keys.length).toBeGreaterThan(0);
      // Every key carries its client's keyPrefix; app2's process has only its heartbeat there,
      // no circuit state: it never saw app1's trip.
      expect(keys.every((key) => /^app[12]:shared-prefix:/.test(key))).toBe(true);
      const app2 = keys.filter((key) => key.startsWith('app2:'));
      expect(app2.every((key) => key.startsWith('app2:shared-prefix:{procs}:'))).toBe(true);
      expect(keys.some((key) => /^app1:shared-prefix:\{[0-9a-f]{16}\}:state$/.test(key))).toBe(
        true,
      );
    } finally {
      for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
      for (const client of clients) client.disconnect();
    }
  });
});
