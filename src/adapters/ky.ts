import { isCircuitBreakerError } from '../core/errors.js';
import {
  guardFetch,
  INFUSE_BYPASS_HEADER,
  type FetchAttempt,
  type FetchFunction,
  type FetchRequest,
} from './fetch-guard.js';
import { INFUSE_BYPASS_OPTION, resolveAdapter, type AdapterOptions } from './shared.js';

export { INFUSE_BYPASS_HEADER, INFUSE_BYPASS_OPTION };

/**
 * Options of {@link infuseKy}: `{ infuse }` (an existing `Infuse`, shared with other clients) or the
 * options of a new `Infuse`, plus `key(request)`, which receives the `Request` ky sends.
 */
export type InfuseKyOptions = AdapterOptions<Request>;

/** What {@link infuseKy} reads from the options of the ky instance it extends. */
export interface KyParentOptions {
  readonly fetch?: ((input: Request, init?: RequestInit) => Promise<Response>) | undefined;
  readonly retry?: unknown;
  readonly timeout?: number | false | undefined;
}

/** What a ky retry decision sees; ky 1 and ky 2 pass the same shape. */
export interface KyRetryState {
  readonly error: unknown;
  readonly retryCount: number;
}

/**
 * The options {@link infuseKy} adds to a ky instance. Typed without importing ky, so that one type
 * fits ky 1 and ky 2.
 */
export interface KyExtension {
  /** The parent's fetch (or the global one), guarded. ky calls it once per attempt. */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Absent when the parent instance never retries (`retry: 0`). */
  retry?: {
    limit?: number;
    /** Never retries a `CircuitBreakerError`; asks the parent's `shouldRetry` about anything else. */
    shouldRetry: (state: KyRetryState) => boolean | undefined | Promise<boolean | undefined>;
  };
  hooks: {
    /** ky 2: records the caller's `signal`, to tell a caller's abort from ky's timeout. */
    init: ((options: object) => void)[];
    /** Stops a retry of a `CircuitBreakerError` when a per-request `retry` replaced `shouldRetry`. */
    beforeRetry: ((state: { readonly error: unknown }) => undefined)[];
  };
}

type RetryGuard = NonNullable<KyExtension['retry']>;

/**
 * The option through which ky 2 hands each attempt the caller's signal its `init` hook saw. ky
 * forwards options it does not know to fetch as `init`; the guarded fetch takes it out.
 */
const CALL_OPTION = 'infuseKyCall';

/** What ky 2's init hook saw of one call. */
interface KyCall {
  /** The caller's `signal` option. */
  readonly signal: AbortSignal;
}

/** What the abort judge knows about one attempt. */
interface KyAttempt {
  /** The caller's `signal` option (ky 2 only); `undefined` when not known. */
  readonly signal: AbortSignal | undefined;
  /** The delay of the timer ky started for this attempt, or false when it started none. */
  readonly timeout: number | false;
}

/** ky's default `timeout`. */
const KY_TIMEOUT = 10_000;

/**
 * ky's timer counts whole milliseconds, so it can fire up to a millisecond before the exact delay
 * (measured from the guard, a few microseconds after ky started it); an abort this close to ky's
 * deadline is taken for ky's timeout.
 */
const TIMER_SLACK = 2;

/**
 * Returns a ky extension that sends every attempt through the circuit of its host (the URL's
 * `host`). Use it with `ky.extend()`; it wraps the parent instance's `fetch` rather than
 * replacing it. Works with ky 1 (from 1.1, where `extend` accepts a function) and ky 2, without
 * loading ky itself.
 *
 * - Each attempt ky makes counts once, retries included. While a host's circuit is open, ky
 *   rejects with `CircuitBreakerError` before anything is sent, and ky's retry never retries it.
 * - Failures: network errors, ky's timeouts, and responses with status 500 or more, whether or not
 *   `throwHttpErrors` makes ky throw on them. A 4xx response is a success.
 * - A request the caller aborts counts as nothing and gives back a half-open trial permit. ky
 *   aborts the fetch on its own timeout too; the adapter tells the two apart: with ky 2 by the
 *   caller's `signal` option, otherwise by whether the timer ky started for the attempt had run
 *   out when the attempt was aborted.
 * - Errors and responses, `.json()` and friends, are exactly what ky gives without the adapter.
 *
 * Bypass the breaker for one request with the header `x-infuse-bypass: 1` (removed before the
 * request is sent), or the option `{ infuseBypass: true }`, which ky hands to fetch.
 *
 * @example
 * ```ts
 * import ky from 'ky';
 * import { infuseKy } from 'infuse-breaker/ky';
 *
 * const api = ky.extend(infuseKy({ failMax: 5, resetTimeout: 30_000 }));
 * const users = await api.get('https://api.example.com/users').json();
 * await api.get('https://api.example.com/health', { headers: { 'x-infuse-bypass': '1' } });
 * ```
 */
