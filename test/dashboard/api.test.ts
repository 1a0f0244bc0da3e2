/**
 * The dashboard's HTTP API against a real redis-server (and a 3-master Cluster): the page, the
 * JSON list, the event stream fed by pub/sub, and steering with and without the token, from the
 * right and the wrong origin. The "service" is an Infuse on its own RedisStore, as another
 * process of the fleet would be.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { RedisAdmin } from '../../src/redis/admin.js';
import { startDashboard, type CommandRecord, type Dashboard } from '../../src/dashboard/server.js';
import { startCluster, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { clientFor, type Target } from '../redis/harness.js';
import { eventually } from '../helpers/eventually.js';
import { command, EventStream, send } from './helpers.js';

let server: RedisServer;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await server.stop();
});

let prefixes = 0;

/** A dashboard and a service process's Infuse, sharing a fresh prefix on `target`. */
async function setup(options: { refreshInterval?: number; target?: Target } = {}) {
  const target = options.target ?? server;
  const prefix = `dash${process.pid}-${++prefixes}`;
  const serviceRedis = clientFor(target);
  // Bounds for a busy two-core machine: a store whose Redis is slower than its bounds trips on
  // per-process state only (by design), and these tests need every trip in Redis.
  const store = new RedisStore({
    redis: serviceRedis,
    prefix,
    commandTimeout: 2_000,
    waitTimeout: 1_500,
  });
  await store.ready();
  const infuse = new Infuse({ store, failMax: 2, resetTimeout: 60_000, quorum: 1 });
  const adminRedis = clientFor(target);
  const admin = new RedisAdmin({ redis: adminRedis, prefix });
  const commands: CommandRecord[] = [];
  const dashboard = await startDashboard({
    admin,
    prefix,
    // Long, so that what a test sees live came through pub/sub, not a periodic re-read.
    refreshInterval: options.refreshInterval ?? 60_000,
    onCommand: (entry) => commands.push(entry),
  });
  closers.push(
    async () => {
      await infuse.shutdown();
      serviceRedis.disconnect();
    },
    async () => {
      await admin.close();
      adminRedis.disconnect();
    },
    () => dashboard.close(),
  );
  return { dashboard, infuse, base: dashboard.url, commands };
}

async function trip(infuse: Infuse, key: string): Promise<void> {
  const circuit = infuse.circuit(key);
  for (let i = 0; i < 2; i++) {
    await circuit.call(() => Promise.reject(new Error('upstream down'))).catch(() => undefined);
  }
  expect(circuit.state).toBe('open');
}

const auth = (dashboard: Dashboard) => ({ authorization: `Bearer ${dashboard.token}` });

