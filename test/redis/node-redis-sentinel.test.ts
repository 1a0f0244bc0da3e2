/**
 * A node-redis Sentinel is not supported yet (docs/fleets-and-redis.md, "Redis Sentinel"): the
 * store and the admin refuse one at construction, saying what to pass instead.
 */
import { createSentinel } from 'redis';
import { describe, expect, it } from 'vitest';
import { RedisAdmin, RedisStore } from '../../src/redis/index.js';

describe('a node-redis Sentinel', () => {
  // Never connected: nothing listens there.
  const sentinel = createSentinel({
    name: 'mymaster',
    sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }],
  });

  it('is refused by RedisStore and RedisAdmin, naming the clients that do Sentinel', () => {
    const advice =
      'for Sentinel, pass an ioredis or iovalkey Redis created with { sentinels, name }';
    expect(() => new RedisStore({ redis: sentinel as never })).toThrow(TypeError);
    expect(() => new RedisStore({ redis: sentinel as never })).toThrow(advice);
    expect(() => new RedisAdmin({ redis: sentinel as never })).toThrow(advice);
  });
});
