import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { Circuit } from '../core/circuit.js';
import type { Infuse } from '../core/infuse.js';
import type { Verdict } from '../core/types.js';
import { invalid, show } from '../core/options.js';
import { HttpAttempt, runAttempt, type PromiseAttempt } from './attempt.js';
import { HostKeys } from './hosts.js';
import {
  bypassFlag,
  customKey,
  INFUSE_BYPASS_OPTION,
  ownTimeoutOnly,
  parseUrl,
  resolveAdapter,
  type AdapterOptions,
  type AdapterSettings,
} from './shared.js';

declare module 'axios' {
  interface AxiosRequestConfig {
    /**
     * Sends this request past infuse-breaker: the circuit is neither asked nor told.
     * @default false
     * @example axios.get('/health', { infuseBypass: true })
     */
    infuseBypass?: boolean;
  }
}

/**
 * Options of {@link infuseAxios}: `{ infuse }` (an existing Infuse) or the options of a new one,
 * plus `key`, which receives the request config axios hands to its adapter.
 */
export type InfuseAxiosOptions = AdapterOptions<InternalAxiosRequestConfig>;

/** What {@link infuseAxios} returns when given an instance. */
export interface InfuseAxiosHandle {
  /** The Infuse whose circuits guard the instance: listen to its events, inspect its circuits. */
  readonly infuse: Infuse;
  /** Gives the instance its own adapter back. Requests already under way finish unguarded. */
  detach(): void;
}

/**
 * What {@link infuseAxios} returns when given options alone: a request interceptor for
 * `instance.interceptors.request.use()`, with the Infuse whose circuits it uses.
 */
export interface InfuseAxiosInterceptor {
  (config: InternalAxiosRequestConfig): InternalAxiosRequestConfig;
  /** The Infuse whose circuits guard the requests: listen to its events, inspect its circuits. */
  readonly infuse: Infuse;
}

type AdapterConfig = AxiosRequestConfig['adapter'];

/**
 * Every guarded adapter this module made, any breaker's, with the adapter it wraps: a request an
 * adapter of another breaker already guards is guarded by one of them only, so that each attempt
 * counts once (and a refusal of one never reaches the other's circuit).
 */
const guarded = new WeakMap<
  AxiosAdapter,
  { readonly by: AxiosGuard; readonly inner: AdapterConfig }
>();

/**
 * Puts every request of an axios instance through the circuit of its host, in either form:
 *
 * - `instance.interceptors.request.use(infuseAxios(options))` (also on the default `axios`
 *   export): a request interceptor; it guards the requests of the instances it is registered on.
 *   It is synchronous: add `null, { synchronous: true }` to `use()` and axios starts each request
 *   in the caller's tick rather than a promise turn later.
 * - `infuseAxios(instance, options)`, the way `axiosRetry` plugs into an instance: registers
 *   the same interceptor and returns a handle with `detach()`.
 *
 * Either way the breaker wraps the adapter that sends each request, so it runs once per real
 * attempt whatever the order of interceptors and plugins (axios-retry before or after): an open
 * circuit rejects with {@link CircuitBreakerError} before anything is sent, and axios-retry does
 * not retry that rejection. Two breakers on one instance guard each request once (the one whose
 * interceptor runs last, which is the one registered first).
 *
 * Classification: a response is judged by its status (5xx fails, 4xx does not), whether or not
 * `validateStatus` made axios throw; a network error or an axios `timeout` fails; a cancelled
 * request (AbortController, CancelToken) counts as nothing, unless its signal was aborted by
 * `AbortSignal.timeout()` (a timeout) or `countAborts` is set. Set `infuseBypass: true` on a
 * request's config to send it past the breaker.
 *
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'https://api.example.com' });
 * api.interceptors.request.use(infuseAxios({ failMax: 5, resetTimeout: 30_000 }));
 * axiosRetry(api, { retries: 2 }); // each retry is one more attempt through the circuit
 * // or: const handle = infuseAxios(api, { failMax: 5 }); ... handle.detach();
 * // NestJS: infuseAxios(httpService.axiosRef, { infuse });
 * ```
 */
