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
  retry: {
    limit?: number;
    /** Never retries a `CircuitBreakerError`; asks the parent's `shouldRetry` about anything else. */
    shouldRetry: (state: KyRetryState) => boolean | undefined | Promise<boolean | undefined>;
  };
  hooks: {
    /** ky 2: records the caller's signal and timeouts, to tell a timeout from an abort. */
    init: ((options: object) => void)[];
    /** ky 1: records each attempt's timeout, to tell a timeout from an abort. */
    beforeRequest: ((request: unknown, options?: unknown) => undefined)[];
    /**
     * Stops a retry of a `CircuitBreakerError` when a per-request `retry` replaced `shouldRetry`;
     * ky 2: notes when the next attempt starts.
     */
    beforeRetry: ((state: { readonly error: unknown; readonly options?: unknown }) => undefined)[];
  };
}

/**
 * The option through which ky 2 hands each attempt what its `init` hook saw. ky forwards options it
 * does not know to fetch as `init`; the guarded fetch takes it out before sending.
 */
const CALL_OPTION = 'infuseKyCall';

/** What the abort judge knows about one ky call. */
interface KyCall {
  /** The caller's `signal` option (ky 2 only); `undefined` when not known. */
  readonly signal: AbortSignal | undefined;
  /** ky's per-attempt `timeout`. */
  readonly timeout: number | false;
  /** ky 2's `totalTimeout`. */
  readonly totalTimeout: number | false;
  /** `performance.now()` when the call began. */
  readonly callStarted: number;
  /** `performance.now()` in a hook that runs before ky starts the attempt's timer. */
  attemptStarted: number;
}

/** ky's default `timeout`. */
const KY_TIMEOUT = 10_000;

/**
 * ky's timer counts whole milliseconds, so it can fire up to a millisecond before the exact delay;
 * an abort this close to ky's deadline is taken for ky's timeout.
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
 *   caller's `signal` option, otherwise by whether ky's timeout had run out when the attempt was
 *   aborted.
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
    const guarded = guardFetch<KyCall>({ infuse, key: requestKey, fetch, callerAborted });
    const fallbackTimeout = parent.timeout ?? KY_TIMEOUT;
    // ky 1: each attempt's Request, as its beforeRequest hook saw it, to what the hook recorded.
    const attempts = new WeakMap<object, KyCall>();

    return {
      fetch: (input, init) => {
        if (init !== undefined && CALL_OPTION in init) {
          const { [CALL_OPTION]: call, ...rest } = init as RequestInit & Record<string, KyCall>;
          return guarded(input, rest, call);
        }
        // Missing only when another beforeRequest hook replaced the Request after ours.
        const call = attempts.get(input as object) ?? newCall(undefined, fallbackTimeout, false);
        return guarded(input, init, call);
      },
      retry: guardRetry(parent.retry),
      hooks: {
        init: [
          (given) => {
            const options = given as Record<string, unknown>;
            options[CALL_OPTION] = newCall(
              options.signal as AbortSignal | undefined,
              (options.timeout as number | false | undefined) ?? KY_TIMEOUT,
              (options.totalTimeout as number | false | undefined) ?? false,
            );
          },
        ],
        beforeRequest: [
          (request, options) => {
            // ky 1 calls this before each attempt with (request, options); ky 2 once, with one
            // state object, and its init hook has done the work.
            if (options !== undefined && typeof request === 'object' && request !== null) {
              const timeout = (options as { timeout?: number | false }).timeout ?? KY_TIMEOUT;
              attempts.set(request, newCall(undefined, timeout, false));
            }
            return undefined;
          },
        ],
        beforeRetry: [
          ({ error, options }) => {
            if (isCircuitBreakerError(error)) throw error;
            // ky 2 starts the next attempt's timer after this hook.
            const call = (options as Record<string, unknown> | undefined)?.[CALL_OPTION];
            if (call !== undefined) (call as KyCall).attemptStarted = performance.now();
            return undefined;
          },
        ],
      },
    };
  };
}

function newCall(
  signal: AbortSignal | undefined,
  timeout: number | false,
  totalTimeout: number | false,
): KyCall {
  const now = performance.now();
  return { signal, timeout, totalTimeout, callStarted: now, attemptStarted: now };
}

function guardRetry(parent: unknown): KyExtension['retry'] {
  const limit = typeof parent === 'number' ? parent : undefined;
  const inner =
    typeof parent === 'object' && parent !== null
      ? (parent as { shouldRetry?: unknown }).shouldRetry
      : undefined;
  const shouldRetry: KyExtension['retry']['shouldRetry'] = (state) => {
    if (isCircuitBreakerError(state.error)) return false;
    return typeof inner === 'function'
      ? (inner as KyExtension['retry']['shouldRetry'])(state)
      : undefined;
  };
  // A numeric retry is ky's limit; ky merges an object over it by dropping the number.
  return limit === undefined ? { shouldRetry } : { limit, shouldRetry };
}

/**
 * True when the caller aborted the attempt; false when ky did, on its timeout. ky aborts the fetch
 * before it throws its TimeoutError, so the fetch sees an AbortError either way.
 */
function callerAborted(attempt: FetchAttempt<KyCall>): boolean {
  const call = attempt.context;
  if (call === undefined) return true;
  // ky 2 with a signal option: the caller's own signal says whether the caller aborted.
  if (call.signal !== undefined) return call.signal.aborted;
  // Otherwise, by ky's deadline. Its start was taken in a hook that runs before ky starts its timer,
  // never after: a busy machine can only make an abort look later, never a timeout look early.
  const attemptDeadline = call.timeout === false ? Infinity : call.attemptStarted + call.timeout;
  const totalDeadline =
    call.totalTimeout === false ? Infinity : call.callStarted + call.totalTimeout;
  return performance.now() < Math.min(attemptDeadline, totalDeadline) - TIMER_SLACK;
}
