// Types only: got is ESM-only, and this module must load (in either build) without it.
import type { ExtendOptions, HandlerFunction, Hooks, Options, Response } from 'got';
import { findCircuitBreakerError } from '../core/errors.js';
import { HttpAttempt } from './attempt.js';
import { HostKeys } from './hosts.js';
import {
  bypassFlag,
  customKey,
  INFUSE_BYPASS_OPTION,
  ownTimeoutOnly,
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
  const settings = resolveAdapter('infuseGot', options);
  ownTimeoutOnly('infuseGot', settings, "got's own `timeout`");
  const { infuse, key, countAborts } = settings;
  const hosts = new HostKeys();
  // One slot per infuseGot(): two breakers extended into one client keep their calls apart. An
  // enumerable symbol, because got copies `context` (its own enumerable keys) to every retry.
  const slot = Symbol('infuse-breaker');
  const callOf = (options: { readonly context: object } | undefined): GotCall | undefined =>
    (options?.context as Context | undefined)?.[slot] as GotCall | undefined;

  /**
   * got waits its retry delay before `beforeRetry`, where the circuit is asked for the next
   * attempt: once the circuit has opened, that wait only delays the refusal (by seconds with got's
   * backoff). So each call's `calculateDelay` (in its own copy of the options) is this one, which
   * asks the call's own first: while the circuit would refuse, a retry got decided on waits 1 ms,
   * and the caller gets the refusal then. One function for every call, which finds its call in
   * the error's options.
   */
  const calculateDelay = (state: RetryState): number | Promise<number> => {
    const call = callOf(state.error.options);
    // Only a call that went through the handler has this function, and it keeps its slot.
    if (call === undefined) return state.computedValue;
    // A plain call: the caller's function must not get the GotCall as `this`.
    const own = call.delay;
    const delay = own(state);
    return typeof delay === 'number'
      ? call.shorten(delay)
      : delay.then((late) => call.shorten(late));
  };

  // Not async: with a closed circuit the handler hands back got's own promise, started in this
  // tick, with its `cancel()` and `.json()` untouched (got copies them onto any other promise).
  const handler = ((
    options: Options | undefined,
    next: (options: Options | undefined) => unknown,
  ) => {
    // got hands over no options when it could not build them, and rejects the call itself.
    if (options === undefined) return next(options);
    const { url, context, isStream } = options as Options & { url: unknown; context: Context };
    if (!(url instanceof URL)) return next(options);
    let call: GotCall;
    let late: Promise<void> | undefined;
    try {
      if (bypassFlag(context[INFUSE_BYPASS_OPTION], 'got context')) return next(options);
      const { href } = url;
      const circuit = infuse.circuit(
        key === null ? (hosts.of(href) ?? url.host) : customKey(key, options),
      );
      const retry = options.retry as { calculateDelay: GotCall['delay'] };
      const first = new HttpAttempt(circuit, countAborts, options.method, href);
      call = new GotCall(first, isStream, retry.calculateDelay);
      retry.calculateDelay = calculateDelay;
      // A stream is handed back at once: it asks in beforeRequest, where a refusal can reach it.
      if (!isStream) late = call.begin();
    } catch (error) {
      // A stream can only throw; a promise call rejects.
      if (isStream) throw error;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a CircuitBreakerError or TypeError
      return Promise.reject(error);
    }
    context[slot] = call;
    if (isStream) return call.watch(next(options) as StreamLike);
    if (late !== undefined) {
      // The store answers later (a shared store deciding a trial call): wait, then send.
      const link: CancelLink = { inner: null, requested: false };
      return keepCancel(call.runLate(late, options, next, link), link);
    }
    return call.observe(next(options));
  }) as unknown as HandlerFunction;

  // The hooks return a promise only when they have to wait (a shared store counting late), so
  // that got's `await` of them costs no more than needed.
  const hooks: Partial<Hooks> = {
    // Streams cannot wait in the handler, which must return them at once: they ask here, before
    // got sends anything. Redirects run this hook again; the call already has its attempt then.
    beforeRequest: [
      (options) => {
        const call = callOf(options);
        return call === undefined || call.begun ? undefined : call.acquire();
      },
    ],
    afterResponse: [
      (response) => {
        const counted = callOf(response.request.options)?.end(response.statusCode);
        return counted === undefined ? response : counted.then(() => response);
      },
    ],
    beforeRetry: [
      (error) => {
        const call = callOf(error.options);
        if (call === undefined) return undefined;
        const counted = call.end(error);
        // A stream's retry is a new stream made by the caller's `retry` listener, outside the
        // handler: it cannot be watched, so it is not counted (see the docs).
        if (call.stream) return counted?.then(noop);
        return counted === undefined ? call.acquire() : counted.then(() => call.acquire());
      },
    ],
    beforeError: [
      (error) => {
        const counted = callOf(error.options)?.end(error);
        // got wraps what a hook throws; the caller gets the breaker's own rejection back.
        const given = findCircuitBreakerError(error.cause) ?? error;
        return counted === undefined ? given : counted.then(() => given);
      },
    ],
  };
  return { handlers: [handler], hooks };
}

