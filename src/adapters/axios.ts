import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { Circuit } from '../core/circuit.js';
import type { Infuse } from '../core/infuse.js';
import { invalid } from '../core/options.js';
import { HttpPermit, runAttempt, type HttpAttempt } from './attempt.js';
import { HostKeys } from './hosts.js';
import {
  bypassFlag,
  customKey,
  INFUSE_BYPASS_OPTION,
  isTimeoutError,
  parseUrl,
  resolveAdapter,
  type AdapterOptions,
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

/** What {@link infuseAxios} returns. */
export interface InfuseAxiosHandle {
  /** The Infuse whose circuits guard the instance: listen to its events, inspect its circuits. */
  readonly infuse: Infuse;
  /** Gives the instance its own adapter back. Requests already under way finish unguarded. */
  detach(): void;
}

type AdapterConfig = AxiosRequestConfig['adapter'];

/**
 * Puts every request of an axios instance through the circuit of its host, the way `axiosRetry`
 * plugs into an instance. The breaker wraps the instance's adapter, so it runs once per real
 * attempt whatever the order of interceptors and plugins (axios-retry before or after): an open
 * circuit rejects with {@link CircuitBreakerError} before anything is sent, and axios-retry's
 * default condition does not retry that rejection.
 *
 * Classification: a response is judged by its status (5xx fails, 4xx does not), whether or not
 * `validateStatus` made axios throw; a network error or an axios `timeout` fails; a cancelled
 * request (AbortController, CancelToken) counts as nothing, unless its signal was aborted by
 * `AbortSignal.timeout()`, which is a timeout. Set `infuseBypass: true` on a request's config to
 * send it past the breaker.
 *
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'https://api.example.com' });
 * const handle = infuseAxios(api, { failMax: 5, resetTimeout: 30_000 });
 * axiosRetry(api, { retries: 2 }); // each retry is one more attempt through the circuit
 * // NestJS: infuseAxios(httpService.axiosRef, { infuse });
 * ```
 */
export function infuseAxios(
  instance: AxiosInstance,
  options?: InfuseAxiosOptions,
): InfuseAxiosHandle {
  if (
    (typeof instance !== 'function' && typeof instance !== 'object') ||
    typeof (instance as Partial<AxiosInstance> | null)?.defaults !== 'object' ||
    typeof (instance as Partial<AxiosInstance>).interceptors?.request.use !== 'function'
  ) {
    invalid('infuseAxios instance', 'an axios instance', instance);
  }
  const { infuse, key } = resolveAdapter('infuseAxios', options);
  let attached = true;
  const ours = new WeakSet<AxiosAdapter>();

  const hosts = new HostKeys();
  const guard = (inner: AdapterConfig): AxiosAdapter => {
    // The adapter list resolves the same for every request unless it reaches the fetch adapter
    // (which reads the config): then it is resolved per request, as axios does.
    let list: AdapterConfig | null = null;
    let resolved: AxiosAdapter | null = null;
    const guarded: AxiosAdapter = (config) => {
      const given = inner ?? axios.defaults.adapter;
      if (given !== list) {
        list = given;
        resolved = configFreeAdapter(given);
      }
      const adapter = resolved ?? axios.getAdapter(given, config);
      if (!attached || bypassFlag(config[INFUSE_BYPASS_OPTION], 'axios config')) {
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
      return runAttempt(new AxiosCall(circuit, adapter, config, href));
    };
    ours.add(guarded);
    return guarded;
  };

  const original = instance.defaults.adapter;
  const guarded = guard(original);
  instance.defaults.adapter = guarded;
  // A per-request `adapter` replaces the instance's, and would slip past the breaker; this only
  // wraps it. Counting stays in the adapter, which runs once per attempt.
  const interceptor = instance.interceptors.request.use(
    (config) => {
      const { adapter } = config;
      if (attached && adapter !== undefined && adapter !== guarded && !isOurs(ours, adapter)) {
        config.adapter = guard(config.adapter);
      }
      return config;
    },
    null,
    { synchronous: true },
  );

  return {
    infuse,
    detach() {
      if (!attached) return;
      attached = false;
      instance.interceptors.request.eject(interceptor);
      if (instance.defaults.adapter !== guarded) return;
      if (original === undefined) delete instance.defaults.adapter;
      else instance.defaults.adapter = original;
    },
  };
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

function isOurs(ours: WeakSet<AxiosAdapter>, adapter: AdapterConfig): boolean {
  return typeof adapter === 'function' && ours.has(adapter);
}

/** One attempt through an axios adapter, and how its outcome is judged. */
class AxiosCall extends HttpPermit implements HttpAttempt<AxiosResponse> {
  readonly #adapter: AxiosAdapter;
  readonly #config: InternalAxiosRequestConfig;

  constructor(
    circuit: Circuit,
    adapter: AxiosAdapter,
    config: InternalAxiosRequestConfig,
    href: string,
  ) {
    super(circuit, config.method, href);
    this.#adapter = adapter;
    this.#config = config;
  }

  send(): Promise<AxiosResponse> {
    return this.#adapter(this.#config);
  }

  returned(response: AxiosResponse): void {
    this.responded(response.status);
  }

  threw(error: unknown): void {
    if (axios.isCancel(error)) {
      // axios turns every abort of its signal into a CanceledError; the signal's reason tells a
      // caller's abort from AbortSignal.timeout(), which is a timeout like axios' own.
      const reason: unknown = (this.#config.signal as AbortSignal | undefined)?.reason;
      this.failed(error, !isTimeoutError(reason));
      return;
    }
    const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
    if (typeof status === 'number') this.responded(status);
    else this.failed(error);
  }
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
