/**
 * What an idle fleet costs Redis, and how long keys live, on a redis-server of this file's own
 * (INFO commandstats counts every client's commands).
 */
import { describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import type { RedisStoreOptions } from '../../src/redis/index.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { failTimes } from '../helpers/calls.js';
import { eventually } from '../helpers/eventually.js';
import { sleep } from '../helpers/redis-server.js';
import { redisForFile } from './harness.js';

const file = redisForFile({ waitTimeout: 2_000, commandTimeout: 2_000 });

const ok = () => Promise.resolve('ok');

async function processOf(options: Partial<RedisStoreOptions>, maxCircuits = 10_000) {
  const store = await file.factory.create(undefined, options);
  file.opened.stores.push(store);
  const infuse = new Infuse({ failMax: 1, resetTimeout: 200, quorum: 1, maxCircuits, store });
  file.opened.infuse.push(infuse);
  return { store, infuse, prefix: file.factory.prefixOf(store) };
}

/** Commands Redis ran (every client) while `during` ran, from INFO commandstats. */
async function commandsDuring(during: () => Promise<void>): Promise<Record<string, number>> {
  await file.admin.config('RESETSTAT');
  await during();
  const stats = await file.admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const [, name, count] of stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (name !== 'info' && !name!.startsWith('config')) counts[name!] = Number(count);
  }
  return counts;
}

const total = (counts: Record<string, number>) =>
  Object.values(counts).reduce((sum, count) => sum + count, 0);

describe('idle cost', () => {
  it('a poll reads the change feed once, whatever the number of circuits known', async () => {
    const small = await processOf({ pollInterval: 100 });
    for (let i = 0; i < 5; i++) await small.infuse.circuit(`few-${i}`).call(ok);
    const fewCost = await commandsDuring(() => sleep(1_000));
    await file.opened.close(file.factory);

    const large = await processOf({ pollInterval: 100 });
    for (let i = 0; i < 2_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => large.infuse.circuit(`many-${i + j}`).call(ok)),
      );
    }
    expect(large.store.size).toBe(2_000);
    const manyCost = await commandsDuring(() => sleep(1_000));

    // About ten polls of three commands each (EVALSHA, TIME, ZRANGEBYSCORE), in both cases; a
    // read per circuit per poll would be 2,000 scripts a poll.
    for (const cost of [fewCost, manyCost]) {
      expect(cost.zrangebyscore).toBeGreaterThanOrEqual(5);
      expect(total(cost)).toBeLessThanOrEqual(3 * 15);
      expect(cost.type ?? 0).toBe(0); // no circuit script ran
    }
  });
});

describe('keys live as long as their state matters', () => {
  it('a closed circuit with no window leaves nothing in Redis; an open one expires after ttl', async () => {
    const { infuse, prefix } = await processOf({ ttl: 1_000, pollInterval: 100, trialLease: 300 });
    await infuse.circuit('quiet').call(ok);
    const [quietState, quietLeases, quietWindow] = circuitKeys(prefix, 'quiet');
    expect(await file.admin.exists(quietState, quietLeases, quietWindow)).toBe(0);

    await failTimes(infuse, 'down', 1);
    const [state] = circuitKeys(prefix, 'down');
    expect(await file.admin.hget(state, 'st')).toBe('open');
    expect(await file.admin.pttl(state)).toBeLessThanOrEqual(1_000);
    await eventually(async () => expect(await file.admin.exists(state)).toBe(0), {
      timeout: 3_000,
    });
    // The change feed forgets it too.
    await eventually(
      async () => expect(await file.admin.zscore(`${prefix}:index`, 'down')).toBeNull(),
      {
        timeout: 3_000,
      },
    );
  });

  it('a failure-rate window lives two window lengths after its last count', async () => {
    const store = await file.factory.create(undefined, { flushInterval: 10 });
    file.opened.stores.push(store);
    const infuse = new Infuse({
      store,
      failureRate: { threshold: 0.9, minimumCalls: 100, window: 1_000 },
    });
    file.opened.infuse.push(infuse);
    await failTimes(infuse, 'svc', 1);
    const [, , window] = circuitKeys(file.factory.prefixOf(store), 'svc');
    const ttl = await file.admin.pttl(window);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });

  it('a forced mode stays while a process that knows it polls, and expires after the last', async () => {
    const { infuse, store, prefix } = await processOf({
      ttl: 1_000,
      pollInterval: 200,
      trialLease: 300,
    });
    await infuse.circuit('svc').forceOpen();
    const [state] = circuitKeys(prefix, 'svc');
    await sleep(2_500);
    expect(await file.admin.hget(state, 'fo')).toBe('forced-open');
    expect(await file.admin.pttl(state)).toBeLessThanOrEqual(1_000);
    await infuse.shutdown();
    await store.close();
    await eventually(async () => expect(await file.admin.exists(state)).toBe(0), {
      timeout: 3_000,
    });
  });
});
