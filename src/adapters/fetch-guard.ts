import type { Circuit } from '../core/circuit.js';
import type { Infuse } from '../core/infuse.js';
import type { Verdict } from '../core/types.js';
import { show } from '../core/options.js';
import { HttpAttempt, runAttempt, type PromiseAttempt } from './attempt.js';
import { HostKeys } from './hosts.js';
import {
  bypassFlag,
  customKey,
  INFUSE_BYPASS_OPTION,
  isRequest,
  isTimeoutError,
  parseUrl,
} from './shared.js';

/** A WHATWG fetch: the global one, undici's, or any function with its signature. */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/**
 * What a custom `key` sees of a fetch call: the `Request` itself when fetch was given one and no
 * init, otherwise an object with the same `url`, `method` and `headers` the request will have.
 */
export interface FetchRequest {
  /** Absolute URL, as `Request.url` writes it. */
  readonly url: string;
  /** HTTP method, upper case. */
  readonly method: string;
  readonly headers: Headers;
}

/**
 * The request header that sends one request past the breaker: `1` or `true` bypasses, `0` or
 * `false` does not. The header is removed before the request is sent.
 */
export const INFUSE_BYPASS_HEADER = 'x-infuse-bypass';

/** One guarded attempt, as an abort judge sees it. @internal */
export interface FetchAttempt<Context> {
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
  /** `performance.now()` when the attempt was handed to the guard. */
  readonly started: number;
  /** What the caller of the guarded fetch passed along for the judge. */
  readonly context: Context | undefined;
}

/** A guarded fetch; `context` reaches the abort judge. @internal */
export type GuardedFetch<Context> = (
  input: string | URL | Request,
  init?: RequestInit,
  context?: Context,
) => Promise<Response>;

/** How one guarded fetch is set up. @internal */
export interface FetchGuard<Context> {
  readonly infuse: Infuse;
  readonly key: ((request: FetchRequest) => string) | null;
  /**
   * The fetch to wrap. Without one, `globalThis.fetch` is looked up on every attempt, not once:
   * msw and other instrumentation replace it after import.
   */
  readonly fetch: FetchFunction | undefined;
  /** The fetch of one call, when it comes with the call (ky 1's hooks); else `fetch` applies. */
  readonly fetchOf?: (context: Context | undefined) => FetchFunction | undefined;
  /**
   * Decides, for an attempt whose signal was aborted with anything but a `TimeoutError`, whether
   * the caller aborted it (it counts as nothing) or the client did (a timeout: a failure).
   * Without it, every such abort is the caller's.
   */
  readonly callerAborted?: (attempt: FetchAttempt<Context>) => boolean;
  /** Milliseconds the breaker gives each attempt (see `AdapterOwnOptions.timeout`), or null. */
  readonly timeout: number | null;
  /** True when every abort that is not the breaker's own timeout counts as a failure. */
  readonly countAborts: boolean;
  /** Told, with the attempt's context, when the circuit refused an attempt. */
  readonly refused?: (context: Context | undefined) => void;
}

/**
 * Builds a fetch that sends each call through the circuit of its host: an open circuit rejects
 * with `CircuitBreakerError` before the inner fetch is called; otherwise the outcome is counted
 * and the inner fetch's response or rejection is handed back unchanged. @internal
 */
export function guardFetch<Context = never>(guard: FetchGuard<Context>): GuardedFetch<Context> {
  const hosts = new HostKeys();
  // Not an async function: it would wrap the attempt's promise in one more, held for the whole
  // request. A throw (a bad bypass flag or key) still reaches the caller as a rejection.
  return function infusedFetch(input, init, context) {
    try {
      return attemptFetch(guard, hosts, input, init, context);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a TypeError
      return Promise.reject(error);
    }
  };
}

function attemptFetch<Context>(
  guard: FetchGuard<Context>,
  hosts: HostKeys,
  input: string | URL | Request,
  init: RequestInit | undefined,
  context: Context | undefined,
): Promise<Response> {
  let request: string | URL | Request = input;
  let options = init;
  let bypass = false;
  if (options !== undefined && INFUSE_BYPASS_OPTION in options) {
    const { [INFUSE_BYPASS_OPTION]: flag, ...rest } = options;
    bypass = bypassFlag(flag, 'fetch option');
    options = rest;
  }
  // Each read once: a Request's getters check their receiver, and `url` serialises the URL.
  let given: Request | null = null;
  let href: string;
  if (typeof request === 'string') href = request;
  else {
    // A Request has a string `url`; a URL has none (cheaper to ask than `instanceof`).
    const url: unknown = (request as Partial<Request>).url;
    if (typeof url === 'string') {
      given = request as Request;
      href = url;
    } else {
      href = (request as URL).href;
    }
  }
  const headers = options?.headers ?? given?.headers;
  const header = headers === undefined ? null : headerValue(headers, INFUSE_BYPASS_HEADER);
  if (header !== null) {
    bypass = parseBypassHeader(header) || bypass;
    [request, options] = withoutBypassHeader(request, options);
  }
  const send = guard.fetchOf?.(context) ?? guard.fetch ?? globalThis.fetch;
  if (bypass) return send(request, options);

  // Fast path: a URL whose origin was seen before needs no parse. Otherwise it is parsed here;
  // fetch itself rejects a URL it cannot parse, or one with credentials, before sending anything:
  // not the host's doing, so it is neither checked nor counted.
  let host = hosts.of(href);
  let shown = href;
  if (host === undefined) {
    const url = parseUrl(request);
    if (url === null || url.username !== '' || url.password !== '') return send(request, options);
    host = url.host;
    shown = url.href;
  } else if (host === null) {
    return send(request, options);
  }
  const method = options?.method ?? given?.method;
  const key = guard.key === null ? host : fetchKey(guard.key, request, options, shown, method);
  const circuit = guard.infuse.circuit(key);
  return runAttempt(new FetchCall(circuit, guard, send, request, options, context, method, shown));
}