export function infuseKy(options?: InfuseKyOptions): (parent: KyParentOptions) => KyExtension {
  const { infuse, key } = resolveAdapter('infuseKy', options);
  // ky always calls fetch with a Request (and no headers in init), so key sees that Request.
  const requestKey = key as ((request: FetchRequest) => string) | null;
  return (parent) => {
    const fetch = parent.fetch as FetchFunction | undefined;
    const guarded = guardFetch<KyAttempt>({ infuse, key: requestKey, fetch, callerAborted });
    const fallbackTimeout = parent.timeout ?? KY_TIMEOUT;

    const extension: KyExtension = {
      // Not an arrow function: ky 1 and ky 2 both call it as a method of an object whose `timeout`
      // is the delay of the timer they started for this attempt just before (ky's own options, or
      // ky 2's per-attempt options). That is all the abort judge needs, without a beforeRequest
      // hook, which would cost ky more than the whole guard.
      fetch: function guardedKyFetch(this: unknown, input, init) {
        const timer = (this as { timeout?: unknown } | undefined)?.timeout;
        const timeout = typeof timer === 'number' || timer === false ? timer : fallbackTimeout;
        if (init !== undefined && CALL_OPTION in init) {
          const { [CALL_OPTION]: call, ...rest } = init as RequestInit & Record<string, KyCall>;
          return guarded(input, rest, { signal: call?.signal, timeout });
        }
        return guarded(input, init, { signal: undefined, timeout });
      },
      hooks: {
        init: [
          (given) => {
            const options = given as Record<string, unknown>;
            const signal = options.signal as AbortSignal | undefined;
            if (signal !== undefined) options[CALL_OPTION] = { signal } satisfies KyCall;
          },
        ],
        beforeRetry: [
          ({ error }) => {
            if (isCircuitBreakerError(error)) throw error;
            return undefined;
          },
        ],
      },
    };
    const retry = guardRetry(parent.retry);
    if (retry !== undefined) extension.retry = retry;
    return extension;
  };
}

function guardRetry(parent: unknown): KyExtension['retry'] {
  const limit = typeof parent === 'number' ? parent : undefined;
  // An instance that never retries needs no guard here (and ky normalises a retry object on every
  // request); the beforeRetry hook still stops a per-request retry of a CircuitBreakerError.
  if (limit === 0 || (parent as { limit?: unknown } | null)?.limit === 0) return undefined;
  const inner =
    typeof parent === 'object' && parent !== null
      ? (parent as { shouldRetry?: unknown }).shouldRetry
      : undefined;
  const shouldRetry: RetryGuard['shouldRetry'] = (state) => {
    if (isCircuitBreakerError(state.error)) return false;
    return typeof inner === 'function' ? (inner as RetryGuard['shouldRetry'])(state) : undefined;
  };
  // A numeric retry is ky's limit; ky merges an object over it by dropping the number.
  return limit === undefined ? { shouldRetry } : { limit, shouldRetry };
}

/**
 * True when the caller aborted the attempt; false when ky did, on its timeout. ky aborts the fetch
 * before it throws its TimeoutError, so the fetch sees an AbortError either way.
 */
function callerAborted(attempt: FetchAttempt<KyAttempt>): boolean {
  const call = attempt.context;
  if (call === undefined) return true;
  // ky 2 with a signal option: the caller's own signal says whether the caller aborted.
  if (call.signal !== undefined) return call.signal.aborted;
  // Otherwise, by the deadline of ky's timer for this attempt (ky 2 folds totalTimeout into it).
  if (call.timeout === false) return true;
  return performance.now() < attempt.started + call.timeout - TIMER_SLACK;
}
