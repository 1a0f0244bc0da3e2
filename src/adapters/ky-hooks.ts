import type { Infuse } from '../core/infuse.js';
import { guardFetch, type FetchFunction, type FetchRequest } from './fetch-guard.js';
import { isRequest } from './shared.js';

/**
 * What ky 2 hands an `init` hook: its own copy of one call's options, made for init hooks to
 * change, before ky reads them.
 */
export interface KyInitOptions {
  fetch?: unknown;
  retry?: unknown;
  hooks?: unknown;
}

/**
 * The breaker's ky hook lists: the `hooks` of the value {@link infuseKy} returns, and that value's
 * own (non-enumerable) lists, so that it guards given as `hooks` too. Typed without importing ky,
 * so that one type fits ky 1's and ky 2's `hooks`.
 */
export interface KyHooks {
  /** ky 2 (ky 1 has no init hooks): guards the fetch ky 2 is about to use for the call. */
  readonly init: ((options: KyInitOptions) => void)[];
  /**
   * ky 1 (which calls it before each attempt, with the Request first): runs the attempt through
   * the breaker and hands ky its Response. With ky 2, which calls it once with one state object,
   * it does nothing: the init hook already guarded ky 2's fetch.
   */
  readonly beforeRequest: ((
    request: unknown,
    options?: unknown,
  ) => Promise<Response> | undefined)[];
}

/**
 * Every fetch any breaker's init hook made: a call whose fetch a breaker earlier in the chain
 * guards already (two `infuseKy()` in one chain) is guarded by that one only,
 * so that each attempt counts once and a refusal of one never reaches the other's circuit. ky 1
 * does the same by itself: it stops at the first beforeRequest hook that hands it a response.
 */
const kyGuards = new WeakSet<FetchFunction>();

/** Every breaker's ky 1 attempt hook: nothing to do in ky 2, whose init hook drops them. */
const kyOneHooks = new WeakSet<object>();

const isKyOneHook = (hook: unknown): boolean => kyOneHooks.has(hook as object);

/** A ky 2 call's hook lists, as its init hooks see them. */
interface KyTwoHooks {
  readonly beforeRequest?: unknown;
}

/** The options ky 1 hands a beforeRequest hook that the attempt needs. */
interface KyOneOptions {
  readonly fetch?: FetchFunction;
  readonly timeout?: number | false;
  readonly retry?: unknown;
}

/** What the breaker needs to know of one ky 1 attempt made in the hook. */
interface KyOneContext {
  /** No ky timer runs for an attempt made in the hook (the hook runs its own): never ky's abort. */
  readonly timeout: false;
  readonly retry: unknown;
  readonly fetch: FetchFunction | undefined;
}

/** How the hooks get their guards: the same settings as the `ky.extend(infuseKy())` form. */
export interface KyHooksSetup {
  readonly infuse: Infuse;
  readonly key: ((request: FetchRequest) => string) | null;
  readonly timeout: number | null;
  readonly countAborts: boolean;
  /** The guarded fetch `ky.extend(infuseKy())` would give an instance whose fetch is `inner`. */
  readonly guarded: (inner: FetchFunction | undefined) => FetchFunction;
  /** The instance's own `retry.shouldRetry`, wrapped to decline a refusal; undefined without one. */
  readonly guardRetry: (retry: unknown) => { shouldRetry: unknown } | undefined;
  readonly stopRetries: (context: { readonly retry?: unknown } | undefined) => void;
}

/**
 * Builds the hook lists of {@link KyHooks}. ky 1 and ky 2 differ here: ky 2's init hooks may
 * replace one call's `fetch`, which is all the breaker needs (ky keeps its own timers, aborts and
 * errors). ky 1 has no such hook and keeps the fetch out of reach of hooks, so its beforeRequest
 * hook makes the attempt itself, with ky's fetch and ky's timeout, and hands ky the Response
 * (ky 1 then goes on as with a response of its own: afterResponse hooks, HTTPError, retries, each
 * of which calls the hook again).
 */
export function kyHooks(setup: KyHooksSetup): KyHooks {
  // Each fetch ky 2 would call, guarded once: a call allocates nothing for the guard.
  const guards = new WeakMap<object, FetchFunction>();
  let plain: FetchFunction | undefined;
  const init = (options: KyInitOptions): void => {
    const inner =
      typeof options.fetch === 'function' ? (options.fetch as FetchFunction) : undefined;
    dropKyOneHooks(options);
    if (inner !== undefined && kyGuards.has(inner)) return;
    let guarded = inner === undefined ? plain : guards.get(inner);
    if (guarded === undefined) {
      guarded = setup.guarded(inner);
      kyGuards.add(guarded);
      if (inner === undefined) plain = guarded;
      else guards.set(inner, guarded);
    }
    options.fetch = guarded;
    const retry = setup.guardRetry(options.retry);
    if (retry !== undefined) options.retry = { ...(options.retry as object), ...retry };
  };

  const attempt = guardFetch<KyOneContext>({
    infuse: setup.infuse,
    key: setup.key,
    fetch: undefined,
    fetchOf: (context) => context?.fetch,
    timeout: setup.timeout,
    countAborts: setup.countAborts,
    refused: setup.stopRetries,
  });
  const beforeRequest = (request: unknown, options?: unknown): Promise<Response> | undefined => {
    // ky 2 passes one state object: its init hook has guarded the call already.
    if (!isRequest(request)) return undefined;
    return attemptKyOne(attempt, request, options ?? {});
  };
  kyOneHooks.add(beforeRequest);
  return { init: [init], beforeRequest: [beforeRequest] };
}

