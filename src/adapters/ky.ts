import { isCircuitBreakerError } from '../core/errors.js';
import {
  guardFetch,
  INFUSE_BYPASS_HEADER,
  type FetchAttempt,
  type FetchFunction,
  type FetchRequest,
} from './fetch-guard.js';
import { kyHooks, type KyHooks, type KyInitOptions } from './ky-hooks.js';
import { INFUSE_BYPASS_OPTION, resolveAdapter, type AdapterOptions } from './shared.js';

export { INFUSE_BYPASS_HEADER, INFUSE_BYPASS_OPTION, type KyHooks, type KyInitOptions };

/**
 * Options of {@link infuseKy}: `{ infuse }` (an existing `Infuse`, shared with other clients) or the
 * options of a new `Infuse`, plus `key(request)`, which receives the `Request` ky sends.
 */
export type InfuseKyOptions = AdapterOptions<Request>;

/** What a ky retry decision sees; ky 1 and ky 2 pass the same shape. */
export interface KyRetryState {
  readonly error: unknown;
  readonly retryCount: number;
}

/**
 * What {@link infuseKy} returns: ky options whose `hooks` are the breaker's hook lists, which ky
 * merges with the hooks of the instance it extends and of every later `extend()` and call. The
 * same lists are its own non-enumerable properties (see {@link KyHooks}), so that given as
 * `hooks` it is merged the same way, and is no option of its own. Typed without importing ky, so
 * that one type fits ky 1 and ky 2.
 */
export interface InfuseKyExtension extends KyHooks {
  readonly hooks: KyHooks;
}

/** The retry options a guarded call gets: the call's own `shouldRetry`, declining a refusal. */
interface KyRetryGuard {
  shouldRetry: (state: KyRetryState) => boolean | undefined | Promise<boolean | undefined>;
}

/**
 * What ky hands its fetch as `this`: ky 2's `{ timeout, fetch }` when it started a timer, its
 * options for the call otherwise. Either way `timeout` is the delay of the timer ky started for
 * this attempt (ky 2 folds `totalTimeout` into it), or false.
 */
