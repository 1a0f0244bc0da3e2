/**
 * npm run demo:fleet — four processes share one circuit through a redis-server this demo starts on
 * a free port (redis-server must be on PATH). One process loses its path to a healthy host: it
 * opens the circuit for itself only, the fleet stays closed (quorum). Then the host fails for
 * everybody: one trip reaches every process. Then it recovers. It prints the commands to watch
 * it live, ends by itself (or on Ctrl-C) and cleans up. Nothing leaves this machine.
 *
 * Options: --quick (shorter phases, for the test), --hold (keep running 60 s at the end, to look
 * at the dashboard).
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/cli.js';
import type { WorkerOrder, WorkerReport } from './fleet-worker.js';

// tsx, and .lua files as text (src/redis/scripts), as the build has them.
const RUN_TS = [
  '--import',
  'tsx',
  '--import',
  fileURLToPath(new URL('../scripts/lua-text.mjs', import.meta.url)),
];

const quick = process.argv.includes('--quick');
const hold = process.argv.includes('--hold');
const WORKERS = 4;
const RESET = quick ? 2_000 : 5_000;
const PHASE = quick ? 3_000 : 6_000;
const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

const cleanups: (() => void)[] = [];
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const step of cleanups.reverse()) {
    try {
      step();
    } catch {
      // keep cleaning
    }
  }
}
process.once('SIGINT', () => {
  say('\nCtrl-C: stopping the processes and redis-server.');
  cleanup();
  process.exit(130);
});
process.once('exit', cleanup);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    }).finally(() => undefined);
    if (open) return;
    if (Date.now() > until)
      throw new Error(`redis-server did not listen on ${port} within ${ms} ms`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startRedis(): Promise<number> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    say('npm run demo:fleet needs redis-server on PATH, and found none. Install it:');
    say('  Debian/Ubuntu: sudo apt-get install redis-server     macOS: brew install redis');
    say('(or any Redis 6.2+ / Valkey binary named redis-server). Nothing was started.');
    process.exit(1);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'infuse-demo-fleet-'));
  const server: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: 'ignore' },
  );
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => server.kill('SIGKILL'));
  await waitForPort(port, 10_000);
  return port;
}

/** The host every process calls: healthy, or down for everybody. */
function startUpstream(): Promise<{ url: string; setDown: (down: boolean) => void }> {
  let down = false;
  const server = createHttpServer((_request, response) => {
    response.writeHead(down ? 503 : 200).end(down ? 'down' : 'ok');
  });
  cleanups.push(() => server.close());
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, setDown: (value) => (down = value) });
    });
  });
}

const reports = new Map<string, WorkerReport>();

