// What each adapter adds per request around a stub transport: no sockets, no server, requests
// sent one after the other, the with and without subjects interleaved round after round in one
// process (bench/harness.ts), so that a microsecond is resolved. Run by `npm run bench:http`
// before the socket comparison, or alone: `npx tsx bench/stub.ts`.
//
// Each client keeps all of its own work (ky builds a Request, axios merges its config and runs its
// interceptors, got builds its Options, undici's request() builds its handler and body stream);
// only the transport is a stub that answers 200 at once: fetch and ky get a fetch that resolves a
// Response made once, axios an adapter, got a handler after the breaker's, undici a dispatcher.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine } from './harness.js';

const URL_ = 'http://api.example.test/users/1';

/** One client or form: the same request sent without and with the adapter. */
interface Pair {
  readonly name: string;
  readonly without: () => Promise<unknown>;
  readonly with: () => Promise<unknown>;
}

async function pairs(): Promise<Pair[]> {
  const { default: axios } = await import('axios');
  const { default: got } = await import('got');
  const { default: ky } = await import('ky');
  const undici = await import('undici');
  const { infuseAxios } = await import('../src/adapters/axios.js');
  const { infuseFetch } = await import('../src/adapters/fetch.js');
  const { infuseGot } = await import('../src/adapters/got.js');
  const { infuseKy } = await import('../src/adapters/ky.js');
  const { infuseUndici } = await import('../src/adapters/undici.js');

  // A Response is never read here, so one serves every request.
  const response = new Response('ok', { status: 200 });
  const stubFetch = (): Promise<Response> => Promise.resolve(response);

  const stubAdapter = (config: unknown) =>
    Promise.resolve({
      data: 'ok',
      status: 200,
      statusText: 'OK',
      headers: {},
      config,
      request: {},
    });
  const plainAxios = axios.create({ adapter: stubAdapter as never });
  const instanceAxios = axios.create({ adapter: stubAdapter as never });
  infuseAxios(instanceAxios);
  const interceptedAxios = axios.create({ adapter: stubAdapter as never });
  interceptedAxios.interceptors.request.use(infuseAxios());
  const syncAxios = axios.create({ adapter: stubAdapter as never });
  syncAxios.interceptors.request.use(infuseAxios(), null, { synchronous: true });
  // What axios itself charges for any interceptor registered without `synchronous: true`.
  const noopAxios = axios.create({ adapter: stubAdapter as never });
  noopAxios.interceptors.request.use((config) => config);

  // got's handler type is generic in what it resolves; the stub resolves what got's own would.
  const gotStub = (() => Promise.resolve({ statusCode: 200, body: 'ok' })) as never;
  const stubGot = got.extend({
    handlers: [gotStub],
  });
  const guardedGot = got.extend(infuseGot(), {
    handlers: [gotStub],
  });
  // What got itself charges here for any handler before the stub: the stub's promise is not got's
  // own, so got copies its promise's properties onto it once per handler that hands it back (with
  // got's own transport the last handler returns got's promise and nothing is copied).
  const passGot = got
    .extend({
      handlers: [
        ((options: unknown, next: (options: unknown) => unknown) => next(options)) as never,
      ],
    })
    .extend({ handlers: [gotStub] });

  const plainKy = ky.create({ fetch: stubFetch, retry: 0 });
  const guardedKy = plainKy.extend(infuseKy());
  const hookedKy = plainKy.extend({ hooks: infuseKy() });
  // ky 2 is published for Node >= 22: measured there only.
  const kys: Pair[] = [
    { name: 'ky 1', without: () => plainKy.get(URL_), with: () => guardedKy.get(URL_) },
    { name: 'ky 1 (hooks)', without: () => plainKy.get(URL_), with: () => hookedKy.get(URL_) },
  ];
  if (Number(process.versions.node.split('.')[0]) >= 22) {
    const { default: ky2 } = (await import('ky2')) as unknown as { default: typeof ky };
    const plainKy2 = ky2.create({ fetch: stubFetch, retry: 0 });
    const guardedKy2 = plainKy2.extend(infuseKy());
    const hookedKy2 = plainKy2.extend({ hooks: infuseKy() });
    // What ky 2 itself charges for any init hook: it copies a call's options for init hooks.
    const initKy2 = plainKy2.extend({ hooks: { init: [() => {}] } } as never);
    kys.push(
      { name: 'ky 2', without: () => plainKy2.get(URL_), with: () => guardedKy2.get(URL_) },
      { name: 'ky 2 (hooks)', without: () => plainKy2.get(URL_), with: () => hookedKy2.get(URL_) },
      {
        name: 'reference: ky 2 with a no-op init hook, no breaker',
        without: () => plainKy2.get(URL_),
        with: () => initKy2.get(URL_),
      },
    );
  }

  const stubDispatcher = stubDispatcherOf(undici.Dispatcher);
  const guardedDispatcher = stubDispatcher.compose(infuseUndici());
  const undiciRequest = async (dispatcher: unknown) => {
    const { body } = await undici.request(URL_, { dispatcher: dispatcher as never });
    await body.dump();
  };

  const guardedFetch = infuseFetch({ fetch: stubFetch });
  return [
    { name: 'fetch', without: () => stubFetch(), with: () => guardedFetch(URL_) },
    ...kys,
    {
      name: 'axios (instance)',
      without: () => plainAxios.get(URL_),
      with: () => instanceAxios.get(URL_),
    },
    {
      name: 'axios (interceptor)',
      without: () => plainAxios.get(URL_),
      with: () => interceptedAxios.get(URL_),
    },
    {
      name: 'axios (interceptor, synchronous: true)',
      without: () => plainAxios.get(URL_),
      with: () => syncAxios.get(URL_),
    },
    {
      name: 'reference: axios with a no-op interceptor, no breaker',
      without: () => plainAxios.get(URL_),
      with: () => noopAxios.get(URL_),
    },
    { name: 'got', without: () => stubGot(URL_), with: () => guardedGot(URL_) },
    {
      name: 'reference: got with a pass-through handler, no breaker',
      without: () => stubGot(URL_),
      with: () => passGot(URL_),
    },
    {
      // Both with two handlers before the stub: what the guard's own work adds, without got's
      // charge for a second handler.
      name: 'got, against got with a pass-through handler (the guard alone)',
      without: () => passGot(URL_),
      with: () => guardedGot(URL_),
    },
    {
      name: 'undici request()',
      without: () => undiciRequest(stubDispatcher),
      with: () => undiciRequest(guardedDispatcher),
    },
  ];
}

