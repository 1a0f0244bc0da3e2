/**
 * The dashboard end to end, in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core; no browser is downloaded): a circuit tripped by an Infuse on a RedisStore in
 * another process shows as open within a second, and "Close" (confirmed) closes it for that
 * process too; "Disable" (confirmed) lets its calls through uncounted until "Clear". With
 * DASHBOARD_SCREENSHOT=<path> it also saves a screenshot there (docs/dashboard.png).
 */
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Infuse, type CircuitSnapshot } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { RedisAdmin } from '../../src/redis/admin.js';
import { startDashboard, type CommandRecord, type Dashboard } from '../../src/dashboard/server.js';
import { startRedis } from '../helpers/redis-server.js';
import { startWorkers, Upstream, type Worker } from '../redis/fleet.js';
import { launchChromium } from '../helpers/chromium.js';

const KEY = 'payments.internal';

/**
 * A RedisStore whose Redis is slower than its bounds trips on per-process state only (by
 * design); with two cores shared by Chromium and the suite, give it time, so that every trip here
 * reaches Redis.
 */
const SLOW_MACHINE = { commandTimeout: 2_000, waitTimeout: 1_500 };

describe('the dashboard in headless Chromium', () => {
  let upstream: Upstream;
  let worker: Worker;
  let dashboard: Dashboard;
  let page: Page;
  const cleanup: (() => unknown)[] = [];
  const commands: CommandRecord[] = [];
  const requests: string[] = [];
  const problems: string[] = [];
  const prefix = 'checkout';

  beforeAll(async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    upstream = await Upstream.start();
    cleanup.push(() => upstream.close());
    [worker] = (await startWorkers(1, () => ({
      name: 'service',
      port: redis.port,
      prefix,
      key: KEY,
      upstream: upstream.url,
      infuse: { failMax: 3, resetTimeout: 120_000 },
      store: SLOW_MACHINE,
    }))) as [Worker];
    cleanup.push(() => worker.exit());

    // The rest of the fleet, for a page with every kind of state.
    const localRedis = new Redis(redis.port, '127.0.0.1');
    cleanup.push(() => localRedis.disconnect());
    const store = new RedisStore({ redis: localRedis, prefix, ...SLOW_MACHINE });
    const local = new Infuse({
      store,
      failMax: 5,
      quorum: 1,
      resetTimeout: 120_000,
      failureRate: { threshold: 0.5, minimumCalls: 50, window: 60_000 },
    });
    cleanup.push(() => local.shutdown());
    await store.ready();
    const call = (key: string, ok: boolean) =>
      local
        .circuit(key)
        .call(() => (ok ? Promise.resolve() : Promise.reject(new Error('down'))))
        .catch(() => undefined);
    for (const key of ['search.internal', 'catalog.internal', 'legacy.internal']) {
      for (let i = 0; i < 5; i++) await call(key, false);
    }
    await local.circuit('catalog.internal').close();
    for (const ok of [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0]) await call('catalog.internal', ok === 1);
    await local.circuit('legacy.internal').forceOpen();

    const adminRedis = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    cleanup.push(() => adminRedis.disconnect());
    const admin = new RedisAdmin({ redis: adminRedis, prefix });
    cleanup.push(() => admin.close());
    // What the page must show, as Redis holds it: a wrong page is then the dashboard's fault.
    expect((await admin.list()).map((c) => `${c.key} ${c.mode}`)).toEqual([
      'catalog.internal closed',
      'legacy.internal forced-open',
      'search.internal open',
    ]);
    dashboard = await startDashboard({
      admin,
      prefix,
      onCommand: (entry) => commands.push(entry),
    });
    cleanup.push(() => dashboard.close());

    const browser = await launchChromium();
    cleanup.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1120, height: 430 }, colorScheme: 'light' });
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(dashboard.tokenUrl);
  }, 120_000);

  afterAll(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  const badge = (key: string) => page.locator(`tr[data-key="${key}"] .badge`);
  const workerSnapshot = async () =>
    (await worker.ask({ type: 'snapshot' }, 'snapshot')).snapshot as CircuitSnapshot;

  it('shows every circuit of the fleet, and takes the token out of the address bar', async () => {
    await expect.poll(() => badge('search.internal').textContent()).toBe('open');
    expect(await badge('legacy.internal').textContent()).toBe('forced open');
    expect(await badge('catalog.internal').textContent()).toBe('closed');
    const catalog = page.locator('tr[data-key="catalog.internal"]');
    expect(await catalog.locator('.rate').textContent()).toBe('25% (3/12)');
    expect(await page.locator('tr[data-key="legacy.internal"] .retry').textContent()).toBe(
      'until cleared',
    );
    expect(await page.locator('tr[data-key="search.internal"] .retry').textContent()).toMatch(
      /^\d+ (s|min)$/,
    );
    expect(page.url()).toBe(dashboard.url);
    expect(await page.locator('#live').textContent()).toBe('live');
  });

  it('shows a circuit tripped in another process as open within a second', async () => {
    // Resolves with the page's clock the moment the row says "open".
    const shown = page.waitForFunction(
      (key) => {
        const text = document.querySelector(`tr[data-key="${key}"] .badge`)?.textContent;
        return text === 'open' ? Date.now() : false;
      },
      KEY,
      { polling: 'raf', timeout: 15_000 },
    );
    upstream.respond = () => ({ status: 500 });
    const tripped = await worker.ask({ type: 'trip' }, 'tripped');
    expect(tripped.state).toBe('open');
    // The circuit cannot trip before the upstream got the request whose failure tripped it.
    const tripAt = upstream.hitsFrom('service').at(-1)!.at;
    const shownAt = (await (await shown).jsonValue()) as number;
    expect(shownAt - tripAt).toBeLessThan(1_000);
  });

  it('asks before steering, and does nothing when the operator cancels', async () => {
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: `Close ${KEY}` }).click();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(`Close "${KEY}" for the whole fleet?`);
    expect(commands).toEqual([]);
    expect((await worker.ask({ type: 'state' }, 'state')).state).toBe('open');
  });

  it('closes the circuit fleet-wide on "Close": the other process sees it closed', async () => {
    const seen = worker.messages.length;
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Close ${KEY}` }).click();
    const closed = await worker.waitFor(
      (m, i) => i >= seen && m.type === 'stateChange' && m.to === 'closed',
    );
    expect(closed).toMatchObject({ from: 'open', reason: 'remote' });
    expect((await worker.ask({ type: 'state' }, 'state')).state).toBe('closed');
    await expect.poll(() => badge(KEY).textContent()).toBe('closed');
    // The page writes the notice when the command's response arrives, which can be after the
    // stream has already shown the new state.
    await expect.poll(() => page.locator('#notice').textContent()).toBe(`${KEY}: open → closed`);
    expect(commands).toEqual([
      expect.objectContaining({ key: KEY, command: 'close', before: 'open', after: 'closed' }),
    ]);
    // The service's calls go through again.
    upstream.respond = () => ({ status: 200 });
    const after = await worker.stats({ type: 'call', count: 1 }, 'called');
    expect(after.ok).toBe(1);
  });

  it('disables the breaker fleet-wide on "Disable", and "Clear" ends it', async () => {
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    const seen = worker.messages.length;
    await page.getByRole('button', { name: `Disable ${KEY}` }).click();
    expect(asked).toEqual([
      `Disable the breaker on "${KEY}" for the whole fleet?\nEvery process lets every call through, uncounted, until the circuit is cleared.`,
    ]);
    await expect.poll(() => badge(KEY).textContent()).toBe('disabled');
    // The page writes the notice when the command's response arrives, which can be after the
    // stream has already shown the new state.
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toBe(`${KEY}: closed → disabled`);
    await worker.waitFor(
      (m, i) => i >= seen && m.type === 'stateChange' && m.forced === 'disabled',
    );
    // Failures no longer count: the circuit stays disabled, and every call goes through.
    upstream.respond = () => ({ status: 500 });
    const calls = await worker.stats({ type: 'call', count: 5 }, 'called');
    expect(calls.failed).toBe(5);
    expect((await worker.ask({ type: 'state' }, 'state')).state).toBe('closed');
    const clear = page.getByRole('button', { name: `Clear ${KEY}` });
    expect(await clear.isEnabled()).toBe(true);
    page.once('dialog', (dialog) => void dialog.accept());
    await clear.click();
    await expect.poll(() => badge(KEY).textContent()).toBe('closed');
    expect(await clear.isEnabled()).toBe(false);
    expect(commands.map((c) => `${c.command} ${c.before} → ${c.after}`)).toEqual([
      'close open → closed',
      'disable closed → disabled',
      'clear-forced disabled → closed',
    ]);
    upstream.respond = () => ({ status: 200 });

    const shot = process.env.DASHBOARD_SCREENSHOT;
    if (shot !== undefined && shot !== '') {
      await page.locator('#notice').evaluate((element) => ((element as HTMLElement).hidden = true));
      await page.screenshot({ path: shot, fullPage: true });
    }
  });

  it('"Shadow" lets every process through the calls it would refuse; "Unshadow" ends it', async () => {
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.getByRole('button', { name: `Shadow ${KEY}` }).click();
    expect(asked).toEqual([
      `Run "${KEY}" in shadow mode for the whole fleet?\nEvery process lets through the calls the circuit would refuse, and tells of each, until unshadowed.`,
    ]);
    await expect.poll(() => badge(KEY).textContent()).toBe('closed · shadow');
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toBe(`${KEY}: shadow mode on (closed)`);
    await expect.poll(async () => (await workerSnapshot()).shadow).toBe(true);
    // The worker's calls trip the circuit, as for real; the calls it would refuse still go.
    upstream.respond = () => ({ status: 500 });
    const tripped = await worker.stats({ type: 'trip' }, 'tripped');
    expect(tripped.state).toBe('open');
    const shadowed = await worker.stats({ type: 'call', count: 3 }, 'called');
    expect(shadowed).toMatchObject({ failed: 3, rejected: 0 });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Unshadow ${KEY}` }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/shadow mode off/);
    await expect.poll(async () => (await workerSnapshot()).shadow).toBeUndefined();
    const refused = await worker.stats({ type: 'call', count: 2 }, 'called');
    expect(refused).toMatchObject({ failed: 0, rejected: 2 });
    expect(commands.slice(-2).map((c) => c.command)).toEqual(['shadow', 'unshadow']);
    upstream.respond = () => ({ status: 200 });
  });

  it('loaded nothing but its own origin, with no script error', () => {
    expect(requests.length).toBeGreaterThan(1);
    for (const url of requests) expect(url.startsWith(dashboard.url)).toBe(true);
    expect(problems).toEqual([]);
  });
});
