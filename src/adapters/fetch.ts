import { invalid } from '../core/options.js';
import {
  guardFetch,
  INFUSE_BYPASS_HEADER,
  type FetchFunction,
  type FetchRequest,
} from './fetch-guard.js';
import { INFUSE_BYPASS_OPTION, resolveAdapter, type AdapterOptions } from './shared.js';

export { INFUSE_BYPASS_HEADER, INFUSE_BYPASS_OPTION, type FetchFunction, type FetchRequest };

/**
 * Options of {@link infuseFetch}: `{ infuse }` (an existing `Infuse`, shared with other clients) or
 * the options of a new `Infuse`, plus `key` and the fetch to wrap.
 */
export type InfuseFetchOptions = AdapterOptions<FetchRequest> & {
  /**
   * The fetch to wrap.
   * @default `globalThis.fetch`, looked up on every call (so msw and other instrumentation that
   * replace it later are seen)
   */
  readonly fetch?: FetchFunction;
};

/** `RequestInit` plus the per-request bypass the fetch returned by {@link infuseFetch} accepts. */
export interface InfuseRequestInit extends RequestInit {
  /** `true` sends this request past the breaker: not checked, not counted. */
  readonly infuseBypass?: boolean;
}

/** The fetch returned by {@link infuseFetch}. */
export type InfusedFetch = (
  input: string | URL | Request,
  init?: InfuseRequestInit,
) => Promise<Response>;

/**
 * Returns a fetch that sends every request through the circuit of its host (the URL's `host`:
 * hostname and non-default port). While a host's circuit is open, calls to it reject with
 * `CircuitBreakerError` before anything is sent.
 *
 * Counted as failures: network errors (refused, reset, DNS), timeouts (a rejection named
 * `TimeoutError`, as `AbortSignal.timeout()` gives) and responses with status 500 or more. A 4xx
 * response is a success. A request the caller aborted (its signal aborted with anything but a
 * `TimeoutError`) counts as nothing and gives back a half-open trial permit. Responses and
 * rejections reach the caller unchanged.
 *
 * Bypass the breaker for one request with `{ infuseBypass: true }` in `init`, or the header
 * `x-infuse-bypass: 1` (removed before the request is sent).
 *
 * @example
 * ```ts
 * import { infuseFetch } from 'infuse-breaker/fetch';
 *
 * const fetch = infuseFetch({ failMax: 5, resetTimeout: 30_000 });
 * const response = await fetch('https://api.example.com/users', { signal: AbortSignal.timeout(2_000) });
 * await fetch('https://api.example.com/health', { infuseBypass: true });
 * ```
 */
export function infuseFetch(options?: InfuseFetchOptions): InfusedFetch {
  const given = options ?? {};
  if (typeof given !== 'object') invalid('infuseFetch options', 'an object', given);
  const { fetch: inner, ...adapter } = given;
  if (inner !== undefined && typeof inner !== 'function') invalid('fetch', 'a function', inner);
  const settings = resolveAdapter('infuseFetch', adapter as AdapterOptions<FetchRequest>);
  return guardFetch({ ...settings, fetch: inner });
}
