import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerError, Infuse, MemoryStore } from '../../src/index.js';

const ok = () => Promise.resolve(1);
const boom = () => Promise.reject(new Error('boom'));

describe('many keys', () => {
  it('keeps at most maxCircuits idle closed circuits, dropping the least recently used', async () => {
    const store = new MemoryStore();
    const infuse = new Infuse({ store, maxCircuits: 3 });
    for (const key of ['a', 'b', 'c']) await infuse.circuit(key).call(ok);
    await infuse.circuit('a').call(ok); // a is used again: b is now the least recently used
    await infuse.circuit('d').call(ok);
    expect([...infuse.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(store.size).toBe(3);
  });

  it('never drops open or forced circuits; a dropped circuit starts afresh', async () => {
    const store = new MemoryStore();
    const infuse = new Infuse({ store, maxCircuits: 2, failMax: 1 });
    await infuse
      .circuit('down')
      .call(boom)
      .catch(() => undefined);
    await infuse.circuit('pinned').forceOpen();
    for (let i = 0; i < 50; i++) await infuse.circuit(`k${i}`).call(ok);
    expect(infuse.circuit('down').state).toBe('open');
    expect(infuse.circuit('pinned').forced).toBe('forced-open');
    expect(store.size).toBeLessThanOrEqual(5);
  });

  it('a handle held across eviction keeps working on the shared state', async () => {
    const infuse = new Infuse({ maxCircuits: 1, failMax: 2 });
    const held = infuse.circuit('held');
    await held.call(ok);
    for (let i = 0; i < 10; i++) await infuse.circuit(`other${i}`).call(ok);
    expect([...infuse.keys()]).not.toContain('held');
    await held.call(boom).catch(() => undefined);
    await held.call(boom).catch(() => undefined);
    expect(held.state).toBe('open');
    expect(infuse.circuit('held').state).toBe('open');
    await expect(infuse.circuit('held').call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
  });

  it('a million distinct keys do not grow memory without bound', async () => {
    const store = new MemoryStore();
    const infuse = new Infuse({ store, maxCircuits: 1_000 });
    for (let i = 0; i < 1_000_000; i++) {
      const done = infuse.circuit(`host-${i}.example`).call(ok);
      if (i % 1_000 === 0) await done;
    }
    let held = 0;
    for (const key of infuse.keys()) if (key) held++;
    expect(held).toBeLessThanOrEqual(1_000);
    expect(store.size).toBeLessThanOrEqual(1_000);
  }, 60_000);

  it('with every circuit open, growth past maxCircuits is amortised rather than a scan per key', async () => {
    const infuse = new Infuse({ maxCircuits: 100, failMax: 1 });
    for (let i = 0; i < 300; i++)
      await infuse
        .circuit(`down${i}`)
        .call(boom)
        .catch(() => undefined);
    // Nothing can be dropped; every circuit keeps its open state.
    expect([...infuse.keys()]).toHaveLength(300);
    expect(infuse.circuit('down0').state).toBe('open');
  });
});

describe('timers', () => {
  it('no timer keeps the process alive: a script that trips circuits and never shuts down exits by itself', async () => {
    const script = fileURLToPath(new URL('../fixtures/exits-by-itself.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, [script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('open closed');
  }, 40_000);
});
