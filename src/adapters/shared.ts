import type { Circuit, SettleInput } from '../core/circuit.js';
import { Infuse } from '../core/infuse.js';
import { invalid, type InfuseOptions } from '../core/options.js';

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
export async function guardAttempt<T>(
  circuit: Circuit,
  attempt: () => Promise<T>,
  describe: (result: { value: T } | { error: unknown }) => SettleInput,
): Promise<T> {
  const permit = await circuit.acquire();
  let value: T;
  try {
    value = await attempt();
  } catch (error) {
    await permit.settle(describe({ error }));
    throw error;
  }
  await permit.settle(describe({ value }));
  return value;
}

/**
 * Parses a request URL; a relative one resolves against the page's location where there is one
 * (browsers). Null when it cannot be parsed: the client will report that itself.
 */
export function parseUrl(url: string): URL | null {
  try {
    return new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    return null;
  }
}

/**
 * What an adapter settles for one HTTP attempt. A response is judged by its status alone, whether
 * or not the client threw on it, so that one predicate sees the same Outcome from every client;
 * `thrown` is for attempts that ended without a usable response (network error, timeout, abort).
 */
export function attemptSettle(
  method: string,
  url: string | undefined,
  status: number | undefined,
  thrown?: { readonly error: unknown; readonly aborted?: boolean },
): SettleInput {
  const input: { -readonly [K in keyof SettleInput]: SettleInput[K] } = { method };
  if (url !== undefined) input.url = url;
  if (status !== undefined) input.status = status;
  if (thrown !== undefined) {
    input.error = thrown.error;
    if (thrown.aborted !== undefined) input.aborted = thrown.aborted;
  }
  return input;
}