/** A dispatcher that answers 200 with an empty body at once, to either handler interface. */
function stubDispatcherOf(Base: typeof import('undici').Dispatcher) {
  class Stub extends Base {
    override dispatch(_options: unknown, handler: Record<string, (...args: unknown[]) => unknown>) {
      const controller = {
        aborted: false,
        paused: false,
        reason: null,
        abort() {},
        pause() {},
        resume() {},
      };
      queueMicrotask(() => {
        if (typeof handler.onRequestStart === 'function') {
          handler.onRequestStart(controller, {});
          handler.onResponseStart?.(controller, 200, {}, 'OK');
          handler.onResponseEnd?.(controller, {});
        } else {
          handler.onConnect?.(() => {});
          handler.onHeaders?.(200, [], () => {}, 'OK');
          handler.onComplete?.([]);
        }
      });
      return true;
    }
    override close(): Promise<void> {
      return Promise.resolve();
    }
    override destroy(): Promise<void> {
      return Promise.resolve();
    }
  }
  return new Stub();
}

async function sequential(n: number, send: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await send();
  return Number(process.hrtime.bigint() - start) / n;
}

/** Requests per batch: small enough to interleave finely, large enough for a µs clock. */
const BATCH = 50;

/**
 * `n` requests of each subject, in batches of {@link BATCH} taken in turn (which goes first
 * alternates), each batch timed in process CPU time: time the machine gives to other processes
 * is not counted, and a collection lands on either subject alike. ns per request of each batch.
 */
