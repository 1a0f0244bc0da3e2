/**
 * `npm run bench:dashboard`: how long the dashboard takes to show 1,000 circuits in a real
 * headless Chromium, against its own redis-server.
 *
 * The circuits are written by RedisAdmin commands (open, forced open, disabled, closed).
 *
 * 1. Reading the fleet: `RedisAdmin.list()` of 1,000 circuits (what the page's first message waits for).
 * 2. Page load: from navigation to the end of the first render of all 1,000 circuits (the page
 *    draws the rows in view, and spacers for the others), for the first page of a new dashboard
 *    (a new tab, opened at once: it may wait for the dashboard's first read) and for a reload (it
 *    gets what the dashboard keeps at once). Read from the page's own `infuse-breaker render`
 *    measures; and to the first task after the next frame once those rows are in the table
 *    (`rows painted`, marked by a script the bench adds): what the user sees. Each load checks
 *    that the rows drawn fill the view, and counts them.
 * 3. Render: the page script's time to render the 1,000 circuits of a message, and to refresh
 *    them (the rows in view) on its once-a-second tick.
 * 4. Scrolling: a jump of the scroll position (a quarter of the table and more) to the first task
 *    after the frame that shows the rows now in view.
 *
 * `--short` makes a quick smoke run.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
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
  /** A new tab, as an operator opens the dashboard's link. */
  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    // Marks the first task after the frame that shows the rows in view once the page has every
    // circuit (the table counts a row per circuit and the header in aria-rowcount, in the task
    // that draws them); a requestAnimationFrame callback runs before its frame is painted, a
    // task it schedules runs after.
    await page.addInitScript((count) => {
      const observer = new MutationObserver(() => {
        const table = document.getElementById('circuits');
        if (table?.getAttribute('aria-rowcount') !== String(count + 1)) return;
        if (document.querySelector('#rows tr') === null) return;
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => performance.mark('rows painted'), 0));
      });
      observer.observe(document, { childList: true, subtree: true });
    }, CIRCUITS);
    return page;
  };
  const load = async (page: Page, url: string) => {
    await page.goto(url);
    await page.waitForFunction(
      (count) =>
        document.getElementById('circuits')?.getAttribute('aria-rowcount') === String(count + 1),
      CIRCUITS,
      { polling: 100, timeout: 60_000 },
    );
    // What an operator sees: rows down to the bottom of the view, and no more than a few past it.
    const drawn = await page.evaluate(() => {
      const rows = document.querySelectorAll('#rows tr');
      const last = rows[rows.length - 1]?.getBoundingClientRect().bottom ?? 0;
      return { count: rows.length, filled: last >= window.innerHeight };
    });
    if (!drawn.filled) throw new Error(`the ${drawn.count} rows drawn do not fill the view`);
    // Two once-a-second refreshes (of the rows in view).
    await page.waitForTimeout(2_100);
    const renders = await page.evaluate(
      (count) =>
        (performance.getEntriesByName('infuse-breaker render') as PerformanceMeasure[])
          .filter((entry) => entry.detail === count)
          .map((entry) => ({ end: entry.startTime + entry.duration, duration: entry.duration })),
      CIRCUITS,
    );
    const painted = await page.evaluate(
      () => performance.getEntriesByName('rows painted')[0]?.startTime ?? null,
    );
    const [first, ...rest] = renders;
    if (first === undefined || painted === null) throw new Error('no render of every circuit');
    // Jumps of the scroll position (as a drag of the scrollbar makes them), each timed to the
    // first task after the frame that shows it; a row must then be drawn in the middle of the view.
    const jumps = await page.evaluate(async () => {
      const times: number[] = [];
      const end = document.documentElement.scrollHeight - window.innerHeight;
      for (const share of [0.25, 0.5, 0.75, 1, 0]) {
        const started = performance.now();
        window.scrollTo(0, end * share);
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        times.push(performance.now() - started);
        const middle = document.elementFromPoint(window.innerWidth / 2, window.innerHeight / 2);
        if (middle?.closest('#rows tr') == null) throw new Error(`no row in view at ${share}`);
      }
      return times;
    });
    return {
      shown: first.end,
      painted,
      render: first.duration,
      ticks: rest.map((r) => r.duration),
      drawn: drawn.count,
      jumps,
    };
  };
  const cold: number[] = [];
  const warm: number[] = [];
  const coldPainted: number[] = [];
  const warmPainted: number[] = [];
  const firstRenders: number[] = [];
  const ticks: number[] = [];
  const drawnRows: number[] = [];
  const jumps: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    // A new dashboard has read nothing yet: its first page waits for the read.
    const dashboard = await startDashboard({ admin, prefix, refreshInterval: 60_000 });
    const page = await newPage();
    const first = await load(page, dashboard.url);
    cold.push(first.shown);
    coldPainted.push(first.painted);
    // A reload (or another tab) gets what the dashboard keeps at once.
    const again = await load(page, dashboard.url);
    warm.push(again.shown);
    warmPainted.push(again.painted);
    for (const each of [first, again]) {
      firstRenders.push(each.render);
      ticks.push(...each.ticks);
      drawnRows.push(each.drawn);
      jumps.push(...each.jumps);
    }
    await page.close();
    await dashboard.close();
  }
  await browser.close();
  await admin.close();
  adminRedis.disconnect();
  await redis.stop();

  console.log(
    `machine: ${machine()}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `${CIRCUITS} circuits, ${LOADS} page loads (median, lowest–highest); ` +
      `rows in the table: ${range(drawnRows)} (a 1280×900 view)\n`,
  );
  console.log('| step | median ms | range ms |');
  console.log('|---|---:|---:|');
  console.log(
    `| RedisAdmin.list() of ${CIRCUITS} circuits | ${median(listed).toFixed(0)} | ${range(listed)} |`,
  );
  console.log(
    `| navigation → ${CIRCUITS} circuits rendered, first page of a dashboard | ${median(cold).toFixed(0)} | ${range(cold)} |`,
  );
  console.log(
    `| navigation → ${CIRCUITS} circuits rendered, reload | ${median(warm).toFixed(0)} | ${range(warm)} |`,
  );
  console.log(
    `| navigation → rows in view painted (${CIRCUITS} circuits), first page of a dashboard | ${median(coldPainted).toFixed(0)} | ${range(coldPainted)} |`,
  );
  console.log(
    `| navigation → rows in view painted (${CIRCUITS} circuits), reload | ${median(warmPainted).toFixed(0)} | ${range(warmPainted)} |`,
  );
  console.log(
    `| page script: render of ${CIRCUITS} new circuits | ${median(firstRenders).toFixed(0)} | ${range(firstRenders)} |`,
  );
  console.log(
    `| page script: once-a-second refresh of ${CIRCUITS} circuits (rows in view) | ${median(ticks).toFixed(1)} | ${range(ticks)} |`,
  );
  console.log(
    `| scroll jump → rows in view painted | ${median(jumps).toFixed(1)} | ${range(jumps)} |`,
  );
}

await main();
