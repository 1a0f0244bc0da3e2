/**
 * The history stream and the processes' heartbeats, against real redis-servers (one node and a
 * Cluster): a process's transitions and an operator's commands are listed with who made them; a
 * process shows its circuits (a healthy one too) with its counts; nothing here can fail a call.
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { RedisAdmin, type RedisStore } from '../../src/redis/index.js';
import { HISTORY_MAX, historyKey } from '../../src/redis/history.js';
import { presenceKeys } from '../../src/redis/presence.js';
import { eventually } from '../helpers/eventually.js';
import { startCluster, startRedis } from '../helpers/redis-server.js';
import { clientFor, StoreFactory, type Target } from './harness.js';

const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');

function suite(name: string, start: () => Promise<Target>) {
  describe(`history and processes (${name})`, () => {
    let target: Target;
    let factory: StoreFactory;
    const cleanup: (() => unknown)[] = [];

    beforeAll(async () => {
      target = await start();
      factory = new StoreFactory(target, { pollInterval: 200, ttl: 2_000 });
    }, 60_000);

    afterAll(async () => {
      for (const close of cleanup.reverse()) await close();
      await target.stop();
    });

    async function fleet(
      quorum = 2,
    ): Promise<{ store: RedisStore; infuse: Infuse; admin: RedisAdmin }> {
      const store = await factory.create();
      const infuse = new Infuse({ store, failMax: 2, resetTimeout: 60_000, quorum });
      const redis = clientFor(target);
      const admin = new RedisAdmin({
        redis: redis,
        prefix: factory.prefixOf(store),
        actor: 'cli alice on laptop',
      });
      cleanup.push(
        () => infuse.shutdown(),
        () => factory.dispose(store),
        () => admin.close(),
        () => redis.disconnect(),
      );
      return { store, infuse, admin };
    }

    it('lists a trip with the process that made it, and a command with its operator', async () => {
      const { infuse, admin } = await fleet(1);
      const circuit = infuse.circuit('api.example.com');
      for (let i = 0; i < 2; i++) await circuit.call(fail).catch(() => undefined);
      expect(circuit.state).toBe('open');
      const tripped = await eventually(async () => {
        const [entry] = await admin.history({ key: 'api.example.com' });
        expect(entry).toMatchObject({ from: 'closed', to: 'open', reason: 'failMax' });
        return entry!;
      });
      expect(tripped.by).toBe(`process ${process.pid} on ${hostname()}`);
      expect(tripped.command).toBeNull();
      expect(tripped.scope).toBe('fleet');
      expect(Math.abs(tripped.at - Date.now())).toBeLessThan(10_000);

      await admin.command('api.example.com', 'force-open');
      await admin.command('api.example.com', 'clear-forced', { actor: 'dashboard 10.0.0.7' });
      const entries = await admin.history({ key: 'api.example.com' });
      expect(entries.map((e) => [e.from, e.to, e.reason, e.by, e.command])).toEqual([
        ['forced-open', 'closed', 'manual', 'dashboard 10.0.0.7', 'clear-forced'],
        ['open', 'forced-open', 'manual', 'cli alice on laptop', 'force-open'],
        ['closed', 'open', 'failMax', tripped.by, null],
      ]);
      // --since: only what came after.
      const since = await admin.history({ since: entries[1]!.at });
      expect(since.map((e) => e.command)).toEqual(['clear-forced', 'force-open']);
    });

    it('lists a process that opened for itself (no quorum yet) as such', async () => {
      const { infuse, admin } = await fleet(2);
      const circuit = infuse.circuit('own.example.com');
      for (let i = 0; i < 2; i++) await circuit.call(fail).catch(() => undefined);
      // The oldest entry: the fleet may open later, once nobody contradicts the vote.
      const entry = await eventually(async () => {
        const found = await admin.history({ key: 'own.example.com' });
        expect(found.length).toBeGreaterThan(0);
        return found.at(-1);
      });
      expect(entry).toMatchObject({ from: 'closed', to: 'open', reason: 'failMax' });
      expect(entry?.scope).toBe('process');
    });

    it('keeps the stream capped and expiring', async () => {
      const { store, admin } = await fleet();
      const raw = clientFor(target);
      cleanup.push(() => raw.disconnect());
      const key = historyKey(factory.prefixOf(store));
      await admin.command('x.example.com', 'force-open', { create: true });
      const ttl = await (raw as Redis).pttl(key);
      expect(ttl).toBeGreaterThan(24 * 3_600_000);
      expect(HISTORY_MAX).toBeLessThanOrEqual(10_000);
    });

    it('shows each process with the circuits it uses, a healthy one too', async () => {
      const { store, infuse, admin } = await fleet();
      const other = await factory.share(store);
      const otherInfuse = new Infuse({ store: other, failMax: 2, resetTimeout: 60_000 });
      cleanup.push(
        () => otherInfuse.shutdown(),
        () => factory.dispose(other),
      );
      for (let i = 0; i < 3; i++) await infuse.circuit('healthy.internal').call(ok);
      await otherInfuse.circuit('healthy.internal').call(ok);
      await otherInfuse
        .circuit('sick.internal')
        .call(fail)
        .catch(() => undefined);
      // Nothing of healthy.internal is in Redis's circuit keys: only the heartbeats show it.
      expect(await admin.list()).toEqual([]);
      const processes = await eventually(async () => {
        const found = await admin.processes();
        expect(found).toHaveLength(2);
        const calls = found.flatMap((p) =>
          p.circuits.map((c) => `${c.key} ${c.mode} ${c.calls}/${c.failures}/${c.refusals}`),
        );
        expect(calls.sort()).toEqual([
          'healthy.internal closed 1/0/0',
          'healthy.internal closed 3/0/0',
          'sick.internal closed 1/1/0',
        ]);
        return found;
      });
      for (const p of processes) {
        expect(p).toMatchObject({ pid: process.pid, host: hostname(), redis: 'up', outages: 0 });
        expect(p.interval).toBe(5_000); // the keep-alive: beats come sooner when something changed
      }
      const minutes = processes.flatMap((p) => p.circuits).find((c) => c.key === 'sick.internal');
      expect(minutes?.minutes).toEqual([[Math.floor(Date.now() / 60_000), 1, 1]]);

      // A refusal counts too; a process that leaves is gone at once.
      for (let i = 0; i < 2; i++)
        await infuse
          .circuit('down.internal')
          .call(fail)
          .catch(() => 0);
      await infuse
        .circuit('down.internal')
        .call(ok)
        .catch(() => 0);
      await eventually(async () => {
        const mine = (await admin.processes()).find((p) =>
          p.circuits.some((c) => c.key === 'down.internal'),
        );
        expect(mine?.circuits.find((c) => c.key === 'down.internal')).toMatchObject({
          mode: 'open',
          calls: 2,
          failures: 2,
          refusals: 1,
        });
      });
      await otherInfuse.shutdown();
      expect(await admin.processes()).toHaveLength(1);
    });

    it('lets a process expire when it stops beating', async () => {
      const { store, admin } = await fleet();
      const raw = clientFor(target) as Redis;
      cleanup.push(() => raw.disconnect());
      await eventually(async () => expect(await admin.processes()).toHaveLength(1));
      const ttl = await raw.pttl(presenceKeys(factory.prefixOf(store), 'x')[0]);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(15_000);
    });
  });
}

suite('single node', startRedis);
suite('Cluster', startCluster);
