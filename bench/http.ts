// npm run bench:http — what each adapter adds per request, two ways, in one run:
//
// 1. around a stub transport (bench/stub.ts): no sockets, sequential, interleaved, in CPU time;
// 2. over real sockets: requests per second and process CPU per request through axios (instance
//    and interceptor forms), ky, got, fetch and undici, each with and without the adapter,
//    against a local keep-alive HTTP server with 64 requests in flight.
//
//   npm run bench:http -- [--pairs 10] [--warmup 15] [--rounds 5] [--duration 1000]
//                         [--inflight 64] [--clients axios,axios-interceptor,ky,got,fetch,undici]
//                         [--no-control] [--no-stub] [--stub-only]
//
// Why two processes at once. On the shared virtual machines this runs on, a client's throughput
// moves by a factor of two from one quarter-second to the next, whatever the client does, which
// drowns a 3% difference measured one variant after the other. So the two variants run at the same
// time, in two processes pinned to the same core: whatever slows the core slows both alike, and
// each round's ratio compares the same wall-clock second. Both processes load the same code (every
// client and every adapter) and build the same instances; each sends through one variant only, so
// that neither process's JIT sees the other variant's paths. A process's own luck (its JIT
// decisions, where its heap lands) still shifts its throughput by a few percent for its whole life,
// so each comparison is repeated over `pairs` pairs of fresh processes, the first-started process
// alternating; the pair is the unit of the statistics. A control row compares fetch without the
// adapter against itself, to show what the method reads when there is no difference.
//
// Why 15 warm-up seconds. The table is about a service's steady state. Code that runs once per
// request (an adapter's) reaches V8's optimising compiler later than a client's own helpers, which
// run many times per request, and both processes' compiler threads share the one core: after 2
// warm-up seconds guarded axios read about 9 points lower than from about the 13th second on, after
// 4 seconds up to 5 points lower (BENCHMARKS.md has the measured curve).
//
// The upstream server runs in a third process on the other core.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine } from './harness.js';
import { stubTable } from './stub.js';

const CLIENTS = ['axios', 'axios-interceptor', 'ky', 'got', 'fetch', 'undici'] as const;
type Client = (typeof CLIENTS)[number];
/** A worker's job: a client and whether the adapter guards it. */
type Variant = `${Client}|${'without' | 'with'}`;

const file = fileURLToPath(import.meta.url);
const role = process.argv[2];

if (role === '--server') await serve();
else if (role === '--worker') await work(process.argv[3]!, process.argv[4] as Variant);
else await main();

/** The upstream: 200 with a two-byte body, keep-alive; tells its parent the port. */
async function serve(): Promise<void> {
  const { createServer } = await import('node:http');
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    response.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  });
  process.on('disconnect', () => process.exit(0));
}

interface Round {
  /** Requests completed. */
  readonly done: number;
  /** Process CPU time, user + system, in microseconds. */
  readonly cpu: number;
}

/**
 * A worker: builds every client with and without its adapter, then, on each message, sends through
 * its one variant with `inflight` loops from the given start time for `duration` ms.
 */
