// One adapter contract, like the store contract: the same scenarios against every client, major
// and form, through a real local server. Each driver knows how its client sends a GET, aborts,
// retries and bypasses; the scenarios know nothing of the clients.
import axios from 'axios';
import axiosRetry from 'axios-retry';
import { describe, expect, it } from 'vitest';
import { infuseAxios } from '../../src/adapters/axios.js';
import { infuseFetch } from '../../src/adapters/fetch.js';
import { infuseGot } from '../../src/adapters/got.js';
import { infuseKy } from '../../src/adapters/ky.js';
import { infuseUndici } from '../../src/adapters/undici.js';
import { Infuse, findCircuitBreakerError } from '../../src/index.js';
import { lateStore, record, useServers } from './helpers.js';

/** How a request ended, as the contract sees it. */
type Ending = { status: number } | { refused: string } | { failed: string };

interface Request {
  readonly signal?: AbortSignal;
  readonly bypass?: boolean;
}

/** Sends one GET through a guarded client. */
type Send = (url: string, request?: Request) => Promise<Ending>;

interface Driver {
  readonly name: string;
  /** The oldest Node the client runs on. */
  readonly node: number;
  /** A client guarded by `infuse`; with `retries`, retrying 5xx that many times, 1 ms apart. */
  make(infuse: Infuse, retries?: number): Promise<Send>;
}

/** Turns what a client gave into an Ending: statuses from thrown HTTP errors included. */
async function ending(sent: Promise<number>): Promise<Ending> {
  try {
    return { status: await sent };
  } catch (error) {
    const refusal = findCircuitBreakerError(error);
    if (refusal !== undefined) return { refused: refusal.key };
    return { failed: (error as Error).name };
  }
}

/** The status of an HTTP error a client threw (ky's HTTPError, axios' AxiosError); else rethrows. */
function statusOf(error: unknown): number {
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  if (typeof status === 'number') return status;
  throw error;
}

const BYPASS = { 'x-infuse-bypass': '1' };

const drivers: Driver[] = [
  {
    name: 'fetch',
    node: 20,
    make: async (infuse) => {
      const fetch = infuseFetch({ infuse });
      return (url, { signal, bypass } = {}) =>
        ending(
          fetch(url, { ...(signal && { signal }), ...(bypass && { infuseBypass: true }) }).then(
            (r) => r.status,
          ),
        );
    },
  },
  ...(
    [
      ['ky 1', 20, () => import('ky')],
      ['ky 2', 22, () => import('ky2')],
    ] as const
  ).flatMap(([major, node, load]) =>
    (['extend', 'hooks'] as const).map((form): Driver => ({
      name: `${major} (${form})`,
      node,
      make: async (infuse, retries = 0) => {
        const { default: ky } = (await load()) as unknown as typeof import('ky');
        // ky retries a status only when it throws on it.
        const parent = ky.create({ retry: { limit: retries, delay: () => 1 } });
        const api =
          form === 'extend'
            ? parent.extend(infuseKy({ infuse }))
            : parent.extend({ hooks: infuseKy({ infuse }) });
        return (url, { signal, bypass } = {}) =>
          ending(
            api
              .get(url, { ...(signal && { signal }), ...(bypass && { headers: BYPASS }) })
              .then((r) => r.status, statusOf),
          );
      },
    })),
  ),
  ...(['instance', 'interceptor', 'synchronous interceptor'] as const).map((form): Driver => ({
    name: `axios (${form})`,
    node: 20,
    make: async (infuse, retries) => {
      const api = axios.create({ validateStatus: () => true });
      if (form === 'instance') infuseAxios(api, { infuse });
      else if (form === 'interceptor') api.interceptors.request.use(infuseAxios({ infuse }));
      else api.interceptors.request.use(infuseAxios({ infuse }), null, { synchronous: true });
      if (retries !== undefined) {
        axiosRetry(api, {
          retries,
          retryDelay: () => 1,
          retryCondition: (error) => error.response === undefined || error.response.status >= 500,
        });
        // axios-retry retries only what axios threw: 5xx must throw here.
        api.defaults.validateStatus = (status) => status < 500;
      }
      return (url, { signal, bypass } = {}) =>
        ending(
          api
            .get(url, { ...(signal && { signal }), ...(bypass && { infuseBypass: true }) })
            .then((r) => r.status, statusOf),
        );
    },
  })),
  ...(
    [
      ['got 14', 20, () => import('got')],
      ['got 16', 22, () => import('got16')],
    ] as const
  ).map(([name, node, load]): Driver => ({
    name,
    node,
    make: async (infuse, retries = 0) => {
      const { default: got } = (await load()) as unknown as typeof import('got');
      const api = got.extend(infuseGot({ infuse }), {
        throwHttpErrors: false,
        retry: { limit: retries, calculateDelay: ({ computedValue }) => (computedValue ? 1 : 0) },
      });
      return (url, { signal, bypass } = {}) =>
        ending(
          api(url, {
            ...(signal && { signal }),
            ...(bypass && { context: { infuseBypass: true } }),
          }).then((r) => r.statusCode),
        );
    },
  })),
  ...(
    [
      ['undici 7', 20, () => import('undici')],
      ['undici 8', 23, () => import('undici8')],
    ] as const
  ).map(([name, node, load]): Driver => ({
    name,
    node,
    make: async (infuse, retries) => {
      const undici = (await load()) as unknown as typeof import('undici');
      const interceptors = [infuseUndici({ infuse })];
      if (retries !== undefined) {
        interceptors.push(
          undici.interceptors.retry({
            maxRetries: retries,
            minTimeout: 1,
            maxTimeout: 2,
            statusCodes: [500, 502, 503, 504],
          }),
        );
      }
      const dispatcher = new undici.Agent().compose(...interceptors);
      return (url, { signal, bypass } = {}) =>
        ending(
          undici
            .request(url, {
              dispatcher,
              ...(signal && { signal }),
              ...(bypass && { headers: BYPASS }),
            })
            .then(async ({ statusCode, body }) => {
              await body.dump();
              return statusCode;
            }),
        );
    },
  })),
];

