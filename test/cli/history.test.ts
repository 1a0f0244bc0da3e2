/**
 * `infuse-breaker history`, `processes`, and the PROCESSES column of `status`, run as an operator
 * would (a child process) against a real redis-server, with a real Infuse on a RedisStore in this
 * process making the changes and beating its heartbeat.
 */
import { hostname, userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { parseSince } from '../../src/cli/history.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { Opened, StoreFactory } from '../redis/harness.js';
import { cli } from './run.js';

const fail = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

describe('infuse-breaker history and processes', () => {
  let redis: RedisServer;
  let factory: StoreFactory;
  const opened = new Opened();

  beforeAll(async () => {
    redis = await startRedis();
    factory = new StoreFactory(redis, { pollInterval: 200, waitTimeout: 2_000 });
  });

  afterAll(async () => {
    await opened.close(factory);
    await redis.stop();
  });

  async function fleet() {
    const store = await factory.create();
    opened.stores.push(store);
    const infuse = new Infuse({ store, failMax: 2, resetTimeout: 60_000, quorum: 1 });
    opened.infuse.push(infuse);
    return { infuse, args: ['--redis', redis.url, '--prefix', factory.prefixOf(store)] };
  }

  it('lists transitions with the process that made them and commands with the operator', async () => {
    const { infuse, args } = await fleet();
    for (let i = 0; i < 2; i++)
      await infuse
        .circuit('api.example.com')
        .call(fail)
        .catch(() => 0);
    const opened = await cli(['open', 'api.example.com', ...args]);
    expect(opened.stdout).toBe('api.example.com: open → forced-open\n');

    const shown = await eventually(async () => {
      const run = await cli(['history', ...args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      return lines;
    });
    expect(shown[0]).toMatch(/^WHEN \(UTC\) +KEY +CHANGE +WHY +BY$/);
    const day = new Date().toISOString().slice(0, 10);
    expect(shown[1]).toMatch(
      new RegExp(
        `^${day} \\d\\d:\\d\\d:\\d\\d\\.\\d{3} +api\\.example\\.com +closed → open +failMax +process ${process.pid} on ${hostname()}$`,
      ),
    );
    expect(shown[2]).toMatch(
      new RegExp(
        `api\\.example\\.com +open → forced-open +manual: force-open +cli ${userInfo().username} on ${hostname()}$`,
      ),
    );

    const json = await cli(['history', 'api.example.com', '--since', '1h', '--json', ...args]);
    const entries = JSON.parse(json.stdout) as { to: string; by: string }[];
    expect(entries.map((e) => e.to)).toEqual(['open', 'forced-open']);
    const none = await cli(['history', 'other.example.com', ...args]);
    expect(none.stdout).toMatch(/^Circuit "other\.example\.com" changed under prefix/);
  });

  it('shows each process with its circuits, and status lists a healthy circuit in use', async () => {
    const { infuse, args } = await fleet();
    for (let i = 0; i < 3; i++) await infuse.circuit('healthy.internal').call(ok);
    for (let i = 0; i < 2; i++)
      await infuse
        .circuit('sick.internal')
        .call(fail)
        .catch(() => 0);
    await infuse
      .circuit('sick.internal')
      .call(ok)
      .catch(() => 0);

    const lines = await eventually(async () => {
      const run = await cli(['processes', ...args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const rows = run.stdout.trimEnd().split('\n');
      expect(rows).toHaveLength(3);
      expect(rows[2]).toMatch(/sick\.internal +open +\d+ +2 +2 +1$/);
      return rows;
    });
    expect(lines[0]).toMatch(/^PROCESS +REDIS +CIRCUIT +MODE +VOTES +CALLS +FAILED +REFUSED$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${process.pid} on ${hostname()} +up \\d+m?s ago +healthy\\.internal +closed +\\d+ +3 +0 +0$`,
      ),
    );

    const status = await cli(['status', ...args]);
    const rows = status.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/ +GEN +PROCESSES$/);
    // Redis holds nothing for healthy.internal: it shows because a process uses it.
    expect(rows[1]).toMatch(/^healthy\.internal +closed +- +- +never +- +- +0 +1$/);
    expect(rows[2]).toMatch(/^sick\.internal +open .* +1 +1$/);
    const json = JSON.parse((await cli(['status', '--json', ...args])).stdout) as {
      key: string;
      processes: { pid: number; calls: number }[];
    }[];
    expect(json[0]).toMatchObject({
      key: 'healthy.internal',
      processes: [{ pid: process.pid, calls: 3 }],
    });
  });

  it('refuses a --since it cannot read, naming it', async () => {
    const run = await cli(['history', '--since', 'yesterday', '--redis', redis.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--since: "yesterday" is neither a duration');
    expect(parseSince('10m', 1_000_000)).toBe(400_000);
    expect(parseSince('2026-12-02T08:00:00Z', 0)).toBe(Date.UTC(2026, 11, 2, 8));
  });
});
