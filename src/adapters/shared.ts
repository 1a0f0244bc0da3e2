import type { CallPermit, Circuit, SettleInput } from '../core/circuit.js';
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
}

/** Splits adapter options into the Infuse to use and the adapter's own settings. */
export function resolveAdapter<Request>(
  adapter: string,
  options: AdapterOptions<Request> | undefined,
): { infuse: Infuse; key: ((request: Request) => string) | null } {
  const given = options ?? {};
  if (typeof given !== 'object') invalid(`${adapter} options`, 'an object', given);
  const { infuse: existing, key, ...rest } = given as AdapterOptions<Request> & InfuseOptions;
  if (key !== undefined && typeof key !== 'function') invalid('key', 'a function', key);
  if (existing !== undefined) {
    if (!(existing instanceof Infuse)) invalid('infuse', 'an Infuse instance', existing);
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new TypeError(
        `infuse-breaker: ${adapter} was given both "infuse" and Infuse options (${extra.join(', ')}); ` +
          'set those options on the Infuse instance instead',
      );
    }
    return { infuse: existing, key: key ?? null };
  }
  return { infuse: new Infuse(rest), key: key ?? null };
}

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

/** The default circuit key: `host` of the WHATWG URL (lower case, default port dropped, no credentials). */
export function hostKey(url: string | URL): string {
  return (typeof url === 'string' ? new URL(url) : url).host;
}

/** The URL as outcomes show it: origin and path, without credentials, query or fragment. */
export function outcomeUrl(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return parsed.origin + parsed.pathname;
}

/**
 * Runs one attempt through `circuit`: refuses before `attempt` runs when the circuit is open,
 * otherwise settles the permit with what `describe` says of the result or error, and returns or
 * throws exactly what `attempt` did.
 */
export function guardAttempt<T>(
  circuit: Circuit,
  attempt: () => Promise<T>,
  describe: (result: { value: T } | { error: unknown }) => SettleInput,
): Promise<T> {
  let permit: CallPermit | Promise<CallPermit>;
  try {
    permit = circuit.acquireNow();
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a CircuitBreakerError
    return Promise.reject(error);
  }
  // A closed circuit answers at once: the attempt starts in this very tick, as it would unguarded.
  if (permit instanceof Promise) return permit.then((late) => settled(late, attempt, describe));
  return settled(permit, attempt, describe);
}

/**
 * Runs the attempt and counts its outcome. Written with `then` rather than `async`/`await`: no
 * frame kept alive for the request's whole life, and no extra turn when the store counts at once.
 */
function settled<T>(
  permit: CallPermit,
  attempt: () => Promise<T>,
  describe: (result: { value: T } | { error: unknown }) => SettleInput,
): Promise<T> {
  let started: Promise<T>;
  try {
    started = attempt();
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the client threw
    started = Promise.reject(error);
  }
  return started.then(
    (value) => {
      const counted = permit.settleNow(describe({ value }));
      return typeof counted === 'string' ? value : counted.then(() => value);
    },
    (error: unknown) => {
      const counted = permit.settleNow(describe({ error }));
      if (typeof counted === 'string') throw error;
      return counted.then(() => {
        throw error;
      });
    },
  );
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

/**
 * What an adapter settles for one HTTP attempt. A response is judged by its status alone, whether
 * or not the client threw on it, so that one predicate sees the same Outcome from every client;
 * `thrown` is for attempts that ended without a usable response (network error, timeout, abort).
 * Given a URL object, the outcome URL is written only if an Outcome is built (a predicate or a
 * listener): most requests never need it.
 */
export function attemptSettle(
  method: string,
  url: URL | string | undefined,
  status: number | undefined,
  thrown?: { readonly error: unknown; readonly aborted?: boolean | undefined },
): SettleInput {
  // A URL-less attempt reads `url` as undefined, which the circuit treats as no URL.
  return new AttemptSettle(method, url, status, thrown) as SettleInput;
}

class AttemptSettle {
  readonly method: string;
  // Declared, not initialised: `'error' in input` must stay false for an attempt that returned.
  declare readonly status?: number;
  declare readonly error?: unknown;
  declare readonly aborted?: boolean;
  #url: URL | string | undefined;

  constructor(
    method: string,
    url: URL | string | undefined,
    status: number | undefined,
    thrown: { readonly error: unknown; readonly aborted?: boolean | undefined } | undefined,
  ) {
    this.method = method;
    this.#url = url;
    const self = this as { -readonly [K in keyof SettleInput]: SettleInput[K] };
    if (status !== undefined) self.status = status;
    if (thrown !== undefined) {
      self.error = thrown.error;
      if (thrown.aborted !== undefined) self.aborted = thrown.aborted;
    }
  }

  get url(): string | undefined {
    const url = this.#url;
    return url instanceof URL ? (this.#url = outcomeUrl(url)) : url;
  }
}
