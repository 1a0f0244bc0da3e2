/**
 * infuse-breaker/testing: a user's tests of their own code around a breaker, without real
 * waiting, with a manual clock and with vitest's and jest's fake timers.
 */
import { ModernFakeTimers } from '@jest/fake-timers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreakerError, Infuse, MemoryStore } from '../../src/index.js';
import { setCircuitState, TestClock, type FakeTimers } from '../../src/testing/index.js';

/** The user's code under test: calls the API, and when the circuit refuses, retries once after the time it says. */
function client(infuse: Infuse) {
  let calls = 0;
  const api = infuse.circuit('api.example.com');
  const get = (): Promise<string> => api.call(() => Promise.resolve(`user ${++calls}`));
  return {
    get calls() {
      return calls;
    },
    get,
    getWithRetry: (): Promise<string> =>
      get().catch(
        (error: unknown) =>
          new Promise<string>((resolve, reject) => {
            if (!(error instanceof CircuitBreakerError)) throw error;
            setTimeout(() => void get().then(resolve, reject), error.retryAfter);
          }),
      ),
  };
}

describe('TestClock', () => {
  it('keeps a circuit open until advanced past resetTimeout, then lets a trial through', async () => {
    const clock = new TestClock({ start: Date.UTC(2026, 0, 1) });
    const infuse = new Infuse({ clock, resetTimeout: 30_000 });
    const user = client(infuse);
    await setCircuitState(infuse, 'api.example.com', 'open');
    await expect(user.get()).rejects.toMatchObject({ state: 'open', retryAfter: 30_000 });
    clock.advance(29_999);
    await expect(user.get()).rejects.toMatchObject({ retryAfter: 1 });
    expect(user.calls).toBe(0);
    clock.advance(1);
    await expect(user.get()).resolves.toBe('user 1');
    expect(infuse.circuit('api.example.com').state).toBe('closed');
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 30_000);
  });

  it('is the time of call durations and of Retry-After dates, and of a MemoryStore given clock.now', async () => {
    const clock = new TestClock({ start: Date.UTC(2026, 11, 2, 8) });
    const store = new MemoryStore({ now: clock.now });
    const infuse = new Infuse({
      clock,
      store,
      honorRetryAfter: true,
      slowCallRate: { threshold: 1, duration: 1_000, minimumCalls: 1 },
    });
    await infuse.circuit('slow').call(() => {
      clock.advance(1_000);
    });
    expect(infuse.circuit('slow').state).toBe('open');
    const permit = await infuse.circuit('limited').acquire();
    await permit.settle({ status: 429, retryAfter: 'Wed, 02 Dec 2026 08:01:01 GMT' });
    expect(infuse.circuit('limited').snapshot().retryAfter).toBe(60_000);
  });

  it('refuses a MemoryStore that runs on another clock than the Infuse', () => {
    const clock = new TestClock();
    expect(() => new Infuse({ clock, store: new MemoryStore() })).toThrow(
      'give it the same clock: new MemoryStore({ now: clock.now })',
    );
  });

  it('rejects bad input, naming it', () => {
    expect(() => new TestClock({ start: Number.NaN })).toThrow('option "TestClock start"');
    expect(() => new TestClock({ timers: {} as FakeTimers })).toThrow('option "TestClock timers"');
    expect(() => {
      new TestClock().advance(-1);
    }).toThrow('option "advance(ms)" must be a finite number of milliseconds');
  });
});

describe('setCircuitState', () => {
  it.each([
    ['open', 'open', null, true],
    ['half-open', 'half-open', null, false],
    ['forced-open', 'closed', 'forced-open', true],
    ['disabled', 'closed', 'disabled', false],
    ['closed', 'closed', null, false],
  ] as const)('puts a circuit %s', async (mode, state, forced, refuses) => {
    const infuse = new Infuse({ clock: new TestClock() });
    const user = client(infuse);
    await setCircuitState(infuse, 'api.example.com', mode);
    const circuit = infuse.circuit('api.example.com');
    expect([circuit.state, circuit.forced]).toEqual([state, forced]);
    const result: unknown = await user.get().catch((error: unknown) => error);
    expect(result instanceof CircuitBreakerError).toBe(refuses);
  });

  it('rejects an unknown mode', async () => {
    await expect(setCircuitState(new Infuse(), 'k', 'ajar' as never)).rejects.toThrow(
      'unknown mode "ajar"',
    );
  });
});

describe('with fake timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The same test, whichever fake timers run it: the retry timer and the breaker agree. */
  async function retriesAfterTheCircuitsTime(timers: FakeTimers) {
    const clock = new TestClock({ timers });
    const infuse = new Infuse({ clock, resetTimeout: 10_000 });
    const user = client(infuse);
    await setCircuitState(infuse, 'api.example.com', 'open');
    const result = user.getWithRetry();
    await Promise.resolve(); // let the refusal reach the retry
    await Promise.resolve();
    clock.advance(9_999);
    expect(user.calls).toBe(0);
    clock.advance(1); // the retry timer fires as the circuit lets a trial through
    expect(user.calls).toBe(1);
    await expect(result).resolves.toBe('user 1');
    expect(infuse.circuit('api.example.com').state).toBe('closed');
  }

  it("works with vitest's fake timers", async () => {
    vi.useFakeTimers();
    await retriesAfterTheCircuitsTime(vi);
  });

  it("works with jest's fake timers (ModernFakeTimers of @jest/fake-timers)", async () => {
    const jestTimers = new ModernFakeTimers({
      global: globalThis,
      config: { fakeTimers: {} } as ConstructorParameters<typeof ModernFakeTimers>[0]['config'],
    });
    jestTimers.useFakeTimers();
    try {
      await retriesAfterTheCircuitsTime(jestTimers);
    } finally {
      jestTimers.useRealTimers();
    }
  });

  it('throws when the fake timers are not installed, rather than stand still', () => {
    // vitest's own vi.advanceTimersByTime throws then; timers that do nothing are caught here.
    const clock = new TestClock({ timers: { advanceTimersByTime: () => undefined } });
    expect(() => {
      clock.advance(1_000);
    }).toThrow('the fake timers did not move Date.now');
  });
});
