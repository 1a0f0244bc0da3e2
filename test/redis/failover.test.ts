/**
 * Failover, for real: child processes share circuits through a Redis Cluster (3 masters, one
 * replica each) or through Sentinel (a master, a replica, three Sentinels), and the master is
 * SIGKILLed. Whatever happens, no request fails because of the store, circuits opened before stay
 * open, the stores share state again within seconds, fleet commands work on every slot, and a
 * trip after the failover reaches every process.
 */
import { Cluster } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { disconnect, openCommandConnection } from '../../src/redis/connections.js';
import { RedisAdmin } from '../../src/redis/index.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { eventually } from '../helpers/eventually.js';
import {
  MASTER_NAME,
  startCluster,
  startSentinel,
  type RedisCluster,
  type RedisSentinel,
  type RedisServer,
} from '../helpers/redis-server.js';
import type {
  FailoverCommand,
  FailoverWorkerConfig,
  LoadStats,
} from './fixtures/failover-worker.js';
import { startWorkers, Upstream, type Worker } from './fleet.js';
import { freshPrefix } from './harness.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/failover-worker.ts', import.meta.url));
const PROCESSES = 3;
/** Circuits per Cluster master. */
const PER_MASTER = 8;
/** Generous: the recovery itself takes a second or two (see the figures the tests print). */
const RECOVERY = 20_000;
/** A test: Redis and the processes start, fail over and are checked (~15-25 s here). */
const TEST_TIMEOUT = 90_000;
// A short poll, so that idle stores meet the new topology within the test. Longer waits than the
// defaults for a busy CI machine: a trip made while a circuit's first read is still out
// (waitTimeout), or in a store that fell back before the failover, stays in one process.
const STORE = {
  pollInterval: 1_000,
  probeInterval: 500,
  commandTimeout: 1_000,
  waitTimeout: 1_000,
};

type FleetWorker = Worker<FailoverCommand>;

const opened: { stop(): Promise<void> }[] = [];
let workers: FleetWorker[] = [];

afterEach(async () => {
  await Promise.all(workers.map((worker) => worker.exit()));
  workers = [];
  for (const each of opened.splice(0).reverse()) await each.stop();
});

async function fleet(
  target: FailoverWorkerConfig['target'],
  keys: string[],
): Promise<{ group: FleetWorker[]; prefix: string }> {
  const upstream = await Upstream.start();
  opened.push({ stop: () => upstream.close() });
  const prefix = freshPrefix();
  workers = await startWorkers<FailoverCommand, FailoverWorkerConfig>(
    PROCESSES,
    (i): FailoverWorkerConfig => ({
      name: `w${i}`,
      target,
      prefix,
      keys,
      upstream: upstream.url,
      store: STORE,
    }),
    SCRIPT,
  );
  return { group: workers, prefix };
}

/** Each worker's view of `keys`: mode per key, and whether its store has fallen back. */
async function views(group: readonly FleetWorker[], keys: readonly string[]) {
  return Promise.all(
    group.map(async (worker) => {
      const reply = await worker.ask({ type: 'state', keys }, 'state');
      return { states: reply.states as Record<string, string>, degraded: reply.degraded };
    }),
  );
}

/** Waits until every worker shares the fleet state again, and sees each key in `modes`. */
async function everyoneSees(
  group: readonly FleetWorker[],
  modes: Record<string, string>,
  timeout = RECOVERY,
): Promise<void> {
  const keys = Object.keys(modes);
  const expected = group.map(() => ({ states: modes, degraded: false }));
  await eventually(async () => expect(await views(group, keys)).toEqual(expected), {
    timeout,
    interval: 100,
  });
}

async function trip(worker: FleetWorker, key: string): Promise<void> {
  const reply = await worker.ask({ type: 'trip', key }, 'tripped');
  expect(reply.state).toBe('open');
}

async function stopLoad(group: readonly FleetWorker[]): Promise<LoadStats[]> {
  return Promise.all(
    group.map(async (worker) => (await worker.ask({ type: 'stop' }, 'stopped')).stats as LoadStats),
  );
}

/**
 * No call failed or was refused (the upstream answered every call it got, so any refusal would be
 * the store's), and every process kept completing calls while the master was dead.
 */
function expectServedThroughout(stats: readonly LoadStats[], killed: number, promoted: number) {
  for (const each of stats) {
    expect({ rejected: each.rejected, errors: each.errors, lastError: each.lastError }).toEqual({
      rejected: 0,
      errors: 0,
      lastError: null,
    });
    const during = each.completions.filter((at) => at > killed && at < promoted);
    expect(during.length).toBeGreaterThan(0);
  }
}

function report(setup: string, stats: readonly LoadStats[], promotion: number, recovery: number) {
  const calls = stats.map((each) => each.ok).join(', ');
  console.info(
    `${setup} failover under load: replica promoted ${promotion} ms after the kill; every store ` +
      `shared state again ${recovery} ms later; calls completed per process: ${calls}`,
  );
}