export function infuseAxios(options?: InfuseAxiosOptions): InfuseAxiosInterceptor;
export function infuseAxios(
  instance: AxiosInstance,
  options?: InfuseAxiosOptions,
): InfuseAxiosHandle;
export function infuseAxios(
  first?: AxiosInstance | InfuseAxiosOptions,
  options?: InfuseAxiosOptions,
): InfuseAxiosHandle | InfuseAxiosInterceptor {
  if (typeof first === 'function' || options !== undefined || looksLikeInstance(first)) {
    if (!isAxiosInstance(first)) invalid('infuseAxios instance', 'an axios instance', first);
    return guardInstance(first, options);
  }
  const guard = new AxiosGuard(resolveAdapter('infuseAxios', first));
  return Object.assign((config: InternalAxiosRequestConfig) => guard.intercept(config), {
    infuse: guard.infuse,
  });
}

function isAxiosInstance(value: unknown): value is AxiosInstance {
  return (
    (typeof value === 'function' || typeof value === 'object') &&
    typeof (value as Partial<AxiosInstance> | null)?.defaults === 'object' &&
    typeof (value as Partial<AxiosInstance>).interceptors?.request.use === 'function'
  );
}

/** Something meant as an instance rather than options: it has an instance's own fields. */
function looksLikeInstance(value: unknown): boolean {
  if (value === undefined) return false;
  return (
    typeof value !== 'object' ||
    value === null ||
    'defaults' in value ||
    'interceptors' in value ||
    'request' in value
  );
}

function guardInstance(instance: AxiosInstance, options?: InfuseAxiosOptions): InfuseAxiosHandle {
  const guard = new AxiosGuard(resolveAdapter('infuseAxios', options));
  // Synchronous: axios then runs the request's interceptors in the caller's tick.
  const id = instance.interceptors.request.use((config) => guard.intercept(config), null, {
    synchronous: true,
  });
  return {
    infuse: guard.infuse,
    detach() {
      if (!guard.attached) return;
      guard.attached = false;
      instance.interceptors.request.eject(id);
    },
  };
}

/** One breaker's guarded adapters: one per adapter setting it has seen. */
class AxiosGuard {
  readonly infuse: Infuse;
  attached = true;
  readonly #settings: AdapterSettings<InternalAxiosRequestConfig>;
  readonly #hosts = new HostKeys();
  /** Guards of adapter functions, and of adapter names (joined) as axios resolves them. */
  readonly #byFunction = new WeakMap<AxiosAdapter, AxiosAdapter>();
  readonly #byName = new Map<string, AxiosAdapter>();

  constructor(settings: AdapterSettings<InternalAxiosRequestConfig>) {
    ownTimeoutOnly('infuseAxios', settings, "axios' own `timeout`");
    this.#settings = settings;
    this.infuse = settings.infuse;
  }

  /** The request interceptor: gives the request this breaker's guard of its adapter. */
  intercept(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
    // Typed as axios passes it; checked because a wrong registration passes anything.
    const given: unknown = config;
    if (typeof given !== 'object' || given === null || !('headers' in given)) {
      throw new TypeError(
        'infuse-breaker: infuseAxios(options) is a request interceptor; register it with ' +
          `instance.interceptors.request.use(infuseAxios(options)), got ${show(config)}`,
      );
    }
    if ('status' in config && 'config' in config) {
      throw new TypeError(
        'infuse-breaker: infuseAxios(options) was given a response: register it with ' +
          'interceptors.request.use(), not interceptors.response.use()',
      );
    }
    let inner = config.adapter;
    const guard = typeof inner === 'function' ? guarded.get(inner) : undefined;
    if (guard !== undefined) {
      if (guard.by === this) return config;
      inner = guard.inner;
    }
    config.adapter = this.#guardOf(inner);
    return config;
  }

