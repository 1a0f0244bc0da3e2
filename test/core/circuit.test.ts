import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  isCircuitBreakerError,
  type OutcomeEvent,
} from '../../src/index.js';

const boom = () => Promise.reject(new Error('boom'));

describe('Circuit with fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stays open for resetTimeout, then lets one trial through (pybreaker defaults)', async () => {
    const infuse = new Infuse();
    const circuit = infuse.circuit('db');
    for (let i = 0; i < 5; i++) await expect(circuit.call(boom)).rejects.toThrow('boom');
    expect(circuit.state).toBe('open');
    vi.advanceTimersByTime(59_999);
    const early = (await circuit.call(boom).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(early.retryAfter).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(circuit.call(() => Promise.resolve('trial'))).resolves.toBe('trial');
    expect(circuit.state).toBe('closed');
  });

  it('reports retryAfter counting down while open', async () => {
    const infuse = new Infuse({ failMax: 1, resetTimeout: 10_000 });
    const circuit = infuse.circuit('db');
    await circuit.call(boom).catch(() => undefined);
    vi.advanceTimersByTime(4_000);
    expect(circuit.snapshot()).toMatchObject({
      state: 'open',
      mode: 'open',
      retryAfter: 6_000,
      failures: 1,
    });
  });

  it('counts the failure-rate window over time and forgets old calls', async () => {
    const infuse = new Infuse({
      failMax: 100,
      failureRate: { threshold: 0.5, minimumCalls: 4, window: 1_000 },
    });
    const circuit = infuse.circuit('svc');
    await circuit.call(boom).catch(() => undefined);
    await circuit.call(boom).catch(() => undefined);
    await circuit.call(() => Promise.resolve());
    expect(circuit.snapshot().window).toEqual({ calls: 3, failures: 2 });
    vi.advanceTimersByTime(1_100);
    expect(circuit.snapshot().window).toEqual({ calls: 0, failures: 0 });
    await circuit.call(boom).catch(() => undefined);
    expect(circuit.state).toBe('closed');
  });
});