/** No process saw an unhandled rejection or exception. */
function expectNothingUnhandled(group: readonly FleetWorker[]): void {
  for (const worker of group) {
    expect(worker.messages.filter((m) => m.type === 'unhandled')).toEqual([]);
  }
}

/** Milliseconds from `since` until the last process that fell back said it recovered (0: none fell). */
function recoveredAfter(group: readonly FleetWorker[], since: number): number {
  let last = since;
  for (const worker of group) {
    const events = worker.messages.filter((m) => m.type === 'store' && m.at >= since - 30_000);
    const degraded = events.filter((m) => m.event === 'degraded');
    const recovered = events.filter((m) => m.event === 'recovered');
    // Each fall-back ended in a recovery.
    expect(recovered.length).toBe(degraded.length);
    for (const event of recovered) last = Math.max(last, event.at);
  }
  return last - since;
}

/** Circuit keys spread over the Cluster's masters, `PER_MASTER` each (by their hash tag's slot). */
async function keysPerMaster(cluster: RedisCluster): Promise<Map<RedisServer, string[]>> {
  const masters = await cluster.masters();
  const perMaster = new Map<RedisServer, string[]>(masters.map((m) => [m, []]));
  const reporter = masters[0] as RedisServer;
  for (let i = 0; [...perMaster.values()].some((keys) => keys.length < PER_MASTER); i++) {
    if (i > 1_000) throw new Error('could not spread keys over every master');
    const key = `api-${i}.example.com`;
    const slot = Number(await reporter.cli('cluster', 'keyslot', circuitKeys('p', key)[0]));
    const keys = perMaster.get(await cluster.masterOf(slot));
    if (keys !== undefined && keys.length < PER_MASTER) keys.push(key);
  }
  return perMaster;
}

describe('a Redis Cluster master SIGKILLed', () => {
  /**
   * Keys per master: `held` is tripped before the failover and must stay open, `steered` is forced
   * open by RedisAdmin after it, the others are `loaded`: called under load, or only known (idle).
   * Many circuits on the dead master's slots are what a resync after the failover sends at once.
   */
  async function setUp() {
    const cluster = await startCluster({ replicas: 1 });
    opened.push(cluster);
    const perMaster = await keysPerMaster(cluster);
    const held = [...perMaster.values()].map((keys) => keys[0] as string);
    const steered = [...perMaster.values()].map((keys) => keys[1] as string);
    const loaded = [...perMaster.values()].flatMap((keys) => keys.slice(2));
    const victim = [...perMaster.keys()][0] as RedisServer;
    const { group, prefix } = await fleet({ cluster: cluster.startupNodes }, loaded);
    const [first] = group as [FleetWorker];
    await everyoneSees(group, {});
    for (const key of held) await trip(first, key);
    // RedisAdmin steers circuits Redis holds: give the steered ones a state (closed) first.
    for (const key of steered) {
      expect((await first.ask({ type: 'force-open', key }, 'commanded')).error).toBeNull();
      expect((await first.ask({ type: 'clear', key }, 'commanded')).error).toBeNull();
    }
    await everyoneSees(
      group,
      Object.fromEntries([
        ...held.map((key) => [key, 'open']),
        ...[...steered, ...loaded].map((key) => [key, 'closed']),
      ]),
    );
    return { cluster, group, prefix, held, steered, victim };
  }

  /** What must hold after every failover: fleet commands on every slot, trips, held circuits. */
  async function expectFleetWorks(
    cluster: RedisCluster,
    group: readonly FleetWorker[],
    held: readonly string[],
    steered: readonly string[],
    prefix: string,
  ): Promise<void> {
    // Circuits opened before the failover are still open everywhere.
    await everyoneSees(group, Object.fromEntries(held.map((key) => [key, 'open'])));

    // RedisAdmin steers a circuit on each master's slots (the promoted replica's included).
    const redis = new Cluster(cluster.startupNodes);
    const admin = new RedisAdmin({ redis, prefix });
    try {
      for (const key of steered) {
        await expect(admin.command(key, 'force-open')).resolves.toMatchObject({
          after: { key, mode: 'forced-open' },
        });
      }
      await everyoneSees(group, Object.fromEntries(steered.map((key) => [key, 'forced-open'])));
      const listed = (await admin.list()).map((circuit) => circuit.key);
      expect(listed).toEqual(expect.arrayContaining([...held, ...steered]));
    } finally {
      await admin.close();
      redis.disconnect();
    }

    // A process clears them (its own forceOpen/clearForced work too), and everyone hears it.
    const [first, second] = group as [FleetWorker, FleetWorker];
    for (const key of steered) {
      expect((await second.ask({ type: 'clear', key }, 'commanded')).error).toBeNull();
    }
    await everyoneSees(group, Object.fromEntries(steered.map((key) => [key, 'closed'])));

    // A trip after the failover reaches the other processes.
    for (const key of steered) await trip(first, key);
    await everyoneSees(group, Object.fromEntries(steered.map((key) => [key, 'open'])));
  }

  it(
    'under load: no request fails, and the fleet shares state again within seconds',
    async () => {
      const { cluster, group, prefix, held, steered, victim } = await setUp();
      for (const worker of group) await worker.ask({ type: 'load', pause: 5 }, 'loading');
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      await victim.kill('SIGKILL');
      const killed = Date.now();
      await cluster.healthy();
      const promoted = Date.now();
      await everyoneSees(group, {});
      const recovery = recoveredAfter(group, promoted);
      // Keep the load on a while after the recovery: calls on every slot, the moved ones included.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const stats = await stopLoad(group);

      report('Cluster', stats, promoted - killed, recovery);
      expectServedThroughout(stats, killed, promoted);
      expect(recovery).toBeLessThan(RECOVERY);
      await expectFleetWorks(cluster, group, held, steered, prefix);
      expectNothingUnhandled(group);
    },
    TEST_TIMEOUT,
  );

  it(
    'while idle: the stores meet the new topology at their next poll and keep working',
    async () => {
      const { cluster, group, prefix, held, steered, victim } = await setUp();
      await victim.kill('SIGKILL');
      await cluster.healthy();
      const promoted = Date.now();
      // Several slow polls (pollInterval 1 s) run against the new topology.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await everyoneSees(group, {});
      console.info(
        `Cluster failover while idle: every store shared state again ${recoveredAfter(group, promoted)} ms after the promotion`,
      );
      await expectFleetWorks(cluster, group, held, steered, prefix);
      expectNothingUnhandled(group);
    },
    TEST_TIMEOUT,
  );
});

