// Types only: got is ESM-only, and this module must load (in either build) without it.
import type { ExtendOptions, HandlerFunction, Hooks, Options, Response } from 'got';
import type { Circuit, Permit, SettleInput } from '../core/circuit.js';
import { isCircuitBreakerError } from '../core/errors.js';
import {
  attemptSettle,
  bypassFlag,
  customKey,
  hostKey,
  INFUSE_BYPASS_OPTION,
  outcomeUrl,
  resolveAdapter,
  type AdapterOptions,
} from './shared.js';

/**
 * Options of {@link infuseGot}: `{ infuse }` (an existing Infuse) or the options of a new one,
 * plus `key`, which receives got's `Options` of the request.
 */
export type InfuseGotOptions = AdapterOptions<Options>;

type Context = Record<string | symbol, unknown>;

/**
 * Puts every request of a got instance through the circuit of its host:
 * `const client = got.extend(infuseGot(options))`. Requires got 14.6 or newer.
 *
 * Each attempt counts once, retries included: a handler asks the circuit before the first attempt
 * (an open circuit rejects the call with {@link CircuitBreakerError} before anything is sent), and
 * `beforeRetry` asks again before every retry, so got never retries that rejection.
 *
 * Classification: a response is judged by its status (5xx fails, 4xx does not), whether or not
 * `throwHttpErrors` made got throw; a network error or a got timeout (also `AbortSignal.timeout()`)
 * fails; a caller's abort (`signal`, or `cancel()` in got 14) counts as nothing. A stream counts
 * once, when its response arrives or it fails. Pass `context: { infuseBypass: true }` to send a
 * request past the breaker.
 *
 * @example
 * ```ts
 * const client = got.extend(infuseGot({ failMax: 5, resetTimeout: 30_000 }));
 * const user = await client('https://api.example.com/users/1').json();
 * ```
 */
export function infuseGot(options?: InfuseGotOptions): ExtendOptions {
  const { infuse, key } = resolveAdapter('infuseGot', options);
  // One slot per infuseGot(): two breakers extended into one client keep their calls apart. An
  // enumerable symbol, because got copies `context` (its own enumerable keys) to every retry.
  const slot = Symbol('infuse-breaker');
  const callOf = (options: { readonly context: object } | undefined): GotCall | undefined =>
    (options?.context as Context | undefined)?.[slot] as GotCall | undefined;

  const handler = ((
    options: Options | undefined,
    next: (options: Options | undefined) => unknown,
  ) => {
    // got hands over no options when it could not build them, and rejects the call itself.
    if (options === undefined) return next(options);
    const { url, context } = options as { url: unknown; context: Context };
    if (!(url instanceof URL)) return next(options);
    let bypass: boolean;
    try {
      bypass = bypassFlag(context[INFUSE_BYPASS_OPTION], 'got context');
    } catch (error) {
      // A stream is handed back at once and can only throw; a promise call rejects.
      if (options.isStream) throw error;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a TypeError
      return Promise.reject(error);
    }
    if (bypass) return next(options);
    const circuit = () => infuse.circuit(key === null ? hostKey(url) : customKey(key, options));
    if (options.isStream) {
      const call = new GotCall(circuit(), options.method, url, true);
      context[slot] = call;
      return call.watch(next(options) as StreamLike);
    }
    const link: CancelLink = { inner: null, requested: false };
    return keepCancel(GotCall.run(circuit, options, url, slot, next, link), link);
  }) as unknown as HandlerFunction;

  const hooks: Partial<Hooks> = {
    // Streams cannot wait in the handler, which must return them at once: they ask here, before
    // got sends anything. Redirects run this hook again; the call already holds its permit then.
    beforeRequest: [
      async (options) => {
        const call = callOf(options);
        if (call !== undefined && !call.asked) await call.acquire();
      },
    ],
    afterResponse: [
      async (response) => {
        await callOf(response.request.options)?.settle(response.statusCode);
        return response;
      },
    ],
    beforeRetry: [
      async (error) => {
        const call = callOf(error.options);
        if (call === undefined) return;
        await call.settle(error);
        // A stream's retry is a new stream made by the caller's `retry` listener, outside the
        // handler: it cannot be watched, so it is not counted (see the docs).
        if (call.stream) call.done = true;
        else await call.acquire();
      },
    ],
    beforeError: [
      async (error) => {
        const call = callOf(error.options);
        if (call !== undefined) await call.settle(error);
        // got wraps what a hook throws; the caller gets the breaker's own rejection back.
        return isCircuitBreakerError(error.cause) ? error.cause : error;
      },
    ],
  };
  return { handlers: [handler], hooks };
}

