/**
 * The store contract: every store runs these same scenarios through the public API of Infuse.
 * A store is correct when a user cannot tell from these behaviours which store they are on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StateChangeEvent,
  type Store,
} from '../../src/index.js';
import { policyContract } from './policy-contract.js';

export interface StoreHarness {
  /** A store over fresh, empty state. */
  create(): Store | Promise<Store>;
  /** Another store over the same state as `store` (another process of the fleet, or the same instance). */
  share(store: Store): Store | Promise<Store>;
  /** Lets `ms` milliseconds of the store's clock pass. */
  wait(ms: number): Promise<void>;
  /** Releases what `create`/`share` opened (after the Infuse instances are shut down). */
  dispose?(store: Store): Promise<void>;
}

/** Long enough that a circuit certainly stays open between two statements of a test. */
const RESET = 300;

class Deferred<T = void> {
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  readonly promise = new Promise<T>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  constructor() {
    // A test may reject a gate before the guarded function that awaits it has started: a store
    // may make the first call to a key wait for one shared read of the fleet's state. The gate's
    // rejection is still delivered to that function when it runs; it is just not "unhandled".
    this.promise.catch(() => undefined);
  }
}

function abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`store contract: ${name}`, () => {
    const opened: { infuse: Infuse[]; stores: Store[] } = { infuse: [], stores: [] };

    async function setup(options: InfuseOptions = {}, store?: Store) {
      const own = store ?? (await harness.create());
      if (store === undefined) opened.stores.push(own);
      const infuse = new Infuse({ resetTimeout: RESET, ...options, store: own });
      opened.infuse.push(infuse);
      return { infuse, store: own };
    }

    afterEach(async () => {
      for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
      for (const store of opened.stores.splice(0)) await harness.dispose?.(store);
    });

    const fail =
      (message = 'boom') =>
      () =>
        Promise.reject(new Error(message));
    const ok =
      <T>(value: T) =>
      () =>
        Promise.resolve(value);

    async function trip(infuse: Infuse, key: string, times: number) {
      const circuit = infuse.circuit(key);
      for (let i = 0; i < times; i++) await expect(circuit.call(fail())).rejects.toThrow('boom');
    }

    it('passes values and errors through unchanged while closed', async () => {
      const { infuse } = await setup();
      const circuit = infuse.circuit('svc');
      const error = new Error('upstream');
      await expect(
        circuit.call((a: number, b: number) => Promise.resolve(a + b), 2, 3),
      ).resolves.toBe(5);
      await expect(circuit.call(() => Promise.reject(error))).rejects.toBe(error);
      expect(circuit.state).toBe('closed');
      expect(circuit.failCounter).toBe(1);
    });

    it('counts consecutive failures, resets on success, and opens at failMax', async () => {
      const { infuse } = await setup({ failMax: 3 });
      const circuit = infuse.circuit('svc');
      await trip(infuse, 'svc', 2);
      expect(circuit.failCounter).toBe(2);
      await circuit.call(ok(1));
      expect(circuit.failCounter).toBe(0);
      await trip(infuse, 'svc', 2);
      expect(circuit.state).toBe('closed');
      await trip(infuse, 'svc', 1);
      expect(circuit.state).toBe('open');
    });

    it('rejects at once while open, without calling the function, and says when to retry', async () => {
      const { infuse } = await setup({ failMax: 2 });
      const rejected: unknown[] = [];
      infuse.on('reject', (event) => rejected.push(event));
      await trip(infuse, 'svc', 2);
      let called = 0;
      const calls = Array.from({ length: 3 }, () =>
        infuse.circuit('svc').call(() => {
          called++;
          return Promise.resolve();
        }),
      );
      const errors = await Promise.all(calls.map((call) => call.catch((error: unknown) => error)));
      expect(called).toBe(0);
      for (const error of errors) {
        expect(error).toBeInstanceOf(CircuitBreakerError);
        const rejection = error as CircuitBreakerError;
        expect(rejection).toMatchObject({
          name: 'CircuitBreakerError',
          code: 'ECIRCUITOPEN',
          key: 'svc',
          state: 'open',
        });
        expect(rejection.retryAfter).toBeGreaterThan(0);
        expect(rejection.retryAfter).toBeLessThanOrEqual(RESET);
      }
      expect(rejected).toHaveLength(3);
      expect(rejected[0]).toMatchObject({ key: 'svc', state: 'open', forced: null });
    });

    it('carries the failure that tripped the circuit as the cause of its refusals', async () => {
      const { infuse } = await setup({ failMax: 2 });
      const circuit = infuse.circuit('svc');
      const last = new Error('connection reset');
      await expect(circuit.call(fail('first'))).rejects.toThrow('first');
      await expect(circuit.call(() => Promise.reject(last))).rejects.toBe(last);
      const refusal: unknown = await circuit.call(ok(1)).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(CircuitBreakerError);
      expect((refusal as CircuitBreakerError).cause).toBe(last);
    });

    it('lets exactly halfOpenMaxCalls trial calls through after resetTimeout, and closes when all succeed', async () => {
      const { infuse } = await setup({ failMax: 1, halfOpenMaxCalls: 3 });
      const circuit = infuse.circuit('svc');
      await trip(infuse, 'svc', 1);
      await harness.wait(RESET + 20);
      const gate = new Deferred();
      let started = 0;
      const calls = Array.from({ length: 8 }, () =>
        circuit.call(async () => {
          started++;
          await gate.promise;
          return 'ok';
        }),
      );
      const rejections = await Promise.all(
        calls.map((call) =>
          Promise.race([
            call.then(
              () => null,
              (e: unknown) => e,
            ),
            new Promise((r) => setTimeout(r, 100, 'pending')),
          ]),
        ),
      );
      expect(started).toBe(3);
      expect(rejections.filter((r) => r instanceof CircuitBreakerError)).toHaveLength(5);
      for (const r of rejections.filter((r) => r instanceof CircuitBreakerError)) {
        expect(r.state).toBe('half-open');
      }
      expect(circuit.state).toBe('half-open');
      gate.resolve();
      await Promise.allSettled(calls);
      expect(circuit.state).toBe('closed');
      expect(circuit.failCounter).toBe(0);
    });

    it('re-opens for another resetTimeout when a trial call fails', async () => {
      const { infuse } = await setup({ failMax: 1 });
      const circuit = infuse.circuit('svc');
      await trip(infuse, 'svc', 1);
      await harness.wait(RESET + 20);
      await expect(circuit.call(fail('trial'))).rejects.toThrow('trial');
      expect(circuit.state).toBe('open');
      const error = await circuit.call(ok(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect((error as CircuitBreakerError).retryAfter).toBeGreaterThan(RESET / 2);
    });

    it('gives back the permit of an aborted trial call: the next call is the trial', async () => {
      const { infuse } = await setup({ failMax: 1 });
      const circuit = infuse.circuit('svc');
      await trip(infuse, 'svc', 1);
      await harness.wait(RESET + 20);
      await expect(circuit.call(() => Promise.reject(abortError()))).rejects.toThrow('aborted');
      expect(circuit.state).toBe('half-open');
      await expect(circuit.call(ok('trial'))).resolves.toBe('trial');
      expect(circuit.state).toBe('closed');
    });

    it('counts a caller abort as neither success nor failure while closed', async () => {
      const { infuse } = await setup({ failMax: 2 });
      const circuit = infuse.circuit('svc');
      const aborts: unknown[] = [];
      infuse.on('abort', (event) => aborts.push(event));
      await trip(infuse, 'svc', 1);
      for (let i = 0; i < 3; i++)
        await expect(circuit.call(() => Promise.reject(abortError()))).rejects.toThrow();
      expect(circuit.failCounter).toBe(1);
      expect(circuit.state).toBe('closed');
      expect(aborts).toHaveLength(3);
    });

    it('counts excluded errors and outcomes as successes', async () => {
      class ValidationError extends Error {}
      const { infuse } = await setup({
        failMax: 2,
        exclude: [
          ValidationError,
          (outcome) => (outcome.error as Error | undefined)?.message === 'not found',
        ],
      });
      const circuit = infuse.circuit('svc');
      const seen: string[] = [];
      infuse.on('success', (event) => seen.push(event.verdict));
      await trip(infuse, 'svc', 1);
      await expect(
        circuit.call(() => Promise.reject(new ValidationError('bad input'))),
      ).rejects.toThrow('bad input');
      expect(circuit.failCounter).toBe(0);
      await trip(infuse, 'svc', 1);
      await expect(circuit.call(fail('not found'))).rejects.toThrow('not found');
      expect(circuit.failCounter).toBe(0);
      expect(circuit.state).toBe('closed');
      expect(seen).toEqual(['excluded', 'excluded']);
    });

    it('lets isFailure replace the default classification', async () => {
      const { infuse } = await setup({
        failMax: 1,
        isFailure: (outcome) => (outcome.error as Error | undefined)?.message === 'fatal',
      });
      const circuit = infuse.circuit('svc');
      await expect(circuit.call(fail('minor'))).rejects.toThrow('minor');
      expect(circuit.state).toBe('closed');
      await expect(circuit.call(fail('fatal'))).rejects.toThrow('fatal');
      expect(circuit.state).toBe('open');
    });

    it('opens on the failure rate when successes keep resetting the consecutive count', async () => {
      const { infuse } = await setup({
        failMax: 5,
        failureRate: { threshold: 0.5, minimumCalls: 10, window: 60_000 },
      });
      const circuit = infuse.circuit('svc');
      const changes: StateChangeEvent[] = [];
      infuse.on('stateChange', (event) => changes.push(event));
      for (let i = 0; i < 9; i++) {
        await circuit.call(i % 2 === 0 ? fail() : ok(1)).catch(() => undefined);
      }
      expect(circuit.state).toBe('closed');
      await circuit.call(fail()).catch(() => undefined);
      expect(circuit.state).toBe('open');
      expect(changes).toMatchObject([
        { key: 'svc', from: 'closed', to: 'open', reason: 'failureRate' },
      ]);
    });

    it('settles every call in flight with its own outcome when the circuit trips under it', async () => {
      const { infuse } = await setup({ failMax: 5 });
      const circuit = infuse.circuit('svc');
      const gates = Array.from({ length: 20 }, () => new Deferred<string>());
      const calls = gates.map((gate) => circuit.call(() => gate.promise));
      gates.forEach((gate, i) => {
        if (i < 15) gate.reject(new Error(`failure ${i}`));
        else gate.resolve(`late ${i}`);
      });
      const results = await Promise.allSettled(calls);
      expect(
        results
          .slice(0, 15)
          .every((r) => r.status === 'rejected' && !(r.reason instanceof CircuitBreakerError)),
      ).toBe(true);
      expect(results.slice(15).map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual([
        'late 15',
        'late 16',
        'late 17',
        'late 18',
        'late 19',
      ]);
      // Successes decided before the trip must not undo it.
      expect(circuit.state).toBe('open');
      await expect(circuit.call(ok(1))).rejects.toBeInstanceOf(CircuitBreakerError);
    });

    it('does not let a success that began before a trip close the circuit', async () => {
      const { infuse } = await setup({ failMax: 2 });
      const circuit = infuse.circuit('svc');
      const slow = new Deferred<string>();
      const pending = circuit.call(() => slow.promise);
      await trip(infuse, 'svc', 2);
      expect(circuit.state).toBe('open');
      slow.resolve('late');
      await expect(pending).resolves.toBe('late');
      expect(circuit.state).toBe('open');
    });

    it('opens, closes and half-opens by hand', async () => {
      const { infuse } = await setup({ failMax: 3 });
      const circuit = infuse.circuit('svc');
      await circuit.open();
      expect(circuit.state).toBe('open');
      await expect(circuit.call(ok(1))).rejects.toBeInstanceOf(CircuitBreakerError);
      await circuit.close();
      expect(circuit.state).toBe('closed');
      await expect(circuit.call(ok(1))).resolves.toBe(1);
      await circuit.halfOpen();
      expect(circuit.state).toBe('half-open');
      await expect(circuit.call(ok(2))).resolves.toBe(2);
      expect(circuit.state).toBe('closed');
    });

    it('forced open rejects every call until cleared, even after resetTimeout', async () => {
      const { infuse } = await setup();
      const circuit = infuse.circuit('svc');
      await circuit.forceOpen();
      expect(circuit.forced).toBe('forced-open');
      await harness.wait(RESET + 20);
      const error = (await circuit.call(ok(1)).catch((e: unknown) => e)) as CircuitBreakerError;
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect(error.forced).toBe('forced-open');
      expect(error.retryAfter).toBe(Infinity);
      await circuit.clearForced();
      expect(circuit.forced).toBeNull();
      expect(circuit.state).toBe('closed');
      await expect(circuit.call(ok(1))).resolves.toBe(1);
    });

    it('disabled lets every call through and counts nothing, until cleared', async () => {
      const { infuse } = await setup({ failMax: 1 });
      const circuit = infuse.circuit('svc');
      await circuit.disable();
      await trip(infuse, 'svc', 5);
      expect(circuit.state).toBe('closed');
      expect(circuit.failCounter).toBe(0);
      expect(circuit.forced).toBe('disabled');
      await circuit.clearForced();
      await trip(infuse, 'svc', 1);
      expect(circuit.state).toBe('open');
    });

    it('announces every transition once, in order, to every listener until it unsubscribes', async () => {
      const { infuse } = await setup({ failMax: 1 });
      const circuit = infuse.circuit('svc');
      const seen: string[] = [];
      const off = infuse.on('stateChange', ({ key, from, to, reason }) =>
        seen.push(`${key}:${from}>${to}:${reason}`),
      );
      await trip(infuse, 'svc', 1);
      await harness.wait(RESET + 20);
      await circuit.call(ok(1));
      off();
      await trip(infuse, 'svc', 1);
      expect(seen).toEqual([
        'svc:closed>open:failMax',
        'svc:open>half-open:resetTimeout',
        'svc:half-open>closed:trialSucceeded',
      ]);
    });

    it('applies initialState only where the store holds no state yet', async () => {
      const { infuse, store } = await setup({ initialState: 'open' });
      expect(infuse.circuit('fresh').state).toBe('open');
      await infuse.circuit('fresh').close();
      const joined = await harness.share(store);
      opened.stores.push(joined);
      const { infuse: second } = await setup({ initialState: 'open' }, joined);
      expect(second.circuit('fresh').state).toBe('closed');
      await expect(second.circuit('fresh').call(ok(1))).resolves.toBe(1);
    });

    it('shares state between instances on the same store: one trips, the other rejects', async () => {
      const { infuse: first, store } = await setup({ failMax: 2 });
      const joined = await harness.share(store);
      opened.stores.push(joined);
      const { infuse: second } = await setup({ failMax: 2 }, joined);
      expect(second.circuit('shared').state).toBe('closed');
      await trip(first, 'shared', 2);
      await expect.poll(() => second.circuit('shared').state, { timeout: 2_000 }).toBe('open');
      await expect(second.circuit('shared').call(ok(1))).rejects.toBeInstanceOf(
        CircuitBreakerError,
      );
    });

    it('keeps circuits of different keys apart', async () => {
      const { infuse } = await setup({ failMax: 1 });
      await trip(infuse, 'a.example', 1);
      expect(infuse.circuit('a.example').state).toBe('open');
      await expect(infuse.circuit('b.example').call(ok('b'))).resolves.toBe('b');
    });
  });
  policyContract(name, harness);
}
