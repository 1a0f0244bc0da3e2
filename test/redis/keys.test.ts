/**
 * The key space, on a real 3-master Cluster: hostile circuit keys, one hash slot per circuit,
 * a TTL on every key, and data under our keys that we did not write.
 */
import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StoreEvent,
} from '../../src/index.js';
import type { RedisStoreOptions } from '../../src/redis/index.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { sleep, startCluster, type RedisCluster } from '../helpers/redis-server.js';
import { Opened, StoreFactory } from './harness.js';

let cluster: RedisCluster;
let factory: StoreFactory;
const opened = new Opened();

beforeAll(async () => {
  cluster = await startCluster();
  factory = new StoreFactory(cluster, { waitTimeout: 2_000, commandTimeout: 2_000 });
});

afterEach(async () => {
  await opened.close(factory);
});

afterAll(() => cluster.stop());

async function pair(options: InfuseOptions = {}, storeOptions: Partial<RedisStoreOptions> = {}) {
  const first = await factory.create(undefined, storeOptions);
  const second = await factory.share(first, storeOptions);
  opened.stores.push(first, second);
  const a = new Infuse({ failMax: 1, resetTimeout: 60_000, quorum: 1, ...options, store: first });
  const b = new Infuse({ failMax: 1, resetTimeout: 60_000, quorum: 1, ...options, store: second });
  opened.infuse.push(a, b);
  return { a, b, prefix: factory.prefixOf(first), admin: factory.clientOf(first) as Cluster };
}

/** Every key under `prefix`, on every master. */
async function keysOf(admin: Cluster, prefix: string): Promise<string[]> {
  const lists = await Promise.all(admin.nodes('master').map((node) => node.keys(`${prefix}:*`)));
  return lists.flat();
}

const HOSTILE = [
  'a{b}c',
  '}{',
  '{',
  'x:y:{z}:w',
  'key with spaces\nand a newline',
  '🔥'.repeat(2_048), // 8 KB of UTF-8
  'ü'.repeat(4_096),
];

describe('circuit keys', () => {
  it('any string is a safe circuit key, and all of a circuit’s keys share one hash slot', async () => {
    const { a, b, prefix, admin } = await pair();
    for (const key of HOSTILE) {
      await b.circuit(key).call(() => Promise.resolve());
      await a
        .circuit(key)
        .call(() => Promise.reject(new Error('down')))
        .catch(() => undefined);
      expect(a.circuit(key).state).toBe('open');
      await expect.poll(() => b.circuit(key).state, { timeout: 2_000 }).toBe('open');
      await expect(b.circuit(key).call(() => Promise.resolve())).rejects.toBeInstanceOf(
        CircuitBreakerError,
      );
    }
    // The index, the history stream and the processes' heartbeats are per prefix, not per circuit.
    const keys = (await keysOf(admin, prefix)).filter(
      (key) =>
        key !== `${prefix}:index` &&
        key !== `${prefix}:history` &&
        !key.startsWith(`${prefix}:{procs}:`),
    );
    const byTag = new Map<string, string[]>();
    for (const key of keys) {
      expect(key.length).toBeLessThan(prefix.length + 40);
      const tag = /\{([0-9a-f]{16})\}/.exec(key)![1]!;
      byTag.set(tag, [...(byTag.get(tag) ?? []), key]);
    }
    expect(byTag.size).toBe(HOSTILE.length);
    for (const group of byTag.values()) {
      const slots = await Promise.all(group.map((key) => admin.cluster('KEYSLOT', key)));
      expect(new Set(slots).size).toBe(1);
    }
  });

  it('every key has a TTL: state, trial leases, failure-rate window and the preload index', async () => {
    const ttl = 120_000;
    const { a, prefix, admin } = await pair(
      {
        resetTimeout: 100,
        failureRate: { threshold: 0.9, minimumCalls: 1_000, window: 10_000 },
      },
      { ttl, flushInterval: 10, pollInterval: 1_000 },
    );
    await a.circuit('rated').call(() => Promise.resolve());
    await a
      .circuit('trial')
      .call(() => Promise.reject(new Error('down')))
      .catch(() => undefined);
    await sleep(150);
    let finish!: () => void;
    const trial = a.circuit('trial').call(() => new Promise<void>((r) => (finish = r)));
    await expect.poll(() => typeof finish).toBe('function');
    await sleep(50); // the batched success of 'rated' is flushed by now
    const keys = await keysOf(admin, prefix);
    expect(
      keys.map((key) => key.replace(/\{[0-9a-f]+\}/, '{}').replace(/:p:[0-9a-f]+$/, ':p:*')).sort(),
    ).toEqual([
      `${prefix}:history`, // the transition of 'trial', kept a week
      `${prefix}:index`,
      `${prefix}:{procs}:index`, // the heartbeats of the pair's two processes
      `${prefix}:{procs}:p:*`,
      `${prefix}:{procs}:p:*`,
      `${prefix}:{}:leases`,
      `${prefix}:{}:state`, // 'trial' ('rated' never changed state: nothing stored means closed)
      `${prefix}:{}:window`,
    ]);
    for (const key of keys) {
      const remaining = await admin.pttl(key);
      expect(remaining, key).toBeGreaterThan(0);
      // History is for incident reviews: it outlives the circuits' own keys by design.
      expect(remaining, key).toBeLessThanOrEqual(
        key === `${prefix}:history` ? 7 * 24 * 3_600_000 : ttl,
      );
    }
    finish();
    await trial;
  });
});

