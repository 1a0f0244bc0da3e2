/**
 * Hostile and broken Redis, on a real redis-server: forged pub/sub messages, forged values under
 * our keys, a Redis user without the permissions the store needs, and an Infuse that starts on a
 * store that is already degraded.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Infuse, type StoreEvent } from '../../src/index.js';
import {
  RedisAdmin,
  RedisStore,
  RedisStoreError,
  type FleetTransition,
  type MalformedCircuit,
} from '../../src/redis/index.js';
import { channelName, circuitKeys } from '../../src/redis/keys.js';
import { SCRIPTS } from '../../src/redis/scripts/index.js';
import { failTimes } from '../helpers/calls.js';
import { eventually } from '../helpers/eventually.js';
import { deadPort, sleep } from '../helpers/redis-server.js';
import { freshPrefix, redisForFile } from './harness.js';

const file = redisForFile({ waitTimeout: 2_000, commandTimeout: 2_000 });

const ok = () => Promise.resolve('ok');

async function pair() {
  const first = await file.factory.create();
  const second = await file.factory.share(first);
  file.opened.stores.push(first, second);
  const events: StoreEvent[] = [];
  const a = new Infuse({ failMax: 1, resetTimeout: 30_000, quorum: 1, store: first });
  const b = new Infuse({ failMax: 1, resetTimeout: 30_000, quorum: 1, store: second });
  b.on('store', (event) => events.push(event));
  file.opened.infuse.push(a, b);
  return { a, b, events, prefix: file.factory.prefixOf(first) };
}

describe('a pub/sub message only says "read this circuit again"', () => {
  it('a forged transition with an epoch from the future changes nothing; real trips still arrive', async () => {
    const { a, b, prefix } = await pair();
    await b.circuit('svc').call(ok);
    const forged = {
      k: 'svc',
      e: '9'.repeat(30),
      g: 1,
      st: 'open',
      fo: '',
      rm: 1e15,
      ca: Date.now(),
      f: 'closed',
      ff: '',
      r: 'failMax',
    };
    const received = await file.admin.publish(channelName('', prefix), JSON.stringify(forged));
    expect(received).toBeGreaterThanOrEqual(2); // both stores heard it
    await sleep(100);
    expect(b.circuit('svc').state).toBe('closed');
    await expect(b.circuit('svc').call(ok)).resolves.toBe('ok');

    // The process that heard the forgery still follows the fleet: a real trip reaches it...
    await failTimes(a, 'svc', 1);
    await eventually(() => expect(b.circuit('svc').state).toBe('open'));
    // ...and so does a real close.
    await a.circuit('svc').close();
    await eventually(() => expect(b.circuit('svc').state).toBe('closed'));
    await expect(b.circuit('svc').call(ok)).resolves.toBe('ok');
  });

  it('a forged "open" message for a closed circuit makes the process read it, and stay closed', async () => {
    const { b, prefix } = await pair();
    await b.circuit('svc').call(ok);
    const forged = { k: 'svc', e: '1', g: 99, st: 'open', fo: '', rm: 60_000, ca: 1 };
    await file.admin.publish(channelName('', prefix), JSON.stringify(forged));
    await sleep(100);
    expect(b.circuit('svc').snapshot()).toMatchObject({ state: 'closed', retryAfter: 0 });
  });
});

describe("RedisAdmin's watch checks each message against Redis", () => {
  it("drops a forged transition and says so; real transitions still arrive, with Redis's state", async () => {
    const { a, prefix } = await pair();
    await a.circuit('svc').call(ok);
    const malformed: MalformedCircuit[] = [];
    const redis = new Redis(file.server.port, '127.0.0.1');
    const admin = new RedisAdmin({
      redis,
      prefix,
      onMalformed: (report) => malformed.push(report),
    });
    const seen: FleetTransition[] = [];
    const stop = await admin.watch((transition) => seen.push(transition));
    try {
      const forged = {
        k: 'svc',
        e: '1',
        g: 99,
        st: 'open',
        fo: '',
        rm: 60_000,
        ca: Date.now(),
        f: 'closed',
        ff: '',
        r: 'failMax',
      };
      await file.admin.publish(channelName('', prefix), JSON.stringify(forged));
      await eventually(() =>
        expect(malformed).toEqual([
          {
            redisKey: channelName('', prefix),
            key: 'svc',
            reason: expect.stringContaining('generation 99, which Redis does not hold'),
          },
        ]),
      );
      await failTimes(a, 'svc', 1);
      await eventually(() => expect(seen).toHaveLength(1));
      expect(seen[0]).toMatchObject({ key: 'svc', from: 'closed', to: 'open', reason: 'failMax' });
      expect(seen[0]!.retryAfter).toBeGreaterThan(20_000);
    } finally {
      await stop();
      await admin.close();
      redis.disconnect();
    }
  });
});

describe('values out of range under our keys are malformed: reported, replaced, never obeyed', () => {
  const now = () => Date.now();
  const FORGED: [string, (key: string) => Record<string, string | number>][] = [
    [
      'a 17-digit open-until',
      (key) => ({ k: key, e: now() * 1000, g: 1, st: 'open', fo: '', ou: '99999999999999999' }),
    ],
    [
      'an open-until a day away (beyond resetTimeout plus the longest open period)',
      (key) => ({ k: key, e: now() * 1000, g: 1, st: 'open', fo: '', ou: now() + 86_400_000 }),
    ],
    [
      'an epoch from the future',
      (key) => ({ k: key, e: (now() + 3_600_000) * 1000, g: 1, st: 'open', fo: '', ou: now() }),
    ],
    [
      'a generation from the future',
      (key) => ({ k: key, e: now() * 1000, g: '9999999999999999', st: 'open', fo: '', ou: now() }),
    ],
    [
      'a change time from the future',
      (key) => ({
        k: key,
        e: now() * 1000,
        g: 1,
        st: 'closed',
        fo: 'forced-open',
        ou: 0,
        ca: now() + 86_400_000,
      }),
    ],
  ];

  it.each(FORGED)('%s', async (_, forge) => {
    const { a, b, events, prefix } = await pair();
    const key = `forged-${Math.random()}`;
    const [state] = circuitKeys(prefix, key);
    await file.admin.hset(state, { ts: 0, ca: now(), ...forge(key) });

    await expect(b.circuit(key).call(ok)).resolves.toBe('ok');
    expect(events).toMatchObject([
      { type: 'malformed', key, message: expect.stringContaining('not written by infuse-breaker') },
    ]);
    expect(b.circuit(key).snapshot()).toMatchObject({ state: 'closed', forced: null });
    // Replaced: the circuit works for the fleet again.
    await failTimes(a, key, 1);
    await eventually(() => expect(b.circuit(key).state).toBe('open'));
    expect(Number(await file.admin.hget(state, 'ou'))).toBeLessThanOrEqual(now() + 30_000);
  });
});

describe('forged quorum ballots', () => {
  it("a malformed streak count is replaced, and the fleet's streak still adds up", async () => {
    const first = await file.factory.create();
    const second = await file.factory.share(first);
    file.opened.stores.push(first, second);
    const options = { failMax: 3, resetTimeout: 30_000, quorum: 2 };
    const a = new Infuse({ ...options, store: first });
    const b = new Infuse({ ...options, store: second });
    file.opened.infuse.push(a, b);
    const key = `ballots-${Math.random()}`;
    const votes = circuitKeys(file.factory.prefixOf(first), key)[3];
    await failTimes(a, key, 1);
    const fields = Object.keys(await file.admin.hgetall(votes)).filter((f) => f.startsWith('n:'));
    expect(fields).toHaveLength(1);
    await file.admin.hset(votes, fields[0]!, 'not a number');
    // a's next failure replaces its count (1, the forged one dropped); b's makes three in all.
    await failTimes(a, key, 1);
    expect(await file.admin.hget(votes, fields[0]!)).toBe('1');
    expect(a.circuit(key).state).toBe('closed');
    await failTimes(b, key, 2);
    await eventually(() => expect(a.circuit(key).snapshot()).toMatchObject({ state: 'open' }));
    expect(b.circuit(key).snapshot()).toMatchObject({ state: 'open', scope: 'fleet' });
  });
});

describe('a Redis user without a permission the store needs', () => {
  it('is told which permission (+@scripting), not that Redis cannot be reached; calls go on', async () => {
    const user = `noscript${Math.random().toString(36).slice(2, 8)}`;
    const secret = `pw-${Math.random().toString(36).slice(2)}`;
    await file.admin.call(
      'ACL',
      'SETUSER',
      user,
      'on',
      `>${secret}`,
      '~*',
      '&*',
      '+@all',
      '-@scripting',
    );
    const redis = new Redis({
      port: file.server.port,
      host: '127.0.0.1',
      username: user,
      password: secret,
    });
    redis.on('error', () => undefined);
    const store = new RedisStore({ redis, prefix: freshPrefix(), probeInterval: 50 });
    const infuse = new Infuse({ failMax: 2, store });
    const events: StoreEvent[] = [];
    infuse.on('store', (event) => events.push(event));
    try {
      await expect(infuse.circuit('svc').call(ok)).resolves.toBe('ok');
      const degraded = await eventually(() => {
        const found = events.find((event) => event.type === 'degraded');
        expect(found).toBeDefined();
        return found!;
      });
      expect(degraded.message).toContain('+@scripting');
      expect(degraded.message).toContain('NOPERM');
      expect(degraded.message).not.toContain('cannot be reached');
      expect(JSON.stringify(events)).not.toContain(secret);

      await expect(infuse.circuit('svc').call(ok)).resolves.toBe('ok');
      const error = await infuse
        .circuit('svc')
        .forceOpen()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisStoreError);
      expect(error).toMatchObject({ code: 'EREDISNOPERM', key: 'svc' });
      expect((error as Error).message).toContain('+@scripting');
      expect(infuse.circuit('svc').forced).toBeNull();
      await expect(store.ready()).resolves.toBe(false);
    } finally {
      await infuse.shutdown();
      redis.disconnect();
      await file.admin.call('ACL', 'DELUSER', user);
    }
  });
});

describe('an Infuse created on a store that is already degraded', () => {
  it('hears so at once, with the reason', async () => {
    const redis = new Redis({ port: await deadPort(), host: '127.0.0.1', lazyConnect: true });
    redis.on('error', () => undefined);
    const store = new RedisStore({ redis, prefix: freshPrefix() });
    const first = new Infuse({ store });
    try {
      await eventually(() => expect(store.degraded).toBe(true));
      const late = new Infuse({ store });
      const heard: StoreEvent[] = [];
      late.on('store', (event) => heard.push(event));
      await Promise.resolve();
      await Promise.resolve();
      expect(heard).toMatchObject([
        { type: 'degraded', message: expect.stringContaining('cannot be reached') },
      ]);
      await expect(late.circuit('svc').call(ok)).resolves.toBe('ok');
      await late.shutdown();
    } finally {
      await first.shutdown();
      redis.disconnect();
    }
  });
});

describe('a message about a state the process already holds reads nothing', () => {
  it('the process that made a transition does not read it again; the others read it once', async () => {
    const { a, b } = await pair();
    await a.circuit('svc').call(ok);
    await b.circuit('svc').call(ok);
    const readSha = createHash('sha1').update(SCRIPTS.infuseRead.lua).digest('hex');
    const monitor = await new Redis(file.server.port, '127.0.0.1').monitor();
    const reads: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args[0]?.toLowerCase() === 'evalsha' && args[1] === readSha) reads.push(source);
    });
    try {
      await failTimes(a, 'svc', 1);
      await eventually(() => expect(b.circuit('svc').state).toBe('open'));
      await sleep(200); // room for a read that should not come
      expect(reads).toHaveLength(1); // b's, on hearing the trip; a's own reply told it already
    } finally {
      monitor.disconnect();
    }
  });
});
