/**
 * The CLI through real Redis Sentinels: `redis+sentinel://…/NAME` or `--sentinel NAME` finds the
 * master the Sentinels name, reads and steers its circuits as a process of the fleet sees them,
 * with the master's password never printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/eventually.js';
import { failTimes } from '../helpers/calls.js';
import { Opened, StoreFactory } from '../redis/harness.js';
import { startSentinels, type Sentinels } from './sentinels.js';
import { cli } from './run.js';

const PASSWORD = 'se@nt:in/el#1%';

let master: RedisServer;
let sentinels: Sentinels;
let factory: StoreFactory;
let infuse: Infuse;
let prefix: string;
const opened = new Opened();

beforeAll(async () => {
  master = await startRedis();
  await master.cli('ACL', 'SETUSER', 'admin', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  sentinels = await startSentinels(master.port, 'checkout-redis');
  factory = new StoreFactory(master, { waitTimeout: 2_000, commandTimeout: 2_000 });
  const store = await factory.create(undefined, { flushInterval: 20 });
  opened.stores.push(store);
  prefix = factory.prefixOf(store);
  infuse = new Infuse({ store, failMax: 2, resetTimeout: 60_000, quorum: 1 }); // one process opens the fleet
  opened.infuse.push(infuse);
  await failTimes(infuse, 'api.example.com', 2);
}, 30_000);

afterAll(async () => {
  await opened.close(factory);
  await sentinels.stop();
  await master.stop();
});

describe('infuse-breaker through Sentinel', () => {
  const hosts = () => sentinels.ports.map((port) => `127.0.0.1:${port}`);

  it('reads the master a redis+sentinel:// URL names', async () => {
    const given = `redis+sentinel://admin:${PASSWORD}@${hosts().join(',')}/checkout-redis`;
    const shown = await cli(['status', '--redis', given, '--prefix', prefix]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^api\.example\.com +open /m);
    const empty = await cli(['status', '--redis', given, '--prefix', 'nothing-here']);
    expect(empty.stdout).toBe(
      `No circuit has state in Redis at master "checkout-redis" via Sentinel ${hosts().join(', ')} under prefix "nothing-here".\n`,
    );
    for (const text of [shown.stdout, empty.stdout]) expect(text).not.toContain('nt:in/el');
  });

  it('steers it with --sentinel NAME, and the fleet follows', async () => {
    const urls = hosts().map((host) => `redis://admin:${encodeURIComponent(PASSWORD)}@${host}`);
    const args = ['--redis', urls.join(','), '--sentinel', 'checkout-redis', '--prefix', prefix];
    const opened = await cli(['open', 'api.example.com', ...args]);
    expect(opened).toMatchObject({ code: 0, stderr: '' });
    expect(opened.stdout).toBe('api.example.com: open → forced-open\n');
    await eventually(() => expect(infuse.circuit('api.example.com').forced).toBe('forced-open'));
    const cleared = await cli(['clear', 'api.example.com', ...args]);
    expect(cleared.stdout).toBe('api.example.com: forced-open → closed\n');
    await eventually(() => expect(infuse.circuit('api.example.com').state).toBe('closed'));
  });

  it('says so when the Sentinels know no such master, or a name is missing', async () => {
    const unknown = await cli([
      'status',
      '--redis',
      `redis+sentinel://${hosts().join(',')}/no-such-master`,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^infuse-breaker: Redis cannot be reached at master "no-such-master" via Sentinel 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ \(.+\); nothing was changed\n$/,
    );
    const unnamed = await cli(['status', '--redis', `redis+sentinel://${hosts()[0]}`]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('name the master group, redis+sentinel://host:26379/NAME');
    const both = await cli(['status', '--cluster', '--sentinel', 'x']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--cluster and Sentinel exclude each other');
  });
});
