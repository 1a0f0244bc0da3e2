/**
 * The dashboard's "Last hour" column in a real headless Chromium, fed by three real child
 * processes sharing a circuit through a real redis-server: a healthy circuit in use shows with its
 * processes; one sick process opens it for itself only (quorum); a host down for all opens it for
 * the fleet (an open band, the reason and the process that made it); "Close" from the page is
 * listed as the dashboard's. With DASHBOARD_TIMELINE_SCREENSHOT=<path> it saves a screenshot
 * there (docs/dashboard.png).
 */
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAdmin } from '../../src/redis/admin.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { startRedis } from '../helpers/redis-server.js';
import { startWorkers, Upstream, type Worker } from '../redis/fleet.js';
import { launchChromium } from '../helpers/chromium.js';

const KEY = 'inventory.internal';
const SLOW_MACHINE = { commandTimeout: 2_000, waitTimeout: 1_500, pollInterval: 300 };

describe('the dashboard timeline, processes and reasons in headless Chromium', () => {
  let upstream: Upstream;
  let workers: Worker[];
  let dashboard: Dashboard;
  let admin: RedisAdmin;
  let page: Page;
  const cleanup: (() => unknown)[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    upstream = await Upstream.start();
    cleanup.push(() => upstream.close());
    workers = await startWorkers(3, (i) => ({
      name: `w${i}`,
      port: redis.port,
      prefix: 'shop',
      key: KEY,
      upstream: upstream.url,
      infuse: { failMax: 3, resetTimeout: 120_000, quorum: 2 },
      store: SLOW_MACHINE,
    }));
    for (const worker of workers) cleanup.push(() => worker.exit());
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    cleanup.push(() => client.disconnect());
    admin = new RedisAdmin({ redis: client, prefix: 'shop' });
    cleanup.push(() => admin.close());
    dashboard = await startDashboard({ admin, prefix: 'shop', refreshInterval: 500 });
    cleanup.push(() => dashboard.close());
    const browser = await launchChromium();
    cleanup.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1280, height: 300 }, colorScheme: 'light' });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    for (const worker of workers) await worker.stats({ type: 'call', count: 5 }, 'called');
    await page.goto(dashboard.tokenUrl);
  }, 120_000);

  afterAll(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  const cell = (part: string) => page.locator(`tr[data-key="${KEY}"] td.history ${part}`);

  it('shows a healthy circuit in use, with the processes that use it', async () => {
    // Redis holds nothing for it: only the heartbeats name it.
    expect(await admin.list()).toEqual([]);
    await expect
      .poll(() => cell('.processes').textContent(), { timeout: 15_000 })
      .toBe('3 processes');
    expect(await page.locator(`tr[data-key="${KEY}"] .badge`).textContent()).toBe('closed');
    expect(await cell('svg.timeline').getAttribute('data-bands')).toBe('closed');
    // 15 calls, none failed: a flat line at 0%.
    expect(Number(await cell('svg.timeline').getAttribute('data-points'))).toBeGreaterThan(0);
  });

  it('shows a process that opened the circuit for itself, and the fleet still closed', async () => {
    // The healthy processes keep calling: their successes contradict the sick one's vote.
    for (const worker of workers.slice(0, 2)) {
      await worker.ask({ type: 'load', concurrency: 1, pause: 100 }, 'loading');
    }
    upstream.respond = (from) => ({ status: from === 'w2' ? 500 : 200 });
    const tripped = await workers[2]!.ask({ type: 'trip' }, 'tripped');
    expect(tripped.state).toBe('open');
    await expect
      .poll(() => cell('.processes').textContent(), { timeout: 15_000 })
      .toBe('3 processes · 1 open for itself');
    await expect
      .poll(() => cell('.reason').textContent(), { timeout: 15_000 })
      .toMatch(new RegExp(`^closed → open \\(own\\): failMax · process \\d+ on `));
    // The fleet stays closed; the badge counts the process that opened for itself (its vote).
    expect(await page.locator(`tr[data-key="${KEY}"] .badge`).textContent()).toBe(
      'closed · open in 1 process',
    );
    expect(await cell('rect.own').count()).toBe(1);
  });

  it('shows the fleet open when the host fails for all, with its band and reason', async () => {
    upstream.respond = () => ({ status: 500 });
    await expect
      .poll(() => page.locator(`tr[data-key="${KEY}"] .badge`).textContent(), {
        timeout: 15_000,
      })
      .toBe('open');
    await expect
      .poll(() => cell('svg.timeline').getAttribute('data-bands'), { timeout: 15_000 })
      .toBe('closed open');
    expect(await cell('.reason').textContent()).toMatch(
      /^closed → open: failMax · process \d+ on /,
    );
  });

  it('lists "Close" from the page as the dashboard client, in the reason', async () => {
    upstream.respond = () => ({ status: 200 }); // the host is back; the operator closes
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Close ${KEY}` }).click();
    await expect
      .poll(() => cell('.reason').textContent(), { timeout: 15_000 })
      .toBe('open → closed: manual: close · dashboard 127.0.0.1');
    const [entry] = await admin.history({ key: KEY });
    expect(entry).toMatchObject({ command: 'close', by: 'dashboard 127.0.0.1' });
    await expect
      .poll(() => cell('svg.timeline').getAttribute('data-bands'), { timeout: 15_000 })
      .toBe('closed open closed');

    const shot = process.env.DASHBOARD_TIMELINE_SCREENSHOT;
    if (shot !== undefined && shot !== '') {
      await page.locator('#notice').evaluate((element) => ((element as HTMLElement).hidden = true));
      await page.screenshot({ path: shot, fullPage: true });
    }
    for (const worker of workers.slice(0, 2)) await worker.ask({ type: 'stop' }, 'stopped');
  });

  it('ran with no script error', () => {
    expect(problems).toEqual([]);
  });
});