/** What got hands `calculateDelay`, as far as the wrapper passes it on. */
type RetryState = Parameters<NonNullable<Options['retry']['calculateDelay']>>[0];

/** The part of got's stream that a watcher needs. */
interface StreamLike {
  once(event: 'response', listener: (response: Response) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  readonly errored?: unknown;
}

/**
 * One got() call: its current attempt, carried to retries in `context`. Each attempt is an
 * {@link HttpAttempt}, which counts it once whichever of got's hooks, its promise or its stream
 * reports it first, and gives back a permit that arrives after the call ended; this knows only
 * where got reports what, and what got's errors mean.
 */
class GotCall {
  readonly stream: boolean;
  /** The call's own `calculateDelay`, which the breaker's asks first. */
  readonly delay: (state: RetryState) => number | Promise<number>;
  /** The current attempt: the first until it has asked, then each retry's. */
  #attempt: HttpAttempt;

  constructor(
    first: HttpAttempt,
    stream: boolean,
    delay: (state: RetryState) => number | Promise<number>,
  ) {
    this.#attempt = first;
    this.stream = stream;
    this.delay = delay;
  }

  /** True once the first attempt asked the circuit. */
  get begun(): boolean {
    return this.#attempt.asked;
  }

  /**
   * Asks the circuit for the next attempt. Returns nothing when it let the attempt go at once,
   * throws CircuitBreakerError when it refused at once, and returns a promise when the store
   * answers later (rejecting on refusal).
   */
  begin(): Promise<void> | undefined {
    let attempt = this.#attempt;
    if (attempt.asked) this.#attempt = attempt = attempt.retry();
    return attempt.ask();
  }

  /** {@link begin} for a hook: a refusal rejects instead of throwing. */
  acquire(): Promise<void> | undefined {
    try {
      return this.begin();
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a CircuitBreakerError
      return Promise.reject(error);
    }
  }

  /** A retry delay got decided on, cut to 1 ms while the circuit would refuse the retry. */
  shorten(delay: number): number {
    return delay > 1 && this.#attempt.wouldRefuse() ? 1 : delay;
  }

  /**
   * Watches got's promise for what no hook sees: an abort or `cancel()` skips every hook, and an
   * afterResponse hook before ours may have retried the last attempt. Hands the promise back.
   */
  observe<T>(result: T): T {
    // got 14's promise is a p-cancelable, a thenable; got 16's is a Promise.
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      (result as PromiseLike<Partial<Response> | null>).then(
        (response: Partial<Response> | null) => void this.end(response?.statusCode),
        (error: unknown) => void this.end(error),
      );
    }
    return result;
  }

  /** The promise API when the store answers late: wait for the permit, then send. */
  async runLate(
    late: Promise<void>,
    options: Options,
    next: (options: Options) => unknown,
    link: CancelLink,
  ): Promise<unknown> {
    await late;
    let result: unknown;
    try {
      const inner = next(options) as Promise<unknown> & { cancel?: () => void };
      link.inner = inner;
      if (link.requested) inner.cancel?.();
      result = await inner;
    } catch (error) {
      // An abort skips every hook: this is where its permit is given back.
      await this.end(error);
      throw error;
    }
    // Only when no afterResponse hook saw the last attempt (a hook before ours retried it).
    await this.end((result as Partial<Response> | null)?.statusCode);
    return result;
  }

  /**
   * Ends the current attempt: give the response's status, what the attempt threw, `kAborted`
   * (a stream its caller destroyed, always the caller's doing), or nothing (what got resolved
   * with has no status: a body). Returns a promise only when the store counts later.
   */
  end(ending: unknown): Promise<unknown> | undefined {
    const attempt = this.#attempt;
    if (typeof ending === 'number') return attempt.respond(ending);
    if (ending === undefined) return attempt.succeed();
    if (ending === kAborted) return attempt.giveBack();
    const name = field(ending, 'name');
    const status = field(field(ending, 'response'), 'statusCode');
    // HTTPError (throwHttpErrors) and RetryError (an afterResponse hook asked for a retry) carry a
    // whole response: its status decides, as it does when got does not throw.
    if ((name === 'HTTPError' || name === 'RetryError') && typeof status === 'number') {
      return attempt.respond(status);
    }
    const abort = name === 'AbortError' || name === 'CancelError';
    return attempt.fail(ending, abort && attempt.callersAbort(ending));
  }

  /** The stream API: counts the response when it arrives, or how the stream ended without one. */
  watch<S extends StreamLike>(stream: S): S {
    stream.once('response', (response) => void this.end(response.statusCode));
    // No 'error' listener: adding one would change what an unhandled stream error does.
    stream.once('close', () => void this.end(stream.errored ?? kAborted));
    return stream;
  }
}

function noop(): void {
  // the hook resolves with nothing once the store has counted
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