const node = Number(process.versions.node.split('.')[0]);

describe.each(drivers)('adapter contract: $name', (driver) => {
  const net = useServers();
  const runs = node >= driver.node;
  if (!runs) {
    console.warn(
      `Skipping the ${driver.name} contract: it needs Node >= ${driver.node}, this is ${process.version}`,
    );
  }
  const test = it.runIf(runs);

  test('an open circuit refuses before anything is sent', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const send = await driver.make(infuse);
    await infuse.circuit(net.up.host).open();
    const seen = net.up.hits;
    expect(await send(`${net.up.origin}/ok`)).toEqual({ refused: net.up.host });
    expect(net.up.hits).toBe(seen);
  });

  test('with a store that answers later, it sends once let through and refuses before sending', async () => {
    const infuse = new Infuse({ failMax: 1, store: lateStore() });
    const events = record(infuse);
    const send = await driver.make(infuse);
    expect(await send(`${net.up.origin}/ok`)).toEqual({ status: 200 });
    expect(await send(`${net.up.origin}/status/503`)).toEqual({ status: 503 });
    const seen = net.up.hits;
    expect(await send(`${net.up.origin}/ok`)).toEqual({ refused: net.up.host });
    expect(net.up.hits).toBe(seen);
    expect(events.verdicts()).toEqual(['success', 'failure', 'reject']);
  });

  test('5xx fails and 4xx does not, and the caller gets the status either way', async () => {
    const infuse = new Infuse({ failMax: 5 });
    const events = record(infuse);
    const send = await driver.make(infuse);
    expect(await send(`${net.up.origin}/status/503`)).toEqual({ status: 503 });
    expect(await send(`${net.up.origin}/status/404`)).toEqual({ status: 404 });
    expect(events.verdicts()).toEqual(['failure', 'success']);
  });

  // fetch has no retries of its own.
  it.runIf(runs && driver.name !== 'fetch')(
    'each attempt of a retry counts once; a circuit that opens stops the retries',
    async () => {
      const infuse = new Infuse({ failMax: 2 });
      const events = record(infuse);
      const send = await driver.make(infuse, 4);
      const seen = net.up.hits;
      expect(await send(`${net.up.origin}/status/503`)).toEqual({ refused: net.up.host });
      expect(net.up.hits - seen).toBe(2);
      expect(events.verdicts()).toEqual(['failure', 'failure', 'reject']);
    },
  );

  test("a network error fails; a caller's abort counts as nothing and gives its trial back", async () => {
    const infuse = new Infuse({ failMax: 5, halfOpenMaxCalls: 1 });
    const events = record(infuse);
    const send = await driver.make(infuse);
    expect(await send(`${net.refused}/ok`)).toMatchObject({ failed: expect.any(String) });
    await infuse.circuit(net.up.host).halfOpen();
    const controller = new AbortController();
    const trial = send(`${net.up.origin}/hang`, { signal: controller.signal });
    await net.up.nextRequest();
    controller.abort();
    expect(await trial).toMatchObject({ failed: expect.any(String) });
    expect(events.verdicts(net.up.host)).toEqual(['aborted']);
    expect(await send(`${net.up.origin}/ok`)).toEqual({ status: 200 });
    expect(infuse.circuit(net.up.host).state).toBe('closed');
  });

  test('a bypassed request goes past an open circuit, uncounted', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const events = record(infuse);
    const send = await driver.make(infuse);
    await infuse.circuit(net.up.host).open();
    expect(await send(`${net.up.origin}/ok`, { bypass: true })).toEqual({ status: 200 });
    expect(events.verdicts()).toEqual([]);
  });

  test('hosts are independent, and per-host options apply', async () => {
    const infuse = new Infuse({
      failMax: 3,
      circuits: { [new URL(net.refused).host]: { failMax: 1 } },
    });
    const send = await driver.make(infuse);
    await send(`${net.refused}/ok`);
    expect(await send(`${net.refused}/ok`)).toEqual({ refused: new URL(net.refused).host });
    expect(await send(`${net.up.origin}/ok`)).toEqual({ status: 200 });
  });
});