describe('the page', () => {
  it('is one self-contained document under a strict Content-Security-Policy', async () => {
    const { base } = await setup();
    const first = await send(base, 'GET', '/');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(first.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(first.body).toContain(`<script nonce="${nonce}">`);
    // Nothing is fetched from anywhere: no URL with a scheme, no external script or style.
    expect(first.body).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    expect(first.body).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    const second = await send(base, 'GET', '/');
    expect(second.headers['content-security-policy']).not.toBe(csp);
  });

  it('answers 404 for unknown paths and 405 for the wrong method', async () => {
    const { base } = await setup();
    expect((await send(base, 'GET', '/admin')).status).toBe(404);
    const wrong = await send(base, 'POST', '/api/circuits');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET');
    expect((await send(base, 'GET', '/api/command')).status).toBe(405);
  });
});

describe('reading the fleet', () => {
  it('lists every circuit that another process tripped, with its state and time to retry', async () => {
    const { base, infuse } = await setup();
    await trip(infuse, 'payments.internal');
    await trip(infuse, 'search.internal');
    await infuse.circuit('search.internal').forceOpen();
    const reply = await send(base, 'GET', '/api/circuits');
    expect(reply.status).toBe(200);
    const { circuits = [], now = 0 } = reply.json();
    expect(Math.abs(now - Date.now())).toBeLessThan(5_000);
    expect(circuits.map((c) => [c.key, c.mode])).toEqual([
      ['payments.internal', 'open'],
      ['search.internal', 'forced-open'],
    ]);
    expect(circuits[0]!.retryAfter).toBeGreaterThan(50_000);
    expect(circuits[0]!.retryAfter).toBeLessThanOrEqual(60_000);
    // Forced open has no end: JSON has no Infinity, so the page gets null.
    expect(circuits[1]!.retryAfter).toBeNull();
  });

  it('streams the whole fleet first, then each transition of another process as it happens', async () => {
    const { base, infuse } = await setup();
    await trip(infuse, 'a.internal');
    const stream = await EventStream.open(base);
    closers.push(() => stream.close());
    // A page first gets what the dashboard keeps, which may not have heard of the trip yet (the
    // message and the read it causes are on their way); the trip follows, as a fresh read of the
    // fleet or as the circuit's own update.
    await stream.next('circuits');
    await eventually(() => expect(stream.modes()).toEqual({ 'a.internal': 'open' }));

    const seen = stream.events.length;
    const started = performance.now();
    await trip(infuse, 'b.internal');
    const update = await stream.next('circuit', (e) => e.key === 'b.internal', { from: seen });
    expect(update.circuit).toMatchObject({ key: 'b.internal', state: 'open', mode: 'open' });
    // Pushed, not polled: the periodic re-read is a minute away.
    expect(update.at - started).toBeLessThan(5_000);

    await infuse.circuit('a.internal').close();
    const closed = await stream.next(
      'circuit',
      (e) => e.key === 'a.internal' && e.circuit?.mode === 'closed',
      { from: seen },
    );
    expect(closed.circuit?.retryAfter).toBe(0);
  });

  it('re-reads the whole fleet periodically while a page is open', async () => {
    const { base, infuse } = await setup({ refreshInterval: 300 });
    const stream = await EventStream.open(base);
    closers.push(() => stream.close());
    await stream.next('circuits');
    await trip(infuse, 'c.internal');
    const seen = stream.events.length;
    const refreshed = await stream.next(
      'circuits',
      (e) => e.circuits.some((c) => c.key === 'c.internal'),
      { from: seen },
    );
    expect(refreshed.circuits).toHaveLength(1);
  });
  it('serves pages that open together from one read of the fleet, not one read each', async () => {
    const prefix = `dash${process.pid}-${++prefixes}`;
    const adminRedis = clientFor(server);
    const admin = new RedisAdmin({ redis: adminRedis, prefix });
    for (const key of ['a.internal', 'b.internal']) {
      await admin.command(key, 'force-open', { create: true });
    }
    let reads = 0;
    const counting = {
      list: (pattern?: string) => {
        reads++;
        return admin.list(pattern);
      },
      get: admin.get.bind(admin),
      command: admin.command.bind(admin),
      watch: admin.watch.bind(admin),
    };
    const dashboard = await startDashboard({ admin: counting, prefix, refreshInterval: 60_000 });
    closers.push(
      async () => {
        await admin.close();
        adminRedis.disconnect();
      },
      () => dashboard.close(),
    );
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => EventStream.open(dashboard.url)),
    );
    closers.push(() => {
      for (const stream of streams) stream.close();
    });
    for (const stream of streams) {
      const first = await stream.next('circuits', (event) => event.circuits.length > 0);
      expect(first.circuits.map((c) => c.mode)).toEqual(['forced-open', 'forced-open']);
    }
    // The dashboard's first read, and at most one more (on a machine so slow that the first was
    // more than two seconds old when a page opened).
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(2);
  });
});