describe("the store's Cluster connection after a failover", () => {
  it(
    "follows every moved slot, also for commands sent at once to the dead master's slots",
    async () => {
      const cluster = await startCluster({ replicas: 1 });
      opened.push(cluster);
      const [victim] = await cluster.masters();
      // Keys on many slots of one master: what a store's resync sends together.
      const keys: string[] = [];
      const reporter = (await cluster.masters())[1] as RedisServer;
      for (let i = 0; keys.length < 20; i++) {
        const key = `moved:{${i}}`;
        const slot = Number(await reporter.cli('cluster', 'keyslot', key));
        if ((await cluster.masterOf(slot)) === victim) keys.push(key);
      }
      const redis = new Cluster(cluster.startupNodes);
      const connection = openCommandConnection(redis, 1_000);
      opened.push({
        stop: async () => {
          await disconnect(connection);
          redis.disconnect();
        },
      });
      await eventually(() => expect(connection.status).toBe('ready'));
      await Promise.all(keys.map((key) => connection.hget(key, 'k')));

      await victim?.kill('SIGKILL');
      await cluster.healthy();
      // Nothing touched the moved slots in between: the slot map still names the dead master.
      const answers = await eventually(
        () => Promise.all(keys.map((key) => connection.hget(key, 'k'))),
        { timeout: RECOVERY, interval: 200 },
      );
      expect(answers).toEqual(keys.map(() => null));
      // And once it answered, every later batch does too (no MOVED handed through).
      for (let round = 0; round < 3; round++) {
        await expect(Promise.all(keys.map((key) => connection.exists(key)))).resolves.toEqual(
          keys.map(() => 0),
        );
      }
    },
    TEST_TIMEOUT,
  );
});

describe('a Sentinel master SIGKILLed', () => {
  it(
    'under load: no request fails, and the fleet follows the promoted replica',
    async () => {
      const sentinel: RedisSentinel = await startSentinel();
      opened.push(sentinel);
      const loaded = ['api.example.com', 'pay.example.com'];
      const { group } = await fleet(
        { sentinels: sentinel.sentinelNodes, master: MASTER_NAME },
        loaded,
      );
      const [first] = group as [FleetWorker];
      await trip(first, 'held.example.com');
      await everyoneSees(group, { 'held.example.com': 'open' });
      for (const worker of group) await worker.ask({ type: 'load', pause: 5 }, 'loading');
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      await sentinel.master.kill('SIGKILL');
      const killed = Date.now();
      await sentinel.promoted();
      const promoted = Date.now();
      await everyoneSees(group, { 'held.example.com': 'open' });
      const recovery = recoveredAfter(group, promoted);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const stats = await stopLoad(group);

      report('Sentinel', stats, promoted - killed, recovery);
      expectServedThroughout(stats, killed, promoted);
      expect(recovery).toBeLessThan(RECOVERY);

      // Manual commands and trips reach every process through the new master.
      expect(
        (await first.ask({ type: 'force-open', key: 'pay.example.com' }, 'commanded')).error,
      ).toBeNull();
      await everyoneSees(group, { 'pay.example.com': 'forced-open' });
      await trip(group[1] as FleetWorker, 'api.example.com');
      await everyoneSees(group, { 'api.example.com': 'open' });
      expectNothingUnhandled(group);
    },
    TEST_TIMEOUT,
  );
});
