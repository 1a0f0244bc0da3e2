import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { SettleInput } from '../core/circuit.js';
import type { Infuse } from '../core/infuse.js';
import { invalid } from '../core/options.js';
import {
  attemptSettle,
  bypassFlag,
  customKey,
  guardAttempt,
  hostKey,
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

  const guard = (inner: AdapterConfig): AxiosAdapter => {
    const guarded: AxiosAdapter = (config) => {
      const adapter = axios.getAdapter(inner ?? axios.defaults.adapter, config);
      if (!attached || bypassFlag(config[INFUSE_BYPASS_OPTION], 'axios config')) {
        return adapter(config);
      }
      const url = requestUrl(config);
      // An unparseable URL is the client's to report; it has no host to key a circuit by.
      if (url === null && key === null) return adapter(config);
      const circuit = infuse.circuit(key !== null ? customKey(key, config) : hostKey(url as URL));
      const method = (config.method ?? 'get').toUpperCase();
      const where = url ?? undefined;
      return guardAttempt(
        circuit,
        () => adapter(config),
        (result) => describe(result, config, method, where),
      );
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
      if (attached && config.adapter !== undefined && !isOurs(ours, config.adapter)) {
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

function isOurs(ours: WeakSet<AxiosAdapter>, adapter: AdapterConfig): boolean {
  return typeof adapter === 'function' && ours.has(adapter);
}

function describe(
  result: { value: AxiosResponse } | { error: unknown },
  config: InternalAxiosRequestConfig,
  method: string,
  url: URL | undefined,
): SettleInput {
  if ('value' in result) return attemptSettle(method, url, result.value.status);
  const { error } = result;
  if (axios.isCancel(error)) {
    // axios turns every abort of its signal into a CanceledError; the signal's reason tells a
    // caller's abort from AbortSignal.timeout(), which is a timeout like axios' own.
    const reason: unknown = (config.signal as AbortSignal | undefined)?.reason;
    return attemptSettle(method, url, undefined, { error, aborted: !isTimeoutError(reason) });
  }
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  if (typeof status === 'number') return attemptSettle(method, url, status);
  return attemptSettle(method, url, undefined, { error });
}

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The URL axios will request: `baseURL` joined with `url` as axios joins them. */
function requestUrl(config: InternalAxiosRequestConfig): URL | null {
  const url = config.url ?? '';
  const base = config.baseURL;
  const joined =
    base !== undefined &&
    base !== '' &&
    (config.allowAbsoluteUrls === false || !ABSOLUTE_URL.test(url))
      ? url === ''
        ? base
        : base.replace(/\/?\/$/, '') + '/' + url.replace(/^\/+/, '')
      : url;
  return parseUrl(joined);
}
