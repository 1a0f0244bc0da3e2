import { Infuse } from '../core/infuse.js';
import { invalid, show, type InfuseOptions } from '../core/options.js';

/**
 * What every adapter accepts: an existing {@link Infuse} (so that axios, ky, got and fetch calls to
 * one host share one circuit), or the options of a new one, plus the adapter's own options.
 */
export type AdapterOptions<Request> =
  | ({ readonly infuse: Infuse } & AdapterOwnOptions<Request>)
  | (InfuseOptions & { readonly infuse?: undefined } & AdapterOwnOptions<Request>);

/** Options every adapter has, whatever the client. */
export interface AdapterOwnOptions<Request> {
  /**
   * The circuit key of a request. It must never hold credentials, a path or a query.
   * @default the URL's host: hostname and non-default port, lower case, as WHATWG URL writes it
   */
  readonly key?: (request: Request) => string;
  /**
   * Milliseconds the breaker gives each attempt. When they pass, the attempt is aborted with a
   * `TimeoutError` (as `AbortSignal.timeout()` does) and counts as a failure, whatever the
   * client or SDK above does about timeouts. Not for axios and got, whose own `timeout` options
   * already count as failures: `infuseAxios` and `infuseGot` throw a `TypeError` naming them.
   * @default none: the client's own timeouts apply
   */
  readonly timeout?: number;
  /**
   * How an abort counts whose reason is not a `TimeoutError`. `false`: the caller gave up, and it
   * counts as nothing. `true`: it counts as a failure, for SDKs whose timeout calls `abort()`
   * without a reason (OpenAI, Anthropic), which looks exactly like a caller's abort. An
   * aborted attempt still gives back its half-open trial permit either way.
   * @default false
   */
  readonly countAborts?: boolean;
}

/** An adapter's own settings, checked. */
export interface AdapterSettings<Request> {
  readonly infuse: Infuse;
  readonly key: ((request: Request) => string) | null;
  /** Milliseconds per attempt, or null. */
  readonly timeout: number | null;
  readonly countAborts: boolean;
}

/** Splits adapter options into the Infuse to use and the adapter's own settings. */
export function resolveAdapter<Request>(
  adapter: string,
  options: AdapterOptions<Request> | undefined,
): AdapterSettings<Request> {
  const given = options ?? {};
  if (typeof given !== 'object') invalid(`${adapter} options`, 'an object', given);
  const {
    infuse: existing,
    key,
    timeout,
    countAborts,
    ...rest
  } = given as AdapterOptions<Request> & InfuseOptions;
  if (key !== undefined && typeof key !== 'function') invalid('key', 'a function', key);
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMER)
  ) {
    invalid('timeout', `a number of milliseconds above 0 and at most ${MAX_TIMER}`, timeout);
  }
  if (countAborts !== undefined && typeof countAborts !== 'boolean') {
    invalid('countAborts', 'a boolean', countAborts);
  }
  const own = { key: key ?? null, timeout: timeout ?? null, countAborts: countAborts ?? false };
  if (existing !== undefined) {
    if (!(existing instanceof Infuse)) invalid('infuse', 'an Infuse instance', existing);
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new TypeError(
        `infuse-breaker: ${adapter} was given both "infuse" and Infuse options (${extra.join(', ')}); ` +
          'set those options on the Infuse instance instead',
      );
    }
    return { infuse: existing, ...own };
  }
  return { infuse: new Infuse(rest), ...own };
}

/**
 * Refuses the `timeout` option for a client whose own timeout already counts as a failure (axios,
 * got): two deadlines for one attempt would be a mistake, never silently one of them.
 */
export function ownTimeoutOnly(
  adapter: string,
  settings: { readonly timeout: number | null },
  clientOption: string,
): void {
  if (settings.timeout === null) return;
  throw new TypeError(
    `infuse-breaker: ${adapter} has no "timeout" option; set ${clientOption}, which counts as a failure`,
  );
}

/**
 * Whether an abort is the caller's (it counts as nothing) given what it was aborted with: never
 * when `countAborts` is set or the reason is a `TimeoutError` (a timeout fails). Every adapter
 * judges aborts with this.
 */
export function isCallersAbort(countAborts: boolean, reason: unknown): boolean {
  return !countAborts && !isTimeoutError(reason);
}

/** The longest delay a timer takes (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMER = 2_147_483_647;

/**
 * Calls a user's `key(request)` and checks what it returns: every adapter reports a bad key the
 * same way.
 */
export function customKey<Request>(key: (request: Request) => string, request: Request): string {
  const value: unknown = key(request);
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(
      `infuse-breaker: option "key" must return a non-empty string; got ${show(value)}`,
    );
  }
  return value;
}

/**
 * Reads a request's `infuseBypass` flag. Anything but a boolean or nothing is a mistake that would
 * otherwise leave the request guarded without a word, so it is refused.
 */
export function bypassFlag(value: unknown, where: string): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true;
  throw new TypeError(
    `infuse-breaker: ${where} "${INFUSE_BYPASS_OPTION}" must be a boolean; got ${show(value)}`,
  );
}

/** The URL as outcomes show it: origin and path, without credentials, query or fragment. */
export function outcomeUrl(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return parsed.origin + parsed.pathname;
}

/**
 * The per-request option that sends one request past the breaker, neither checked nor counted:
 * a property of fetch's `init` and ky's options (removed before sending), a field of an axios
 * request config, a field of got's `context`.
 */
export const INFUSE_BYPASS_OPTION = 'infuseBypass';

/** A Request from any realm (undici's, the global one, a polyfill's); URL objects have no method. */
export function isRequest(value: unknown): value is Request {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { url?: unknown }).url === 'string' &&
    typeof (value as { method?: unknown }).method === 'string'
  );
}

/**
 * The URL of a request given as a string, a URL or a Request. A relative one resolves against the
 * page's location where there is one (browsers; Node's clients accept absolute URLs only). Null
 * when it cannot be parsed: the client will report that itself.
 */
export function parseUrl(input: string | URL | Request): URL | null {
  if (input instanceof URL) return input;
  const href = isRequest(input) ? input.url : input;
  // Not URL.canParse: older browsers, where the axios and fetch adapters also run, lack it.
  try {
    return new URL(href, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    return null;
  }
}

/**
 * True for a value named `TimeoutError`: what `AbortSignal.timeout()` aborts with, and what fetch
 * and clients reject with on a timeout. A timeout is a failure of the host, never a caller's abort.
 */
export function isTimeoutError(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'TimeoutError'
  );
}
