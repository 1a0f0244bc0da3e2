/**
 * `npm run bench:dashboard`: how long the dashboard takes to show 1,000 circuits in a real
 * headless Chromium, against its own redis-server.
 *
 * The circuits are written by RedisAdmin commands (open, forced open, disabled, closed).
 *
 * 1. Reading the fleet: `RedisAdmin.list()` of 1,000 circuits (what the page's first message waits for).
 * 2. Page load: from navigation to the end of the first render with all 1,000 rows, for the first
 *    page of a new dashboard (it waits for the read) and for a reload (it gets what the
 *    dashboard last read at once). Read from the page's own `infuse-breaker render` measures.
 * 3. Render: the page script's time to render the 1,000 circuits of a message, and to refresh
 *    them on its once-a-second tick.
 *
 * `--short` makes a quick smoke run.
 */
import { Redis } from 'ioredis';
import { RedisAdmin } from '../src/redis/index.js';
import { startDashboard } from '../src/dashboard/server.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { machine } from './harness.js';

const SHORT = process.argv.includes('--short');
const CIRCUITS = 1_000;
const LOADS = SHORT ? 3 : 15;
const prefix = 'bench-dashboard';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

function range(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const adminRedis = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
  const admin = new RedisAdmin({ redis: adminRedis, prefix });
  for (let i = 0; i < CIRCUITS; i++) {
    const key = `service-${String(i).padStart(4, '0')}.internal`;
    if (i % 10 === 0) await admin.command(key, 'force-open', { create: true });
    else if (i % 10 === 1) await admin.command(key, 'disable', { create: true });
    else await admin.command(key, i % 10 === 2 ? 'close' : 'open', { create: true });
  }
  const listed: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const started = performance.now();
    const circuits = await admin.list();
    listed.push(performance.now() - started);
    if (circuits.length !== CIRCUITS) throw new Error(`listed ${circuits.length} circuits`);
  }

  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  /** Navigates, waits for the table, and reads the page's own render measures. */
  const load = async (url: string) => {
    await page.goto(url);
    await page.waitForFunction(
      (count) => document.querySelectorAll('#rows tr:not([hidden])').length >= count,
      CIRCUITS,
      { polling: 100, timeout: 60_000 },
    );
    // Two once-a-second refreshes of the whole table.
    await page.waitForTimeout(2_100);
    const renders = await page.evaluate(
      (count) =>
        (performance.getEntriesByName('infuse-breaker render') as PerformanceMeasure[])
          .filter((entry) => entry.detail === count)
          .map((entry) => ({ end: entry.startTime + entry.duration, duration: entry.duration })),
      CIRCUITS,
    );
    const [first, ...rest] = renders;
    if (first === undefined) throw new Error('no render of every circuit');
    return { shown: first.end, render: first.duration, ticks: rest.map((r) => r.duration) };
  };
  const cold: number[] = [];
  const warm: number[] = [];
  const firstRenders: number[] = [];
  const ticks: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    // A new dashboard has read nothing yet: its first page waits for the read.
    const dashboard = await startDashboard({ admin, prefix, refreshInterval: 60_000 });
    const first = await load(dashboard.url);
    cold.push(first.shown);
    // A reload (or another tab) gets what the dashboard last read at once, then a fresh read.
    const again = await load(dashboard.url);
    warm.push(again.shown);
    for (const each of [first, again]) {
      firstRenders.push(each.render);
      ticks.push(...each.ticks);
    }
    await dashboard.close();
  }
  await browser.close();
  await admin.close();
  adminRedis.disconnect();
  await redis.stop();

  console.log(`machine: ${machine()}`);
  console.log(`${CIRCUITS} circuits, ${LOADS} page loads (median, lowest–highest)\n`);
  console.log('| step | median ms | range ms |');
  console.log('|---|---:|---:|');
  console.log(
    `| RedisAdmin.list() of ${CIRCUITS} circuits | ${median(listed).toFixed(0)} | ${range(listed)} |`,
  );
  console.log(
    `| navigation → ${CIRCUITS} rows rendered, first page of a dashboard | ${median(cold).toFixed(0)} | ${range(cold)} |`,
  );
  console.log(
    `| navigation → ${CIRCUITS} rows rendered, reload | ${median(warm).toFixed(0)} | ${range(warm)} |`,
  );
  console.log(
    `| page script: render of ${CIRCUITS} new circuits | ${median(firstRenders).toFixed(0)} | ${range(firstRenders)} |`,
  );
  console.log(
    `| page script: once-a-second refresh of ${CIRCUITS} rows | ${median(ticks).toFixed(1)} | ${range(ticks)} |`,
  );
}

await main();
