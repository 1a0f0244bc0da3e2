// Types of undici are written out here rather than imported: one structural shape fits undici 7
// and 8 (and Node's own fetch, which dispatches through the global dispatcher), and this module
// loads without undici installed.
import type { Circuit } from '../core/circuit.js';
import { isAbortError } from '../core/classify.js';
import { show } from '../core/options.js';
import { HttpAttempt } from './attempt.js';
import { INFUSE_BYPASS_HEADER } from './fetch-guard.js';
import { bypassHeader, rawHeader, withoutBypass } from './undici-headers.js';
import { HostKeys, hostOf } from './hosts.js';
import { customKey, resolveAdapter, type AdapterOptions, type AdapterSettings } from './shared.js';

export { INFUSE_BYPASS_HEADER };

/** Request headers as undici's `dispatch()` accepts them. */
export type UndiciHeaders =
  | Record<string, string | string[] | undefined>
  | string[]
  | Iterable<[string, string | string[] | undefined]>
  | null;

/** What {@link infuseUndici} reads of undici's dispatch options (`Dispatcher.DispatchOptions`). */
export interface UndiciDispatchOptions {
  readonly origin?: string | URL;
  readonly path: string;
  readonly method: string;
  readonly headers?: UndiciHeaders;
}

/** undici's dispatch controller (`Dispatcher.DispatchController`), as far as the guard uses it. */
export interface UndiciController {
  abort(reason: Error): void;
}

/** undici's handler interface (`Dispatcher.DispatchHandler`), the calls a guard forwards. */
export interface UndiciHandler {
  onRequestStart?(controller: UndiciController, context: unknown): void;
  onRequestUpgrade?(
    controller: UndiciController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: unknown,
  ): void;
  onResponseStart?(
    controller: UndiciController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: UndiciController, chunk: Uint8Array): void;
  onResponseEnd?(controller: UndiciController, trailers: Record<string, unknown>): void;
  onResponseError?(controller: UndiciController | null, error: Error): void;
  // The handler interface undici 6 (Node 20's own fetch) and older dispatchers call.
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onHeaders?(
    statusCode: number,
    rawHeaders: (Uint8Array | string)[],
    resume: () => void,
    statusText: string,
  ): boolean;
  onData?(chunk: Uint8Array): boolean;
  onComplete?(trailers: unknown): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: unknown, socket: unknown): void;
  onResponseStarted?(): void;
  onBodySent?(chunkSize: number, totalBytesSent: number): void;
}

// Both are declared as methods: their parameters then compare both ways, so that one type fits
// the `Dispatcher.Dispatch` and `DispatcherComposeInterceptor` of undici 7 and of undici 8.

/** undici's `Dispatcher.Dispatch`. */
export type UndiciDispatch = {
  dispatch(options: UndiciDispatchOptions, handler: UndiciHandler): boolean;
}['dispatch'];

/** An interceptor for undici's `compose()`: `Dispatcher.DispatcherComposeInterceptor`. */
export type UndiciInterceptor = {
  intercept(dispatch: UndiciDispatch): UndiciDispatch;
}['intercept'];

/** What a custom `key` sees of a dispatch. */
export interface UndiciRequest {
  /** The origin dispatched to, as given (`http://host:port`). */
  readonly origin: string;
  /** Path and query. */
  readonly path: string;
  /** HTTP method, upper case. */
  readonly method: string;
}

/**
 * Options of {@link infuseUndici}: `{ infuse }` (an existing `Infuse`, shared with other clients)
 * or the options of a new one, plus `key`, `timeout` and `countAborts`.
 */
export type InfuseUndiciOptions = AdapterOptions<UndiciRequest>;

/**
 * An undici dispatcher interceptor that sends every dispatch through the circuit of its origin's
 * host (hostname and non-default port, as the other adapters key). undici 7 and 8 (an optional
 * peer; this module does not load undici).
 *
 * - One dispatcher: `new Agent().compose(infuseUndici(options))`, handed to undici's `request`,
 *   `fetch` (`dispatcher` option) or an SDK that takes a dispatcher.
 * - Every `fetch()` of the process, Node's global one included, and every undici call without a
 *   dispatcher of its own:
 *   `setGlobalDispatcher(getGlobalDispatcher().compose(infuseUndici(options)))`.
 *
 * Each dispatch counts once: compose it before undici's retry interceptor
 * (`compose(infuseUndici(options), interceptors.retry())`) and each attempt of the retry counts.
 * An open circuit fails the dispatch with {@link CircuitBreakerError} before a socket is used;
 * through fetch it arrives as fetch's `TypeError('fetch failed')` with the breaker's error as
 * `cause` (`isCircuitBreakerError` finds it there). undici's retry does not retry it.
 *
 * Classification, as the other adapters: a response is judged by its status when its headers
 * arrive (5xx fails, 4xx does not); a network error or a timeout (undici's header or body
 * timeout, `AbortSignal.timeout()`, the `timeout` option) fails; an abort counts as nothing
 * unless `countAborts` is set. Send one request past the breaker with the header
 * `x-infuse-bypass: 1` (removed before the request is sent).
 *
 * @example
 * ```ts
 * import { Agent, interceptors, request } from 'undici';
 * import { infuseUndici } from 'infuse-breaker/undici';
 *
 * const dispatcher = new Agent().compose(infuseUndici({ failMax: 5 }), interceptors.retry());
 * const { statusCode } = await request('https://api.example.com/users', { dispatcher });
 * ```
 */
