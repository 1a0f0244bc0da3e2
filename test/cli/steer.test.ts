/**
 * The CLI against a real redis-server and a real 3-master Cluster: circuits tripped by a real
 * Infuse on a RedisStore in this process; the CLI, another process, reads and steers them, and
 * this process's Infuse applies what it changed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Infuse, type InfuseOptions } from '../../src/index.js';
import {
  startCluster,
  startRedis,
  type RedisCluster,
  type RedisServer,
} from '../helpers/redis-server.js';
import { failTimes } from '../helpers/calls.js';
import { eventually } from '../helpers/eventually.js';
import { Opened, StoreFactory, type Target } from '../redis/harness.js';
import { cli, RunningCli } from './run.js';

const fail = () => Promise.reject(new Error('boom'));

/** Opens `key` (failMax 2 in these tests). */
const trip = (infuse: Infuse, key: string): Promise<void> => failTimes(infuse, key, 2);

function suite(name: string, start: () => Promise<Target>, stop: (t: Target) => Promise<void>) {
  describe(`infuse-breaker CLI on ${name}`, () => {
    let target: Target;
    let factory: StoreFactory;
    let connection: string[];
    const opened = new Opened();
    const running: RunningCli[] = [];

    beforeAll(async () => {
      target = await start();
      factory = new StoreFactory(target, { waitTimeout: 2_000, commandTimeout: 2_000 });
      connection =
        'nodes' in target
          ? ['--cluster', '--redis', target.nodes.map((node) => node.url).join(',')]
          : ['--redis', target.url];
    });

    afterEach(async () => {
      for (const each of running.splice(0)) await each.stop('SIGKILL');
      await opened.close(factory);
    });

    afterAll(() => stop(target));

    /** A process of the fleet, and the CLI arguments that reach its circuits. */
    async function fleet(options: InfuseOptions = {}) {
      const store = await factory.create(undefined, { flushInterval: 20 });
      opened.stores.push(store);
      const infuse = new Infuse({ failMax: 2, resetTimeout: 60_000, quorum: 1, ...options, store });
      opened.infuse.push(infuse);
      return { infuse, args: [...connection, '--prefix', factory.prefixOf(store)] };
    }

    it('status prints every circuit as an aligned table, and as JSON', async () => {
      const { infuse, args } = await fleet({
        circuits: {
          'rate.example.com': {
            failMax: 100,
            failureRate: { threshold: 0.9, minimumCalls: 100, window: 60_000 },
          },
        },
      });
      await trip(infuse, 'api.example.com');
      await infuse.circuit('off.internal').disable();
      for (let i = 0; i < 3; i++) await infuse.circuit('rate.example.com').call(async () => 'ok');
      await infuse
        .circuit('rate.example.com')
        .call(fail)
        .catch(() => undefined);
      // The successes reach Redis in batches (flushInterval 20 ms): read until all four are in.
      const lines = await eventually(
        async () => {
          const shown = await cli(['status', ...args]);
          expect(shown.stderr).toBe('');
          expect(shown.code).toBe(0);
          const lines = shown.stdout.trimEnd().split('\n');
          expect(lines).toHaveLength(4);
          expect(lines[0]).toMatch(
            /^KEY +MODE +FAILED\/CALLS +TRIALS +CHANGED +RETRY IN +VOTES +GEN +PROCESSES$/,
          );
          expect(lines[1]).toMatch(
            /^api\.example\.com +open +- +- +\d+(ms|s) ago +(5\d|60)s +- +1 +(-|1.*)$/,
          );
          expect(lines[2]).toMatch(
            /^off\.internal +disabled +- +- +\d+(ms|s) ago +- +- +1 +(-|1)$/,
          );
          expect(lines[3]).toMatch(
            /^rate\.example\.com +closed +1\/4 \(25%\) +- +never +- +- +0 +(-|1)$/,
          );
          return lines;
        },
        { timeout: 15_000 },
      );
      // Aligned: every column starts at the same offset on every line.
      const modeColumn = lines[0]!.indexOf('MODE');
      for (const line of lines.slice(1))
        expect(line.slice(modeColumn)).toMatch(/^(open|disabled|closed) /);

      const json = await cli(['status', '--json', ...args]);
      expect(json.code).toBe(0);
      const circuits = JSON.parse(json.stdout) as Record<string, unknown>[];
      expect(circuits.map((c) => c.key)).toEqual([
        'api.example.com',
        'off.internal',
        'rate.example.com',
      ]);
      expect(circuits[0]).toMatchObject({
        state: 'open',
        forced: null,
        mode: 'open',
        generation: 1,
      });
      expect(circuits[0]!.retryAfter).toBeGreaterThan(50_000);
      expect(circuits[2]).toMatchObject({ mode: 'closed', window: { calls: 4, failures: 1 } });
    });

    it('open forces a key open fleet-wide; clear ends it; the other process follows', async () => {
      const { infuse, args } = await fleet();
      await infuse.circuit('api.example.com').call(async () => 'ok');
      await trip(infuse, 'other.example.com'); // gives the circuit state in Redis
      await infuse.circuit('api.example.com').close(); // ...and this one too

      const opened = await cli(['open', 'api.example.com', ...args]);
      expect(opened).toMatchObject({ code: 0, stderr: '' });
      expect(opened.stdout).toBe('api.example.com: closed → forced-open\n');
      await eventually(() => expect(infuse.circuit('api.example.com').forced).toBe('forced-open'));
      await expect(infuse.circuit('api.example.com').call(async () => 'ok')).rejects.toMatchObject({
        code: 'ECIRCUITOPEN',
        forced: 'forced-open',
      });

      const again = await cli(['open', 'api.example.com', ...args]);
      expect(again.stdout).toBe('api.example.com: forced-open (already)\n');

      const cleared = await cli(['clear', 'api.example.com', ...args]);
      expect(cleared.stdout).toBe('api.example.com: forced-open → closed\n');
      await eventually(() => expect(infuse.circuit('api.example.com').forced).toBeNull());
      expect(await infuse.circuit('api.example.com').call(async () => 'ok')).toBe('ok');

      const nothing = await cli(['clear', 'other.example.com', ...args]);
      expect(nothing.stdout).toBe('other.example.com: open (unchanged: no forced mode)\n');
    });

    it('shadow lets every process through an open circuit, telling of each refusal; unshadow ends it', async () => {
      const { infuse, args } = await fleet();
      const rejects: { shadow: boolean }[] = [];
      infuse.on('reject', (event) => rejects.push(event));
      await trip(infuse, 'api.example.com');

      const shadowed = await cli(['shadow', 'api.example.com', ...args]);
      expect(shadowed).toMatchObject({ code: 0, stderr: '' });
      expect(shadowed.stdout).toBe('api.example.com: open, shadow mode on: nothing is refused\n');
      await eventually(() =>
        expect(infuse.circuit('api.example.com').snapshot().shadow).toBe(true),
      );
      expect(await infuse.circuit('api.example.com').call(async () => 'sent')).toBe('sent');
      expect(infuse.circuit('api.example.com').state).toBe('open');
      expect(rejects).toEqual([expect.objectContaining({ shadow: true })]);
      const again = await cli(['shadow', 'api.example.com', ...args]);
      expect(again.stdout).toBe('api.example.com: open, shadow mode on (already)\n');
      const status = await cli(['status', '--json', ...args]);
      expect(JSON.parse(status.stdout)).toEqual([
        expect.objectContaining({ key: 'api.example.com', mode: 'open', shadow: true }),
      ]);

      const unshadowed = await cli(['unshadow', 'api.example.com', ...args]);
      expect(unshadowed.stdout).toBe(
        'api.example.com: open, shadow mode off: calls are refused again\n',
      );
      await eventually(() =>
        expect(infuse.circuit('api.example.com').snapshot().shadow).toBeUndefined(),
      );
      await expect(
        infuse.circuit('api.example.com').call(async () => 'sent'),
      ).rejects.toMatchObject({
        code: 'ECIRCUITOPEN',
      });
    });

    it('a pattern steers every matching circuit, and only those', async () => {
      const { infuse, args } = await fleet();
      for (const key of ['a.example.com', 'b.c.example.com', 'example.com', 'db.internal']) {
        await trip(infuse, key);
      }
      const dry = await cli(['close', '*.example.com', '--dry-run', ...args]);
      expect(dry.stdout).toBe(
        'a.example.com: open (would close)\nb.c.example.com: open (would close)\n',
      );
      expect(infuse.circuit('a.example.com').state).toBe('open');

      const closed = await cli(['close', '*.example.com', ...args]);
      expect(closed).toMatchObject({ code: 0, stderr: '' });
      expect(closed.stdout).toBe('a.example.com: open → closed\nb.c.example.com: open → closed\n');
      await eventually(() => {
        expect(infuse.circuit('a.example.com').state).toBe('closed');
        expect(infuse.circuit('b.c.example.com').state).toBe('closed');
      });
      expect(infuse.circuit('example.com').state).toBe('open');
      expect(infuse.circuit('db.internal').state).toBe('open');

      const disabled = await cli(['disable', 'db.*', '--json', ...args]);
      expect(JSON.parse(disabled.stdout)).toMatchObject([
        { key: 'db.internal', before: { mode: 'open' }, after: { mode: 'disabled' } },
      ]);
      await eventually(() => expect(infuse.circuit('db.internal').forced).toBe('disabled'));
    });

    it('an unknown key or a pattern that matches nothing exits 3 and writes nothing', async () => {
      const { infuse, args } = await fleet();
      await trip(infuse, 'api.example.com');
      const unknown = await cli(['open', 'api.exmaple.com', ...args]);
      expect(unknown.code).toBe(3);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr).toContain('Redis holds no circuit "api.exmaple.com" under prefix');
      const none = await cli(['close', '*.nowhere', ...args]);
      expect(none.code).toBe(3);
      expect(none.stderr).toContain('no circuit in Redis matches "*.nowhere"');
      const listed = JSON.parse((await cli(['status', '--json', ...args])).stdout) as unknown[];
      expect(listed).toHaveLength(1);

      const created = await cli(['open', 'new.example.com', '--create', ...args]);
      expect(created.stdout).toBe('new.example.com: (new) → forced-open\n');
      await expect(infuse.circuit('new.example.com').call(async () => 'ok')).rejects.toMatchObject({
        forced: 'forced-open',
      });
    });

    it('status --watch shows a transition made by another process as it happens', async () => {
      const { infuse, args } = await fleet();
      await infuse.circuit('api.example.com').close(); // state in Redis, closed
      const watch = new RunningCli(['status', '--watch', '--interval', '60000', ...args]);
      running.push(watch);
      await watch.waitFor((out) => /api\.example\.com +closed/.test(out));
      const mark = watch.stdout.length;
      await trip(infuse, 'api.example.com');
      const after = await watch.waitFor(
        (out) => /api\.example\.com +open +- +- +\d+(ms|s) ago +\d+s/.test(out),
        mark,
      );
      expect(after).toMatch(/\d\d:\d\d:\d\d {2}api\.example\.com: closed → open \(failMax\)/);

      const steered = await cli(['open', 'api.example.com', ...args]);
      expect(steered.code).toBe(0);
      await watch.waitFor(
        (out) => /api\.example\.com: open → forced-open \(manual\)/.test(out),
        mark,
      );
      expect(await watch.stop('SIGINT')).toBe(0);
      running.length = 0;
    });

    it('status --watch --json prints one JSON object per line', async () => {
      const { infuse, args } = await fleet();
      await infuse.circuit('api.example.com').close();
      const watch = new RunningCli(['status', '--watch', '--json', ...args]);
      running.push(watch);
      await watch.waitFor((out) => out.includes('"type":"status"'));
      await trip(infuse, 'api.example.com');
      await watch.waitFor((out) => out.includes('"type":"transition"'));
      expect(await watch.stop('SIGTERM')).toBe(0);
      running.length = 0;
      const events = watch.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(events[0]).toMatchObject({
        type: 'status',
        circuits: [{ key: 'api.example.com', mode: 'closed' }],
      });
      expect(events.find((e) => e.type === 'transition')).toMatchObject({
        key: 'api.example.com',
        from: 'closed',
        to: 'open',
        reason: 'failMax',
      });
    });
  });
}

suite(
  'a single redis-server',
  () => startRedis(),
  (t) => (t as RedisServer).stop(),
);
suite(
  'a 3-master Redis Cluster',
  () => startCluster(),
  (t) => (t as RedisCluster).stop(),
);
