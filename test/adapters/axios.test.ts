import axios, { AxiosError, type AxiosInstance, type AxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { beforeAll, describe, expect, it } from 'vitest';
import { infuseAxios, type InfuseAxiosOptions } from '../../src/adapters/axios.js';
import { CircuitBreakerError, Infuse } from '../../src/index.js';
import {
  MOCK,
  expectOnly5xxFails,
  expectStatusPredicate,
  failingTargets,
  networkError,
  record,
  rejectionOf,
  respondWith,
  useMsw,
  useServers,
} from './helpers.js';

type RetryOrder = 'before' | 'after';

/** The two forms: `infuseAxios(instance, options)`, and the card's request interceptor. */
type Form = 'instance' | 'interceptor';
const FORMS: Form[] = ['instance', 'interceptor'];
let form: Form = 'instance';

/** An axios instance with the breaker, and axios-retry registered before or after it. */
function client(
  options: InfuseAxiosOptions,
  retry?: { order: RetryOrder; retries: number },
  config?: AxiosRequestConfig,
): { api: AxiosInstance; infuse: Infuse; detach: () => void } {
  const api = axios.create(config);
  if (retry?.order === 'before') axiosRetry(api, { retries: retry.retries });
  let infuse: Infuse;
  let detach: () => void;
  if (form === 'instance') {
    const handle = infuseAxios(api, options);
    infuse = handle.infuse;
    detach = () => handle.detach();
  } else {
    const interceptor = infuseAxios(options);
    const id = api.interceptors.request.use(interceptor);
    infuse = interceptor.infuse;
    detach = () => api.interceptors.request.eject(id);
  }
  if (retry?.order === 'after') axiosRetry(api, { retries: retry.retries });
  return { api, infuse, detach };
}

describe.each(FORMS)('infuseAxios (%s form) against a real upstream', (given) => {
  beforeAll(() => {
    form = given;
  });
  const net = useServers();

  it.each(['before', 'after'] as const)(
    'an open circuit rejects before anything is sent, and axios-retry registered %s does not retry it',
    async (order) => {
      const { api, infuse } = client({ failMax: 1 }, { order, retries: 3 });
      const events = record(infuse);
      await infuse.circuit(net.up.host).open();
      const seen = net.up.hits;
      const error = await rejectionOf(api.get(`${net.up.origin}/ok`));
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect((error as CircuitBreakerError).key).toBe(net.up.host);
      expect(net.up.hits).toBe(seen);
      expect(events.verdicts()).toEqual(['reject']);
    },
  );

  it.each(['before', 'after'] as const)(
    'a circuit that opens during retries (axios-retry %s) stops them',
    async (order) => {
      const { api, infuse } = client({ failMax: 2 }, { order, retries: 5 });
      const events = record(infuse);
      const seen = net.up.hits;
      const error = await rejectionOf(api.get(`${net.up.origin}/status/503`));
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect(net.up.hits - seen).toBe(2);
      expect(events.verdicts()).toEqual(['failure', 'failure', 'reject']);
    },
  );

  it.each([
    ['AbortController', (config: AxiosRequestConfig) => abortWith(config)],
    ['CancelToken', (config: AxiosRequestConfig) => cancelWith(config)],
  ])(
    'a request cancelled with %s counts as nothing and gives back its half-open permit',
    async (_name, cancellable) => {
      const { api, infuse } = client({ failMax: 1 });
      const events = record(infuse);
      const circuit = infuse.circuit(net.up.host);
      await circuit.halfOpen();
      const config: AxiosRequestConfig = {};
      const cancel = cancellable(config);
      const trial = rejectionOf(api.get(`${net.up.origin}/slow/10000`, config));
      await net.up.nextRequest();
      cancel();
      const error = await trial;
      expect(axios.isCancel(error)).toBe(true);
      expect(events.verdicts()).toEqual(['aborted']);
      expect(circuit.state).toBe('half-open');
      // The permit came back: the next call is the trial, and it closes the circuit.
      await expect(api.get(`${net.up.origin}/ok`)).resolves.toMatchObject({ status: 200 });
      expect(events.verdicts()).toEqual(['aborted', 'success']);
      expect(circuit.state).toBe('closed');
    },
  );

  it('an abort in the closed state leaves the failure count alone', async () => {
    const { api, infuse } = client({ failMax: 3 });
    await rejectionOf(api.get(`${net.up.origin}/status/500`));
    const controller = new AbortController();
    const pending = rejectionOf(
      api.get(`${net.up.origin}/slow/10000`, { signal: controller.signal }),
    );
    await net.up.nextRequest();
    controller.abort();
    await pending;
    expect(infuse.circuit(net.up.host).failCounter).toBe(1);
  });

  it('an axios timeout is a failure, told apart from a caller abort', async () => {
    const { api, infuse } = client({ failMax: 5 });
    const events = record(infuse);
    const error = await rejectionOf(api.get(`${net.up.origin}/slow/10000`, { timeout: 50 }));
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe('ECONNABORTED');
    expect(events.verdicts()).toEqual(['failure']);
    expect(events.all[0]!.outcome!.error).toBe(error);
  });

  it('AbortSignal.timeout() is a timeout, not a caller abort', async () => {
    const { api, infuse } = client({ failMax: 5 });
    const events = record(infuse);
    const error = await rejectionOf(
      api.get(`${net.up.origin}/slow/10000`, { signal: AbortSignal.timeout(50) }),
    );
    expect(axios.isCancel(error)).toBe(true);
    expect(events.verdicts()).toEqual(['failure']);
  });

  it('hosts are independent, and per-host circuits options apply', async () => {
    const refusedHost = new URL(net.refused).host;
    const { api, infuse } = client({ failMax: 3, circuits: { [refusedHost]: { failMax: 1 } } });
    const refusedError = await rejectionOf(api.get(`${net.refused}/ok`));
    expect((refusedError as AxiosError).code).toBe('ECONNREFUSED');
    expect(infuse.circuit(refusedHost).state).toBe('open');
    await expect(api.get(`${net.refused}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);

    // The other host, on the same instance, keeps its own count and its own failMax.
    await rejectionOf(api.get(`${net.up.origin}/reset`));
    await rejectionOf(api.get(`${net.up.origin}/status/502`));
    expect(infuse.circuit(net.up.host).state).toBe('closed');
    await expect(api.get(`${net.other.origin}/ok`)).resolves.toMatchObject({ status: 200 });
    await rejectionOf(api.get(`${net.up.origin}/status/502`));
    expect(infuse.circuit(net.up.host).state).toBe('open');
    await expect(api.get(`${net.other.origin}/ok`)).resolves.toMatchObject({ status: 200 });
  });

  it.each(failingTargets)(
    'the caller gets axios’ own error for %s, unchanged',
    async (_name, target) => {
      const url = target(net);
      const plain = await rejectionOf(axios.get(url));
      const { api } = client({ failMax: 10 });
      const guarded = await rejectionOf(api.get(url));
      expect(guarded).not.toBeInstanceOf(CircuitBreakerError);
      expect(guarded).toBeInstanceOf(AxiosError);
      for (const field of ['name', 'code', 'message'] as const) {
        expect((guarded as AxiosError)[field]).toBe((plain as AxiosError)[field]);
      }
      expect((guarded as AxiosError).response?.status).toBe((plain as AxiosError).response?.status);
    },
  );

  it('infuseBypass sends a request past an open circuit, uncounted', async () => {
    const { api, infuse } = client({ failMax: 1 });
    const events = record(infuse);
    await infuse.circuit(net.up.host).open();
    const seen = net.up.hits;
    await expect(api.get(`${net.up.origin}/ok`, { infuseBypass: true })).resolves.toMatchObject({
      status: 200,
    });
    expect(net.up.hits).toBe(seen + 1);
    expect(events.verdicts()).toEqual([]);
  });

  it('refuses an infuseBypass that is not a boolean, and a key that returns no string', async () => {
    const { api } = client({ failMax: 1 });
    const seen = net.up.hits;
    await expect(
      api.get(`${net.up.origin}/ok`, { infuseBypass: 'yes' as unknown as boolean }),
    ).rejects.toThrow('infuse-breaker: axios config "infuseBypass" must be a boolean; got "yes"');
    const keyed = client({ key: () => '' }).api;
    await expect(keyed.get(`${net.up.origin}/ok`)).rejects.toThrow(
      'infuse-breaker: option "key" must return a non-empty string; got ""',
    );
    expect(net.up.hits).toBe(seen);
  });

  it('a per-request adapter is guarded too', async () => {
    const { api, infuse } = client({ failMax: 1 });
    const events = record(infuse);
    await expect(
      api.get(`${net.up.origin}/status/500`, { adapter: 'fetch' }),
    ).rejects.toBeInstanceOf(AxiosError);
    expect(events.verdicts()).toEqual(['failure']);
    const seen = net.up.hits;
    await expect(api.get(`${net.up.origin}/ok`, { adapter: 'fetch' })).rejects.toBeInstanceOf(
      CircuitBreakerError,
    );
    expect(net.up.hits).toBe(seen);
  });

  it('an adapter set on the instance after infuseAxios is guarded too', async () => {
    const { api, infuse } = client({ failMax: 1 });
    api.defaults.adapter = 'fetch';
    const events = record(infuse);
    await expect(api.get(`${net.up.origin}/status/500`)).rejects.toBeInstanceOf(AxiosError);
    expect(events.verdicts()).toEqual(['failure']);
    const seen = net.up.hits;
    await expect(api.get(`${net.up.origin}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(net.up.hits).toBe(seen);
  });

  it('detach() (or ejecting the interceptor) leaves the instance unguarded', async () => {
    const api = axios.create();
    const original = api.defaults.adapter;
    const { infuse, detach } = (() => {
      if (form === 'instance') {
        const handle = infuseAxios(api, { failMax: 1 });
        return { infuse: handle.infuse, detach: () => handle.detach() };
      }
      const interceptor = infuseAxios({ failMax: 1 });
      const id = api.interceptors.request.use(interceptor);
      return { infuse: interceptor.infuse, detach: () => api.interceptors.request.eject(id) };
    })();
    // The instance's defaults are not touched: axios.create() copies them, guards included.
    expect(api.defaults.adapter).toBe(original);
    await infuse.circuit(net.up.host).open();
    await expect(api.get(`${net.up.origin}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);
    detach();
    await expect(api.get(`${net.up.origin}/ok`)).resolves.toMatchObject({ status: 200 });
    await expect(api.get(`${net.up.origin}/ok`, { adapter: 'http' })).resolves.toMatchObject({
      status: 200,
    });
  });
});

describe.each(FORMS)('infuseAxios (%s form) response shapes (msw)', (given) => {
  beforeAll(() => {
    form = given;
  });
  useMsw('error');

  it.each(['before', 'after'] as const)(
    'each attempt counts once, retries included (axios-retry %s)',
    async (order) => {
      const { api, infuse } = client({ failMax: 10 }, { order, retries: 2 });
      const events = record(infuse);
      const mock = respondWith('/flaky', 503, 503, 200);
      await expect(api.get(`${MOCK}/flaky`)).resolves.toMatchObject({ status: 200 });
      expect(mock.calls()).toBe(3);
      expect(events.verdicts()).toEqual(['failure', 'failure', 'success']);

      const down = respondWith('/down', 503);
      await rejectionOf(api.get(`${MOCK}/down`));
      expect(down.calls()).toBe(3);
      expect(infuse.circuit('api.test').failCounter).toBe(3);
    },
  );

  it('a network error counts as a failure and is retried by axios-retry', async () => {
    const { api, infuse } = client({ failMax: 10 }, { order: 'after', retries: 1 });
    const events = record(infuse);
    const mock = networkError('/gone');
    const error = await rejectionOf(api.get(`${MOCK}/gone`));
    expect(error).toBeInstanceOf(AxiosError);
    expect(mock.calls()).toBe(2);
    expect(events.verdicts()).toEqual(['failure', 'failure']);
  });

  it.each([
    ['axios throws', {}],
    ['validateStatus accepts everything', { validateStatus: () => true }],
  ])('5xx fails and 4xx does not when %s', async (_name, config) => {
    const { api, infuse } = client({ failMax: 10 }, undefined, config);
    await expectOnly5xxFails((url) => api.get(url), infuse, record(infuse));
  });

  it.each([
    ['axios throws', {}],
    ['validateStatus accepts everything', { validateStatus: () => true }],
  ])('one predicate on the Outcome behaves the same when %s', async (_name, config) => {
    const { api, infuse } = client(
      { failMax: 10, exclude: [(outcome) => outcome.status === 501] },
      undefined,
      config,
    );
    const events = record(infuse);
    await expectStatusPredicate((url) => api.get(url), events);
  });

  it('keys by the host of baseURL + url, as WHATWG URL writes it, without credentials or query', async () => {
    const { api, infuse } = client({ failMax: 10 }, undefined, {
      baseURL: 'http://user:secret@API.Test:80/v1/',
    });
    const events = record(infuse);
    respondWith('/v1/items', 503);
    await rejectionOf(api.post('/items?token=abc', { a: 1 }));
    expect(events.all[0]).toMatchObject({
      key: 'api.test',
      verdict: 'failure',
      outcome: { method: 'POST', url: 'http://api.test/v1/items', status: 503 },
    });
    expect(JSON.stringify(events.all[0]!.outcome)).not.toContain('secret');
  });

  it('a custom key names the circuit', async () => {
    const { api, infuse } = client({ failMax: 1, key: (config) => `svc:${config.url ?? ''}` });
    respondWith('/a', 503);
    respondWith('/b', 200);
    await rejectionOf(api.get(`${MOCK}/a`));
    expect(infuse.circuit(`svc:${MOCK}/a`).state).toBe('open');
    await expect(api.get(`${MOCK}/b`)).resolves.toMatchObject({ status: 200 });
  });

  it('an Infuse passed in is shared, and its events see the calls', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const first = axios.create();
    const second = axios.create();
    expect(infuseAxios(first, { infuse }).infuse).toBe(infuse);
    infuseAxios(second, { infuse });
    respondWith('/down', 500);
    await rejectionOf(first.get(`${MOCK}/down`));
    await rejectionOf(second.get(`${MOCK}/down`));
    await expect(first.get(`${MOCK}/down`)).rejects.toBeInstanceOf(CircuitBreakerError);
  });
});

describe('infuseAxios: two breakers, the default export', () => {
  const net = useServers();

  it('two breakers on one instance count each attempt once, in one of them', async () => {
    const api = axios.create();
    const first = infuseAxios(api, { failMax: 2 });
    const second = infuseAxios({ failMax: 2 });
    api.interceptors.request.use(second);
    const counted = [record(first.infuse), record(second.infuse)];
    await expect(api.get(`${net.up.origin}/status/503`)).rejects.toBeInstanceOf(AxiosError);
    await expect(api.get(`${net.up.origin}/status/503`)).rejects.toBeInstanceOf(AxiosError);
    const verdicts = counted.map((recording) => recording.verdicts());
    expect(verdicts.flat()).toEqual(['failure', 'failure']);
    // The one that counted has opened; the other never saw a refusal as a failure.
    const seen = net.up.hits;
    await expect(api.get(`${net.up.origin}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(net.up.hits).toBe(seen);
  });

  it('a refusal of an inner breaker never counts as a failure of an outer circuit', async () => {
    const api = axios.create();
    const inner = infuseAxios(api, { failMax: 1 });
    await inner.infuse.circuit(net.up.host).open();
    const outer = new Infuse({ failMax: 1 });
    const circuit = outer.circuit('checkout');
    for (let i = 0; i < 3; i++) {
      await expect(circuit.call(() => api.get(`${net.up.origin}/ok`))).rejects.toBeInstanceOf(
        CircuitBreakerError,
      );
    }
    expect(circuit.state).toBe('closed');
    expect(circuit.failCounter).toBe(0);
  });

  it('guarding the default export guards its own requests, not the instances created from it', async () => {
    const handle = infuseAxios(axios, { failMax: 1 });
    try {
      await handle.infuse.circuit(net.up.host).open();
      await expect(axios.get(`${net.up.origin}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);
      await expect(axios.create().get(`${net.up.origin}/ok`)).resolves.toMatchObject({
        status: 200,
      });
    } finally {
      handle.detach();
    }
    await expect(axios.get(`${net.up.origin}/ok`)).resolves.toMatchObject({ status: 200 });
  });
});

describe('infuseAxios options', () => {
  it('rejects what is not an axios instance, naming it', () => {
    expect(() => infuseAxios({ defaults: {} } as unknown as AxiosInstance)).toThrow(
      /infuseAxios instance.*axios instance/,
    );
    expect(() => infuseAxios((() => undefined) as unknown as AxiosInstance)).toThrow(
      /infuseAxios instance.*axios instance/,
    );
    expect(() => infuseAxios(null as unknown as AxiosInstance)).toThrow(TypeError);
    expect(() => infuseAxios({ faiMax: 2 } as unknown as InfuseAxiosOptions)).toThrow(/faiMax/);
  });

  it('has no timeout option of its own, and says which one to use', () => {
    expect(() => infuseAxios({ timeout: 100 })).toThrow(/axios' own `timeout`/);
  });

  it('an interceptor registered for responses fails the request, naming the right form', async () => {
    const api = axios.create();
    api.interceptors.response.use(infuseAxios() as never);
    await expect(
      api.get(`${MOCK}/ok`, {
        adapter: async (config) => ({
          config,
          status: 200,
          statusText: 'OK',
          headers: {},
          data: 'ok',
        }),
      }),
    ).rejects.toThrow(/interceptors\.request\.use\(\), not interceptors\.response\.use\(\)/);
  });

  it('rejects bad options with a TypeError naming them', () => {
    const api = axios.create();
    expect(() => infuseAxios(api, { infuse: {} as unknown as Infuse })).toThrow(/infuse/);
    expect(() => infuseAxios(api, { key: 'host' as never })).toThrow(/key/);
    expect(() => infuseAxios(api, { failMax: -1 })).toThrow(/failMax/);
    expect(() =>
      infuseAxios(api, { infuse: new Infuse(), failMax: 2 } as unknown as InfuseAxiosOptions),
    ).toThrow(/both "infuse" and Infuse options \(failMax\)/);
  });
});

function abortWith(config: AxiosRequestConfig): () => void {
  const controller = new AbortController();
  config.signal = controller.signal;
  return () => controller.abort();
}

function cancelWith(config: AxiosRequestConfig): () => void {
  const source = axios.CancelToken.source();
  config.cancelToken = source.token;
  return () => source.cancel('changed my mind');
}
