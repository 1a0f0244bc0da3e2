/**
 * The fleet, for real: child processes sharing one circuit through a real redis-file.server.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { sleep } from '../helpers/redis-server.js';
import type { WorkerConfig } from './fixtures/worker.js';
import { byGeneration, fleetForFile, startWorkers, type Worker } from './fleet.js';
import { freshPrefix } from './harness.js';

const file = fleetForFile();

function fleet(
  count: number,
  options: Pick<WorkerConfig, 'infuse' | 'store'> = {},
): Promise<Worker[]> {
  const prefix = freshPrefix();
  return startWorkers(count, (i) => ({
    name: `w${i}`,
    port: file.server.port,
    prefix,
    key: 'api.example.com',
    upstream: file.upstream.url,
    ...options,
  })).then((started) => (file.workers = started));
}

function degradedEvents(worker: Worker) {
  return worker.messages.filter((m) => m.type === 'store' && m.event === 'degraded');
}

/**
 * Waits until every process shares the open state (none fell back to per-process state on a busy
 * machine, where trials are per process by design) and has heard of the trip.
 */
async function everyoneHeardTheTrip(group: readonly Worker[]): Promise<void> {
  for (const worker of group) {
    await expect
      .poll(
        async () => {
          const { state, degraded } = await worker.ask({ type: 'state' }, 'state');
          return { state, degraded };
        },
        { timeout: 10_000 },
      )
      .toEqual({ state: 'open', degraded: false });
  }
}

