import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreakerError, Infuse, MemoryStore, type StoreHooks } from '../../src/index.js';

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

describe('failure-rate window', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('slides a tenth at a time: old buckets leave the window, recent ones stay', async () => {
    const infuse = new Infuse({
      failMax: 100,
      failureRate: { threshold: 0.7, minimumCalls: 5, window: 1_000 },
    });
    const circuit = infuse.circuit('svc');
    for (let i = 0; i < 3; i++) await circuit.call(boom).catch(() => undefined);
    vi.advanceTimersByTime(500);
    await circuit.call(ok);
    await circuit.call(ok);
    expect(circuit.snapshot().window).toEqual({ calls: 5, failures: 3 });
    expect(circuit.state).toBe('closed'); // 3 of 5 is under 0.7
    vi.advanceTimersByTime(600); // the first three failures leave the window
    expect(circuit.snapshot().window).toEqual({ calls: 2, failures: 0 });
    // Counting from the 2 successes still in the window: 4 of 6 stays under 0.7, 5 of 7 does not.
    for (let i = 0; i < 4; i++) await circuit.call(boom).catch(() => undefined);
    expect(circuit.state).toBe('closed');
    await circuit.call(boom).catch(() => undefined);
    expect(circuit.state).toBe('open');
  });

  it('can be switched off for one key with failureRate: null', async () => {
    const infuse = new Infuse({
      failMax: 100,
      failureRate: { threshold: 0.1, minimumCalls: 2 },
      circuits: { calm: { failureRate: null } },
    });
    for (let i = 0; i < 5; i++)
      await infuse
        .circuit('calm')
        .call(boom)
        .catch(() => undefined);
    expect(infuse.circuit('calm').state).toBe('closed');
    for (let i = 0; i < 2; i++)
      await infuse
        .circuit('other')
        .call(boom)
        .catch(() => undefined);
    expect(infuse.circuit('other').state).toBe('open');
  });
});

describe('initialState', () => {
  it.each([
    ['half-open', 'half-open', null],
    ['forced-open', 'closed', 'forced-open'],
    ['disabled', 'closed', 'disabled'],
    ['closed', 'closed', null],
  ] as const)(
    '%s gives a new circuit state %s and forced mode %s',
    async (initialState, state, forced) => {
      const infuse = new Infuse({ initialState });
      const circuit = infuse.circuit('k');
      expect([circuit.state, circuit.forced]).toEqual([state, forced]);
      const result = await circuit.call(ok).catch((e: unknown) => e);
      expect(result instanceof CircuitBreakerError).toBe(initialState === 'forced-open');
    },
  );
});

describe('predicates that throw', () => {
  it('count the outcome as a failure (isFailure) or not excluded (exclude), and surface the bug', async () => {
    const bug = new Error('predicate bug');
    const errors: unknown[] = [];
    const onUncaught = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const infuse = new Infuse({
        failMax: 2,
        isFailure: () => {
          throw bug;
        },
      });
      const excluding = new Infuse({
        failMax: 2,
        exclude: [
          () => {
            throw bug;
          },
        ],
      });
      await expect(infuse.circuit('k').call(ok)).resolves.toBe('ok');
      expect(infuse.circuit('k').failCounter).toBe(1);
      await expect(excluding.circuit('excl').call(boom)).rejects.toThrow('boom');
      expect(excluding.circuit('excl').failCounter).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(errors).toEqual([bug, bug]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

describe('store hooks', () => {
  it('relays store events to "store" listeners', async () => {
    let hooks: StoreHooks | undefined;
    const memory = new MemoryStore();
    const store = {
      connect: (h: StoreHooks) => {
        hooks = h;
        return memory.connect(h);
      },
      circuit: memory.circuit.bind(memory),
      forget: memory.forget.bind(memory),
    };
    const infuse = new Infuse({ store });
    const seen: unknown[] = [];
    infuse.on('store', (event) => seen.push(event));
    hooks?.event({ type: 'degraded', message: 'backend unreachable' });
    expect(seen).toEqual([{ type: 'degraded', message: 'backend unreachable' }]);
    expect(infuse.store).toBe(store);
    await infuse.shutdown();
  });

  it('rejects a MemoryStore clock that is not a function', () => {
    expect(() => new MemoryStore({ now: 5 as unknown as () => number })).toThrow(
      'MemoryStore: option "now" must be a function, got number',
    );
  });
});
