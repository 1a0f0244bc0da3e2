/**
 * Redis going away and coming back, connections, and lost messages, on a redis-server these
 * tests kill and restart.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StoreEvent,
} from '../../src/index.js';
import { RedisStore, RedisStoreError, type RedisStoreOptions } from '../../src/redis/index.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { Opened, StoreFactory } from './harness.js';

let server: RedisServer;
let factory: StoreFactory;
const opened = new Opened();

beforeAll(async () => {
  server = await startRedis();
  factory = new StoreFactory(server, { probeInterval: 50 });
});

afterEach(async () => {
  await opened.close(factory);
  await server.kill();
  await server.start();
});

afterAll(() => server.stop());

interface Process {
  readonly infuse: Infuse;
  readonly store: RedisStore;
  readonly events: StoreEvent[];
}

async function processes(
  count: number,
  options: InfuseOptions = {},
  storeOptions: Partial<RedisStoreOptions> = {},
): Promise<Process[]> {
  const first = await factory.create(undefined, storeOptions);
  const stores = [first];
  for (let i = 1; i < count; i++) stores.push(await factory.share(first, storeOptions));
  opened.stores.push(...stores);
  return stores.map((store) => {
    const events: StoreEvent[] = [];
    const infuse = new Infuse({ failMax: 2, resetTimeout: 60_000, quorum: 1, ...options, store });
    infuse.on('store', (event) => events.push(event));
    opened.infuse.push(infuse);
    return { infuse, store, events };
  });
}

const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');

describe('while Redis is down', () => {
  it('calls run on per-process state with the same policy; manual changes reject loudly', async () => {
    const [{ infuse, store, events }] = (await processes(1)) as [Process];
    const circuit = infuse.circuit('svc');
    await circuit.call(ok);
    await server.kill();
    await expect.poll(() => store.degraded).toBe(true);
    expect(events).toMatchObject([{ type: 'degraded' }]);

    await expect(circuit.call(ok)).resolves.toBe('ok');
    for (const command of [
      'open',
      'close',
      'halfOpen',
      'forceOpen',
      'disable',
      'clearForced',
    ] as const) {
      const error = await circuit[command]().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisStoreError);
      expect(error).toMatchObject({
        name: 'RedisStoreError',
        code: 'EREDISUNAVAILABLE',
        key: 'svc',
      });
      expect((error as Error).message).toMatch(
        /Redis cannot be reached \(.*\); nothing was changed/,
      );
    }
    expect(circuit.state).toBe('closed');
    expect(circuit.forced).toBeNull();
    // The same policy, per process: failMax failures open the circuit here.
    await circuit.call(fail).catch(() => undefined);
    await circuit.call(fail).catch(() => undefined);
    expect(circuit.state).toBe('open');
    await expect(circuit.call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);

    await server.start();
    await expect
      .poll(() => events.map((e) => e.type), { timeout: 10_000 })
      .toEqual(['degraded', 'recovered']);
    // Back on the fleet's state, where nothing tripped; manual changes work again.
    expect(circuit.state).toBe('closed');
    await circuit.forceOpen();
    expect(circuit.forced).toBe('forced-open');
  });

  it('an open circuit that Redis lost in a restart is written back by a process that knew it', async () => {
    const [{ infuse, events }] = (await processes(1, { failMax: 1 })) as [Process];
    await infuse
      .circuit('svc')
      .call(fail)
      .catch(() => undefined);
    expect(infuse.circuit('svc').state).toBe('open');
    await server.kill();
    await server.start(); // empty: no persistence
    await expect.poll(() => events.map((e) => e.type), { timeout: 10_000 }).toContain('recovered');
    const late = await factory.share(infuse.store, { preload: 0 });
    opened.stores.push(late);
    const newcomer = new Infuse({ store: late });
    opened.infuse.push(newcomer);
    await expect(newcomer.circuit('svc').call(ok)).rejects.toMatchObject({ state: 'open' });
  });
});

describe('lost messages', () => {
  it('a process whose subscriber reconnected reads its circuits again', async () => {
    const [a, b] = await processes(2, {}, { pollInterval: 60_000 });
    await b!.infuse.circuit('svc').call(ok);
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
      // While b's subscriber is away, a trips the circuit: b cannot hear the message.
      await a!.infuse
        .circuit('svc')
        .call(fail)
        .catch(() => undefined);
      await a!.infuse
        .circuit('svc')
        .call(fail)
        .catch(() => undefined);
      expect(a!.infuse.circuit('svc').state).toBe('open');
      await expect.poll(() => b!.infuse.circuit('svc').state, { timeout: 5_000 }).toBe('open');
    } finally {
      admin.disconnect();
    }
  });

  /**
   * Writes circuit 'svc' of `store`'s prefix as another process's script would, and lists it in
   * the change feed, but sends no pub/sub message (as if it were dropped). `fields` go over a
   * fresh state made now (Redis clock): `open` for `openFor` ms, or closed.
   */
  async function writeUnannounced(
    store: RedisStore,
    fields: { st: string; ou?: number; sh?: '1' },
  ) {
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      const prefix = factory.prefixOf(store);
      const [state] = circuitKeys(prefix, 'svc');
      const [seconds = '', micros = ''] = (await admin.time()).map(String);
      const changedAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      await admin.hset(state, {
        k: 'svc',
        e: seconds + micros.padStart(6, '0'),
        g: '1',
        fo: '',
        ts: '0',
        ca: String(changedAt),
        ...fields,
        ou: String(fields.ou === undefined ? 0 : changedAt + fields.ou),
      });
      await admin.zadd(`${prefix}:index`, changedAt, 'svc');
    } finally {
      admin.disconnect();
    }
  }

  it('the slow poll catches a transition whose message never came', async () => {
    const [a] = await processes(1, {}, { pollInterval: 200, ttl: 60_000 });
    await a!.infuse.circuit('svc').call(ok);
    await writeUnannounced(a!.store, { st: 'open', ou: 60_000 });
    await expect.poll(() => a!.infuse.circuit('svc').state, { timeout: 3_000 }).toBe('open');
  });

  it('the slow poll catches a switch into shadow mode whose message never came', async () => {
    const [a] = await processes(1, {}, { pollInterval: 200, ttl: 60_000 });
    const circuit = a!.infuse.circuit('svc');
    await circuit.call(ok);
    expect(circuit.snapshot().shadow).toBeFalsy();
    // What RedisAdmin's `shadow` writes.
    await writeUnannounced(a!.store, { st: 'closed', sh: '1' });
    await expect.poll(() => circuit.snapshot().shadow, { timeout: 3_000 }).toBe(true);
  });
});

