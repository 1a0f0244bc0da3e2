/**
 * The quorum, with real child processes on a real redis-server and default options: one process
 * with a broken path to a healthy host protects itself without cutting the fleet off; a host down
 * for everyone opens for the fleet. (The targets, 1% and 24 requests, are measured in
 * bench/redis/quorum.ts; these tests assert what a user sees, with generous bounds.)
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Infuse, type CircuitSnapshot } from '../../src/index.js';
import { RedisAdmin } from '../../src/redis/index.js';
import { eventually } from '../helpers/eventually.js';
import { deadPort, sleep } from '../helpers/redis-server.js';
import type { CallStats } from './fixtures/worker.js';
import { fleetForFile, startWorkers, type Worker } from './fleet.js';
import { freshPrefix } from './harness.js';

const file = fleetForFile();

const KEY = 'api.example.com';

/** `count` processes with default options; `sick` of them reach the host through a dead port. */
async function fleet(count: number, sick: number) {
  const prefix = freshPrefix();
  const dead = `http://127.0.0.1:${await deadPort()}`;
  file.workers = await startWorkers(count, (i) => ({
    name: i < sick ? `sick${i}` : `ok${i}`,
    port: file.server.port,
    prefix,
    key: KEY,
    upstream: i < sick ? dead : file.upstream.url,
    // The defaults, quorum included (the fixture's own default is quorum 1).
    infuse: { quorum: 2 },
  }));
  return { prefix, sick: file.workers.slice(0, sick), healthy: file.workers.slice(sick) };
}

async function load(
  group: readonly Worker[],
  ms: number,
): Promise<(CallStats & { state: string })[]> {
  await Promise.all(group.map((w) => w.ask({ type: 'load', concurrency: 1, pause: 2 }, 'loading')));
  await sleep(ms);
  return Promise.all(group.map((w) => w.stats({ type: 'stop' }, 'stopped')));
}

async function snapshotOf(worker: Worker): Promise<CircuitSnapshot> {
  return (await worker.ask({ type: 'snapshot' }, 'snapshot')).snapshot as CircuitSnapshot;
}