async function work(url: string, variant: Variant): Promise<void> {
  const { default: axios } = await import('axios');
  const { default: got } = await import('got');
  const { default: ky } = await import('ky');
  const { infuseAxios } = await import('../src/adapters/axios.js');
  const { infuseFetch } = await import('../src/adapters/fetch.js');
  const { infuseGot } = await import('../src/adapters/got.js');
  const { infuseKy } = await import('../src/adapters/ky.js');
  const { infuseUndici } = await import('../src/adapters/undici.js');
  const undici = await import('undici');

  // Each client as an application would set it up: stock options, a keep-alive agent where the
  // client needs one (fetch and ky use undici's global dispatcher, which keeps connections alive).
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const plainAxios = axios.create({ httpAgent: agent });
  const guardedAxios = axios.create({ httpAgent: agent });
  infuseAxios(guardedAxios);
  const interceptedAxios = axios.create({ httpAgent: agent });
  interceptedAxios.interceptors.request.use(infuseAxios());
  // undici's request() through a keep-alive Agent of its own, composed or not.
  const plainDispatcher = new undici.Agent({ connections: 256 });
  const guardedDispatcher = plainDispatcher.compose(infuseUndici());
  const undiciGet = async (dispatcher: unknown) => {
    const { body } = await undici.request(url, { dispatcher: dispatcher as never });
    await body.arrayBuffer();
  };
  const plainGot = got.extend({ agent: { http: agent } });
  const guardedGot = plainGot.extend(infuseGot());
  const guardedKy = ky.extend(infuseKy());
  const guardedFetch = infuseFetch();
  const sends: Record<Variant, () => Promise<unknown>> = {
    'axios|without': () => plainAxios.get(url),
    'axios|with': () => guardedAxios.get(url),
    'axios-interceptor|without': () => plainAxios.get(url),
    'axios-interceptor|with': () => interceptedAxios.get(url),
    'undici|without': () => undiciGet(plainDispatcher),
    'undici|with': () => undiciGet(guardedDispatcher),
    'ky|without': () => ky.get(url).arrayBuffer(),
    'ky|with': () => guardedKy.get(url).arrayBuffer(),
    'got|without': () => plainGot(url),
    'got|with': () => guardedGot(url),
    'fetch|without': () => fetch(url).then((response) => response.arrayBuffer()),
    'fetch|with': () => guardedFetch(url).then((response) => response.arrayBuffer()),
  };
  const send = sends[variant];
  process.on('message', (message: { start: number; duration: number; inflight: number }) => {
    void run(send, message).then((round) => process.send?.(round));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.('ready');
}

async function run(
  send: () => Promise<unknown>,
  { start, duration, inflight }: { start: number; duration: number; inflight: number },
): Promise<Round> {
  // Both workers of a pair start at the same wall-clock time.
  while (Date.now() < start) await new Promise((resolve) => setTimeout(resolve, 1));
  const deadline = start + duration;
  let done = 0;
  const cpuStart = process.cpuUsage();
  const loop = async () => {
    while (Date.now() < deadline) {
      await send();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const used = process.cpuUsage(cpuStart);
  return { done, cpu: used.user + used.system };
}

interface Settings {
  readonly pairs: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly duration: number;
  readonly inflight: number;
}

/** What one comparison found: per pair, the ratio of requests completed (B / A) over its rounds. */
interface Comparison {
  readonly name: string;
  readonly ratios: number[];
  /** Requests per second of each process, medians over every measured round. */
  readonly rateA: number;
  readonly rateB: number;
  /** Client CPU time per request, µs, medians over every measured round. */
  readonly cpuA: number;
  readonly cpuB: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      pairs: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '15' },
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '1000' },
      inflight: { type: 'string', default: '64' },
      clients: { type: 'string', default: CLIENTS.join(',') },
      'no-control': { type: 'boolean', default: false },
      'no-stub': { type: 'boolean', default: false },
      'stub-only': { type: 'boolean', default: false },
    },
  });
  if (!values['no-stub']) {
    console.log(`machine: ${machine()}\n\n${await stubTable()}\n`);
    if (values['stub-only']) return;
  }
  const settings: Settings = {
    pairs: positive('pairs', values.pairs),
    warmup: positive('warmup', values.warmup, 0),
    rounds: positive('rounds', values.rounds),
    duration: positive('duration', values.duration),
    inflight: positive('inflight', values.inflight),
  };
  const clients = values.clients.split(',').map((name) => {
    if (!(CLIENTS as readonly string[]).includes(name)) {
      throw new TypeError(`--clients: unknown client "${name}"; known: ${CLIENTS.join(', ')}`);
    }
    return name as Client;
  });

  const server = fork(file, ['--server'], { execArgv: process.execArgv });
  const [port] = (await once(server, 'message')) as [number];
  const pinned = pin(server.pid, 1);
  const url = `http://127.0.0.1:${port}/`;
  const loadBefore = loadavg()[0]!;
  console.log(`machine: ${machine()}; server on CPU 1, both client processes on CPU 0 (${pinned})`);
  const versions = await clientVersions();
  console.log(
    `${versions}; ${settings.inflight} in flight per process; ${settings.pairs} pairs of processes ` +
      `per row, each ${settings.warmup} warm-up + ${settings.rounds} measured rounds of ` +
      `${settings.duration} ms\n`,
  );

  const comparisons: Comparison[] = [];
  for (const client of clients) {
    comparisons.push(await compare(client, `${client}|without`, `${client}|with`, url, settings));
  }
  if (!values['no-control']) {
    comparisons.push(
      await compare(
        'control: fetch without vs itself',
        'fetch|without',
        'fetch|without',
        url,
        settings,
      ),
    );
  }
  server.disconnect();

  console.log(
    `\nload average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after\n\n` +
      '| client | without (req/s) | with (req/s) | with / without, median of pairs | 95% CI of the mean | pairs, lowest–highest | CPU µs/request without | with |\n' +
      '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const { name, ratios, rateA, rateB, cpuA, cpuB } of comparisons) {
    const [low, high] = meanInterval(ratios);
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `| ${name} | ${Math.round(rateA)} | ${Math.round(rateB)} | ${percent(median(ratios))} | ` +
        `${percent(low)}–${percent(high)} | ${percent(sorted[0]!)}–${percent(sorted.at(-1)!)} | ` +
        `${cpuA.toFixed(1)} | ${cpuB.toFixed(1)} |`,
    );
  }
}