interface KyFetchThis {
  readonly timeout?: unknown;
  /** ky's retry options for this one call, which ky normalises into a new object per call. */
  readonly retry?: unknown;
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
 * Returns ky options that send every attempt through the circuit of its host (the URL's `host`),
 * to use either way: `ky.extend(infuseKy(options))`, or as hooks,
 * `ky.extend({ hooks: infuseKy(options) })`. Either way ky merges the breaker's hooks with the
 * hooks of the instance it extends, of later `extend()`s and of each call; the fetch the breaker
 * wraps is the one ky would use for the call (the parent's `fetch`, or a per-call one). Works with
 * ky 1 (from 1.1) and ky 2, without loading ky itself: with ky 2 an `init` hook guards the call's
 * fetch; ky 1 has no such hook, so a `beforeRequest` hook makes each attempt with ky's fetch and
 * timeout and hands ky the response.
 *
 * - Each attempt ky makes counts once, retries included, also with two breakers in one chain
 *   (the first guards, the second stands aside). While a host's circuit is open, ky rejects with
 *   `CircuitBreakerError` before anything is sent, at once: ky's retry does not retry it. (ky 2
 *   asks a `retry.shouldRetry` given per request about it too, as about any error; return false
 *   for `isCircuitBreakerError(error)` there.)
 * - Failures: network errors, ky's timeouts, and responses with status 500 or more, whether or not
 *   `throwHttpErrors` makes ky throw on them. A 4xx response is a success.
 * - A request the caller aborts counts as nothing and gives back a half-open trial permit. ky
 *   aborts the fetch on its own timeout too; the adapter tells the two apart by whether the timer
 *   ky started for the attempt had run out when the attempt was aborted.
 * - Errors and responses, `.json()` and friends, are what ky gives without the adapter. With
 *   ky 1, a timeout rejects with an error named `TimeoutError` with ky's message and `request`
 *   (ky's `isTimeoutError()` and retry recognise it) that is not an instance of ky's class.
 * - ky 1 runs no further beforeRequest hook once one hands it a response: with ky 1, give
 *   beforeRequest hooks before the breaker (earlier in the chain, or in the same `extend()`), or
 *   they run only for requests the breaker lets through unguarded (bypass). ky 2 runs them all.
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
 * // the same guard, given as hooks:
 * const same = ky.extend({ hooks: infuseKy({ failMax: 5, resetTimeout: 30_000 }) });
 * const users = await api.get('https://api.example.com/users').json();
 * await api.get('https://api.example.com/health', { headers: { 'x-infuse-bypass': '1' } });
 * ```
 */
export function infuseKy(options?: InfuseKyOptions): InfuseKyExtension {
  const { infuse, key, timeout, countAborts } = resolveAdapter('infuseKy', options);
  // ky always calls fetch with a Request (and no headers in init), so key sees that Request.
  const requestKey = key as ((request: FetchRequest) => string) | null;
  /** The fetch ky 2's init hook gives a call whose fetch is `inner`. */
  const guard = (inner: FetchFunction | undefined): FetchFunction => {
    const guarded = guardFetch<KyFetchThis>({
      infuse,
      key: requestKey,
      fetch: inner,
      timeout,
      countAborts,
      callerAborted,
      refused: stopRetries,
    });
    // Not an arrow function: ky calls it as a method (see KyFetchThis), and its `this` is all
    // the guard needs to know of the attempt.
    return function guardedKyFetch(this: KyFetchThis | undefined, input, init) {
      return guarded(input, init, this);
    };
  };
  const hooks = kyHooks({
    infuse,
    key: requestKey,
    timeout,
    countAborts,
    guarded: guard,
    guardRetry,
    stopRetries,
  });
  const extension = { hooks };
  // Read by name by ky's mergeHooks when given as `hooks`; not enumerable, so no ky option.
  for (const [name, list] of Object.entries(hooks)) {
    Object.defineProperty(extension, name, { value: list, enumerable: false });
  }
  return extension as InfuseKyExtension;
}

/**
 * True when the caller aborted the attempt; false when ky did, on its timeout: ky aborts the fetch
 * before it throws its TimeoutError, so the fetch sees an AbortError either way. Told apart by
 * whether the timer ky started for the attempt had run out.
 */
function callerAborted(attempt: FetchAttempt<KyFetchThis>): boolean {
  const timer = attempt.context?.timeout;
  const timeout = typeof timer === 'number' || timer === false ? timer : KY_TIMEOUT;
  if (timeout === false) return true;
  return performance.now() < attempt.started + timeout - TIMER_SLACK;
}
/**
 * Ends a call whose attempt the circuit refused, whatever its retry options say. ky normalises
 * `retry` into a new object for every call, and reads its `limit` before anything else when the
 * attempt fails: a limit of 0 makes ky hand the `CircuitBreakerError` to the caller at once, with
 * no retry delay. ky 1 always passes its options; ky 2 with a timer passes `{ timeout, fetch }`,
 * and does not retry an error that is not a network error unless a `shouldRetry` says so.
 */
function stopRetries(options: KyFetchThis | undefined): void {
  const retry = options?.retry;
  if (
    typeof retry === 'object' &&
    retry !== null &&
    typeof (retry as { limit?: unknown }).limit === 'number'
  ) {
    Reflect.set(retry, 'limit', 0);
  }
}

/** The call's own `shouldRetry`, wrapped so that it is never asked about a refused attempt. */
function guardRetry(parent: unknown): KyRetryGuard | undefined {
  const inner =
    typeof parent === 'object' && parent !== null
      ? (parent as { shouldRetry?: unknown }).shouldRetry
      : undefined;
  if (typeof inner !== 'function') return undefined;
  const ask = inner as (state: KyRetryState) => boolean | undefined | Promise<boolean | undefined>;
  return {
    shouldRetry: (state) => (isCircuitBreakerError(state.error) ? false : ask(state)),
  };
}