function startWorkers(redisPort: number, upstream: string): ChildProcess[] {
  const script = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
  return Array.from({ length: WORKERS }, (_, i) => {
    const name = `worker-${i + 1}`;
    const child = fork(script, [], {
      execArgv: RUN_TS,
      env: {
        ...process.env,
        DEMO_NAME: name,
        DEMO_REDIS_PORT: String(redisPort),
        DEMO_UPSTREAM: upstream,
        DEMO_RESET: String(RESET),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (report: WorkerReport) => reports.set(report.name, report));
    cleanups.push(() => child.kill('SIGKILL'));
    return child;
  });
}

function table(): void {
  for (const report of [...reports.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const mode = report.scope === 'process' ? `${report.state} (own)` : report.state;
    say(
      `         ${report.name} (pid ${report.pid})  ${mode.padEnd(12)} ok ${String(report.ok).padStart(4)}  failed ${String(report.failed).padStart(3)}  refused ${String(report.refused).padStart(4)}`,
    );
  }
}

/** Waits until `check` holds for the reports (or `ms`); resolves with how long it took, or null. */
async function until(check: (all: WorkerReport[]) => boolean, ms: number): Promise<number | null> {
  const from = Date.now();
  while (Date.now() - from < ms) {
    const all = [...reports.values()];
    if (all.length === WORKERS && check(all)) return Date.now() - from;
    await sleep(25);
  }
  return null;
}

async function main(): Promise<void> {
  const redisPort = await startRedis();
  const upstream = await startUpstream();
  const url = `redis://127.0.0.1:${redisPort}`;
  say(`infuse-breaker fleet demo: redis-server on ${url}, ${WORKERS} processes, prefix "demo".`);
  say('Watch it live from another terminal (while the demo runs):');
  say(`  npx infuse-breaker status --redis ${url} --prefix demo --watch`);
  say(`  npx infuse-breaker processes --redis ${url} --prefix demo`);
  say(`  npx infuse-breaker history --redis ${url} --prefix demo`);
  say(`  npx infuse-breaker dashboard --redis ${url} --prefix demo`);
  say('');
  const workers = startWorkers(redisPort, upstream.url);
  cleanups.push(() => {
    for (const worker of workers)
      if (worker.connected) worker.send({ type: 'exit' } satisfies WorkerOrder);
  });
  await until((all) => all.every((r) => r.ok > 0), 30_000);
  say(`${clock()}  every process calls inventory.internal; all closed:`);
  table();

  const sick = workers[WORKERS - 1];
  sick?.send({ type: 'sick', sick: true } satisfies WorkerOrder);
  say(
    `${clock()}  worker-${WORKERS} loses its path to inventory.internal (the host itself is fine)`,
  );
  await until((all) => all.some((r) => r.scope === 'process' && r.state === 'open'), PHASE);
  await sleep(PHASE);
  const held = [...reports.values()];
  const ownOpen = held.filter((r) => r.state === 'open' && r.scope === 'process').length;
  const healthyRefused = held
    .filter((r) => r.name !== `worker-${WORKERS}`)
    .every((r) => r.state === 'closed');
  say(
    `${clock()}  the sick process is held to itself: ${ownOpen} process open for itself, ${healthyRefused ? `the other ${WORKERS - 1} closed` : 'others affected'} (quorum 2):`,
  );
  table();
  sick?.send({ type: 'sick', sick: false } satisfies WorkerOrder);

  say(`${clock()}  inventory.internal fails for everybody`);
  upstream.setDown(true);
  const firstOpen = await until(
    (all) => all.some((r) => r.state === 'open' && r.scope === 'fleet'),
    PHASE * 2,
  );
  const allOpen = await until(
    (all) => all.every((r) => r.state === 'open' && r.scope === 'fleet'),
    PHASE * 2,
  );
  if (firstOpen !== null && allOpen !== null) {
    say(`${clock()}  one trip reached all ${WORKERS} processes: the fleet is open everywhere:`);
  } else say(`${clock()}  the fleet did not open everywhere in time:`);
  table();

  say(
    `${clock()}  inventory.internal is back; after resetTimeout (${RESET / 1000} s) one trial closes the circuit`,
  );
  upstream.setDown(false);
  const closed = await until((all) => all.every((r) => r.state === 'closed'), RESET + PHASE * 2);
  say(
    `${clock()}  ${closed === null ? 'not closed everywhere in time' : 'closed again everywhere'}:`,
  );
  table();

  say('');
  say(`${clock()}  the history (infuse-breaker history --redis ${url} --prefix demo):`);
  await run(['history', '--redis', url, '--prefix', 'demo'], process);
  if (hold) {
    say(`\nHolding for 60 s: try the commands above. Ctrl-C to stop.`);
    await sleep(60_000);
  }
  say(`\n${clock()}  done: stopping the processes and redis-server.`);
  for (const worker of workers) worker.send({ type: 'exit' } satisfies WorkerOrder);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise((resolve) =>
          worker.exitCode !== null ? resolve(0) : worker.once('exit', resolve),
        ),
    ),
  );
  cleanup();
}

const deadline = setTimeout(
  () => {
    say('demo:fleet ran past its time limit; stopping.');
    cleanup();
    process.exit(1);
  },
  hold ? 180_000 : 120_000,
);
deadline.unref();

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `demo:fleet failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    cleanup();
    process.exit(1);
  },
);
