import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';

// lazyConnect: nothing here talks to Redis; validation happens before any connection opens.
const redis = new Redis({ lazyConnect: true });

describe('RedisStore options', () => {
  it.each([
    [{}, /option "redis" must be an ioredis \(5 or 6\) or iovalkey .* got undefined/],
    [{ redis: {} }, /option "redis" must be .* or createCluster\(\); got a plain object/],
    [{ redis: new Map() }, /option "redis" must be .*; got an object of class Map/],
    // A URL is not echoed: it may carry a password.
    [
      { redis: 'redis://:s3cret@localhost' },
      /option "redis" must be .*; got a string \(pass a client created from the URL instead\)$/,
    ],
    [{ redis, prefix: '' }, /option "prefix" must be a non-empty string without braces; got ""/],
    [{ redis, prefix: 'a{b}' }, /option "prefix" .* got "a\{b\}"/],
    [{ redis, waitTimeout: 0 }, /option "waitTimeout" must be an integer of at least 1; got 0/],
    [{ redis, commandTimeout: 1.5 }, /option "commandTimeout" .* got 1.5/],
    [{ redis, flushInterval: '1s' }, /option "flushInterval" .* got "1s"/],
    [{ redis, preload: -1 }, /option "preload" must be an integer of at least 0; got -1/],
    [{ redis, trialLease: 5 }, /option "trialLease" must be an integer of at least 30; got 5/],
    [
      { redis, ttl: 10_000, pollInterval: 30_000 },
      /"ttl" \(10000\) must be at least twice "pollInterval" \(30000\)/,
    ],
    [{ redis, poll: 1 }, /unknown option "poll"; known options are: redis, prefix/],
  ])('rejects %o with a TypeError naming the option and value', (options, message) => {
    expect(() => new RedisStore(options as never)).toThrow(TypeError);
    expect(() => new RedisStore(options as never)).toThrow(message);
  });

  it('opens no connection until it is used', () => {
    const store = new RedisStore({ redis });
    expect(store.size).toBe(0);
    expect(store.degraded).toBe(false);
    expect(redis.status).toBe('wait');
  });
});