describe('Circuit.call and wrap', () => {
  it('passes arguments and this, guards sync functions, and rejects non-functions', async () => {
    const infuse = new Infuse();
    const circuit = infuse.circuit('svc');
    await expect(circuit.call((a: number, b: string) => `${a}${b}`, 1, 'x')).resolves.toBe('1x');
    const error = new Error('sync');
    await expect(
      circuit.call(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(circuit.failCounter).toBe(1);
    const object = {
      factor: 3,
      times: circuit.wrap(function (this: { factor: number }, n: number) {
        return Promise.resolve(n * this.factor);
      }),
    };
    await expect(object.times(2)).resolves.toBe(6);
    await expect(circuit.call(42 as unknown as () => void)).rejects.toThrow(
      /expected a function, got number/,
    );
    expect(() => circuit.wrap(null as unknown as () => void)).toThrow(
      /expected a function, got object/,
    );
  });

  it('guards async generators: the circuit is asked when iteration starts, errors while iterating are failures', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const circuit = infuse.circuit('stream');
    let opened = 0;
    const rows = circuit.wrap(async function* (n: number, failAt?: number) {
      opened++;
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`row ${i}`);
        yield i;
      }
      return 'done';
    });
    const all: number[] = [];
    for await (const row of rows(3)) all.push(row);
    expect(all).toEqual([0, 1, 2]);
    const unused = rows(1);
    expect(opened).toBe(1);
    for (let i = 0; i < 2; i++) {
      await expect(async () => {
        for await (const row of rows(3, 1)) all.push(row);
      }).rejects.toThrow('row 1');
    }
    expect(circuit.state).toBe('open');
    await expect(unused.next()).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(opened).toBe(3);
  });

  it('counts an early break out of a guarded generator as a success', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const circuit = infuse.circuit('stream');
    const rows = circuit.wrap(async function* () {
      yield 1;
      yield 2;
      throw new Error('never reached');
    });
    for await (const row of rows()) if (row === 1) break;
    expect(circuit.state).toBe('closed');
    const outcomes: string[] = [];
    infuse.on('success', (e) => outcomes.push(e.verdict));
    for await (const row of rows()) if (row === 1) break;
    expect(outcomes).toEqual(['success']);
  });

  it('tells users to wrap async generator functions rather than call them', async () => {
    const circuit = new Infuse().circuit('stream');
    await expect(circuit.call(async function* () {})).rejects.toThrow(
      /guard an async generator function with wrap\(\)/,
    );
  });

  it('builds outcomes for listeners and predicates: key, error, duration', async () => {
    const infuse = new Infuse({ exclude: [(o) => o.error instanceof RangeError] });
    const events: OutcomeEvent[] = [];
    infuse.on('failure', (e) => events.push(e));
    infuse.on('success', (e) => events.push(e));
    const circuit = infuse.circuit('svc');
    await circuit.call(boom).catch(() => undefined);
    await circuit.call(() => Promise.reject(new RangeError('business'))).catch(() => undefined);
    await circuit.call(() => Promise.resolve(1));
    expect(events.map((e) => e.verdict)).toEqual(['failure', 'excluded', 'success']);
    expect(events[0]!.outcome).toMatchObject({ key: 'svc', error: new Error('boom') });
    expect(events[0]!.outcome.duration).toBeGreaterThanOrEqual(0);
    expect('error' in events[2]!.outcome).toBe(false);
  });

  it('times calls that start while outcomes are observed; one already under way reports 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const infuse = new Infuse();
      const circuit = infuse.circuit('svc');
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const untimed = circuit.call(sleep, 50);
      const durations: number[] = [];
      infuse.on('success', ({ outcome }) => durations.push(outcome.duration));
      const timed = circuit.call(sleep, 120);
      await vi.advanceTimersByTimeAsync(120);
      await Promise.all([untimed, timed]);
      expect(durations).toEqual([0, 120]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Permit (for adapters)', () => {
  it('counts a status of 500 or more as a failure and 4xx as a success', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const circuit = infuse.circuit('api.example.com');
    await expect(
      (await circuit.acquire()).settle({
        status: 503,
        method: 'GET',
        url: 'http://api.example.com/x',
      }),
    ).resolves.toBe('failure');
    await expect((await circuit.acquire()).settle({ status: 404 })).resolves.toBe('success');
    expect(circuit.failCounter).toBe(0);
    await (await circuit.acquire()).settle({ status: 500 });
    await (await circuit.acquire()).settle({ error: new Error('ECONNREFUSED') });
    expect(circuit.state).toBe('open');
    await expect(circuit.acquire()).rejects.toBeInstanceOf(CircuitBreakerError);
  });

  it('hands predicates the same outcome shape, and settles once', async () => {
    const seen: unknown[] = [];
    const infuse = new Infuse({ failMax: 1, exclude: [(o) => (seen.push(o), o.status === 501)] });
    const circuit = infuse.circuit('api.example.com');
    const permit = await circuit.acquire();
    expect(permit).toMatchObject({ key: 'api.example.com', trial: false });
    await expect(
      permit.settle({ status: 501, method: 'POST', url: 'https://api.example.com/v1' }),
    ).resolves.toBe('excluded');
    await expect(permit.settle({ status: 500 })).resolves.toBe('excluded');
    expect(circuit.state).toBe('closed');
    expect(seen).toEqual([
      {
        key: 'api.example.com',
        status: 501,
        method: 'POST',
        url: 'https://api.example.com/v1',
        duration: expect.any(Number),
      },
    ]);
  });

  it('lets an adapter say a call was aborted, whatever the error', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const circuit = infuse.circuit('h');
    await expect(
      (await circuit.acquire()).settle({ error: new TypeError('terminated'), aborted: true }),
    ).resolves.toBe('aborted');
    expect(circuit.state).toBe('closed');
  });
});