describe('connections', () => {
  it('shutdown closes the connections the store opened, never the client it was given', async () => {
    const admin = new Redis(server.port, '127.0.0.1');
    const given = new Redis(server.port, '127.0.0.1');
    try {
      await given.ping();
      const clients = async () =>
        String(await admin.client('LIST'))
          .trim()
          .split('\n').length;
      const before = await clients();
      const store = new RedisStore({ redis: given, prefix: 'shutdown' });
      const infuse = new Infuse({ store });
      expect(await store.ready()).toBe(true);
      await infuse.circuit('svc').call(ok);
      expect(await clients()).toBe(before + 2); // a command connection and a subscriber
      await infuse.shutdown();
      await expect.poll(clients).toBe(before);
      expect(given.status).toBe('ready');
      await expect(given.ping()).resolves.toBe('PONG');
    } finally {
      given.disconnect();
      admin.disconnect();
    }
  });

  it('a store shared by two Infuse instances closes when the last one shuts down', async () => {
    const given = new Redis(server.port, '127.0.0.1');
    try {
      const store = new RedisStore({ redis: given, prefix: 'two' });
      const one = new Infuse({ store, failMax: 1 });
      const two = new Infuse({ store, failMax: 1 });
      await one
        .circuit('svc')
        .call(fail)
        .catch(() => undefined);
      expect(two.circuit('svc').state).toBe('open');
      await one.shutdown();
      await expect(two.circuit('svc').call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
      await two.shutdown();
      expect(store.size).toBe(0);
    } finally {
      given.disconnect();
    }
  });
});