/** One guarded fetch attempt: what it sends, and how its outcome is judged. */
class FetchCall<Context>
  extends HttpAttempt
  implements PromiseAttempt<Response>, FetchAttempt<Context>
{
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
  readonly started: number;
  readonly context: Context | undefined;
  readonly #guard: FetchGuard<Context>;
  readonly #send: FetchFunction;

  constructor(
    circuit: Circuit,
    guard: FetchGuard<Context>,
    send: FetchFunction,
    input: string | URL | Request,
    init: RequestInit | undefined,
    context: Context | undefined,
    method: string | undefined,
    href: string,
  ) {
    super(circuit, guard.countAborts, method, href);
    this.#guard = guard;
    this.#send = send;
    this.input = input;
    this.init = init;
    this.context = context;
    // Only an abort judge reads the start; without one, no clock is read.
    this.started = guard.callerAborted === undefined ? 0 : performance.now();
  }

  send(): Promise<Response> {
    // Called as a plain function, never as a method of this object: a browser's fetch throws
    // "Illegal invocation" when its `this` is anything but the window (or undefined).
    const send = this.#send;
    const timeout = this.#guard.timeout;
    if (timeout === null) return send(this.input, this.init);
    // The breaker's own deadline: its abort reason is a TimeoutError, which counts as a failure.
    const deadline = AbortSignal.timeout(timeout);
    const own = signalOf(this);
    const signal = own === null ? deadline : AbortSignal.any([own, deadline]);
    return send(this.input, { ...this.init, signal });
  }

  returned(response: Response): Promise<Verdict> | undefined {
    const { status } = response;
    return this.respond(status, status >= 400 ? response.headers.get('retry-after') : null);
  }

  threw(error: unknown): Promise<Verdict> | undefined {
    return this.fail(error, abortedByCaller(this.#guard, this, error));
  }

  refused(): void {
    this.#guard.refused?.(this.context);
  }
}

/**
 * True when the caller aborted the attempt, false when the rejection is a timeout or the client's
 * own abort, undefined when the signal says nothing (the core's default then applies).
 */
function abortedByCaller<Context>(
  guard: FetchGuard<Context>,
  attempt: FetchCall<Context>,
  error: unknown,
): boolean | undefined {
  // AbortSignal.timeout() and clients' timeouts reject with a TimeoutError: a failure of the host.
  if (!attempt.callersAbort(error)) return false;
  const signal = signalOf(attempt);
  if (signal === null || !signal.aborted) return undefined;
  if (isTimeoutError(signal.reason)) return false;
  return guard.callerAborted === undefined ? true : guard.callerAborted(attempt);
}

function signalOf({ input, init }: FetchAttempt<unknown>): AbortSignal | null {
  if (init?.signal !== undefined) return init.signal;
  return isRequest(input) ? input.signal : null;
}

function fetchKey(
  key: (request: FetchRequest) => string,
  input: string | URL | Request,
  init: RequestInit | undefined,
  href: string,
  method: string | undefined,
): string {
  const request: FetchRequest =
    isRequest(input) && init === undefined
      ? input
      : {
          // As Request.url writes it: the fast path kept the URL as the caller wrote it.
          url: new URL(href).href,
          method: (method ?? 'GET').toUpperCase(),
          headers: new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined)),
        };
  return customKey(key, request);
}

/** Reads one header from any HeadersInit without building a Headers object for the common shapes. */
function headerValue(headers: HeadersInit, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  if (Array.isArray(headers) || Symbol.iterator in headers) return new Headers(headers).get(name);
  for (const field of Object.keys(headers)) {
    if (field.length === name.length && field.toLowerCase() === name) {
      return headers[field] ?? null;
    }
  }
  return null;
}

/** The value of the bypass header, read: `1`/`true` or `0`/`false`; anything else is refused. */
export function parseBypassHeader(value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (normalized === '1' || normalized === 'true') return true;
  if (normalized === '0' || normalized === 'false') return false;
  throw new TypeError(
    `infuse-breaker: header "${INFUSE_BYPASS_HEADER}" must be "1", "true", "0" or "false"; got ${show(value)}`,
  );
}

/** The same request without the bypass header, which is meant for the breaker, not the host. */
function withoutBypassHeader(
  input: string | URL | Request,
  init: RequestInit | undefined,
): [string | URL | Request, RequestInit | undefined] {
  if (init?.headers !== undefined) {
    const headers = new Headers(init.headers);
    headers.delete(INFUSE_BYPASS_HEADER);
    return [input, { ...init, headers }];
  }
  const request = input as Request;
  const headers = new Headers(request.headers);
  headers.delete(INFUSE_BYPASS_HEADER);
  // A new Request rather than editing the caller's: a Request may be sent again later.
  const copy: RequestInit & { duplex?: 'half' } = { headers };
  if (request.body !== null) copy.duplex = 'half';
  return [new Request(request, copy), init];
}