  #guardOf(inner: AdapterConfig): AxiosAdapter {
    if (typeof inner === 'function') {
      let guarded = this.#byFunction.get(inner);
      if (guarded === undefined) this.#byFunction.set(inner, (guarded = this.#guard(inner)));
      return guarded;
    }
    const names = nameKey(inner);
    if (names === null) return this.#guard(inner);
    let guarded = this.#byName.get(names);
    if (guarded === undefined) this.#byName.set(names, (guarded = this.#guard(inner)));
    return guarded;
  }

  #guard(inner: AdapterConfig): AxiosAdapter {
    const { infuse, key, countAborts } = this.#settings;
    const hosts = this.#hosts;
    // The adapter list resolves the same for every request unless it reaches the fetch adapter
    // (which reads the config): then it is resolved per request, as axios does.
    let list: AdapterConfig | null = null;
    let resolved: AxiosAdapter | null = null;
    const adapterOf: AxiosAdapter = (config) => {
      const given = inner ?? axios.defaults.adapter;
      if (given !== list) {
        list = given;
        resolved = configFreeAdapter(given);
      }
      const adapter = resolved ?? axios.getAdapter(given, config);
      if (!this.attached || bypassFlag(config[INFUSE_BYPASS_OPTION], 'axios config')) {
        return adapter(config);
      }
      let href = requestHref(config);
      // A URL seen before needs no parse; an unparseable one is the client's to report, and has
      // no host to key a circuit by.
      let host = hosts.of(href);
      if (host === undefined) {
        const url = parseUrl(href);
        host = url === null ? null : url.host;
        if (url !== null) href = url.href;
      }
      if (host === null && key === null) return adapter(config);
      const circuit = infuse.circuit(key !== null ? customKey(key, config) : (host as string));
      return runAttempt(new AxiosCall(circuit, adapter, config, href, countAborts));
    };
    guarded.set(adapterOf, { by: this, inner });
    return adapterOf;
  }
}

/** A cache key for an adapter given by name or list of names, or null for anything else. */
function nameKey(inner: AdapterConfig): string | null {
  if (inner === undefined) return '';
  if (typeof inner === 'string') return inner;
  if (Array.isArray(inner) && inner.every((entry) => typeof entry === 'string')) {
    return inner.join('\0');
  }
  return null;
}

/** Adapter names whose entry in axios is the same function (or none) for every request config. */
const CONFIG_FREE = new Set(['xhr', 'http']);

/**
 * The adapter axios picks from `list` whatever the request's config, or null when the pick may
 * depend on the config (the fetch adapter, or an entry this does not know): that list is then
 * resolved on every request.
 */
function configFreeAdapter(list: AdapterConfig): AxiosAdapter | null {
  for (const entry of Array.isArray(list) ? (list as unknown[]) : [list]) {
    if (typeof entry === 'function') return entry as AxiosAdapter;
    if (typeof entry !== 'string' || !CONFIG_FREE.has(entry.toLowerCase())) return null;
    try {
      return axios.getAdapter(entry);
    } catch {
      // not supported here (xhr in Node): axios tries the next one, and so does this
    }
  }
  return null;
}

/** One attempt through an axios adapter, and how its outcome is judged. */
class AxiosCall extends HttpAttempt implements PromiseAttempt<AxiosResponse> {
  readonly #adapter: AxiosAdapter;
  readonly #config: InternalAxiosRequestConfig;

  constructor(
    circuit: Circuit,
    adapter: AxiosAdapter,
    config: InternalAxiosRequestConfig,
    href: string,
    countAborts: boolean,
  ) {
    super(circuit, countAborts, config.method, href);
    this.#adapter = adapter;
    this.#config = config;
  }

  send(): Promise<AxiosResponse> {
    return this.#adapter(this.#config);
  }

  returned(response: AxiosResponse): Promise<Verdict> | undefined {
    return this.respond(response.status, retryAfterOf(response));
  }

  threw(error: unknown): Promise<Verdict> | undefined {
    if (axios.isCancel(error)) {
      // axios turns every abort of its signal into a CanceledError; the signal's reason tells a
      // caller's abort from AbortSignal.timeout(), which is a timeout like axios' own.
      const reason: unknown = (this.#config.signal as AbortSignal | undefined)?.reason;
      return this.fail(error, this.callersAbort(reason));
    }
    const response = (error as { response?: AxiosResponse } | null)?.response;
    if (typeof response?.status === 'number') {
      return this.respond(response.status, retryAfterOf(response));
    }
    return this.fail(error);
  }
}

/** The raw `Retry-After` of a response of 400 or more, when it has one. */
function retryAfterOf(response: AxiosResponse): string | undefined {
  if (response.status < 400) return undefined;
  const value: unknown = (response.headers as Record<string, unknown> | undefined)?.['retry-after'];
  return typeof value === 'string' ? value : undefined;
}

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The URL axios will request: `baseURL` joined with `url` as axios joins them. */
function requestHref(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  const base = config.baseURL;
  if (base === undefined || base === '') return url;
  if (config.allowAbsoluteUrls !== false && ABSOLUTE_URL.test(url)) return url;
  return url === '' ? base : base.replace(/\/?\/$/, '') + '/' + url.replace(/^\/+/, '');
}
