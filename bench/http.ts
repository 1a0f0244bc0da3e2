// npm run bench:http — requests per second through axios, ky, got and fetch, each with and without
// the infuse-breaker adapter, against a local keep-alive HTTP server with 64 requests in flight,
// in one run.
//
//   npm run bench:http -- [--rounds 30] [--duration 1000] [--warmup 24000] [--inflight 64]
//
// The server runs in a child process so that it does not share the client's event loop; client
// and server (every thread of each) are pinned to separate cores. Throughput on a shared virtual
// machine drifts by tens of percent from one second to the next, and the JIT needs many seconds to
// settle, so: a warm-up that runs every variant in turn for `warmup` ms in all, then `rounds`
// rounds in which every client runs `duration` ms without and `duration` ms with its adapter, back
// to back, in alternating order. The ratio column is the median of those per-round pairs, with a
// 95% confidence interval of that median (from the order statistics of the pairs).
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import axios from 'axios';
import got from 'got';
import ky from 'ky';
import { infuseAxios } from '../src/adapters/axios.js';
import { infuseFetch } from '../src/adapters/fetch.js';
import { infuseGot } from '../src/adapters/got.js';
import { infuseKy } from '../src/adapters/ky.js';
import { machine } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    duration: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '24000' },
    inflight: { type: 'string', default: '64' },
    server: { type: 'boolean', default: false },
  },
});

if (values.server) {
  await serve();
} else {
  await main(
    Number(values.rounds),
    Number(values.duration),
    Number(values.warmup),
    Number(values.inflight),
  );
}

/** The upstream: 200 with a small body, keep-alive; tells its parent the port. */
async function serve(): Promise<void> {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  });
  process.on('disconnect', () => process.exit(0));
}

type Send = () => Promise<unknown>;

async function main(
  rounds: number,
  duration: number,
  warmup: number,
  inflight: number,
): Promise<void> {
  for (const [name, value] of [
    ['rounds', rounds],
    ['duration', duration],
    ['warmup', warmup],
    ['inflight', inflight],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(`--${name} must be a positive integer`);
  }
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--server'], {
    execArgv: process.execArgv,
  });
  const [port] = (await once(child, 'message')) as [number];
  const pinned = pin(child.pid);
  const url = `http://127.0.0.1:${port}/`;
  const agent = new Agent({ keepAlive: true, maxSockets: inflight });

  const plainAxios = axios.create({ httpAgent: agent });
  const guardedAxios = axios.create({ httpAgent: agent });
  infuseAxios(guardedAxios);
  const plainGot = got.extend({ agent: { http: agent }, retry: { limit: 0 } });
  const guardedGot = plainGot.extend(infuseGot());

  // fetch and ky use undici's global dispatcher, which keeps connections alive by itself.
  const guardedFetch = infuseFetch();
  const plainKy = ky.extend({ retry: 0 });
  const guardedKy = plainKy.extend(infuseKy());

  const clients: [client: string, without: Send, withAdapter: Send][] = [
    ['axios', () => plainAxios.get(url), () => guardedAxios.get(url)],
    ['ky', () => plainKy.get(url).arrayBuffer(), () => guardedKy.get(url).arrayBuffer()],
    ['got', () => plainGot(url), () => guardedGot(url)],
    [
      'fetch',
      () => fetch(url).then((r) => r.arrayBuffer()),
      () => guardedFetch(url).then((r) => r.arrayBuffer()),
    ],
  ];
  const results = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, id: string, value: number) => {
    map.set(id, [...(map.get(id) ?? []), value]);
  };
  console.log(`machine: ${machine()}; ${pinned}`);
  console.log(
    `axios ${axios.VERSION}, ky 1, got 14, fetch (undici); ${inflight} in flight; warm-up ` +
      `${warmup} ms; ${rounds} rounds; in each round every client runs ${duration} ms without and ` +
      `${duration} ms with its adapter, back to back, in alternating order\n`,
  );
  const warmupEnd = performance.now() + warmup;
  while (performance.now() < warmupEnd) {
    for (const [, without, withAdapter] of clients) {
      await measure(without, duration, inflight);
      await measure(withAdapter, duration, inflight);
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const [client, without, withAdapter] of clients) {
      // The pair runs back to back so that a drift in the machine's load hits both alike; the
      // order alternates so that neither always runs first.
      const order = round % 2 === 0 ? [false, true] : [true, false];
      const pair = new Map<boolean, number>();
      for (const adapter of order) {
        const { rps, cpuPerRequest } = await measure(
          adapter ? withAdapter : without,
          duration,
          inflight,
        );
        pair.set(adapter, rps);
        push(results, `${client}|${adapter}`, rps);
        push(cpu, `${client}|${adapter}`, cpuPerRequest);
      }
      push(ratios, client, pair.get(true)! / pair.get(false)!);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  agent.destroy();
  child.disconnect();

  console.log(
    '| client | without adapter (req/s) | with adapter (req/s) | with / without (median of pairs) | 95% CI | client CPU µs/request without | with | added |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const client of ['axios', 'ky', 'got', 'fetch']) {
    const without = median(results.get(`${client}|false`)!);
    const withAdapter = median(results.get(`${client}|true`)!);
    const pairs = ratios.get(client)!;
    const [low, high] = medianInterval(pairs);
    const cpuWithout = median(cpu.get(`${client}|false`)!);
    const cpuWith = median(cpu.get(`${client}|true`)!);
    console.log(
      `| ${client} | ${Math.round(without)} | ${Math.round(withAdapter)} | ${percent(median(pairs))} | ` +
        `${percent(low)}–${percent(high)} | ${cpuWithout.toFixed(1)} | ${cpuWith.toFixed(1)} | ` +
        `${(cpuWith - cpuWithout).toFixed(1)} |`,
    );
  }
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/**
 * A 95% confidence interval of the median: the order statistics at ranks n/2 ∓ 1.96·√n/2, which
 * assumes nothing about the distribution of the pairs.
 */
function medianInterval(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const spread = (1.96 * Math.sqrt(n)) / 2;
  const low = Math.max(0, Math.floor(n / 2 - spread));
  const high = Math.min(n - 1, Math.ceil(n / 2 + spread) - 1);
  return [sorted[low]!, sorted[high]!];
}

/** Client on CPU 0, server on CPU 1, so that the scheduler's choices do not move the figures. */
function pin(server: number | undefined): string {
  try {
    execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-a', '-pc', '1', String(server)], { stdio: 'ignore' });
    return 'client pinned to CPU 0, server to CPU 1';
  } catch {
    return 'not pinned (taskset failed)';
  }
}

/**
 * Completed requests per second while `inflight` loops send back to back for `duration` ms, and
 * the client process's CPU time per request (user + system), which other load on the machine
 * disturbs far less than wall-clock throughput.
 */
async function measure(
  send: Send,
  duration: number,
  inflight: number,
): Promise<{ rps: number; cpuPerRequest: number }> {
  let done = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = started + duration;
  const loop = async () => {
    while (performance.now() < deadline) {
      await send();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const used = process.cpuUsage(cpuStart);
  return {
    rps: done / ((performance.now() - started) / 1000),
    cpuPerRequest: (used.user + used.system) / done,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