describe('a fleet of processes sharing a circuit', () => {
  it('one process trips; every other process learns it and rejects without calling upstream', async () => {
    const [first, ...others] = await fleet(4, { infuse: { failMax: 3, resetTimeout: 60_000 } });
    for (const worker of [first!, ...others]) {
      expect((await worker.stats({ type: 'call', count: 1 }, 'called')).ok).toBe(1);
    }
    file.upstream.respond = (from) => ({ status: from === first!.name ? 503 : 200 });
    const tripped = await first!.stats({ type: 'trip' }, 'tripped');
    expect(tripped).toMatchObject({ failed: 3, state: 'open' });
    const trip = first!.messages.find((m) => m.type === 'stateChange' && m.to === 'open')!;
    expect(trip).toMatchObject({ from: 'closed', reason: 'failMax' });

    file.upstream.hits.length = 0;
    for (const worker of others) {
      const heard = await worker.waitFor((m) => m.type === 'stateChange' && m.to === 'open');
      expect(heard).toMatchObject({ from: 'closed', reason: 'remote' });
      // Loopback pub/sub takes well under a millisecond; this bound only catches a lost message.
      expect(heard.at - trip.at).toBeLessThan(1_000);
      const after = await worker.stats({ type: 'call', count: 5 }, 'called');
      expect(after).toMatchObject({ ok: 0, rejected: 5, errors: 0 });
    }
    expect(file.upstream.hits).toEqual([]);
  });

  it('at the end of each open period, 8 processes send exactly halfOpenMaxCalls trial calls upstream', async () => {
    const resetTimeout = 400;
    const group = await fleet(8, {
      infuse: { failMax: 1, resetTimeout, halfOpenMaxCalls: 2 },
    });
    // Every trial fails, slowly enough that the second permit is surely taken before the first
    // trial ends: the circuit re-opens each time, and each open period must end in exactly two
    // upstream calls, never three.
    file.upstream.respond = () => ({ status: 503, hold: 100 });
    await group[0]!.stats({ type: 'trip' }, 'tripped');
    await everyoneHeardTheTrip(group);
    const degradedBefore = group.map((w) => degradedEvents(w).length);
    file.upstream.hits.length = 0;
    await Promise.all(
      group.map((w) => w.ask({ type: 'load', concurrency: 3, pause: 2 }, 'loading')),
    );
    // Eight recovery attempts take about 8 × (resetTimeout + 100 ms); a busy machine takes longer.
    await eventually(
      () => expect(byGeneration(file.upstream.hits).length).toBeGreaterThanOrEqual(8),
      { timeout: 40_000, interval: 100 },
    );
    const stats = await Promise.all(group.map((w) => w.stats({ type: 'stop' }, 'stopped')));
    expect(group.map((w, i) => degradedEvents(w).length - degradedBefore[i]!)).toEqual(
      group.map(() => 0),
    );

    // Every upstream call was a trial; each recovery attempt (half-open generation) had two.
    const rounds = byGeneration(file.upstream.hits);
    expect(rounds.length).toBeGreaterThanOrEqual(8);
    expect(rounds.map((round) => round.length)).toEqual(rounds.map(() => 2));
    // Attempts follow one another: half-open, (trial fails) open, half-open...
    const generations = rounds.map((round) => round[0]!.generation);
    expect(generations.slice(1).map((g, i) => g - generations[i]!)).toEqual(
      generations.slice(1).map(() => 2),
    );
    for (const s of stats) expect(s.errors).toBe(0);
    const rejected = stats.reduce((sum, s) => sum + s.rejected, 0);
    expect(rejected).toBeGreaterThan(file.upstream.hits.length * 10);
  }, 60_000);

  it('a trial holder killed with SIGKILL does not wedge the circuit: its lease expires', async () => {
    const trialLease = 1_500;
    const group = await fleet(3, {
      infuse: { failMax: 1, resetTimeout: 300, halfOpenMaxCalls: 1 },
      store: { trialLease },
    });
    file.upstream.respond = () => ({ status: 503 });
    await group[0]!.stats({ type: 'trip' }, 'tripped');
    // Otherwise a process that has not heard of the trip yet sends on a closed circuit.
    await everyoneHeardTheTrip(group);
    file.upstream.hits.length = 0;
    // The first trial hangs forever; its holder is then killed.
    file.upstream.respond = () => ({
      status: 200,
      hold: file.upstream.hits.length === 1 ? Infinity : 0,
    });
    await Promise.all(
      group.map((w) => w.ask({ type: 'load', concurrency: 2, pause: 2 }, 'loading')),
    );
    await expect
      .poll(() => file.upstream.hits.length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    const holderHit = file.upstream.hits[0]!;
    const holder = group.find((w) => w.name === holderHit.from)!;
    await holder.kill('SIGKILL');

    const survivors = group.filter((w) => w !== holder);
    for (const worker of survivors) {
      await worker.waitFor((m) => m.type === 'stateChange' && m.to === 'closed', 10_000);
    }
    // Nobody else got a trial while the dead holder's lease was live. A second trial granted too
    // early would reach the upstream within milliseconds (the survivors keep asking every 2 ms);
    // the bound leaves half the lease for the holder's own request to have been slow to arrive
    // after its lease was granted, as it can be on a loaded CI machine.
    const next = file.upstream.hits[1]!;
    expect(next.from).not.toBe(holder.name);
    expect(next.at - holderHit.at).toBeGreaterThan(trialLease * 0.5);
    const stats = await Promise.all(survivors.map((w) => w.stats({ type: 'stop' }, 'stopped')));
    for (const s of stats) expect(s).toMatchObject({ errors: 0, state: 'closed' });
  });
});

describe('Redis failing under a fleet', () => {
  it('Redis killed and restarted during load loses no request to the breaker, then resyncs', async () => {
    const group = await fleet(4, { infuse: { failMax: 3 } });
    await Promise.all(
      group.map((w) => w.ask({ type: 'load', concurrency: 2, pause: 1 }, 'loading')),
    );
    await sleep(300);
    await file.server.kill('SIGKILL');
    for (const worker of group) {
      await worker.waitFor((m) => m.type === 'store' && m.event === 'degraded', 5_000);
    }
    await sleep(700);
    await file.server.start();
    for (const worker of group) {
      await worker.waitFor((m) => m.type === 'store' && m.event === 'recovered', 15_000);
    }
    const stats = await Promise.all(group.map((w) => w.stats({ type: 'stop' }, 'stopped')));
    for (const s of stats) {
      expect(s).toMatchObject({ errors: 0, rejected: 0, failed: 0, state: 'closed' });
      expect(s.ok).toBeGreaterThan(10); // generous: the loop kept running on a busy machine;
    }

    // Shared again: a trip in one process reaches the others.
    const [first, ...others] = group;
    file.upstream.respond = (from) => ({ status: from === first!.name ? 503 : 200 });
    expect(await first!.stats({ type: 'trip' }, 'tripped')).toMatchObject({ state: 'open' });
    for (const worker of others) {
      await worker.waitFor((m) => m.type === 'stateChange' && m.to === 'open', 5_000);
    }
  });

  it('Redis frozen with SIGSTOP does not stall requests, failing ones included', async () => {
    const group = await fleet(3, { infuse: { failMax: 1_000 } });
    let count = 0;
    // Every tenth call fails: failures are reported to Redis at once, and must not wait on it.
    file.upstream.respond = () => ({ status: ++count % 10 === 0 ? 503 : 200 });
    await Promise.all(
      group.map((w) => w.ask({ type: 'load', concurrency: 2, pause: 1 }, 'loading')),
    );
    await sleep(300);
    const frozenAt = performance.timeOrigin + performance.now();
    file.server.signal('SIGSTOP');
    await sleep(2_500);
    const thawedAt = performance.timeOrigin + performance.now();
    file.server.signal('SIGCONT');
    for (const worker of group) {
      await worker.waitFor((m) => m.type === 'store' && m.event === 'recovered', 15_000);
    }
    const stats = await Promise.all(group.map((w) => w.stats({ type: 'stop' }, 'stopped')));
    for (const s of stats) {
      expect(s).toMatchObject({ errors: 0, rejected: 0 });
      expect(s.failed).toBeGreaterThan(0);
      // Calls kept completing all through the freeze, and none waited anywhere near its length.
      const during = s.completions.filter((at) => at > frozenAt + 500 && at < thawedAt);
      expect(during.length).toBeGreaterThan(10); // generous: a busy machine runs fewer;
      expect(s.maxLatency).toBeLessThan(1_000);
    }
  });
});