describe('steering', () => {
  it('closes a circuit fleet-wide with the token, and reports what it changed', async () => {
    const { dashboard, base, infuse, commands } = await setup();
    await trip(infuse, 'payments.internal');
    const reply = await command(base, 'payments.internal', 'close', auth(dashboard));
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({
      key: 'payments.internal',
      command: 'close',
      before: { mode: 'open' },
      after: { mode: 'closed' },
    });
    // The service process hears it by pub/sub.
    await eventually(() => expect(infuse.circuit('payments.internal').state).toBe('closed'));
    expect(commands).toEqual([
      expect.objectContaining({
        key: 'payments.internal',
        command: 'close',
        before: 'open',
        after: 'closed',
      }),
    ]);
  });

  it('forces open and clears', async () => {
    const { dashboard, base, infuse } = await setup();
    await trip(infuse, 'x.internal');
    await infuse.circuit('x.internal').close();
    expect((await command(base, 'x.internal', 'force-open', auth(dashboard))).status).toBe(200);
    const circuit = infuse.circuit('x.internal');
    await eventually(() => expect(circuit.forced).toBe('forced-open'));
    expect((await command(base, 'x.internal', 'clear-forced', auth(dashboard))).status).toBe(200);
    await eventually(() => expect(circuit.forced).toBeNull());
  });

  it('refuses a command without the token or with a wrong one, and changes nothing', async () => {
    const { base, infuse, commands } = await setup();
    await trip(infuse, 'payments.internal');
    const none = await command(base, 'payments.internal', 'close');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().error).toMatch(/token/);
    const wrong = await command(base, 'payments.internal', 'close', {
      authorization: 'Bearer not-the-token-at-all-0123456789',
    });
    expect(wrong.status).toBe(401);
    const list = (await send(base, 'GET', '/api/circuits')).json();
    expect(list.circuits?.map((c) => c.mode)).toEqual(['open']);
    expect(infuse.circuit('payments.internal').state).toBe('open');
    expect(commands).toEqual([]);
  });

  it('refuses a command from another origin even with the token', async () => {
    const { dashboard, base, infuse } = await setup();
    await trip(infuse, 'payments.internal');
    const foreign = await command(base, 'payments.internal', 'close', {
      ...auth(dashboard),
      origin: 'http://evil.example',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error).toContain('http://evil.example');
    const crossSite = await command(base, 'payments.internal', 'close', {
      ...auth(dashboard),
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.status).toBe(403);
    // A plain HTML form cannot send JSON: anything else is refused before the token is looked at.
    const form = await send(base, 'POST', '/api/command', {
      headers: { ...auth(dashboard), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=payments.internal&command=close',
    });
    expect(form.status).toBe(415);
    expect(infuse.circuit('payments.internal').state).toBe('open');
  });

  it('refuses any request under a host name it does not serve (DNS rebinding)', async () => {
    const { dashboard, base } = await setup();
    const port = new URL(base).port;
    const rebound = await send(base, 'GET', '/api/circuits', {
      headers: { host: `attacker.example:${port}` },
    });
    expect(rebound.status).toBe(421);
    const steer = await command(base, 'k', 'close', {
      ...auth(dashboard),
      host: `attacker.example:${port}`,
      origin: `http://attacker.example:${port}`,
    });
    expect(steer.status).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      expect((await send(base, 'GET', '/api/circuits', { headers: { host } })).status).toBe(200);
    }
  });

  it('names what is wrong with a bad command, and says when the circuit is unknown', async () => {
    const { dashboard, base } = await setup();
    const bad = await command(base, 'payments.internal', 'explode', auth(dashboard));
    expect(bad.status).toBe(400);
    expect(bad.json().error).toContain('"explode"');
    const notJson = await send(base, 'POST', '/api/command', {
      headers: { ...auth(dashboard), 'content-type': 'application/json' },
      body: '{key',
    });
    expect(notJson.status).toBe(400);
    const unknown = await command(base, 'never.used', 'close', auth(dashboard));
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toContain('never.used');
  });
});

describe('when Redis stops answering', () => {
  it('tells the page, answers 503 to commands, and recovers when Redis is back', async () => {
    const own = await startRedis();
    closers.push(() => own.stop());
    const { dashboard, base, infuse } = await setup({ target: own, refreshInterval: 300 });
    await trip(infuse, 'payments.internal');
    const stream = await EventStream.open(base);
    closers.push(() => stream.close());
    await stream.next('circuits', (e) => e.circuits.length === 1);

    await own.kill();
    const down = await stream.next('status', (e) => e.redis === 'unreachable');
    expect(down.message).toMatch(/Redis/);
    const refused = await command(base, 'payments.internal', 'close', auth(dashboard));
    expect(refused.status).toBe(503);
    expect(refused.json().error).toMatch(/cannot be reached/);
    expect((await send(base, 'GET', '/api/circuits')).status).toBe(503);

    const seen = stream.events.length;
    await own.start();
    await stream.next('status', (e) => e.redis === 'ok', {
      from: seen,
      timeout: 15_000,
    });
  });
});

describe('on a Redis Cluster', () => {
  it('streams a trip and closes the circuit fleet-wide', async () => {
    const cluster = await startCluster();
    closers.push(() => cluster.stop());
    const { dashboard, base, infuse } = await setup({ target: cluster });
    const keys = ['a.internal', 'b.internal', 'c.internal', 'd.internal'];
    const stream = await EventStream.open(base);
    closers.push(() => stream.close());
    await stream.next('circuits');
    // Keys on several masters: the list must scan them all.
    for (const key of keys) await trip(infuse, key);
    for (const key of keys) {
      await stream.next('circuit', (e) => e.key === key && e.circuit?.mode === 'open');
    }
    const list = (await send(base, 'GET', '/api/circuits')).json();
    expect(list.circuits?.map((c) => `${c.key} ${c.mode}`)).toEqual(keys.map((k) => `${k} open`));
    expect((await command(base, 'c.internal', 'close', auth(dashboard))).status).toBe(200);
    await eventually(() => expect(infuse.circuit('c.internal').state).toBe('closed'));
  }, 60_000);
});
