/**
 * The store contract for the rules a store declares as capabilities (`Store.capabilities`):
 * `honorRetryAfter`, `slowCallRate` and `shadow`. Every store that declares them runs these, and a
 * user cannot tell from them which store they are on. With a shared store, "another instance" is
 * another process of the fleet. Core-only checks (parsing, option validation) stay in test/core.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type OutcomeEvent,
  type RejectEvent,
  type StateChangeEvent,
  type Store,
} from '../../src/index.js';
import type { StoreHarness } from './store-contract.js';

/** The contract's resetTimeout: shorter than the server times below, so the two are told apart. */
const RESET = 300;
/**
 * `honorRetryAfter.max`: bounds a server's long Retry-After to a time a test can wait for, and
 * stays well above RESET even after a busy machine's delays between opening and asking.
 */
const SERVER_MAX = 1_500;
/**
 * `slowCallRate.duration`, and how long a slow call takes: well apart on a busy machine, where a
 * call that does nothing can still take tens of milliseconds.
 */
const SLOW_MS = 150;
const SLOW_CALL_MS = 300;

/** One process's calls reach failMax alone, as the quorum rule would need two to (RedisStore). */
const ALONE = { quorum: 1 } as const;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function policyContract(name: string, harness: StoreHarness): void {
  describe(`store contract, capabilities: ${name}`, () => {
    const opened: { infuse: Infuse[]; stores: Store[] } = { infuse: [], stores: [] };

    afterEach(async () => {
      for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
      for (const store of opened.stores.splice(0)) await harness.dispose?.(store);
    });

    /** Two instances over the same state (two processes of a fleet), with their events. */
    async function fleet(options: InfuseOptions) {
      const first = await harness.create();
      const second = await harness.share(first);
      opened.stores.push(first, second);
      const make = (store: Store) => {
        const infuse = new Infuse({ resetTimeout: RESET, ...options, store });
        opened.infuse.push(infuse);
        const changes: StateChangeEvent[] = [];
        const rejects: RejectEvent[] = [];
        const outcomes: OutcomeEvent[] = [];
        infuse.on('stateChange', (event) => changes.push(event));
        infuse.on('reject', (event) => rejects.push(event));
        infuse.on('success', (event) => outcomes.push(event));
        infuse.on('failure', (event) => outcomes.push(event));
        return { infuse, changes, rejects, outcomes, circuit: infuse.circuit('svc') };
      };
      return [make(first), make(second)] as const;
    }

    /** The refusal of a call, or a failed expectation when the call went through. */
    async function refusal(infuse: Infuse): Promise<CircuitBreakerError> {
      const error: unknown = await infuse
        .circuit('svc')
        .call(() => 'ran')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CircuitBreakerError);
      return error as CircuitBreakerError;
    }

    /** An HTTP-like call answered with `status` and, when given, a Retry-After header. */
    async function respond(infuse: Infuse, status: number, retryAfter?: string) {
      const permit = await infuse.circuit('svc').acquire();
      return permit.settle(retryAfter === undefined ? { status } : { status, retryAfter });
    }

    /** A call that takes `ms` of real time (durations are measured, not told), and may fail. */
    function take(infuse: Infuse, ms: number, fail = false) {
      return infuse
        .circuit('svc')
        .call(async () => {
          if (ms > 0) await sleep(ms);
          if (fail) throw new Error('boom');
          return 'ok';
        })
        .catch((error: unknown) => {
          if (error instanceof CircuitBreakerError) throw error;
          return 'failed';
        });
    }

    describe('honorRetryAfter', () => {
      it('a Retry-After opens the circuit for every instance until the server time; then one trial goes', async () => {
        const [a, b] = await fleet({ honorRetryAfter: { max: SERVER_MAX } });
        await expect(b.circuit.call(() => 'warm')).resolves.toBe('warm');
        await expect(respond(a.infuse, 429, '30')).resolves.toBe('success');
        expect(a.changes).toEqual([
          expect.objectContaining({ key: 'svc', from: 'closed', to: 'open', reason: 'retryAfter' }),
        ]);
        const own = await refusal(a.infuse);
        // The server's time (bounded by max), not resetTimeout.
        expect(own.retryAfter).toBeGreaterThan(RESET);
        expect(own.retryAfter).toBeLessThanOrEqual(SERVER_MAX);
        expect((own.cause as Error).message).toContain('status 429 with Retry-After: 30');
        await expect.poll(() => b.circuit.state, { timeout: 2_000 }).toBe('open');
        const other = await refusal(b.infuse);
        expect(other.retryAfter).toBeGreaterThan(0);
        expect(other.retryAfter).toBeLessThanOrEqual(SERVER_MAX);
        await harness.wait(SERVER_MAX + 50);
        const trial = await b.circuit.acquire();
        expect(trial.trial).toBe(true);
        await trial.settle({ status: 200 });
        expect(b.circuit.state).toBe('closed');
        await expect.poll(() => a.circuit.state, { timeout: 2_000 }).toBe('closed');
      });

      it('a trial answered with Retry-After re-opens for the server time, not resetTimeout', async () => {
        const [a] = await fleet({ honorRetryAfter: { max: SERVER_MAX } });
        await a.circuit.open();
        await harness.wait(RESET + 20);
        await expect(respond(a.infuse, 503, '45')).resolves.toBe('failure');
        expect(a.circuit.state).toBe('open');
        expect(a.changes.at(-1)).toMatchObject({
          from: 'half-open',
          to: 'open',
          reason: 'retryAfter',
        });
        const error = await refusal(a.infuse);
        expect(error.retryAfter).toBeGreaterThan(RESET);
        expect(error.retryAfter).toBeLessThanOrEqual(SERVER_MAX);
      });

      it('a status not in `statuses` opens nothing, whatever its Retry-After', async () => {
        const [a] = await fleet({ honorRetryAfter: { statuses: [503] }, failMax: 1, ...ALONE });
        await expect(respond(a.infuse, 429, '30')).resolves.toBe('success');
        await expect(a.circuit.call(() => 'ran')).resolves.toBe('ran');
        expect(a.changes).toEqual([]);
      });
    });

    describe('slowCallRate', () => {
      const slowCallRate = { threshold: 0.5, duration: SLOW_MS, minimumCalls: 4, window: 60_000 };

      it('opens when the share of slow calls across every instance reaches the threshold', async () => {
        const [a, b] = await fleet({ slowCallRate, failMax: 100 });
        await take(a.infuse, 0);
        await take(a.infuse, 0);
        await take(a.infuse, SLOW_CALL_MS);
        await expect
          .poll(() => a.circuit.snapshot().slowCalls, { timeout: 3_000 })
          .toEqual({ calls: 3, slow: 1 });
        expect(a.circuit.state).toBe('closed'); // 3 calls: under minimumCalls
        await take(b.infuse, SLOW_CALL_MS, true); // a slow failure is slow too
        await expect.poll(() => b.circuit.state, { timeout: 3_000 }).toBe('open');
        await expect.poll(() => a.circuit.state, { timeout: 3_000 }).toBe('open');
        expect(b.changes.concat(a.changes)).toContainEqual(
          expect.objectContaining({ from: 'closed', to: 'open', reason: 'slowCallRate' }),
        );
      });

      it('counts fast failures as calls, not as slow ones', async () => {
        const [a] = await fleet({ slowCallRate, failMax: 100 });
        for (let i = 0; i < 6; i++) await take(a.infuse, 0, true);
        await take(a.infuse, SLOW_CALL_MS);
        await expect
          .poll(() => a.circuit.snapshot().slowCalls, { timeout: 3_000 })
          .toEqual({ calls: 7, slow: 1 });
        expect(a.circuit.state).toBe('closed');
      });

      it('a slow trial re-opens a half-open circuit; a fast one closes it', async () => {
        const [a] = await fleet({ slowCallRate });
        await a.circuit.open();
        await harness.wait(RESET + 20);
        await take(a.infuse, SLOW_CALL_MS);
        expect(a.circuit.state).toBe('open');
        expect(a.changes.at(-1)).toMatchObject({ from: 'half-open', reason: 'trialFailed' });
        await harness.wait(RESET + 20);
        await take(a.infuse, 0);
        expect(a.circuit.state).toBe('closed');
      });
    });

    describe('shadow', () => {
      it('opens as it would, lets the calls it would refuse run, tells of each, counts none', async () => {
        const [a, b] = await fleet({ shadow: true, failMax: 2, ...ALONE });
        await take(a.infuse, 0, true);
        await take(a.infuse, 0, true);
        expect(a.changes).toEqual([
          expect.objectContaining({ from: 'closed', to: 'open', reason: 'failMax' }),
        ]);
        expect(a.circuit.snapshot()).toMatchObject({ state: 'open', shadow: true });
        await expect.poll(() => b.circuit.state, { timeout: 2_000 }).toBe('open');
        a.outcomes.length = 0;
        await expect(a.circuit.call(() => 'ran')).resolves.toBe('ran');
        await expect(b.circuit.call(() => 'ran too')).resolves.toBe('ran too');
        await expect(take(a.infuse, 0, true)).resolves.toBe('failed');
        for (const { rejects } of [a, b]) {
          expect(rejects.length).toBeGreaterThan(0);
          for (const event of rejects) {
            expect(event).toMatchObject({ key: 'svc', state: 'open', forced: null, shadow: true });
            expect(event.retryAfter).toBeGreaterThan(0);
          }
        }
        expect(a.outcomes).toEqual([]); // not counted: they would never have been sent
        expect(a.circuit.snapshot()).toMatchObject({ state: 'open', failures: 2 });
        expect(a.infuse.snapshot()[0]?.rejections).toBe(0);
      });

      it('runs half-open for real: the trial counts, calls beyond its permits run uncounted', async () => {
        const [a] = await fleet({ shadow: true, failMax: 1, ...ALONE });
        await take(a.infuse, 0, true);
        await harness.wait(RESET + 20);
        const trial = await a.circuit.acquire();
        expect(trial.trial).toBe(true);
        const extra = await a.circuit.acquire(); // would be refused: its one permit is taken
        expect(extra.trial).toBe(false);
        expect(a.rejects.at(-1)).toMatchObject({ state: 'half-open', shadow: true });
        await expect(extra.settle({ status: 503 })).resolves.toBe('failure');
        expect(a.circuit.state).toBe('half-open'); // the uncounted failure changed nothing
        await trial.settle({ status: 200 });
        expect(a.changes.at(-1)).toMatchObject({ to: 'closed', reason: 'trialSucceeded' });
      });

      it('refuses nothing even when forced open; a key can be in shadow alone', async () => {
        const [a] = await fleet({ circuits: { svc: { shadow: true } } });
        await a.circuit.forceOpen();
        await a.infuse.circuit('other').forceOpen();
        await expect(a.circuit.call(() => 'ran')).resolves.toBe('ran');
        await expect(a.infuse.circuit('other').call(() => 'ran')).rejects.toThrow('forced open');
        expect(a.rejects.map(({ key, shadow }) => [key, shadow])).toEqual([
          ['svc', true],
          ['other', false],
        ]);
      });
    });
  });
}
