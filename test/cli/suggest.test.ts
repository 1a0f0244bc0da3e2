/**
 * "Did you mean": given a key no process uses, the CLI names the keys that are close, against a
 * real redis-server holding circuits a real Infuse tripped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeKeys, suggestionLine } from '../../src/cli/suggest.js';
import { Infuse } from '../../src/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { failTimes } from '../helpers/calls.js';
import { Opened, StoreFactory } from '../redis/harness.js';
import { cli } from './run.js';

describe('closeKeys', () => {
  const known = ['127.0.0.1:8080', 'api.example.com', 'payments.internal', 'db'];

  it('names the same host on another port first, then keys a few typos away', () => {
    expect(closeKeys('127.0.0.1', known)).toEqual(['127.0.0.1:8080']);
    expect(closeKeys('api.example.com:8443', known)).toEqual(['api.example.com']);
    expect(closeKeys('api.exmaple.com', known)).toEqual(['api.example.com']);
    expect(closeKeys('payment.internal', known)).toEqual(['payments.internal']);
  });

  it('names nothing far away, and at most three keys', () => {
    expect(closeKeys('search.example.org', known)).toEqual([]);
    expect(closeKeys('a', ['b', 'c', 'd', 'e'])).toHaveLength(3);
    expect(suggestionLine('zzz', known)).toBe('');
  });

  it('quotes the keys it names, whatever they hold', () => {
    expect(suggestionLine('db1', ['db\u001b'])).toBe('Did you mean "db\\u001b"?\n');
  });
});

describe('the CLI on a key no process uses', () => {
  let redis: RedisServer;
  let factory: StoreFactory;
  const opened = new Opened();

  beforeAll(async () => {
    redis = await startRedis();
    factory = new StoreFactory(redis, { waitTimeout: 2_000, commandTimeout: 2_000 });
  });

  afterAll(async () => {
    await opened.close(factory);
    await redis.stop();
  });

  it('suggests the close keys, and still changes nothing', async () => {
    const store = await factory.create(undefined, { flushInterval: 20 });
    opened.stores.push(store);
    const infuse = new Infuse({ failMax: 2, resetTimeout: 60_000, store });
    opened.infuse.push(infuse);
    await failTimes(infuse, '127.0.0.1:8080', 2);
    const args = ['--redis', redis.url, '--prefix', factory.prefixOf(store)];
    const result = await cli(['close', '127.0.0.1', ...args]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('Did you mean "127.0.0.1:8080"?');
    expect(infuse.circuit('127.0.0.1:8080').state).toBe('open');
  });
});