describe('errors', () => {
  it('are cheap by default: no stack frames, a message that names the circuit', async () => {
    const infuse = new Infuse({ failMax: 1 });
    await infuse
      .circuit('db')
      .call(boom)
      .catch(() => undefined);
    const error = (await infuse
      .circuit('db')
      .call(boom)
      .catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error.message).toMatch(/^Circuit "db" is open; a trial call may go in \d+ ms$/);
    expect(error.stack).toBe(`CircuitBreakerError: ${error.message}`);
    expect(isCircuitBreakerError(error)).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect(Object.keys(error)).toEqual(['code', 'key', 'state', 'forced', 'retryAfter']);
  });

  it('capture a stack trace with stackTraces: true', async () => {
    const infuse = new Infuse({ failMax: 1, stackTraces: true });
    await infuse
      .circuit('db')
      .call(boom)
      .catch(() => undefined);
    const error = (await infuse
      .circuit('db')
      .call(boom)
      .catch((e: unknown) => e)) as Error;
    expect(error.stack).toMatch(/\n\s+at /);
  });

  it('are recognised across copies of the package by brand, not by class identity', () => {
    const foreign = Object.create(
      Object.getPrototypeOf(new CircuitBreakerError('k', 'open', 1)) as object,
    );
    expect(foreign instanceof CircuitBreakerError).toBe(true);
    expect(isCircuitBreakerError(new Error('x'))).toBe(false);
    expect(isCircuitBreakerError(null)).toBe(false);
    const forced = new CircuitBreakerError('k', 'closed', Infinity, 'forced-open');
    expect(forced.message).toBe('Circuit "k" is forced open; call clearForced() to resume');
    expect(new CircuitBreakerError('k', 'half-open', 0).message).toBe(
      'Circuit "k" is half-open and its trial calls are taken',
    );
  });
});

describe('events', () => {
  it('rethrows a listener error asynchronously without disturbing the call or other listeners', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const failure = new Error('listener bug');
    const seen: string[] = [];
    infuse.on('stateChange', () => {
      throw failure;
    });
    infuse.on('stateChange', (e) => seen.push(e.to));
    const uncaught = new Promise((resolve) => process.once('uncaughtException', resolve));
    await expect(infuse.circuit('x').call(boom)).rejects.toThrow('boom');
    expect(seen).toEqual(['open']);
    await expect(uncaught).resolves.toBe(failure);
  });

  it('rejects unknown events and non-function listeners', () => {
    const infuse = new Infuse();
    expect(() => infuse.on('tripped' as 'reject', () => undefined)).toThrow(
      /unknown event "tripped"; known events are: stateChange, success/,
    );
    expect(() => infuse.on('reject', 'x' as unknown as () => void)).toThrow(
      /listener for "reject" must be a function/,
    );
  });

  it('announces forced modes with their reason', async () => {
    const infuse = new Infuse();
    const seen: string[] = [];
    infuse.on('stateChange', (e) =>
      seen.push(`${e.from}>${e.to} ${String(e.fromForced)}>${String(e.forced)}`),
    );
    const circuit = infuse.circuit('x');
    await circuit.forceOpen();
    await circuit.disable();
    await circuit.clearForced();
    await circuit.clearForced();
    await circuit.close();
    expect(seen).toEqual([
      'closed>closed null>forced-open',
      'closed>closed forced-open>disabled',
      'closed>closed disabled>null',
    ]);
  });

  it('unsubscribing twice is harmless and shutdown removes every listener', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const seen: string[] = [];
    const off = infuse.on('failure', () => seen.push('a'));
    infuse.on('failure', () => seen.push('b'));
    off();
    off();
    await infuse
      .circuit('x')
      .call(boom)
      .catch(() => undefined);
    expect(seen).toEqual(['b']);
    await infuse.shutdown();
    await infuse.shutdown();
    await infuse
      .circuit('y')
      .call(boom)
      .catch(() => undefined);
    expect(seen).toEqual(['b']);
  });
});