/** The part of got's stream that a watcher needs. */
interface StreamLike {
  once(event: 'response', listener: (response: Response) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  readonly errored?: unknown;
}

/** One got() call: the permit of its current attempt, carried to retries in `context`. */
class GotCall {
  /** True once the first attempt asked the circuit. */
  asked = false;
  /** True once the call is over: a permit that arrives later is given straight back. */
  done = false;
  #permit: Permit | null = null;
  readonly #circuit: Circuit;
  readonly method: string;
  readonly url: string;
  readonly stream: boolean;

  constructor(circuit: Circuit, method: string, url: URL, stream: boolean) {
    this.#circuit = circuit;
    this.method = method;
    this.url = outcomeUrl(url);
    this.stream = stream;
  }

  /** The promise API: ask before the first attempt, settle what no hook settled once it ends. */
  static async run(
    circuit: () => Circuit,
    options: Options,
    url: URL,
    slot: symbol,
    next: (options: Options) => unknown,
    link: CancelLink,
  ): Promise<unknown> {
    // Inside the async function, so that a throwing `key` rejects the call instead of throwing.
    const call = new GotCall(circuit(), options.method, url, false);
    await call.acquire();
    (options.context as Context)[slot] = call;
    let result: unknown;
    try {
      const inner = next(options) as Promise<unknown> & { cancel?: () => void };
      link.inner = inner;
      if (link.requested) inner.cancel?.();
      result = await inner;
    } catch (error) {
      call.done = true;
      // An abort skips every hook: this is where its permit is given back.
      await call.settle(error);
      throw error;
    }
    call.done = true;
    // Only when no afterResponse hook saw the last attempt (a hook before ours retried it).
    await call.settle((result as Partial<Response> | null)?.statusCode);
    return result;
  }

  /** Asks the circuit for the next attempt; rejects with CircuitBreakerError when it refuses. */
  async acquire(): Promise<void> {
    this.asked = true;
    const permit = await this.#circuit.acquire();
    if (this.done) await permit.settle({ aborted: true });
    else this.#permit = permit;
  }

  /**
   * Settles the current attempt, once; later reports of the same attempt are ignored. Give the
   * response's status, what the attempt threw, or `kAborted` when it ended without either.
   */
  async settle(ending: unknown): Promise<void> {
    const permit = this.#permit;
    if (permit === null) return;
    this.#permit = null;
    await permit.settle(this.#describe(ending));
  }

  /** The stream API: counts the response when it arrives, or how the stream ended without one. */
  watch<S extends StreamLike>(stream: S): S {
    stream.once('response', (response) => void this.settle(response.statusCode));
    // No 'error' listener: adding one would change what an unhandled stream error does.
    stream.once('close', () => {
      this.done = true;
      void this.settle(stream.errored ?? kAborted);
    });
    return stream;
  }

  #describe(ending: unknown): SettleInput {
    const { method, url } = this;
    if (ending === undefined || typeof ending === 'number')
      return attemptSettle(method, url, ending);
    if (ending === kAborted) return { method, url, aborted: true };
    const name = field(ending, 'name');
    const status = field(field(ending, 'response'), 'statusCode');
    // HTTPError (throwHttpErrors) and RetryError (an afterResponse hook asked for a retry) carry a
    // whole response: its status decides, as it does when got does not throw.
    if ((name === 'HTTPError' || name === 'RetryError') && typeof status === 'number') {
      return attemptSettle(method, url, status);
    }
    const aborted = name === 'AbortError' || name === 'CancelError';
    return attemptSettle(method, url, undefined, { error: ending, aborted });
  }
}

/** got 14's promise, once the handler has asked for it, and whether `cancel()` came first. */
interface CancelLink {
  inner: { cancel?: () => void } | null;
  requested: boolean;
}

/**
 * got 14 assigns its promise's `cancel` to a handler's promise, where p-cancelable's method no
 * longer finds its private state and throws. The assignment lands in a setter instead, and
 * `cancel()` reaches got's own promise (or cancels it as soon as there is one). got 16 has no
 * `cancel()`, assigns nothing, and `cancel` stays undefined.
 */
function keepCancel<P extends Promise<unknown>>(promise: P, link: CancelLink): P {
  let offered = false;
  const cancel = () => {
    link.requested = true;
    link.inner?.cancel?.();
  };
  Reflect.defineProperty(promise, 'cancel', {
    configurable: true,
    get: () => (offered ? cancel : undefined),
    set: () => {
      offered = true;
    },
  });
  return promise;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** How a stream that closed without a response or an error ended: its caller destroyed it. */
const kAborted = Symbol('aborted');