describe('data we did not write', () => {
  type Write = (admin: Cluster, keys: readonly string[], key: string) => Promise<unknown>;
  const state = (fields: Record<string, string>) => ({
    e: '1',
    g: '5',
    st: 'open',
    fo: '',
    ou: '0',
    ts: '0',
    ca: '0',
    ...fields,
  });
  const GARBAGE: [string, Write][] = [
    ['a string where the state hash goes', (r, [s]) => r.set(s!, 'garbage')],
    ['a hash with nonsense fields', (r, [s], key) => r.hset(s!, 'k', key, 'g', '-1')],
    [
      'another circuit’s state under this hash tag',
      (r, [s]) => r.hset(s!, state({ k: 'someone else' })),
    ],
    ['an unknown state', (r, [s], key) => r.hset(s!, state({ k: key, st: 'ajar' }))],
    ['a list where the leases go', (r, [, leases]) => r.lpush(leases!, 'x')],
    ['a string where the window goes', (r, [, , window]) => r.set(window!, 'x')],
  ];

  it.each(GARBAGE)('%s is treated as absent and reported; the circuit works', async (_, write) => {
    const { a, b, prefix, admin } = await pair();
    const events: StoreEvent[] = [];
    a.on('store', (event) => events.push(event));
    const key = `garbage-${Math.random()}`;
    const keys = circuitKeys(prefix, key);
    await write(admin, keys, key);
    await expect(a.circuit(key).call(() => Promise.resolve('fine'))).resolves.toBe('fine');
    expect(events).toMatchObject([{ type: 'malformed', key }]);
    await a
      .circuit(key)
      .call(() => Promise.reject(new Error('down')))
      .catch(() => undefined);
    expect(a.circuit(key).state).toBe('open');
    await expect(b.circuit(key).call(() => Promise.resolve())).rejects.toBeInstanceOf(
      CircuitBreakerError,
    );
    expect(await admin.hget(keys[0], 'st')).toBe('open');
  });

  it('a message on our channel that we did not write is reported and ignored', async () => {
    const { a, prefix, admin } = await pair();
    const events: StoreEvent[] = [];
    a.on('store', (event) => events.push(event));
    await a.circuit('svc').call(() => Promise.resolve());
    await admin.publish(`${prefix}:transitions`, 'not json');
    await admin.publish(`${prefix}:transitions`, JSON.stringify({ k: 'svc', st: 'open' }));
    await expect.poll(() => events.length).toBe(2);
    expect(events.map((event) => event.type)).toEqual(['malformed', 'malformed']);
    expect(a.circuit('svc').state).toBe('closed');
  });
});
