/**
 * A store declares the optional rules it implements; an Infuse whose options need one its store
 * lacks throws at construction rather than run with the option silently ignored.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Infuse, MemoryStore, type Store } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';

/** A store that serves MemoryStore's circuits but declares no optional rule. */
function plainStore(): Store {
  const memory = new MemoryStore();
  return {
    connect: (hooks) => memory.connect(hooks),
    circuit: (key, policy) => memory.circuit(key, policy),
    forget: (key) => memory.forget(key),
  };
}

// lazyConnect: nothing here talks to Redis; the check happens before the store connects.
const redis = new Redis({ lazyConnect: true });
afterAll(() => {
  redis.disconnect();
});

describe('store capabilities', () => {
  it('MemoryStore supports every rule', async () => {
    const infuse = new Infuse({
      honorRetryAfter: true,
      slowCallRate: { threshold: 0.5, duration: 100 },
      shadow: true,
    });
    expect(infuse.store).toBeInstanceOf(MemoryStore);
    await infuse.shutdown();
  });

  it('RedisStore supports every rule, fleet-wide', () => {
    // Constructing an Infuse would connect; what it checks is the store's declaration.
    expect(new RedisStore({ redis }).capabilities).toEqual([
      'retryAfter',
      'slowCallRate',
      'shadow',
    ]);
  });

  it.each([
    [{ honorRetryAfter: true }, 'option "honorRetryAfter" is not supported by Object'],
    [{ slowCallRate: { threshold: 0.5, duration: 100 } }, 'option "slowCallRate" is not supported'],
    [{ shadow: true }, 'option "shadow" is not supported by Object'],
    [
      { circuits: { 'api.example.com': { shadow: true } } },
      'option "circuits["api.example.com"].shadow" is not supported by Object',
    ],
    [
      { circuits: { '*.example.com': { honorRetryAfter: { max: 1_000 } } } },
      'option "circuits["*.example.com"].honorRetryAfter" is not supported',
    ],
  ])('a store that declares no rule refuses %j at construction', (options, message) => {
    expect(() => new Infuse({ ...options, store: plainStore() })).toThrow(message);
  });

  it('options that turn a rule off need nothing from the store', async () => {
    const infuse = new Infuse({
      store: plainStore(),
      honorRetryAfter: false,
      slowCallRate: null,
      shadow: false,
    });
    await expect(infuse.circuit('a').call(() => 1)).resolves.toBe(1);
    await infuse.shutdown();
  });

  it('the error says what the store supports', () => {
    expect(() => new Infuse({ store: plainStore(), shadow: true })).toThrow(
      /option "shadow" is not supported by Object \(it supports: none/,
    );
  });
});