function positive(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`--${name} must be an integer >= ${min}; got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Runs `pairs` pairs of fresh worker processes, A and B at the same time, and collects ratios. */
async function compare(
  name: string,
  a: Variant,
  b: Variant,
  url: string,
  settings: Settings,
): Promise<Comparison> {
  const ratios: number[] = [];
  const rates: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  for (let pair = 0; pair < settings.pairs; pair++) {
    // The process started first gets no head start: alternate which one it is.
    const even = pair % 2 === 0;
    const first = await spawn(url, even ? a : b);
    const second = await spawn(url, even ? b : a);
    const [workerA, workerB] = even ? [first, second] : [second, first];
    let doneA = 0;
    let doneB = 0;
    for (let round = 0; round < settings.warmup + settings.rounds; round++) {
      const [roundA, roundB] = await together(workerA, workerB, settings);
      if (round < settings.warmup) continue;
      doneA += roundA.done;
      doneB += roundB.done;
      rates[0].push((roundA.done * 1000) / settings.duration);
      rates[1].push((roundB.done * 1000) / settings.duration);
      cpu[0].push(roundA.cpu / roundA.done);
      cpu[1].push(roundB.cpu / roundB.done);
    }
    workerA.disconnect();
    workerB.disconnect();
    ratios.push(doneB / doneA);
    process.stderr.write(`${name}: pair ${pair + 1}/${settings.pairs} ${percent(doneB / doneA)}\n`);
  }
  return {
    name,
    ratios,
    rateA: median(rates[0]),
    rateB: median(rates[1]),
    cpuA: median(cpu[0]),
    cpuB: median(cpu[1]),
  };
}

async function spawn(url: string, variant: Variant): Promise<ChildProcess> {
  const worker = fork(file, ['--worker', url, variant], { execArgv: process.execArgv });
  await once(worker, 'message');
  pin(worker.pid, 0);
  return worker;
}

/** One round: both workers send from the same instant for the same time. */
async function together(
  a: ChildProcess,
  b: ChildProcess,
  settings: Settings,
): Promise<[Round, Round]> {
  const message = {
    start: Date.now() + 20,
    duration: settings.duration,
    inflight: settings.inflight,
  };
  const answers = Promise.all([once(a, 'message'), once(b, 'message')]);
  a.send(message);
  b.send(message);
  const [[roundA], [roundB]] = (await answers) as [[Round], [Round]];
  return [roundA, roundB];
}

/** Pins every thread of `pid` to `cpu`. */
function pin(pid: number | undefined, cpu: number): string {
  try {
    execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
    return 'pinned with taskset';
  } catch {
    return 'not pinned: taskset failed';
  }
}

async function clientVersions(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  // Read from disk: ky's package.json is not among its exports.
  const version = (name: string) =>
    (
      JSON.parse(
        readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
      ) as { version: string }
    ).version;
  return `axios ${version('axios')}, ky ${version('ky')}, got ${version('got')}, undici ${version('undici')}, fetch (Node's undici ${process.versions.undici})`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A 95% confidence interval of the mean (Student's t), the pairs being independent. */
function meanInterval(values: readonly number[]): [number, number] {
  const n = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  if (n < 2) return [mean, mean];
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  const half = studentT95(n - 1) * Math.sqrt(variance / n);
  return [mean - half, mean + half];
}

/** Two-sided 95% quantile of Student's t for `df` degrees of freedom. */
function studentT95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
  if (df <= table.length) return table[df - 1]!;
  if (df <= 20) return 2.086 + ((20 - df) * (2.228 - 2.086)) / 10;
  if (df <= 30) return 2.042 + ((30 - df) * (2.086 - 2.042)) / 10;
  return 1.96 + 1.2 / df;
}
