/**
 * `npm run bench:redis`: what RedisStore costs, in one run, against its own redis-server.
 *
 * 1. Added latency per call on the healthy path, against an in-memory Infuse, and a naive store
 *    that does one GET before and one write after each call (pybreaker's way) as a reference.
 * 2. Redis commands per call at steady state, from INFO commandstats.
 * 3. Time from a trip in this process to the state change in another process (p50, p99).
 * 4. The same through a TCP proxy adding 1 ms each way: the healthy path must not grow.
 * 5. Idle cost: Redis commands per second (INFO commandstats) made by one process that knows
 *    100, 10,000 and 100,000 circuits and makes no call, at `pollInterval: 1000` (`--idle`: this
 *    table alone).
 * 6. The quorum's two targets with six real processes (bench/redis/quorum.ts; `--quorum`: this
 *    table alone).
 *
 * `--trip`: section 3 alone, on loopback (a quick check of the 5 ms p99 promise).
 *
 * BENCH_PIN=same (default) pins Node and Redis to one core, BENCH_PIN=split to two, and
 * BENCH_PIN=none leaves them to the scheduler: a loopback round trip costs ~12 µs on a shared
 * core here and ~85 µs across cores. `--short` makes a quick smoke run.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Infuse, type InfuseOptions } from '../src/index.js';
import { RedisStore } from '../src/redis/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { machine, measure, table, type Result } from './harness.js';
import { NaiveRedisStore } from './redis/naive-store.js';
import { DelayProxy } from './redis/proxy.js';
import { quorumTable } from './redis/quorum.js';

// tsx, and .lua files as text (src/redis/scripts), as the build has them.
const RUN_TS = [
  '--import',
  'tsx',
  '--import',
  fileURLToPath(new URL('../scripts/lua-text.mjs', import.meta.url)),
];

const SHORT = process.argv.includes('--short');
/** `--idle`: the idle-cost table alone; `--quorum`: the quorum table alone. */
const IDLE_ONLY = process.argv.includes('--idle');
const QUORUM_ONLY = process.argv.includes('--quorum');
/** `--trip`: the trip-to-another-process latency alone. */
const TRIP_ONLY = process.argv.includes('--trip');
const ONLY = IDLE_ONLY || QUORUM_ONLY || TRIP_ONLY;
const PIN = process.env.BENCH_PIN ?? 'same';
const ROUNDS = SHORT ? 5 : 30;
const FAST_ITERATIONS = SHORT ? 2_000 : 20_000;
const STEADY_SECONDS = SHORT ? 1.5 : 5;
const TRIPS = SHORT ? 30 : 300;
const IDLE_SECONDS = SHORT ? 3 : 20;
const IDLE_SIZES = [100, 10_000, 100_000];
const PEER = fileURLToPath(new URL('./redis/peer.ts', import.meta.url));

const noop = (): undefined => undefined;
const now = (): number => performance.timeOrigin + performance.now();

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
}

function pin(redisPid: number): string {
  if (PIN === 'none') return 'not pinned';
  try {
    execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-pc', PIN === 'split' ? '1' : '0', String(redisPid)], {
      stdio: 'ignore',
    });
    return PIN === 'split' ? 'Node on CPU 0, Redis on CPU 1' : 'Node and Redis both on CPU 0';
  } catch {
    return 'not pinned (taskset failed)';
  }
}

async function redisInfuse(port: number, options: InfuseOptions = {}) {
  const redis = new Redis(port, '127.0.0.1');
  const store = new RedisStore({ redis, prefix: `bench${Math.random()}` });
  await store.ready();
  const infuse = new Infuse({ ...options, store });
  return {
    infuse,
    close: async () => {
      await infuse.shutdown();
      redis.disconnect();
    },
  };
}

/** ns per call of a closed circuit: in-memory Infuse, RedisStore, and the naive GET+SET store. */
async function healthyPath(port: number): Promise<Result[]> {
  const memory = new Infuse();
  const shared = await redisInfuse(port);
  const naiveClient = new Redis(port, '127.0.0.1');
  const naive = new Infuse({ store: new NaiveRedisStore(naiveClient) });
  const circuits = {
    memory: memory.circuit('svc'),
    redis: shared.infuse.circuit('svc'),
    naive: naive.circuit('svc'),
  };
  await circuits.redis.call(noop); // the first meeting's read, out of the measurement
  const loop = (circuit: (typeof circuits)['memory']) => async (iterations: number) => {
    for (let i = 0; i < iterations; i++) await circuit.call(noop);
  };
  const fast = await measure(
    [
      { name: 'in-memory Infuse', run: loop(circuits.memory) },
      { name: 'RedisStore', run: loop(circuits.redis) },
    ],
    { iterations: FAST_ITERATIONS, rounds: ROUNDS },
  );
  const slow = await measure([{ name: 'naive GET + SET per call', run: loop(circuits.naive) }], {
    iterations: SHORT ? 20 : 200,
    rounds: SHORT ? 3 : 10,
  });
  await Promise.all([memory.shutdown(), shared.close(), naive.shutdown()]);
  naiveClient.disconnect();
  return [...fast, ...slow];
}

