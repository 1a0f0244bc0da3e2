/**
 * RedisAdmin against a real redis-server and a real 3-master Cluster: circuits are tripped, forced
 * and half-opened by real Infuse instances on RedisStores, and the admin sees and steers them.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Infuse, type InfuseOptions, type StateChangeEvent } from '../../src/index.js';
import {
  RedisAdmin,
  RedisAdminError,
  type FleetTransition,
  type MalformedCircuit,
} from '../../src/redis/index.js';
import { circuitKeys } from '../../src/redis/keys.js';
import {
  deadPort,
  sleep,
  startCluster,
  startRedis,
  type RedisCluster,
  type RedisServer,
} from '../helpers/redis-server.js';
import { failTimes } from '../helpers/calls.js';
import { eventually } from '../helpers/eventually.js';
import { clientFor, Opened, StoreFactory, type Client, type Target } from './harness.js';

const ok = () => Promise.resolve('ok');

/** What `promise` rejects with; a test fails if it resolves. */
function rejection(promise: Promise<unknown>): Promise<RedisAdminError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as RedisAdminError,
  );
}

/** A client of a Redis that is not there (its errors are expected). */
function deadClient(port: number): Redis {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true });
  client.on('error', () => undefined);
  return client;
}

function suite(name: string, start: () => Promise<Target>, stop: (t: Target) => Promise<void>) {
  describe(`RedisAdmin on ${name}`, () => {
    let target: Target;
    let factory: StoreFactory;
    const opened = new Opened();
    const admins: RedisAdmin[] = [];
    const clients: Client[] = [];

    beforeAll(async () => {
      target = await start();
      factory = new StoreFactory(target, { waitTimeout: 2_000, commandTimeout: 2_000 });
    });

    afterEach(async () => {
      for (const admin of admins.splice(0)) await admin.close();
      for (const client of clients.splice(0)) client.disconnect();
      await opened.close(factory);
    });

    afterAll(() => stop(target));

    /** A process of the fleet (its own store and Infuse), and an admin on the same prefix. */
    async function fleet(options: InfuseOptions = {}, count = 1) {
      const first = await factory.create(undefined, { flushInterval: 20 });
      const stores = [first];
      for (let i = 1; i < count; i++) stores.push(await factory.share(first));
      opened.stores.push(...stores);
      const infuse = stores.map(
        (store) => new Infuse({ failMax: 2, resetTimeout: 60_000, quorum: 1, ...options, store }),
      );
      opened.infuse.push(...infuse);
      const malformed: MalformedCircuit[] = [];
      const client = clientFor(target);
      clients.push(client);
      const admin = new RedisAdmin({
        redis: client,
        prefix: factory.prefixOf(first),
        onMalformed: (report) => malformed.push(report),
      });
      admins.push(admin);
      return { infuse, admin, malformed, client, prefix: factory.prefixOf(first) };
    }

    it('lists every circuit with state in Redis, sorted, with the fleet’s counters', async () => {
      const {
        infuse: [a],
        admin,
      } = await fleet({
        circuits: {
          'rate.example.com': {
            failMax: 100,
            failureRate: { threshold: 0.9, minimumCalls: 100, window: 60_000 },
          },
        },
      });
      await failTimes(a!, 'down.example.com', 2);
      for (let i = 0; i < 5; i++) await a!.circuit('rate.example.com').call(ok);
      await failTimes(a!, 'rate.example.com', 2);
      await a!.circuit('forced.example.com').forceOpen();
      await a!.circuit('off.internal').disable();
      const before = Date.now();

      const listed = await eventually(
        async () => {
          const all = await admin.list();
          expect(all.find((c) => c.key === 'rate.example.com')?.window.calls).toBe(7);
          return all;
        },
        { timeout: 10_000 },
      );
      expect(listed.map((c) => c.key)).toEqual([
        'down.example.com',
        'forced.example.com',
        'off.internal',
        'rate.example.com',
      ]);
      const [down, forced, off, rate] = listed;
      expect(down).toMatchObject({ state: 'open', forced: null, mode: 'open', generation: 1 });
      expect(down!.retryAfter).toBeGreaterThan(50_000);
      expect(down!.retryAfter).toBeLessThanOrEqual(60_000);
      expect(Math.abs(down!.changedAt - before)).toBeLessThan(5_000);
      expect(forced).toMatchObject({ mode: 'forced-open', retryAfter: Infinity });
      expect(off).toMatchObject({ state: 'closed', forced: 'disabled', mode: 'disabled' });
      expect(rate).toMatchObject({
        mode: 'closed',
        window: { calls: 7, failures: 2 },
        retryAfter: 0,
        trialsInFlight: 0,
        // Never changed state: Redis holds only its failure-rate window.
        generation: 0,
        changedAt: 0,
      });
      // What the processes see is what the admin reads (consecutive failures aside).
      const seen = a!.snapshot().find((c) => c.key === 'down.example.com')!;
      expect(down).toMatchObject({ state: seen.state, generation: seen.generation });

      expect((await admin.list('*.example.com')).map((c) => c.key)).toEqual([
        'down.example.com',
        'forced.example.com',
        'rate.example.com',
      ]);
      expect((await admin.list('[df]*')).map((c) => c.key)).toEqual([
        'down.example.com',
        'forced.example.com',
      ]);
      expect(await admin.list('nothing.*')).toEqual([]);
      expect(await admin.get('off.internal')).toEqual(off);
    });

    it('counts half-open trials in flight across the fleet', async () => {
      const {
        infuse: [a],
        admin,
      } = await fleet({ resetTimeout: 100, halfOpenMaxCalls: 2 });
      await failTimes(a!, 'api.example.com', 2);
      await sleep(150);
      let release!: () => void;
      const held = new Promise<string>((resolve) => (release = () => resolve('ok')));
      const trial = a!.circuit('api.example.com').call(() => held);
      const circuit = await eventually(
        async () => {
          const found = await admin.get('api.example.com');
          expect(found?.trialsInFlight).toBe(1);
          return found;
        },
        { timeout: 10_000 },
      );
      expect(circuit).toMatchObject({ state: 'half-open', trialsInFlight: 1, retryAfter: 0 });
      release();
      await trial;
    });

    it('finds circuits on every master, not only those the preload index lists', async () => {
      const {
        infuse: [a],
        admin,
        client,
        prefix,
      } = await fleet({ failMax: 1 });
      const keys = Array.from({ length: 30 }, (_, i) => `host-${String(i).padStart(2, '0')}`);
      for (const key of keys) await failTimes(a!, key, 1);
      await client.del(`${prefix}:index`);
      expect((await admin.list()).map((c) => c.key)).toEqual(keys);
      if ('nodes' in target) {
        const sizes = await Promise.all(target.nodes.map((node) => node.cli('dbsize')));
        expect(sizes.filter((size) => Number(size) > 0).length).toBeGreaterThan(1);
      }
    });

    it('steers a circuit for the whole fleet: another process applies the change', async () => {
      const {
        infuse: [a, b],
        admin,
      } = await fleet({}, 2);
      await failTimes(a!, 'api.example.com', 2);
      const heard: StateChangeEvent[] = [];
      b!.on('stateChange', (event) => heard.push(event));
      b!.circuit('api.example.com');
      await eventually(() => expect(b!.circuit('api.example.com').state).toBe('open'), {
        timeout: 10_000,
      });

      const forced = await admin.command('api.example.com', 'force-open');
      expect(forced.before).toMatchObject({ mode: 'open' });
      expect(forced.after).toMatchObject({ mode: 'forced-open', retryAfter: Infinity });
      expect(forced.after.generation).toBe(forced.before!.generation + 1);
      await eventually(() => expect(b!.circuit('api.example.com').forced).toBe('forced-open'), {
        timeout: 10_000,
      });

      const closed = await admin.command('api.example.com', 'close');
      expect(closed.after).toMatchObject({ state: 'closed', forced: null, mode: 'closed' });
      await eventually(
        () => {
          const circuit = b!.circuit('api.example.com');
          expect(circuit.forced ?? circuit.state).toBe('closed');
        },
        { timeout: 10_000 },
      );
      expect(await b!.circuit('api.example.com').call(ok)).toBe('ok');
      expect(heard.at(-1)).toMatchObject({ to: 'closed', forced: null, reason: 'remote' });

      const disabled = await admin.command('api.example.com', 'disable');
      expect(disabled.after.mode).toBe('disabled');
      const cleared = await admin.command('api.example.com', 'clear-forced');
      expect(cleared.after.mode).toBe('closed');
      const again = await admin.command('api.example.com', 'clear-forced');
      expect(again.after.generation).toBe(cleared.after.generation); // nothing to clear

      const opened = await admin.command('api.example.com', 'open', { resetTimeout: 5_000 });
      expect(opened.after).toMatchObject({ mode: 'open' });
      expect(opened.after.retryAfter).toBeGreaterThan(4_000);
      expect(opened.after.retryAfter).toBeLessThanOrEqual(5_000);
    });

    it('switches every process into shadow mode and out of it, leaving the state as it is', async () => {
      const { infuse, admin } = await fleet({}, 2);
      const [a, b] = infuse as [Infuse, Infuse];
      const key = 'api.example.com';
      const shadowed: boolean[] = [];
      for (const each of [a, b]) each.on('reject', (event) => shadowed.push(event.shadow));
      await failTimes(a, key, 2);
      await eventually(() => expect(b.circuit(key).state).toBe('open'));

      const { before, after } = await admin.command(key, 'shadow');
      expect(before).toMatchObject({ mode: 'open', shadow: false });
      expect(after).toMatchObject({ mode: 'open', shadow: true });
      expect(after.generation).toBe(before!.generation + 1);
      for (const each of [a, b]) {
        await eventually(() => expect(each.circuit(key).snapshot().shadow).toBe(true));
        await expect(each.circuit(key).call(ok)).resolves.toBe('ok');
        expect(each.circuit(key).state).toBe('open');
      }
      expect(shadowed).toEqual([true, true]);
      expect(await admin.get(key)).toMatchObject({ mode: 'open', shadow: true });
      expect(await admin.history({ key })).toContainEqual(
        expect.objectContaining({ command: 'shadow', reason: 'manual' }),
      );

      await admin.command(key, 'unshadow');
      for (const each of [a, b]) {
        await eventually(() => expect(each.circuit(key).snapshot().shadow).toBeUndefined());
        await expect(each.circuit(key).call(ok)).rejects.toMatchObject({ code: 'ECIRCUITOPEN' });
      }
      expect(shadowed).toEqual([true, true, false, false]);
    });

    it('refuses an unknown key without writing anything, unless told to create it', async () => {
      const { admin } = await fleet();
      const error = await rejection(admin.command('never.example.com', 'force-open'));
      expect(error).toBeInstanceOf(RedisAdminError);
      expect(error).toMatchObject({ code: 'ECIRCUITUNKNOWN', key: 'never.example.com' });
      expect(error.message).toContain('"never.example.com"');
      expect(await admin.get('never.example.com')).toBeNull();
      expect(await admin.list()).toEqual([]);

      const created = await admin.command('new.example.com', 'force-open', { create: true });
      expect(created.before).toBeNull();
      expect(created.after.mode).toBe('forced-open');
      expect((await admin.list()).map((c) => c.key)).toEqual(['new.example.com']);
    });

    it('follows transitions made by any process until unsubscribed', async () => {
      const {
        infuse: [a],
        admin,
      } = await fleet();
      const seen: FleetTransition[] = [];
      const stop = await admin.watch((transition) => seen.push(transition));
      await failTimes(a!, 'api.example.com', 2);
      await eventually(() => expect(seen.length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
      expect(seen[0]).toMatchObject({
        key: 'api.example.com',
        from: 'closed',
        to: 'open',
        fromForced: null,
        forced: null,
        reason: 'failMax',
        generation: 1,
      });
      expect(seen[0]!.retryAfter).toBeGreaterThan(50_000);
      await admin.command('api.example.com', 'force-open');
      await eventually(() => expect(seen.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      expect(seen[1]).toMatchObject({ from: 'open', to: 'open', forced: 'forced-open' });
      expect(seen[1]!.retryAfter).toBe(Infinity);
      await stop();
      await admin.command('api.example.com', 'close');
      await sleep(200);
      expect(seen).toHaveLength(2);
    });

    it('skips data it did not write, says why, and deletes nothing', async () => {
      const {
        infuse: [a],
        admin,
        malformed,
        client,
        prefix,
      } = await fleet();
      await failTimes(a!, 'good.example.com', 2);
      const [stringKey] = circuitKeys(prefix, 'as-string');
      const [foreignKey] = circuitKeys(prefix, 'foreign');
      const [badKey, , badWindow] = circuitKeys(prefix, 'bad-fields');
      const [wrongKey] = circuitKeys(prefix, 'wrong');
      await client.set(stringKey, 'not ours');
      await client.hset(foreignKey, 'x', '1');
      await client.hset(badKey, 'k', 'bad-fields', 'e', '1', 'g', 'many');
      await client.set(badWindow, 'x');
      await client.hset(wrongKey, 'k', 'someone-else');

      expect((await admin.list()).map((c) => c.key)).toEqual(['good.example.com']);
      expect(malformed).toEqual(
        expect.arrayContaining([
          { redisKey: stringKey, key: null, reason: expect.stringContaining('not a hash') },
          { redisKey: foreignKey, key: null, reason: 'the state hash names no circuit key' },
          {
            redisKey: badKey,
            key: 'bad-fields',
            reason: 'the state hash has fields infuse-breaker does not write',
          },
          {
            redisKey: wrongKey,
            key: 'someone-else',
            reason: 'the state hash names a circuit whose keys are elsewhere',
          },
        ]),
      );
      expect(malformed).toHaveLength(4);
      expect(await admin.get('bad-fields')).toBeNull();
      expect(await client.type(stringKey)).toBe('string');
      expect(await client.hget(badKey, 'g')).toBe('many');
      await expect(admin.command('bad-fields', 'close')).rejects.toMatchObject({
        code: 'ECIRCUITUNKNOWN',
      });
      expect(await client.hget(badKey, 'g')).toBe('many');
    });

    it('reads without extending any key’s time to live', async () => {
      const {
        infuse: [a],
        admin,
        client,
        prefix,
      } = await fleet();
      await failTimes(a!, 'api.example.com', 2);
      const [state] = circuitKeys(prefix, 'api.example.com');
      await client.pexpire(state, 30_000);
      await admin.list();
      await admin.get('api.example.com');
      expect(await client.pttl(state)).toBeLessThanOrEqual(30_000);
    });
  });
}

suite(
  'a single redis-server',
  () => startRedis(),
  (t) => (t as RedisServer).stop(),
);
suite(
  'a 3-master Redis Cluster',
  () => startCluster(),
  (t) => (t as RedisCluster).stop(),
);

describe('RedisAdmin without Redis', () => {
  it('rejects fast with EREDISUNAVAILABLE when nothing listens, and changes nothing', async () => {
    const port = await deadPort();
    const client = deadClient(port);
    const admin = new RedisAdmin({ redis: client, commandTimeout: 1_000 });
    const started = Date.now();
    const error = await rejection(admin.list());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(RedisAdminError);
    expect(error.code).toBe('EREDISUNAVAILABLE');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    await expect(admin.command('api.example.com', 'force-open')).rejects.toMatchObject({
      code: 'EREDISUNAVAILABLE',
      key: 'api.example.com',
    });
    await expect(admin.watch(() => undefined)).rejects.toMatchObject({
      code: 'EREDISUNAVAILABLE',
    });
    await admin.close();
    client.disconnect();
  });

  it('names a bad option or argument in a TypeError', async () => {
    const client = deadClient(await deadPort());
    expect(() => new RedisAdmin({ redis: {} as never })).toThrow(
      /RedisAdmin: option "redis" must be an ioredis \(5 or 6\) or iovalkey Redis or Cluster, or a node-redis/,
    );
    expect(() => new RedisAdmin({ redis: client, prefix: 'a{b}' })).toThrow(/option "prefix"/);
    expect(() => new RedisAdmin({ redis: client, commandTimeout: 0 })).toThrow(
      /option "commandTimeout" must be an integer of at least 1; got 0/,
    );
    const admin = new RedisAdmin({ redis: client });
    await expect(admin.command('k', 'explode' as never)).rejects.toThrow(
      /unknown command "explode"; known commands are: open, close/,
    );
    await expect(admin.get('')).rejects.toThrow(/circuit key must be a non-empty string/);
    await expect(admin.list('[a')).rejects.toThrow(/has a "\[" without its "\]"/);
    client.disconnect();
  });
});
