/**
 * One process of `npm run demo:fleet`: calls inventory.internal (the parent's local upstream)
 * every 100 ms through an Infuse on a RedisStore, and tells the parent each second what its
 * circuit looks like. A "sick" process has a broken path to the host: its calls go to a port
 * nobody listens on, while the host itself is fine.
 */
import { Redis } from 'ioredis';
import { Infuse } from '../src/index.js';
import { RedisStore } from '../src/redis/index.js';

export type WorkerOrder = { type: 'sick'; sick: boolean } | { type: 'exit' };

export interface WorkerReport {
  readonly name: string;
  readonly pid: number;
  readonly state: string;
  readonly scope: string;
  readonly ok: number;
  readonly failed: number;
  readonly refused: number;
}

const KEY = 'inventory.internal';
const name = process.env.DEMO_NAME ?? 'worker';
const upstream = process.env.DEMO_UPSTREAM ?? '';
const resetTimeout = Number(process.env.DEMO_RESET ?? 5_000);
// A port nobody listens on: what a process with bad DNS or a broken sidecar sees.
const broken = 'http://127.0.0.1:9/';

const redis = new Redis(Number(process.env.DEMO_REDIS_PORT), '127.0.0.1', {
  maxRetriesPerRequest: 0,
});
redis.on('error', () => undefined);
const store = new RedisStore({ redis, prefix: 'demo', pollInterval: 1_000, ttl: 60_000 });
const infuse = new Infuse({ store, failMax: 5, resetTimeout, quorum: 2 });
const circuit = infuse.circuit(KEY);
let sick = false;
let running = true;
const counts = { ok: 0, failed: 0, refused: 0 };

async function call(): Promise<void> {
  try {
    await circuit.call(async () => {
      const response = await fetch(sick ? broken : `${upstream}?from=${name}`);
      if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
      await response.arrayBuffer();
    });
    counts.ok++;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ECIRCUITOPEN') counts.refused++;
    else counts.failed++;
  }
}

function report(): void {
  const snapshot = circuit.snapshot();
  const message: WorkerReport = {
    name,
    pid: process.pid,
    state: snapshot.mode,
    scope: snapshot.scope ?? 'fleet',
    ...counts,
  };
  process.send?.(message);
}

process.on('message', (order: WorkerOrder) => {
  if (order.type === 'sick') sick = order.sick;
  else running = false;
});

await store.ready();
const reporter = setInterval(report, 250);
while (running) {
  await call();
  await new Promise((resolve) => setTimeout(resolve, 100));
}
clearInterval(reporter);
await infuse.shutdown();
redis.disconnect();
process.exit(0);
