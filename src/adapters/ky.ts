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
 * The options {@link infuseKy} adds to a ky instance: the guarded `fetch` alone, so that ky has as
 * little as possible to merge on every request (ky merges an instance's options into each call's,
 * and hooks or a `retry` object cost it more than the whole guard). Typed without importing ky, so
 * that one type fits ky 1 and ky 2.
 */
export interface KyExtension {
  /** The parent's fetch (or the global one), guarded. ky calls it once per attempt. */
  fetch: (
    this: KyFetchThis | undefined,
    input: string | URL | Request,
    init?: RequestInit,
  ) => Promise<Response>;
  /**
   * Only when the parent has its own `retry.shouldRetry`: that one, wrapped so that it never
   * retries a `CircuitBreakerError`.
   */
  retry?: {
    shouldRetry: (state: KyRetryState) => boolean | undefined | Promise<boolean | undefined>;
  };
}

/**
 * What ky hands its fetch as `this`: ky 1's options for the call, and ky 2's too when it started no
 * timer; otherwise ky 2's `{ timeout, fetch }`. Either way `timeout` is the delay of the timer ky
 * started for this attempt (ky 2 folds `totalTimeout` into it), or false.
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
 * Returns a ky extension that sends every attempt through the circuit of its host (the URL's
 * `host`). Use it with `ky.extend(infuseKy(options))`, where it wraps the parent instance's
 * `fetch` rather than replacing it, or as hooks: `ky.extend({ hooks: infuseKy(options) })`
 * guards the same way. Works with ky 1 (from 1.1) and ky 2, without loading ky itself.
 *
 * Given as `hooks`, ky keeps the value as it is rather than merging it (ky merges only plain
 * objects): it replaces the hooks of the instance it extends, and a later
 * `.extend({ hooks: { ... } })` replaces it. To combine the breaker with other hooks, use
 * `ky.extend(infuseKy(options))`. With ky 1, a timeout in the hooks form rejects with an error
 * named `TimeoutError` with ky's message and `request` (ky's `isTimeoutError()` and retry
 * recognise it) that is not an instance of ky's class; with ky 2 it is ky's own.
 *
 * - Each attempt ky makes counts once, retries included. While a host's circuit is open, ky
 *   rejects with `CircuitBreakerError` before anything is sent, at once: ky's retry does not
 *   retry it. (ky 2 asks a `retry.shouldRetry` given per request about it too, as about any
 *   error; return false for `isCircuitBreakerError(error)` there.)
 * - Failures: network errors, ky's timeouts, and responses with status 500 or more, whether or not
 *   `throwHttpErrors` makes ky throw on them. A 4xx response is a success.
 * - A request the caller aborts counts as nothing and gives back a half-open trial permit. ky
 *   aborts the fetch on its own timeout too; the adapter tells the two apart by whether the timer
 *   ky started for the attempt had run out when the attempt was aborted.
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
 * // the same guard, given as hooks:
 * const same = ky.extend({ hooks: infuseKy({ failMax: 5, resetTimeout: 30_000 }) });
 * const users = await api.get('https://api.example.com/users').json();
 * await api.get('https://api.example.com/health', { headers: { 'x-infuse-bypass': '1' } });
 * ```
 */
export function infuseKy(options?: InfuseKyOptions): InfuseKyExtend {
  const { infuse, key, timeout, countAborts } = resolveAdapter('infuseKy', options);
  // ky always calls fetch with a Request (and no headers in init), so key sees that Request.
  const requestKey = key as ((request: FetchRequest) => string) | null;
  const extend = (parent: KyParentOptions): KyExtension => {
    const fallbackTimeout = parent.timeout ?? KY_TIMEOUT;
    /**
     * True when the caller aborted the attempt; false when ky did, on its timeout: ky aborts the
     * fetch before it throws its TimeoutError, so the fetch sees an AbortError either way. Told
     * apart by whether the timer ky started for the attempt had run out.
     */
    const callerAborted = (attempt: FetchAttempt<KyFetchThis>): boolean => {
      const timer = attempt.context?.timeout;
      const timeout = typeof timer === 'number' || timer === false ? timer : fallbackTimeout;
      if (timeout === false) return true;
      return performance.now() < attempt.started + timeout - TIMER_SLACK;
    };
    const guarded = guardFetch<KyFetchThis>({
      infuse,
      key: requestKey,
      fetch: parent.fetch as FetchFunction | undefined,
      timeout,
      countAborts,
      callerAborted,
      refused: stopRetries,
    });
    const extension: KyExtension = {
      // Not an arrow function: ky calls it as a method (see KyFetchThis), and its `this` is all
      // the guard needs to know of the call, without a hook.
      fetch: function guardedKyFetch(input, init) {
        return guarded(input, init, this);
      },
    };
    const retry = guardRetry(parent.retry);
    if (retry !== undefined) extension.retry = retry;
    return extension;
  };
  const hooks = kyHooks({
    infuse,
    key: requestKey,
    timeout,
    countAborts,
    guarded: (inner) => extend({ fetch: inner }).fetch,
    guardRetry,
    stopRetries,
  });
  return Object.assign(extend, hooks);
}

/**
 * What {@link infuseKy} returns: the function `ky.extend()` calls with the parent's options, which
 * also carries ky hook lists, so that it guards the same way given as `hooks` (see
 * {@link KyHooks}).
 */
export type InfuseKyExtend = ((parent: KyParentOptions) => KyExtension) & KyHooks;

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

/** The parent's own `shouldRetry`, wrapped so that it is never asked about a refused attempt. */
function guardRetry(parent: unknown): KyExtension['retry'] {
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