describe('quorum (default 2)', () => {
  it('one sick process among four opens for itself only; the others are never refused', async () => {
    const { prefix, sick, healthy } = await fleet(4, 1);
    const stats = await load(file.workers, 3_000);
    const [sickStats, ...healthyStats] = stats;

    // The sick process protects itself: after its first failMax failures, it refuses.
    expect(sickStats!.errors).toBeLessThanOrEqual(10);
    expect(sickStats!.rejected).toBeGreaterThan(9 * sickStats!.errors);
    expect(sickStats!.state).toBe('open');
    const own = await snapshotOf(sick[0]!);
    expect(own).toMatchObject({ state: 'open', scope: 'process', votes: 1 });
    const opened = sick[0]!.messages.find((m) => m.type === 'stateChange' && m.to === 'open');
    expect(opened).toMatchObject({ reason: 'failMax', scope: 'process' });

    // The healthy ones are not refused at all, and know of the vote.
    for (const s of healthyStats) {
      expect(s).toMatchObject({ rejected: 0, errors: 0, failed: 0, state: 'closed' });
      expect(s.ok).toBeGreaterThan(10); // generous: the loop kept running on a busy machine;
    }
    expect(await snapshotOf(healthy[0]!)).toMatchObject({ state: 'closed', scope: 'fleet' });
    for (const worker of healthy) {
      expect(worker.messages.filter((m) => m.type === 'stateChange')).toEqual([]);
    }

    // RedisAdmin shows the circuit with its standing vote: open in one process only.
    const redis = new Redis(file.server.port, '127.0.0.1');
    const admin = new RedisAdmin({ redis, prefix });
    try {
      const [circuit] = await admin.list();
      expect(circuit).toMatchObject({ key: KEY, state: 'closed', votes: 1 });
      // A circuit Redis knows only by its votes can be steered like any other.
      const { after } = await admin.command(KEY, 'force-open');
      expect(after).toMatchObject({ mode: 'forced-open' });
    } finally {
      await admin.close();
      redis.disconnect();
    }
  });

  it('a host down for everyone opens for the fleet, long before each process pays failMax', async () => {
    const { healthy } = await fleet(4, 0);
    file.upstream.respond = () => ({ status: 503 });
    const stats = await load(healthy, 2_000);
    for (const s of stats) expect(s.state).toBe('open');
    // Four independent breakers would let 4 × failMax = 20 through; the fleet opens at the first
    // vote that finds another process failing too.
    expect(file.upstream.hits.length).toBeLessThan(20);
    for (const worker of healthy) {
      expect(await snapshotOf(worker)).toMatchObject({ state: 'open', scope: 'fleet' });
    }
  });

  it('failures of several processes add up: the fleet opens at failMax in all, before any vote', async () => {
    const { healthy } = await fleet(2, 0);
    const [a, b] = healthy as [Worker, Worker];
    file.upstream.respond = () => ({ status: 503 });
    expect(await a.stats({ type: 'call', count: 3 }, 'called')).toMatchObject({
      failed: 3,
      state: 'closed',
    });
    // Two processes agree and their streaks add up to failMax (5): no process had to reach
    // failMax alone.
    expect(await b.stats({ type: 'call', count: 2 }, 'called')).toMatchObject({ failed: 2 });
    // Usually open as the call settles; on a busy machine Redis's answer may come after
    // waitTimeout, and the fleet's open arrives a moment later.
    await eventually(async () =>
      expect(await snapshotOf(b)).toMatchObject({ state: 'open', scope: 'fleet' }),
    );
    const opened = b.messages.find((m) => m.type === 'stateChange' && m.to === 'open');
    expect(opened).toMatchObject({ reason: 'failMax', scope: 'fleet' });
    await eventually(async () => expect(await snapshotOf(a)).toMatchObject({ state: 'open' }));
  });

  it("a process's success takes its failures out of the fleet's streak", async () => {
    const { healthy } = await fleet(2, 0);
    const [a, b] = healthy as [Worker, Worker];
    file.upstream.respond = () => ({ status: 503 });
    expect(await a.stats({ type: 'call', count: 4 }, 'called')).toMatchObject({ failed: 4 });
    file.upstream.respond = () => ({ status: 200 });
    expect(await a.stats({ type: 'call', count: 1 }, 'called')).toMatchObject({ ok: 1 });
    file.upstream.respond = () => ({ status: 503 });
    // Four of b's own: with a's four withdrawn, the fleet's streak is 4, short of failMax.
    expect(await b.stats({ type: 'call', count: 4 }, 'called')).toMatchObject({
      failed: 4,
      state: 'closed',
    });
    expect(await snapshotOf(a)).toMatchObject({ state: 'closed', scope: 'fleet' });
  });

  it('one process alone with its vote opens the fleet once no other process contradicts it', async () => {
    const { sick, healthy } = await fleet(2, 1);
    expect(await sick[0]!.stats({ type: 'trip' }, 'tripped')).toMatchObject({ state: 'open' });
    // The other process makes no call: no contrary evidence, so the vote stands alone.
    await eventually(
      async () => expect((await healthy[0]!.ask({ type: 'state' }, 'state')).state).toBe('open'),
      { timeout: 5_000 },
    );
  });
});

describe('the quorum option', () => {
  it('is a positive integer, top level or per key', () => {
    expect(() => new Infuse({ quorum: 0 })).toThrow(/quorum/);
    expect(() => new Infuse({ circuits: { 'a.example': { quorum: 1.5 } } })).toThrow(
      /circuits\["a.example"\]\.quorum/,
    );
    expect(() => new Infuse({ quorum: 3, circuits: { 'a.example': { quorum: 1 } } })).not.toThrow();
  });
});
