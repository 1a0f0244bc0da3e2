// infuseUndici on undici 7 (`undici`, Node 20 and newer) and undici 8 (`undici8`, Node 22.19 and
// newer), through undici's own request() and fetch(), its retry interceptor, and Node's global
// fetch through setGlobalDispatcher.
import { describe, expect, it } from 'vitest';
import { infuseUndici, type InfuseUndiciOptions } from '../../src/adapters/undici.js';
import {
  CircuitBreakerError,
  findCircuitBreakerError,
  Infuse,
  isCircuitBreakerError,
} from '../../src/index.js';
import { record, rejectionOf, useServers } from './helpers.js';

type Undici = typeof import('undici');

const node = process.versions.node.split('.').map(Number) as [number, number];
const undici8Runs = node[0] > 22 || (node[0] === 22 && node[1] >= 19);
if (!undici8Runs) {
  console.warn(
    `Skipping the undici 8 adapter suite: undici 8 needs Node >= 22.19, this is ${process.version}`,
  );
}

const MAJORS: [string, boolean, () => Promise<Undici>][] = [
  ['undici 7', true, () => import('undici')],
  ['undici 8', undici8Runs, () => import('undici8') as unknown as Promise<Undici>],
];

describe.each(MAJORS)('infuseUndici on %s', (_name, runs, load) => {
  const net = useServers();

  async function agent(
    options: InfuseUndiciOptions,
    retries?: number,
  ): Promise<{ undici: Undici; dispatcher: ReturnType<Undici['Agent']['prototype']['compose']> }> {
    const undici = await load();
    const base = new undici.Agent();
    const dispatcher =
      retries === undefined
        ? base.compose(infuseUndici(options))
        : base.compose(
            infuseUndici(options),
            undici.interceptors.retry({
              maxRetries: retries,
              minTimeout: 1,
              maxTimeout: 2,
              statusCodes: [503],
            }),
          );
    return { undici, dispatcher };
  }

  it.runIf(runs)('an open circuit fails the dispatch before anything is sent', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const { undici, dispatcher } = await agent({ infuse });
    const events = record(infuse);
    await infuse.circuit(net.up.host).open();
    const seen = net.up.hits;
    const error = await rejectionOf(undici.request(`${net.up.origin}/ok`, { dispatcher }));
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect((error as CircuitBreakerError).key).toBe(net.up.host);
    expect(net.up.hits).toBe(seen);
    expect(events.verdicts()).toEqual(['reject']);
  });

  it.runIf(runs)('5xx fails, 4xx does not, and the status is counted once', async () => {
    const infuse = new Infuse({ failMax: 5 });
    const { undici, dispatcher } = await agent({ infuse });
    const events = record(infuse);
    for (const path of ['/status/503', '/status/404', '/ok']) {
      const { body } = await undici.request(net.up.origin + path, { dispatcher });
      await body.text();
    }
    expect(events.all.map((r) => [r.outcome?.status, r.verdict])).toEqual([
      [503, 'failure'],
      [404, 'success'],
      [200, 'success'],
    ]);
  });

  it.runIf(runs)(
    "each attempt of undici's retry counts once; a circuit that opens stops the retries",
    async () => {
      const infuse = new Infuse({ failMax: 2 });
      const { undici, dispatcher } = await agent({ infuse }, 5);
      const events = record(infuse);
      const seen = net.up.hits;
      const error = await rejectionOf(
        undici.request(`${net.up.origin}/status/503`, { dispatcher }),
      );
      expect(isCircuitBreakerError(error)).toBe(true);
      expect(net.up.hits - seen).toBe(2);
      expect(events.verdicts()).toEqual(['failure', 'failure', 'reject']);
    },
  );

  it.runIf(runs)(
    "through undici's fetch, a refusal is fetch's TypeError with the breaker's error as cause",
    async () => {
      const infuse = new Infuse({ failMax: 1 });
      const { undici, dispatcher } = await agent({ infuse });
      await expect(
        undici.fetch(`${net.up.origin}/status/500`, { dispatcher }).then((r) => r.status),
      ).resolves.toBe(500);
      const seen = net.up.hits;
      const error = await rejectionOf(undici.fetch(`${net.up.origin}/ok`, { dispatcher }));
      expect(error).toBeInstanceOf(TypeError);
      expect(findCircuitBreakerError(error)?.key).toBe(net.up.host);
      expect(net.up.hits).toBe(seen);
    },
  );

  it.runIf(runs)('network errors and timeouts fail; a caller abort counts as nothing', async () => {
    const infuse = new Infuse({ failMax: 10 });
    const { undici, dispatcher } = await agent({ infuse, timeout: 100 });
    const events = record(infuse);
    await rejectionOf(undici.request(`${net.up.origin}/reset`, { dispatcher }));
    const timedOut = await rejectionOf(undici.request(`${net.up.origin}/hang`, { dispatcher }));
    expect((timedOut as Error).name).toBe('TimeoutError');
    const controller = new AbortController();
    const aborted = undici.fetch(`${net.up.origin}/hang`, {
      dispatcher,
      signal: controller.signal,
    });
    await net.up.nextRequest();
    controller.abort();
    await rejectionOf(aborted);
    expect(events.verdicts(net.up.host)).toEqual(['failure', 'failure', 'aborted']);
  });

  it.runIf(runs)(
    'countAborts: an SDK-style bare abort() counts as a failure and opens the circuit',
    async () => {
      const infuse = new Infuse({ failMax: 2 });
      const { undici, dispatcher } = await agent({ infuse, countAborts: true });
      for (let i = 0; i < 2; i++) {
        const controller = new AbortController();
        const call = undici.fetch(`${net.up.origin}/hang`, {
          dispatcher,
          signal: controller.signal,
        });
        await net.up.nextRequest();
        controller.abort();
        await rejectionOf(call);
      }
      expect(infuse.circuit(net.up.host).state).toBe('open');
    },
  );

  it.runIf(runs)('an aborted half-open trial gives its permit back', async () => {
    const infuse = new Infuse({ failMax: 1, halfOpenMaxCalls: 1 });
    const { undici, dispatcher } = await agent({ infuse });
    await infuse.circuit(net.up.host).halfOpen();
    const controller = new AbortController();
    const trial = undici.fetch(`${net.up.origin}/hang`, { dispatcher, signal: controller.signal });
    await net.up.nextRequest();
    controller.abort();
    await rejectionOf(trial);
    const { statusCode } = await undici.request(`${net.up.origin}/ok`, { dispatcher });
    expect(statusCode).toBe(200);
    expect(infuse.circuit(net.up.host).state).toBe('closed');
  });

  it.runIf(runs)(
    'x-infuse-bypass sends a request past an open circuit, uncounted, without the header',
    async () => {
      const infuse = new Infuse({ failMax: 1 });
      const { undici, dispatcher } = await agent({ infuse });
      await infuse.circuit(net.up.host).open();
      const events = record(infuse);
      const { statusCode } = await undici.request(`${net.up.origin}/ok`, {
        dispatcher,
        headers: { 'x-infuse-bypass': '1', 'x-other': 'kept' },
      });
      expect(statusCode).toBe(200);
      expect(net.up.headers.at(-1)).toMatchObject({ 'x-other': 'kept' });
      expect(net.up.headers.at(-1)).not.toHaveProperty('x-infuse-bypass');
      expect(events.verdicts()).toEqual([]);
      await expect(
        undici.request(`${net.up.origin}/ok`, { dispatcher, headers: { 'x-infuse-bypass': 'y' } }),
      ).rejects.toThrow(/x-infuse-bypass/);
    },
  );

  it.runIf(runs)('hosts have their own circuits, keyed as the other adapters key', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const { undici, dispatcher } = await agent({ infuse });
    await rejectionOf(undici.request(`${net.refused}/ok`, { dispatcher }));
    expect(infuse.circuit(new URL(net.refused).host).state).toBe('open');
    const { statusCode } = await undici.request(`${net.up.origin}/ok`, { dispatcher });
    expect(statusCode).toBe(200);
  });
});

describe('infuseUndici and the global dispatcher', () => {
  const net = useServers();

  for (const [name, runs, load] of MAJORS) {
    it.runIf(runs)(`guards Node's global fetch through ${name}'s setGlobalDispatcher`, async () => {
      const undici = await load();
      const previous = undici.getGlobalDispatcher();
      const infuse = new Infuse({ failMax: 1 });
      undici.setGlobalDispatcher(previous.compose(infuseUndici({ infuse })));
      try {
        await expect(fetch(`${net.up.origin}/status/503`).then((r) => r.status)).resolves.toBe(503);
        const seen = net.up.hits;
        const error = await rejectionOf(fetch(`${net.up.origin}/ok`));
        expect(error).toBeInstanceOf(TypeError);
        expect(isCircuitBreakerError(error)).toBe(true);
        expect(net.up.hits).toBe(seen);
      } finally {
        undici.setGlobalDispatcher(previous);
      }
    });
  }

  it('rejects bad options at construction', () => {
    expect(() => infuseUndici({ timeout: 0 })).toThrow(/timeout/);
    expect(() => infuseUndici({ countAborts: 'yes' as never })).toThrow(/countAborts/);
    expect(() => infuseUndici({ failMax: 0 })).toThrow(/failMax/);
  });
});