export function infuseUndici(options?: InfuseUndiciOptions): UndiciInterceptor {
  const settings = resolveAdapter('infuseUndici', options);
  const hosts = new HostKeys();
  return (dispatch) => {
    if (typeof dispatch !== 'function') {
      throw new TypeError(
        'infuse-breaker: infuseUndici(options) is an undici interceptor: pass it to compose(), ' +
          `as in new Agent().compose(infuseUndici(options)); it was given ${show(dispatch)}`,
      );
    }
    // Exactly two parameters: undici 7's compose() checks the arity of what an interceptor returns.
    return function infuseDispatch(options, handler) {
      return dispatchGuarded(settings, hosts, dispatch, options, handler);
    };
  };
}

function dispatchGuarded(
  settings: AdapterSettings<UndiciRequest>,
  hosts: HostKeys,
  dispatch: UndiciDispatch,
  options: UndiciDispatchOptions,
  handler: UndiciHandler,
): boolean {
  const { origin } = options;
  // Without an origin (a malformed call) undici reports the mistake itself.
  if (origin === undefined) return dispatch(options, handler);
  const header = bypassHeader(options.headers);
  if (header !== null) {
    const sent = { ...options, headers: withoutBypass(options.headers) };
    if (header) return dispatch(sent, handler);
    options = sent;
  }
  const href = typeof origin === 'string' ? origin : origin.href;
  let host = hosts.of(href);
  if (host === undefined) host = hostOf(href);
  if (host === null && settings.key === null) return dispatch(options, handler);
  const circuit = settings.infuse.circuit(
    settings.key === null
      ? (host as string)
      : customKey(settings.key, {
          origin: typeof origin === 'string' ? origin : origin.origin,
          path: options.path,
          method: options.method.toUpperCase(),
        }),
  );
  const attempt = new UndiciAttempt(circuit, settings, options, handler, href);
  let late: Promise<void> | undefined;
  try {
    late = attempt.ask();
  } catch (error) {
    // Refused: no socket is touched; the caller's handler hears of it as of any error.
    fail(handler, error);
    return true;
  }
  if (late === undefined) return attempt.dispatch(dispatch);
  late
    .then(() => void attempt.dispatch(dispatch))
    .catch((error: unknown) => {
      // Refused, or undici threw instead of calling the handler (the attempt gave its permit
      // back): with no caller on the stack any more, the handler is where the error goes.
      fail(handler, error);
    });
  return true;
}

/**
 * One dispatch through a circuit: forwards every call to the caller's handler, and tells the
 * attempt how the dispatch ended (the status when the headers arrive, or the error).
 */
class UndiciAttempt extends HttpAttempt implements UndiciHandler {
  readonly #timeout: number | null;
  readonly #options: UndiciDispatchOptions;
  readonly #handler: UndiciHandler;

  constructor(
    circuit: Circuit,
    settings: AdapterSettings<UndiciRequest>,
    options: UndiciDispatchOptions,
    handler: UndiciHandler,
    origin: string,
  ) {
    super(circuit, settings.countAborts, options.method, origin + options.path);
    this.#timeout = settings.timeout;
    this.#options = options;
    this.#handler = handler;
  }

  /** Sends the request on, with this attempt as its handler. */
  dispatch(dispatch: UndiciDispatch): boolean {
    try {
      return dispatch(this.#options, this);
    } catch (error) {
      // undici threw rather than calling the handler: nothing was sent, nothing is counted.
      void this.fail(error, true);
      throw error;
    }
  }

  onRequestStart(controller: UndiciController, context: unknown): void {
    this.startDeadline(this.#timeout, (reason) => controller.abort(reason));
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: UndiciController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: unknown,
  ): void {
    this.stopDeadline();
    void this.respond(statusCode);
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: UndiciController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // An interim 1xx response comes before the one that decides.
    if (statusCode >= 200) {
      void this.respond(statusCode, statusCode >= 400 ? headers['retry-after'] : undefined);
    }
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: UndiciController, chunk: Uint8Array): void {
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: UndiciController, trailers: Record<string, unknown>): void {
    this.stopDeadline();
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: UndiciController | null, error: Error): void {
    this.stopDeadline();
    void this.fail(error, this.#callersAbort(error));
    this.#handler.onResponseError?.(controller, error);
  }

  // The legacy handler interface, for dispatchers that call it (undici 6, Node 20's own fetch):
  // the same judgement, forwarded to the caller's handler as it came.

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.startDeadline(this.#timeout, abort);
    this.#handler.onConnect?.(abort, context);
  }

  onHeaders(
    statusCode: number,
    rawHeaders: (Uint8Array | string)[],
    resume: () => void,
    statusText: string,
  ): boolean {
    if (statusCode >= 200) {
      void this.respond(
        statusCode,
        statusCode >= 400 ? rawHeader(rawHeaders, 'retry-after') : null,
      );
    }
    return this.#handler.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
  }

  onData(chunk: Uint8Array): boolean {
    return this.#handler.onData?.(chunk) ?? true;
  }

  onComplete(trailers: unknown): void {
    this.stopDeadline();
    this.#handler.onComplete?.(trailers);
  }

  onError(error: Error): void {
    this.stopDeadline();
    void this.fail(error, this.#callersAbort(error));
    this.#handler.onError?.(error);
  }

  onUpgrade(statusCode: number, rawHeaders: unknown, socket: unknown): void {
    this.stopDeadline();
    void this.respond(statusCode);
    this.#handler.onUpgrade?.(statusCode, rawHeaders, socket);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.#handler.onBodySent?.(chunkSize, totalBytesSent);
  }

  /** An abort is the caller's unless it is a timeout or `countAborts` says aborts fail. */
  #callersAbort(error: unknown): boolean {
    return isAbortError(error) && this.callersAbort(error);
  }
}

/** Tells a handler of either interface that its dispatch failed before it started. */
function fail(handler: UndiciHandler, error: unknown): void {
  if (handler.onResponseError !== undefined) handler.onResponseError(null, error as Error);
  else handler.onError?.(error as Error);
}
