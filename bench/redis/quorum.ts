/**
 * `npm run bench:redis -- --quorum`: the two fleet-safety targets of the quorum (issue 12), with
 * six real child processes (test/redis/fixtures/worker.ts, each calling one at a time with 10 ms
 * between calls) on a redis-server of their own, not pinned, default options, quorum 2 (the
 * default) side by side with quorum 1 (every failMax opens the fleet):
 *
 * 1. One sick process among six (its requests go to a dead port, so its fetch always throws), for
 *    `SICK_SECONDS`: the share of the five healthy processes' requests that were refused, and the
 *    share of the sick process's own calls it refused after its first failMax failures.
 * 2. A host that goes down for all six (every response a 503) after a second of healthy traffic:
 *    how many requests it receives before every process refuses, over `RUNS` runs (median, range).
 */
import { startRedis, deadPort, sleep } from '../../test/helpers/redis-server.js';
import { startWorkers, Upstream, type Worker } from '../../test/redis/fleet.js';
import type { CallStats } from '../../test/redis/fixtures/worker.js';

const SHORT = process.argv.includes('--short');
const SICK_SECONDS = SHORT ? 4 : 15;
const RUNS = SHORT ? 2 : 5;
const PROCESSES = 6;
const FAIL_MAX = 5; // the default
/** Each process calls one at a time, ~100 calls a second: a steady client, not a flood. */
const LOAD = { type: 'load', concurrency: 1, pause: 10 } as const;

let prefixes = 0;

async function fleet(port: number, upstream: string, quorum: number, sick: number) {
  const prefix = `quorum${process.pid}-${++prefixes}`;
  const dead = `http://127.0.0.1:${await deadPort()}`;
  return startWorkers(PROCESSES, (i) => ({
    name: i < sick ? `sick${i}` : `ok${i}`,
    port,
    prefix,
    key: 'api.example.com',
    upstream: i < sick ? dead : upstream,
    infuse: { quorum },
  }));
}

type Stats = CallStats & { state: string };

async function stop(workers: readonly Worker[]): Promise<Stats[]> {
  const stats = await Promise.all(workers.map((w) => w.stats({ type: 'stop' }, 'stopped')));
  await Promise.all(workers.map((w) => w.exit()));
  return stats;
}

/** Target 1: percentages of refused calls, healthy processes and the sick one. */
async function oneSick(port: number, upstream: Upstream, quorum: number) {
  const workers = await fleet(port, upstream.url, quorum, 1);
  await Promise.all(workers.map((w) => w.ask(LOAD, 'loading')));
  await sleep(SICK_SECONDS * 1_000);
  const [sick, ...healthy] = await stop(workers);
  const calls = (s: Stats) => s.ok + s.failed + s.rejected + s.errors;
  const healthyCalls = healthy.reduce((sum, s) => sum + calls(s), 0);
  const healthyRefused = healthy.reduce((sum, s) => sum + s.rejected, 0);
  const sickAfterTrip = calls(sick!) - FAIL_MAX;
  return {
    healthyRefused: (100 * healthyRefused) / healthyCalls,
    healthyCalls,
    sickRefused: (100 * sick!.rejected) / sickAfterTrip,
    sickCalls: calls(sick!),
  };
}

/** Target 2: requests a host down for all receives before every process refuses. */
async function downForAll(port: number, upstream: Upstream, quorum: number): Promise<number> {
  upstream.respond = () => ({ status: 200 });
  const workers = await fleet(port, upstream.url, quorum, 0);
  await Promise.all(workers.map((w) => w.ask(LOAD, 'loading')));
  await sleep(1_000);
  const before = upstream.hits.length;
  upstream.respond = () => ({ status: 503 });
  await sleep(3_000);
  const stats = await stop(workers);
  if (stats.some((s) => s.state !== 'open')) throw new Error('a process did not open');
  upstream.respond = () => ({ status: 200 });
  return upstream.hits.length - before;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function quorumTable(): Promise<string[]> {
  const server = await startRedis();
  const upstream = await Upstream.start();
  try {
    const lines = [
      `### Quorum: six real processes, default options (\`failMax: 5\`), ${SICK_SECONDS} s with one sick, ${RUNS} runs down for all`,
      '',
      '| quorum | healthy processes’ requests refused (one sick) | sick process’s calls refused after its first failMax | requests to a host down for all: median (range) |',
      '|---:|---:|---:|---:|',
    ];
    for (const quorum of [2, 1]) {
      const sick = await oneSick(server.port, upstream, quorum);
      const down: number[] = [];
      for (let run = 0; run < RUNS; run++)
        down.push(await downForAll(server.port, upstream, quorum));
      lines.push(
        `| ${quorum}${quorum === 2 ? ' (default)' : ''} | ${sick.healthyRefused.toFixed(2)}% of ${sick.healthyCalls} | ${sick.sickRefused.toFixed(1)}% of ${sick.sickCalls - FAIL_MAX} | ${median(down)} (${Math.min(...down)}–${Math.max(...down)}) |`,
      );
    }
    lines.push(
      '',
      `Six independent per-process breakers would let ${PROCESSES} × failMax = ${PROCESSES * FAIL_MAX} requests through to a host down for all.`,
      '',
    );
    return lines;
  } finally {
    upstream.respond = () => ({ status: 200 });
    await upstream.close();
    await server.stop();
  }
}