/** Redis commands per call while calls run flat out on closed circuits. */
async function commandsPerCall(port: number, options: InfuseOptions): Promise<number> {
  const admin = new Redis(port, '127.0.0.1');
  const shared = await redisInfuse(port, options);
  const circuit = shared.infuse.circuit('steady');
  await circuit.call(noop);
  await admin.config('RESETSTAT');
  let calls = 0;
  const until = performance.now() + STEADY_SECONDS * 1_000;
  while (performance.now() < until) {
    for (let i = 0; i < 1_000; i++) await circuit.call(noop);
    calls += 1_000;
    // Let timers (the flush, the poll) run as they would in a server.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const stats = await admin.info('commandstats');
  await shared.close();
  admin.disconnect();
  return countCommands(stats) / calls;
}

/** ms from a failing call in this process to the trip reaching another process. */
async function tripToOther(port: number): Promise<{ p50: number; p99: number; max: number }> {
  const prefix = `trip${Math.random()}`;
  const peer = fork(PEER, [String(port), prefix, 'svc'], { execArgv: RUN_TS });
  const messages: { to: string; at: number }[] = [];
  const next = (to: string) =>
    new Promise<number>((resolve) => {
      const check = () => {
        const index = messages.findIndex((m) => m.to === to);
        if (index === -1) return false;
        resolve(messages.splice(0, index + 1)[index]!.at);
        return true;
      };
      if (!check())
        peer.on('message', function wait() {
          if (check()) peer.off('message', wait);
        });
    });
  peer.on('message', (message: { to: string; at: number }) => messages.push(message));
  await next('ready');
  const redis = new Redis(port, '127.0.0.1');
  const store = new RedisStore({ redis, prefix });
  // quorum 1: what is measured is how fast a fleet transition reaches another process (with the
  // default quorum, a lone vote waits a second for contrary evidence first).
  const infuse = new Infuse({ store, failMax: 1, resetTimeout: 600_000, quorum: 1 });
  const circuit = infuse.circuit('svc');
  const delays: number[] = [];
  for (let i = 0; i < TRIPS; i++) {
    let failedAt = 0;
    const opened = next('open');
    await circuit
      .call(() => {
        failedAt = now();
        throw new Error('down');
      })
      .catch(noop);
    delays.push((await opened) - failedAt);
    const closed = next('closed');
    await circuit.close();
    await closed;
  }
  peer.send('exit');
  await infuse.shutdown();
  redis.disconnect();
  return { p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), max: Math.max(...delays) };
}

/** Commands in an INFO commandstats reply, but for those the benchmark sends itself. */
function countCommands(stats: string): number {
  let commands = 0;
  for (const [, name, count] of stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (name !== 'info' && name !== 'config') commands += Number(count);
  }
  return commands;
}

/** A function, so that a check after a wait is not narrowed by the one before it. */
function stillDegraded(store: RedisStore): boolean {
  return store.degraded;
}

/** Redis commands per second from one process that knows `size` circuits and makes no call. */
async function idleCost(port: number, size: number): Promise<number> {
  const admin = new Redis(port, '127.0.0.1');
  const redis = new Redis(port, '127.0.0.1');
  const store = new RedisStore({ redis, prefix: `idle${Math.random()}`, pollInterval: 1_000 });
  await store.ready();
  const infuse = new Infuse({ store, maxCircuits: size });
  // First reads 100 at a time: a thousand at once would queue in Redis past commandTimeout.
  for (let i = 0; i < size; i += 100) {
    const batch = Array.from({ length: Math.min(100, size - i) }, (_, j) => `host-${i + j}`);
    await Promise.all(batch.map((key) => infuse.circuit(key).call(noop)));
  }
  if (store.size !== size) throw new Error(`the store knows ${store.size} circuits, not ${size}`);
  if (store.degraded) throw new Error('the store fell back to per-process state while loading');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await admin.config('RESETSTAT');
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1_000));
  const stats = await admin.info('commandstats');
  const seconds = (performance.now() - started) / 1_000;
  if (stillDegraded(store)) {
    throw new Error('the store fell back to per-process state while idle');
  }
  await infuse.shutdown();
  redis.disconnect();
  await admin.flushall();
  admin.disconnect();
  return countCommands(stats) / seconds;
}

function micro(ns: number): string {
  return `${(ns / 1_000).toFixed(2)} µs`;
}

