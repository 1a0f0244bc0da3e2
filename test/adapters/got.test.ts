import { text } from 'node:stream/consumers';
import type { Got, OptionsInit, RequestError } from 'got';
import { http, HttpResponse } from 'msw';
import { beforeAll, describe, expect, it } from 'vitest';
import { infuseGot, type InfuseGotOptions } from '../../src/adapters/got.js';
import { CircuitBreakerError, Infuse } from '../../src/index.js';
import {
  MOCK,
  expectOnly5xxFails,
  expectStatusPredicate,
  failingTargets,
  mocks,
  networkError,
  record,
  rejectionOf,
  respondWith,
  unsupportedNode,
  useMsw,
  useServers,
} from './helpers.js';
import { eventually } from '../helpers/eventually.js';

// got 16's types are its own; both majors are driven through the API they share.
const majors = [
  { major: 14, skip: false, load: async () => (await import('got')).default },
  {
    major: 16,
    skip: unsupportedNode('got 16', 22),
    load: async () => (await import('got16')).default as unknown as Got,
  },
];

/** Retries that wait 1 ms instead of got's exponential backoff (seconds). */
function fastRetry(limit: number): NonNullable<OptionsInit['retry']> {
  return { limit, calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : 1) };
}

for (const { major, skip, load } of majors) {
  describe.skipIf(skip)(`infuseGot with got ${major}`, () => {
    let got: Got;
    const net = useServers();
    beforeAll(async () => {
      got = await load();
    });

    /** A got client with the breaker; `extra` options are extended after it. */
    function client(options: InfuseGotOptions, extra: OptionsInit = {}) {
      const { key, ...rest } = options;
      const infuse = rest.infuse ?? new Infuse(rest);
      const instance = got.extend(infuseGot(key ? { infuse, key } : { infuse }), extra);
      return { client: instance, infuse, events: record(infuse) };
    }

    describe('against a real upstream', () => {
      it('an open circuit rejects before anything is sent, and got does not retry it', async () => {
        const { client: api, infuse, events } = client({ failMax: 1 });
        await infuse.circuit(net.up.host).open();
        const seen = net.up.hits;
        const error = await rejectionOf(api(`${net.up.origin}/ok`));
        expect(error).toBeInstanceOf(CircuitBreakerError);
        expect((error as CircuitBreakerError).key).toBe(net.up.host);
        await expect(api(`${net.up.origin}/ok`).json()).rejects.toBeInstanceOf(CircuitBreakerError);
        expect(net.up.hits).toBe(seen);
        expect(events.verdicts()).toEqual(['reject', 'reject']);
      });

      it('a circuit that opens during got’s retries stops them with CircuitBreakerError', async () => {
        const { client: api, events } = client({ failMax: 2 }, { retry: fastRetry(5) });
        const seen = net.up.hits;
        const error = await rejectionOf(api(`${net.up.origin}/status/503`));
        expect(error).toBeInstanceOf(CircuitBreakerError);
        expect(net.up.hits - seen).toBe(2);
        expect(events.verdicts()).toEqual(['failure', 'failure', 'reject']);
      });

      it('the refusal comes without waiting the retry delay once the circuit is open', async () => {
        // A 10 s delay before every retry: only the first would be waited if the circuit did not
        // cut the wait short once it opened.
        const delays: number[] = [];
        const { client: api } = client(
          { failMax: 1 },
          {
            retry: {
              limit: 2,
              calculateDelay: ({ computedValue }) => {
                delays.push(computedValue);
                return computedValue === 0 ? 0 : 10_000;
              },
            },
          },
        );
        const started = Date.now();
        const error = await rejectionOf(api(`${net.up.origin}/status/503`));
        expect(error).toBeInstanceOf(CircuitBreakerError);
        expect(delays.length).toBeGreaterThan(0);
        expect(Date.now() - started).toBeLessThan(5_000);
      });

      it('a request aborted by its caller counts as nothing and gives back its half-open permit', async () => {
        const { client: api, infuse, events } = client({ failMax: 1 });
        const circuit = infuse.circuit(net.up.host);
        await circuit.halfOpen();
        const controller = new AbortController();
        const trial = rejectionOf(
          api(`${net.up.origin}/slow/10000`, { signal: controller.signal }),
        );
        await net.up.nextRequest();
        controller.abort();
        expect(await trial).toMatchObject({ name: 'AbortError' });
        expect(events.verdicts()).toEqual(['aborted']);
        expect(circuit.state).toBe('half-open');
        await expect(api(`${net.up.origin}/ok`).text()).resolves.toBe('ok');
        expect(events.verdicts()).toEqual(['aborted', 'success']);
        expect(circuit.state).toBe('closed');
      });

      it('with countAborts, an abort counts as a failure and still gives back its permit', async () => {
        const infuse = new Infuse({ failMax: 5 });
        const events = record(infuse);
        const api = got.extend(infuseGot({ infuse, countAborts: true }));
        const controller = new AbortController();
        const call = rejectionOf(api(`${net.up.origin}/slow/10000`, { signal: controller.signal }));
        await net.up.nextRequest();
        controller.abort();
        expect(await call).toMatchObject({ name: 'AbortError' });
        expect(events.verdicts()).toEqual(['failure']);
        expect(infuse.circuit(net.up.host).failCounter).toBe(1);
      });

      it('has no timeout option of its own, and says which one to use', () => {
        expect(() => infuseGot({ timeout: 100 })).toThrow(
          /infuseGot has no "timeout" option.*got's own `timeout`/,
        );
      });

      // got 16 has no cancel(): its promise is a plain Promise.
      if (major === 14)
        it('got 14: cancel() counts as nothing, like an abort', async () => {
          const { client: api, infuse, events } = client({ failMax: 1 });
          await infuse.circuit(net.up.host).halfOpen();
          const request = api(`${net.up.origin}/slow/10000`);
          const trial = rejectionOf(request);
          await net.up.nextRequest();
          (request as unknown as { cancel(): void }).cancel();
          expect(await trial).toMatchObject({ name: 'CancelError' });
          expect(events.verdicts()).toEqual(['aborted']);
          await expect(api(`${net.up.origin}/ok`).text()).resolves.toBe('ok');
          expect(infuse.circuit(net.up.host).state).toBe('closed');
        });

      // Options are made when the test runs: a signal made at collection has timed out by then.
      it.each([
        ['timeout.request', () => ({ timeout: { request: 50 } })],
        ['AbortSignal.timeout()', () => ({ signal: AbortSignal.timeout(50) })],
      ] as [string, () => OptionsInit][])(
        'a timeout (%s) is a failure, told apart from a caller abort',
        async (_name, options) => {
          const { client: api, events } = client({ failMax: 5 }, { retry: { limit: 0 } });
          const error = await rejectionOf(
            api(`${net.up.origin}/slow/10000`, options()) as Promise<unknown>,
          );
          expect(error).toMatchObject({ name: 'TimeoutError' });
          expect(events.verdicts()).toEqual(['failure']);
        },
      );

      it('each retried timeout counts once', async () => {
        const { client: api, events } = client(
          { failMax: 10 },
          { retry: fastRetry(2), timeout: { request: 30 } },
        );
        await rejectionOf(api(`${net.up.origin}/slow/10000`));
        expect(events.verdicts()).toEqual(['failure', 'failure', 'failure']);
      });

      it('hosts are independent, and per-host circuits options apply', async () => {
        const refusedHost = new URL(net.refused).host;
        const { client: api, infuse } = client(
          { failMax: 3, circuits: { [refusedHost]: { failMax: 1 } } },
          { retry: { limit: 0 } },
        );
        const refusedError = await rejectionOf(api(`${net.refused}/ok`));
        expect((refusedError as RequestError).code).toBe('ECONNREFUSED');
        expect(infuse.circuit(refusedHost).state).toBe('open');
        await expect(api(`${net.refused}/ok`)).rejects.toBeInstanceOf(CircuitBreakerError);

        await rejectionOf(api(`${net.up.origin}/reset`));
        await rejectionOf(api(`${net.up.origin}/status/502`));
        expect(infuse.circuit(net.up.host).state).toBe('closed');
        await expect(api(`${net.other.origin}/ok`).text()).resolves.toBe('ok');
        await rejectionOf(api(`${net.up.origin}/status/502`));
        expect(infuse.circuit(net.up.host).state).toBe('open');
        await expect(api(`${net.other.origin}/ok`).text()).resolves.toBe('ok');
      });

      it.each(failingTargets)(
        'the caller gets got’s own error for %s, unchanged',
        async (_name, target) => {
          const url = target(net);
          const plain = (await rejectionOf(got(url, { retry: { limit: 0 } }))) as RequestError;
          const { client: api } = client({ failMax: 10 }, { retry: { limit: 0 } });
          const guarded = (await rejectionOf(api(url))) as RequestError;
          expect(guarded).not.toBeInstanceOf(CircuitBreakerError);
          expect(guarded.constructor).toBe(plain.constructor);
          expect([guarded.name, guarded.code, guarded.message]).toEqual([
            plain.name,
            plain.code,
            plain.message,
          ]);
        },
      );

      it('context.infuseBypass sends a request past an open circuit, uncounted', async () => {
        const { client: api, infuse, events } = client({ failMax: 1 });
        await infuse.circuit(net.up.host).open();
        const seen = net.up.hits;
        await expect(
          api(`${net.up.origin}/ok`, { context: { infuseBypass: true } }).text(),
        ).resolves.toBe('ok');
        expect(net.up.hits).toBe(seen + 1);
        expect(events.verdicts()).toEqual([]);
      });

      it('refuses a context.infuseBypass that is not a boolean, and a key that returns no string', async () => {
        const { client: api } = client({ failMax: 1 });
        const seen = net.up.hits;
        await expect(
          api(`${net.up.origin}/ok`, { context: { infuseBypass: 1 } }).text(),
        ).rejects.toThrow('infuse-breaker: got context "infuseBypass" must be a boolean; got 1');
        const keyed = client({ key: () => '' }).client;
        await expect(keyed(`${net.up.origin}/ok`).text()).rejects.toThrow(
          'infuse-breaker: option "key" must return a non-empty string; got ""',
        );
        expect(net.up.hits).toBe(seen);
      });

      describe('streams', () => {
        it('give the same body as without the adapter, and count once', async () => {
          const { client: api, events } = client({ failMax: 5 });
          const body = await text(api.stream(`${net.up.origin}/slow/10`));
          expect(body).toBe(await text(got.stream(`${net.up.origin}/slow/10`)));
          await eventually(() => expect(events.all).toHaveLength(1));
          expect(events.verdicts()).toEqual(['success']);
        });

        it('an open circuit errors the stream with CircuitBreakerError before anything is sent', async () => {
          const { client: api, infuse, events } = client({ failMax: 1 });
          await infuse.circuit(net.up.host).open();
          const seen = net.up.hits;
          await expect(text(api.stream(`${net.up.origin}/ok`))).rejects.toBeInstanceOf(
            CircuitBreakerError,
          );
          expect(net.up.hits).toBe(seen);
          expect(events.verdicts()).toEqual(['reject']);
        });

        it('a 500 errors the stream with got’s HTTPError, as without the adapter, and fails', async () => {
          const { client: api, events } = client({ failMax: 5 });
          const plain = await rejectionOf(text(got.stream(`${net.up.origin}/status/500`)));
          const guarded = await rejectionOf(text(api.stream(`${net.up.origin}/status/500`)));
          expect(guarded).toMatchObject({ name: 'HTTPError', message: (plain as Error).message });
          await eventually(() => expect(events.all).toHaveLength(1));
          expect(events.all[0]).toMatchObject({ verdict: 'failure', outcome: { status: 500 } });
        });

        it('a net.refused stream fails', async () => {
          const { client: api, events } = client({ failMax: 5 });
          const error = await rejectionOf(text(api.stream(`${net.refused}/ok`)));
          expect(error).toMatchObject({ code: 'ECONNREFUSED' });
          await eventually(() => expect(events.all).toHaveLength(1));
          expect(events.verdicts()).toEqual(['failure']);
        });

        it('a stream its caller destroys counts as nothing and gives back its half-open permit', async () => {
          const { client: api, infuse, events } = client({ failMax: 1 });
          await infuse.circuit(net.up.host).halfOpen();
          const stream = api.stream(`${net.up.origin}/slow/10000`);
          await net.up.nextRequest();
          stream.destroy();
          await eventually(() => expect(events.all).toHaveLength(1));
          expect(events.verdicts()).toEqual(['aborted']);
          await expect(text(api.stream(`${net.up.origin}/ok`))).resolves.toBe('ok');
          await eventually(() => expect(infuse.circuit(net.up.host).state).toBe('closed'));
        });
      });
    });

    describe('response shapes (msw)', () => {
      useMsw('error');

      it('each attempt counts once, retries included', async () => {
        const { client: api, infuse, events } = client({ failMax: 10 }, { retry: fastRetry(2) });
        const flaky = respondWith('/flaky', 503, 503, 200);
        await expect(api(`${MOCK}/flaky`).json()).resolves.toEqual({ status: 200 });
        expect(flaky.calls()).toBe(3);
        expect(events.verdicts()).toEqual(['failure', 'failure', 'success']);

        const down = respondWith('/down', 503);
        await rejectionOf(api(`${MOCK}/down`));
        expect(down.calls()).toBe(3);
        expect(infuse.circuit('api.test').failCounter).toBe(3);
      });

      it.each(['before', 'after'] as const)(
        'a retry asked for by an afterResponse hook registered %s the adapter counts each attempt once',
        async (order) => {
          const infuse = new Infuse({ failMax: 10 });
          const events = record(infuse);
          const refresh = {
            hooks: {
              afterResponse: [
                (response, retryWithMergedOptions) =>
                  response.statusCode === 401
                    ? retryWithMergedOptions({ headers: { authorization: 'fresh' } })
                    : response,
              ],
            },
          } satisfies OptionsInit;
          const api =
            order === 'before'
              ? got.extend(refresh, infuseGot({ infuse }))
              : got.extend(infuseGot({ infuse }), refresh);
          const token = respondWith('/token', 401, 503, 200);
          await expect(api(`${MOCK}/token`, { retry: fastRetry(2) }).json()).resolves.toEqual({
            status: 200,
          });
          expect(token.calls()).toBe(3);
          expect(events.all.map((r) => [r.outcome?.status, r.verdict])).toEqual([
            [401, 'success'],
            [503, 'failure'],
            [200, 'success'],
          ]);
        },
      );

      it('a network error counts as a failure; the caller gets got’s RequestError', async () => {
        const { client: api, events } = client({ failMax: 10 }, { retry: { limit: 0 } });
        networkError('/gone');
        const error = await rejectionOf(api(`${MOCK}/gone`));
        expect(error).toMatchObject({ name: 'RequestError' });
        expect(events.verdicts()).toEqual(['failure']);
      });

      it.each([
        ['got throws', { throwHttpErrors: true }],
        ['throwHttpErrors: false', { throwHttpErrors: false }],
        ['throwHttpErrors: false, body only', { throwHttpErrors: false, resolveBodyOnly: true }],
      ] as [string, OptionsInit][])('5xx fails and 4xx does not when %s', async (_name, extra) => {
        const {
          client: api,
          infuse,
          events,
        } = client({ failMax: 10 }, { retry: { limit: 0 }, ...extra });
        await expectOnly5xxFails((url) => api(url), infuse, events);
      });

      it.each([true, false])(
        'one predicate on the Outcome behaves the same (throwHttpErrors: %s)',
        async (throws) => {
          const { client: api, events } = client(
            { failMax: 10, exclude: [(outcome) => outcome.status === 501] },
            { retry: { limit: 0 }, throwHttpErrors: throws },
          );
          await expectStatusPredicate((url) => api(url), events);
        },
      );

      it('keys by the URL host as WHATWG URL writes it; outcomes carry no credentials or query', async () => {
        const { client: api, events } = client(
          { failMax: 10 },
          { prefixUrl: 'http://API.Test:80/v1/', retry: { limit: 0 } },
        );
        respondWith('/v1/items', 503);
        await rejectionOf(
          api.post('items', {
            searchParams: { token: 'abc' },
            username: 'user',
            password: 'secret',
            json: { a: 1 },
          }),
        );
        expect(events.all[0]).toMatchObject({
          key: 'api.test',
          verdict: 'failure',
          outcome: { method: 'POST', url: 'http://api.test/v1/items', status: 503 },
        });
        expect(JSON.stringify(events.all[0]!.outcome)).not.toMatch(/secret|abc/);
      });

      it('a custom key names the circuit', async () => {
        const { client: api, infuse } = client(
          { failMax: 1, key: (options) => `svc:${String(options.url)}` },
          { retry: { limit: 0 } },
        );
        respondWith('/a', 503);
        await rejectionOf(api(`${MOCK}/a`));
        expect(infuse.circuit(`svc:${MOCK}/a`).state).toBe('open');
      });

      it('pagination gives the same items as without the adapter, counting each page', async () => {
        const pages = [[1, 2], [3, 4], [5]];
        mocks.use(
          http.get(`${MOCK}/items`, ({ request }) => {
            const page = Number(new URL(request.url).searchParams.get('page') ?? '0');
            const headers: Record<string, string> =
              page + 1 < pages.length
                ? { link: `<${MOCK}/items?page=${page + 1}>; rel="next"` }
                : {};
            return HttpResponse.json(pages[page], { headers });
          }),
        );
        const { client: api, events } = client({ failMax: 10 });
        const guarded = await api.paginate.all<number>(`${MOCK}/items`);
        expect(guarded).toEqual(await got.paginate.all<number>(`${MOCK}/items`));
        expect(guarded).toEqual([1, 2, 3, 4, 5]);
        expect(events.verdicts()).toEqual(['success', 'success', 'success']);
      });

      it('.json(), .text() and .buffer() behave as without the adapter', async () => {
        const { client: api } = client({ failMax: 10 });
        respondWith('/ok', 200);
        const url = `${MOCK}/ok`;
        await expect(api(url).json()).resolves.toEqual(await got(url).json());
        await expect(api(url).text()).resolves.toBe(await got(url).text());
        await expect(api(url).buffer()).resolves.toEqual(await got(url).buffer());
        const [guarded, plain] = await Promise.all([
          api(url, { responseType: 'json' }),
          got(url, { responseType: 'json' }),
        ]);
        expect([guarded.statusCode, guarded.body]).toEqual([plain.statusCode, plain.body]);
      });
    });
  });
}

describe('infuseGot options', () => {
  it('rejects bad options with a TypeError naming them', () => {
    expect(() => infuseGot({ infuse: {} as unknown as Infuse })).toThrow(/infuse/);
    expect(() => infuseGot({ key: 'host' as never })).toThrow(/key/);
    expect(() => infuseGot({ resetTimeout: -5 })).toThrow(/resetTimeout/);
  });

  it('gives got nothing but handlers and hooks to extend with', () => {
    expect(Object.keys(infuseGot()).sort()).toEqual(['handlers', 'hooks']);
  });
});