/**
 * Takes the breakers' ky 1 hooks out of a ky 2 call's beforeRequest list: the init hook has
 * guarded the call's fetch, and ky 2 would otherwise await each of them, with nothing to do, on
 * every request. ky 2 hands init hooks a copy of the call's options, and reads the lists by name.
 */
function dropKyOneHooks(options: KyInitOptions): void {
  const hooks = options.hooks as KyTwoHooks | undefined;
  const list = hooks?.beforeRequest;
  if (!Array.isArray(list) || !list.some(isKyOneHook)) return;
  options.hooks = { ...hooks, beforeRequest: list.filter((hook) => !isKyOneHook(hook)) };
}

/**
 * One ky 1 attempt, made in the beforeRequest hook as ky would make it: the same fetch, the
 * options ky would pass it, and ky's `timeout`, which aborts the attempt and rejects with an
 * error named `TimeoutError` like ky's (see {@link KyTimeoutError}).
 */
function attemptKyOne(
  attempt: (
    input: Request,
    init: RequestInit | undefined,
    context: KyOneContext,
  ) => Promise<Response>,
  request: Request,
  given: unknown,
): Promise<Response> {
  const options = given as KyOneOptions;
  const init = fetchOptions(request, options);
  // ky sends the request it keeps again on a retry: its body must stay unread.
  const sent = request.body === null ? request : request.clone();
  const context: KyOneContext = { timeout: false, retry: options.retry, fetch: options.fetch };
  const { timeout } = options;
  if (typeof timeout !== 'number') return attempt(sent, init, context);
  // One signal for the fetch, aborted by the caller's (ky's) or by the timeout: the caller's abort
  // is forwarded rather than combined with AbortSignal.any(), which costs more per request. The
  // listener stays for the response body's life, which the caller may abort too.
  const controller = new AbortController();
  const callers = request.signal;
  if (callers.aborted) controller.abort(callers.reason);
  else callers.addEventListener('abort', () => controller.abort(callers.reason), { once: true });
  init.signal = controller.signal;
  return new Promise<Response>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // A TimeoutError as the reason: the breaker counts the aborted attempt as a failure. The
      // caller hears of the timeout once the aborted fetch has settled (and been counted), or
      // after a turn for a fetch that ignores its signal, as ky does not wait for one.
      controller.abort(new DOMException('ky timed the request out', 'TimeoutError'));
      const timeoutError = new KyTimeoutError(request);
      void settled.then(() => reject(timeoutError));
      setTimeout(() => reject(timeoutError), 0);
    }, timeout);
    const settled = attempt(sent, init, context).then(
      (response) => {
        clearTimeout(timer);
        if (!timedOut) resolve(response);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own
        if (!timedOut) reject(error);
      },
    );
  });
}

/**
 * ky 1's timeout error as ky 1 writes it: name `TimeoutError`, ky's message, the `request`. ky's
 * `isTimeoutError()` and its `retryOnTimeout` go by the name; only `instanceof` ky's own class
 * tells it apart, which the hook cannot reach without loading ky.
 */
class KyTimeoutError extends Error {
  readonly request: Request;

  constructor(request: Request) {
    super(`Request timed out: ${request.method} ${request.url}`);
    this.name = 'TimeoutError';
    this.request = request;
  }
}

/** ky 1's own options: never handed to fetch. */
const KY_OWN = new Set([
  'json',
  'parseJson',
  'stringifyJson',
  'searchParams',
  'prefixUrl',
  'retry',
  'timeout',
  'hooks',
  'throwHttpErrors',
  'onDownloadProgress',
  'onUploadProgress',
  'fetch',
  'context',
]);

/**
 * The init ky 1 hands its fetch along with the Request: the options that are neither ky's own nor
 * carried by the Request (undici's `dispatcher`, the breaker's `infuseBypass`, Next.js' `next`).
 */
function fetchOptions(request: Request, options: KyOneOptions): RequestInit {
  const init: Record<string, unknown> = {};
  for (const name of Object.keys(options)) {
    if (KY_OWN.has(name) || (name in request && name !== 'next')) continue;
    init[name] = (options as Record<string, unknown>)[name];
  }
  return init;
}