async function interleaved(n: number, pair: Pair): Promise<[number, number][]> {
  const batches: [number, number][] = [];
  for (let i = 0; i < n; i += BATCH) {
    let without: number;
    let withAdapter: number;
    if ((i / BATCH) % 2 === 0) {
      without = await cpuOf(pair.without);
      withAdapter = await cpuOf(pair.with);
    } else {
      withAdapter = await cpuOf(pair.with);
      without = await cpuOf(pair.without);
    }
    batches.push([(without * 1000) / BATCH, (withAdapter * 1000) / BATCH]);
  }
  return batches;
}

/** Process CPU µs (user + system) of one batch of requests. */
async function cpuOf(send: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) await send();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** What one pair measured: per pair of batches, ns per request without, with, and their difference. */
interface Measured {
  readonly name: string;
  readonly without: number[];
  readonly with: number[];
  readonly added: number[];
}

/**
 * Measures every pair and returns a Markdown table. Within a round each pair sends its two
 * subjects' requests in turn, so that the difference of one round compares the same moments of a
 * shared machine, in process CPU time; the table gives medians over every pair of batches (a
 * collection or a pause makes one batch an outlier, which a median ignores). A round of a pair lasts about `slice` ms,
 * whatever the client costs.
 */
export async function stubTable({
  rounds = 30,
  warmup = 10,
  slice = 40,
  only,
}: {
  rounds?: number;
  warmup?: number;
  slice?: number;
  only?: string | undefined;
} = {}): Promise<string> {
  const all = (await pairs()).filter((pair) => only === undefined || pair.name.includes(only));
  // Requests per slice, from a first timing of each client.
  const sizes = new Map<string, number>();
  for (const pair of all) {
    const perRequest = await sequential(200, pair.without);
    sizes.set(pair.name, Math.max(BATCH * 4, Math.round((slice * 1e6) / perRequest / 2)));
  }
  const measured: Measured[] = all.map(({ name }) => ({ name, without: [], with: [], added: [] }));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const [index, pair] of all.entries()) {
      const batches = await interleaved(sizes.get(pair.name)!, pair);
      if (round < warmup) continue;
      const row = measured[index]!;
      for (const [without, withAdapter] of batches) {
        row.without.push(without);
        row.with.push(withAdapter);
        row.added.push(withAdapter - without);
      }
    }
  }
  const us = (ns: number) => (ns / 1000).toFixed(2);
  const rows = measured.map((row) => {
    const added = sorted(row.added);
    // A distribution-free 95% interval of the median: the order statistics n/2 ± 0.98·√n.
    const half = 0.98 * Math.sqrt(added.length);
    const low = added[Math.max(0, Math.floor(added.length / 2 - half))] ?? NaN;
    const high = added[Math.min(added.length - 1, Math.ceil(added.length / 2 + half))] ?? NaN;
    return (
      `| ${row.name} | ${us(median(row.without))} | ${us(median(row.with))} | ` +
      `${us(median(row.added))} | ${us(low)} to ${us(high)} | ` +
      `${us(at(added, 0.25))} to ${us(at(added, 0.75))} | ${added.length} |`
    );
  });
  return [
    `stub transport: sequential requests, ${warmup} warm-up + ${rounds} measured rounds of about ${slice} ms per client, with and without in turn in batches of ${BATCH}, process CPU time`,
    '',
    '| client / form | without (CPU µs/request) | with | added (µs), median of batch pairs | 95% CI of that median | added, quartiles | batch pairs |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function at(values: readonly number[], p: number): number {
  return values[Math.min(values.length - 1, Math.floor((values.length - 1) * p))] ?? NaN;
}

function median(values: readonly number[]): number {
  return at(sorted(values), 0.5);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `npx tsx bench/stub.ts [rounds] [part of a name]`: `npx tsx bench/stub.ts 100 ky` measures ky only.
  const rounds = Number(process.argv[2] ?? 30);
  const only = process.argv[3];
  console.log(
    `machine: ${machine()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  console.log(await stubTable({ rounds, only }));
  console.log(
    `\nload average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}