async function scenario(label: string, port: number): Promise<string[]> {
  const results = await healthyPath(port);
  const byName = new Map(results.map((r) => [r.name, r]));
  const memory = byName.get('in-memory Infuse')!;
  const shared = byName.get('RedisStore')!;
  const naive = byName.get('naive GET + SET per call')!;
  const plain = await commandsPerCall(port, {});
  const rate = await commandsPerCall(port, {
    failureRate: { threshold: 0.5, minimumCalls: 20, window: 10_000 },
  });
  const trip = await tripToOther(port);
  return [
    `### ${label}`,
    '',
    table(results, 'in-memory Infuse'),
    '',
    '| figure | value |',
    '|---|---:|',
    `| added p50 per healthy call, RedisStore vs in-memory | ${micro(shared.median - memory.median)} |`,
    `| added p50 per call, naive GET + SET vs in-memory | ${micro(naive.median - memory.median)} |`,
    `| Redis commands per call, steady state (failMax only) | ${plain.toFixed(6)} |`,
    `| Redis commands per call, steady state (with failureRate) | ${rate.toFixed(6)} |`,
    `| trip in one process → state change in another, p50 | ${trip.p50.toFixed(2)} ms |`,
    `| trip in one process → state change in another, p99 | ${trip.p99.toFixed(2)} ms |`,
    `| trip in one process → state change in another, max | ${trip.max.toFixed(2)} ms |`,
    '',
  ];
}

async function tripTable(port: number): Promise<string[]> {
  const trip = await tripToOther(port);
  return [
    `### Trip in one process → state change in another (loopback, ${TRIPS} trips)`,
    '',
    '| p50 | p99 | max |',
    '|---:|---:|---:|',
    `| ${trip.p50.toFixed(2)} ms | ${trip.p99.toFixed(2)} ms | ${trip.max.toFixed(2)} ms |`,
    '',
  ];
}

async function idleTable(port: number): Promise<string[]> {
  const rows = [
    `### Idle cost: one process, no call, \`pollInterval: 1000\` (${IDLE_SECONDS} s each)`,
    '',
    '| circuits known | Redis commands per second |',
    '|---:|---:|',
  ];
  for (const size of IDLE_SIZES) {
    rows.push(`| ${size.toLocaleString('en')} | ${(await idleCost(port, size)).toFixed(2)} |`);
  }
  return [...rows, ''];
}

/** What a fleet costs Redis at the defaults, by source (counted from the scripts, not measured). */
const LOAD_TABLE = [
  '### Load on Redis, 1,000 processes × 10,000 circuits each (defaults)',
  '',
  '| source | Redis load |',
  '|---|---:|',
  '| slow poll: one change-feed read (3 commands) per process per 30 s ± 20%, whatever the circuits known | ~100 commands/s |',
  '| forced modes kept alive: one read per forced circuit per process per poll | ~33 scripts/s per forced circuit |',
  '| success batches, only with `failureRate`: one per circuit per process per second with traffic | ≤ 1,000 scripts/s per busy circuit |',
  '| failures: one script per failed call (quorum ballots ride on it) | one per failure |',
  '| a transition: one script, one PUBLISH to 1,000 subscribers, then one read per other process that knows the circuit | ≤ 1,000 scripts per transition |',
  '| a vote without its quorum: one PUBLISH, a read per process that knows the circuit, a contrary report per process that succeeds | ≤ 2,000 scripts per vote |',
  '| end of an open period: a permit request per process, then none until news | ≤ 1,000 scripts |',
  '',
];

async function main(): Promise<void> {
  const server = await startRedis();
  const proxy = await DelayProxy.start(server.port, 1);
  try {
    // Before pinning: the fleet's child processes would inherit this process's single core.
    const quorum = IDLE_ONLY || TRIP_ONLY ? [] : await quorumTable();
    const pinning = pin(server.pid);
    const version = (await server.cli('INFO', 'server')).match(/redis_version:(\S+)/)?.[1];
    const lines = [
      `## RedisStore (\`npm run bench:redis${SHORT ? ' -- --short' : ''}\`)`,
      '',
      `${machine()}; Redis ${version ?? '?'}; ${pinning}.`,
      '',
      ...(ONLY ? [] : await scenario('Redis on loopback', server.port)),
      ...(ONLY ? [] : await scenario('Through a proxy adding 1 ms each way', proxy.port)),
      ...quorum,
      ...(TRIP_ONLY ? await tripTable(server.port) : []),
      ...(QUORUM_ONLY || TRIP_ONLY ? [] : await idleTable(server.port)),
      ...(ONLY ? [] : LOAD_TABLE),
    ];
    console.log(lines.join('\n'));
  } finally {
    await proxy.close();
    await server.stop();
  }
}

await main();
