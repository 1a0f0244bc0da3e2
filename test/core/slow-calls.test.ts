/**
 * slowCallRate in the core, on a test clock with exact durations: what counts as slow, the window,
 * aborts, per-key options and validation. How a store counts slow calls and opens on them (every
 * store, fleet-wide with a shared one) is in the store contract (test/contract/policy-contract.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StateChangeEvent,
} from '../../src/index.js';

function setup(options: InfuseOptions) {
  let now = 1_000_000;
  const infuse = new Infuse({ clock: { now: () => now }, ...options });
  const changes: StateChangeEvent[] = [];
  infuse.on('stateChange', (event) => changes.push(event));
  const advance = (ms: number) => {
    now += ms;
  };
  /** A guarded call that takes `ms` of the clock, and fails when asked. */
  const take = (key: string, ms: number, fail = false) =>
    infuse
      .circuit(key)
      .call(() => {
        advance(ms);
        return fail ? Promise.reject(new Error('boom')) : Promise.resolve('ok');
      })
      .catch((error: unknown) => {
        if (error instanceof CircuitBreakerError) throw error;
      });
  return { infuse, changes, advance, take };
}

const slow = { threshold: 0.5, duration: 500, minimumCalls: 4, window: 10_000 };

describe('slowCallRate', () => {
  it('opens when the share of calls that took at least `duration` reaches the threshold', async () => {
    const { infuse, changes, take } = setup({ slowCallRate: slow });
    await take('api', 100);
    await take('api', 500); // exactly `duration` is slow
    await take('api', 499);
    expect(infuse.circuit('api').state).toBe('closed'); // 3 calls: under minimumCalls
    await take('api', 2_000);
    expect(changes).toEqual([
      expect.objectContaining({ key: 'api', to: 'open', reason: 'slowCallRate' }),
    ]);
    const refusal: unknown = await infuse
      .circuit('api')
      .call(() => 'ran')
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(CircuitBreakerError);
    expect(((refusal as CircuitBreakerError).cause as Error).message).toContain('slowCallRate');
  });

  it('forgets slow calls once they leave the window', async () => {
    const { infuse, advance, take } = setup({ slowCallRate: slow });
    await take('api', 600);
    await take('api', 600);
    advance(10_000);
    for (let i = 0; i < 3; i++) await take('api', 10);
    await take('api', 600);
    expect(infuse.circuit('api').state).toBe('closed'); // 1 of 4 in the window
  });

  it('times an HTTP call from acquire to settle', async () => {
    const { infuse, advance } = setup({ slowCallRate: { ...slow, minimumCalls: 1, threshold: 1 } });
    const permit = await infuse.circuit('api').acquire();
    advance(750);
    await permit.settle({ status: 200 });
    expect(infuse.circuit('api').state).toBe('open');
  });

  it('does not count aborted calls', async () => {
    const { infuse, advance } = setup({ slowCallRate: { ...slow, minimumCalls: 1 } });
    const permit = await infuse.circuit('api').acquire();
    advance(5_000);
    await expect(permit.settle({ aborted: true })).resolves.toBe('aborted');
    expect(infuse.circuit('api').state).toBe('closed');
  });

  it('is set per key and turned off with null', async () => {
    const { infuse, take } = setup({
      slowCallRate: { ...slow, minimumCalls: 1 },
      circuits: { batch: { slowCallRate: null } },
    });
    await take('batch', 60_000);
    await take('api', 60_000);
    expect(infuse.circuit('batch').state).toBe('closed');
    expect(infuse.circuit('api').state).toBe('open');
  });

  it('rejects bad option values at construction, naming them', () => {
    expect(() => new Infuse({ slowCallRate: { threshold: 0.5 } as never })).toThrow(
      'option "slowCallRate.duration" must be a finite number of milliseconds',
    );
    expect(() => new Infuse({ slowCallRate: { threshold: 2, duration: 10 } })).toThrow(
      'option "slowCallRate.threshold" must be a number from 0 to 1; got 2',
    );
    expect(() => new Infuse({ slowCallRate: { threshold: 0.5, duration: 0 } })).toThrow(
      'option "slowCallRate.duration" must be more than 0 ms',
    );
    expect(
      () => new Infuse({ slowCallRate: { threshold: 0.5, duration: 9, slow: 1 } as never }),
    ).toThrow('unknown option "slowCallRate.slow"');
  });
});
