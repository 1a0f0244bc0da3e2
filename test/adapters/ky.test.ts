import type { KyInstance, Options } from 'ky';
import type { KyInstance as Ky2Instance } from 'ky2';
import { beforeAll, describe, expect, it } from 'vitest';
import { infuseKy } from '../../src/adapters/ky.js';
import {
  CircuitBreakerError,
  Infuse,
  isCircuitBreakerError,
  type InfuseOptions,
  type Outcome,
} from '../../src/index.js';
import {
  lateStore,
  mswHits,
  record,
  rejectionOf,
  unsupportedNode,
  useMsw,
  useServers,
} from './helpers.js';
import { eventually } from '../helpers/eventually.js';
import { kyClients, kyForms, type KyModule } from './ky-forms.js';

useMsw('bypass');
const net = useServers();

/** Typed against ky 2's own types: tsc checks that the extension fits ky 2's extend too. */
const extendKy2 = (ky2: Ky2Instance, infuse: Infuse, hooks: boolean): Ky2Instance =>
  hooks ? ky2.extend({ hooks: infuseKy({ infuse }) }) : ky2.extend(infuseKy({ infuse }));

for (const client of kyClients) {
  const unsupported = unsupportedNode(client.name, client.minNode);
  describe.skipIf(unsupported).each(kyForms)(`infuseKy with ${client.name}, $name`, (form) => {
    let mod: KyModule;
    /** ky with quick retries, as the parent every test extends. */
    let base: KyInstance;
    beforeAll(async () => {
      mod = await client.load();
      base = mod.default.create({ retry: { limit: 2, delay: () => 5 } });
    });

    function setup(options: InfuseOptions = {}, parent = base) {
      const infuse = new Infuse(options);
      return { infuse, api: form.extend(parent, { infuse }), recording: record(infuse) };
    }

    /** ky's TimeoutError; ky 1 gets one by name (see KyTimeoutError in ky-hooks.ts). */
    function expectKyTimeout(error: unknown): void {
      if (client.name === 'ky 1') {
        expect(error).toMatchObject({ name: 'TimeoutError', message: /^Request timed out: GET / });
        expect((error as { request: unknown }).request).toBeInstanceOf(Request);
        expect(mod.isTimeoutError(error)).toBe(true);
      } else {
        expect(error).toBeInstanceOf(mod.TimeoutError);
      }
    }

    it('rejects with CircuitBreakerError before sending once open, at once, and never retries it', async () => {
      const { infuse, api, recording } = setup({ failMax: 1 });
      const { origin, host } = net.up;
      const before = net.up.hits;
      // The first attempt's 500 opens the circuit; ky's retry meets the open circuit and stops.
      const first = await rejectionOf(api.get(`${origin}/status/500`));
      expect(first).toBeInstanceOf(CircuitBreakerError);
      expect(net.up.hits).toBe(before + 1);
      expect(infuse.circuit(host).state).toBe('open');

      const second = await rejectionOf(api.get(`${origin}/ok`));
      expect(second).toMatchObject({ code: 'ECIRCUITOPEN', key: host });
      // A per-request retry policy: the rejection still comes at once, not after ky's retry
      // delay (a minute here: the test would time out).
      const third = await rejectionOf(
        api.get(`${origin}/ok`, { retry: { limit: 2, delay: () => 60_000 } }),
      );
      expect(third).toBeInstanceOf(CircuitBreakerError);
      expect(net.up.hits).toBe(before + 1);
      expect(recording.verdicts()).toEqual(['failure', 'reject', 'reject', 'reject']);
    });

    it('waits for a store that answers later, and still ends a refused call at once', async () => {
      const infuse = new Infuse({ failMax: 1, store: lateStore() });
      const recording = record(infuse);
      const api = form.extend(base, { infuse });
      const { origin, host } = net.up;
      expect(await api.get(`${origin}/ok`).text()).toBe('ok');
      // The 500 opens the circuit; ky's retry is refused once the store has answered.
      expect(await rejectionOf(api.get(`${origin}/status/500`))).toBeInstanceOf(
        CircuitBreakerError,
      );
      const hits = net.up.hits;
      const refused = await rejectionOf(
        api.get(`${origin}/ok`, { retry: { limit: 2, delay: () => 60_000 } }),
      );
      expect(refused).toBeInstanceOf(CircuitBreakerError);
      expect(net.up.hits).toBe(hits);
      expect(infuse.circuit(host).state).toBe('open');
      expect(recording.verdicts()).toEqual(['success', 'failure', 'reject', 'reject']);
    });

    it("asks the parent's shouldRetry about every error but a CircuitBreakerError", async () => {
      const asked: unknown[] = [];
      const parent = mod.default.create({
        retry: {
          limit: 1,
          delay: () => 60_000,
          shouldRetry: ({ error }) => {
            asked.push(error);
            return false;
          },
        },
      });
      const { infuse, api } = setup({ failMax: 1 }, parent);
      const { origin, host } = net.up;
      const failed = await rejectionOf(api.get(`${origin}/status/500`));
      expect(failed).toBeInstanceOf(mod.HTTPError);
      expect(asked).toEqual([failed]);
      expect(infuse.circuit(host).state).toBe('open');
      expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
      expect(asked).toEqual([failed]);
    });

    it('rejects at once with a per-request shouldRetry: any with ky 1, one declining it with ky 2', async () => {
      const { infuse, api, recording } = setup({ failMax: 1 });
      const { origin, host } = net.up;
      await infuse.circuit(host).forceOpen();
      // ky 1 reads the limit the adapter set before it asks shouldRetry; ky 2 asks it about every
      // error, and the README tells how to decline a CircuitBreakerError there.
      const shouldRetry =
        client.name === 'ky 1'
          ? () => true
          : ({ error }: { error: Error }) => !isCircuitBreakerError(error);
      const refused = await rejectionOf(
        api.get(`${origin}/ok`, { retry: { limit: 2, delay: () => 60_000, shouldRetry } }),
      );
      expect(refused).toBeInstanceOf(CircuitBreakerError);
      expect(recording.verdicts()).toEqual(['reject']);
    });

    it('counts each attempt once, retries included', async () => {
      const { infuse, api, recording } = setup({ failMax: 10 });
      const { origin, host } = net.up;
      const before = net.up.hits;
      const error = await rejectionOf(api.get(`${origin}/status/500`));
      expect(error).toBeInstanceOf(mod.HTTPError);
      expect(net.up.hits).toBe(before + 3);
      expect(recording.verdicts()).toEqual(['failure', 'failure', 'failure']);
      // Network errors are retried too, and each attempt counts once.
      await rejectionOf(api.get(`${origin}/reset`));
      expect(net.up.hits).toBe(before + 6);
      expect(infuse.circuit(host).failCounter).toBe(6);
    });

    it('counts 5xx as a failure with and without throwHttpErrors, and 4xx never', async () => {
      const { infuse, api } = setup({ failMax: 10 });
      const response = await api.get('http://a.test/status/503', {
        throwHttpErrors: false,
        retry: 0,
      });
      expect(response.status).toBe(503);
      expect(infuse.circuit('a.test').failCounter).toBe(1);
      await rejectionOf(api.get('http://a.test/status/500', { retry: 0 }));
      expect(infuse.circuit('a.test').failCounter).toBe(2);
      for (const status of [400, 404, 429]) {
        const error = await rejectionOf(api.get(`http://a.test/status/${status}`, { retry: 0 }));
        expect(error).toBeInstanceOf(mod.HTTPError);
      }
      expect(await api.get('http://a.test/status/404', { throwHttpErrors: false })).toHaveProperty(
        'status',
        404,
      );
      // A success resets the consecutive count: the 4xx were successes.
      expect(infuse.circuit('a.test').failCounter).toBe(0);
    });

    it('counts a caller abort as nothing and gives back the half-open permit', async () => {
      const { infuse, api, recording } = setup({ failMax: 1 });
      const { origin, host } = net.up;
      const circuit = infuse.circuit(host);
      await circuit.halfOpen();
      const controller = new AbortController();
      const trial = api.get(`${origin}/hang`, { signal: controller.signal });
      await eventually(() => expect(circuit.snapshot().trialsInFlight).toBe(1));
      expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
      controller.abort();
      const error = await rejectionOf(trial);
      expect(error).toMatchObject({ name: 'AbortError' });
      expect(recording.verdicts()).toEqual(['reject', 'aborted']);
      expect(circuit.state).toBe('half-open');
      expect(await api.get(`${origin}/ok`).text()).toBe('ok');
      expect(circuit.state).toBe('closed');
    });

    it("counts ky's timeout as a failure, told apart from a caller abort", async () => {
      const { infuse, api, recording } = setup({ failMax: 10 });
      const { origin, host } = net.up;
      const timedOut = await rejectionOf(api.get(`${origin}/hang`, { timeout: 80, retry: 0 }));
      expectKyTimeout(timedOut);
      expect(recording.verdicts()).toEqual(['failure']);

      // The caller aborts well before ky's timeout: nothing is counted.
      const controller = new AbortController();
      const aborted = api.get(`${origin}/hang`, {
        timeout: 2_000,
        retry: 0,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 30);
      expect(await rejectionOf(aborted)).toMatchObject({ name: 'AbortError' });
      expect(recording.verdicts()).toEqual(['failure', 'aborted']);

      // A caller signal that is never aborted: ky's timeout is still a failure.
      const idle = new AbortController();
      const late = await rejectionOf(
        api.get(`${origin}/hang`, { timeout: 80, retry: 0, signal: idle.signal }),
      );
      expectKyTimeout(late);
      // Retried on timeout, each timed-out attempt counts once.
      await rejectionOf(
        api.get(`${origin}/hang`, { timeout: 60, retry: { limit: 1, retryOnTimeout: true } }),
      );
      expect(recording.verdicts()).toEqual(['failure', 'aborted', 'failure', 'failure', 'failure']);
      expect(infuse.circuit(host).failCounter).toBe(4);
    });

    it.runIf(client.name === 'ky 2')("counts ky 2's totalTimeout as a failure", async () => {
      const { api, recording } = setup();
      const error = await rejectionOf(
        api.get(`${net.up.origin}/hang`, {
          timeout: 5_000,
          totalTimeout: 100,
          retry: 0,
        } as Options),
      );
      expect(error).toBeInstanceOf(mod.TimeoutError);
      expect(recording.verdicts()).toEqual(['failure']);
    });

    it.runIf(client.name === 'ky 2')("fits ky 2's own types", async () => {
      const infuse = new Infuse();
      const api = extendKy2(
        mod.default as unknown as Ky2Instance,
        infuse,
        form.name.includes('hooks'),
      );
      expect(await api.get('http://a.test/json').json()).toEqual({ id: 7, name: 'Ada' });
      expect([...infuse.keys()]).toEqual(['a.test']);
    });

    it('keeps hosts independent and applies per-host circuits options', async () => {
      const { infuse, api } = setup({ failMax: 3, circuits: { 'b.test': { failMax: 1 } } });
      await rejectionOf(api.get('http://b.test/status/500', { retry: 0 }));
      expect(infuse.circuit('b.test').state).toBe('open');
      await rejectionOf(api.get('http://a.test/status/500', { retry: 0 }));
      await rejectionOf(api.get('http://a.test/status/500', { retry: 0 }));
      expect(infuse.circuit('a.test').state).toBe('closed');
      expect(await api.get('http://a.test/json').json()).toEqual({ id: 7, name: 'Ada' });
      expect(await rejectionOf(api.get('http://b.test/json'))).toBeInstanceOf(CircuitBreakerError);
      expect(mswHits.get('b.test')).toBe(1);
    });

    it("hands the caller ky's own errors, as ky gives them without the adapter", async () => {
      const { api } = setup();
      const { refused } = net;
      for (const url of [
        `${refused}/ok`,
        'http://a.test/network-error',
        'http://a.test/status/502',
      ]) {
        const plain = await rejectionOf(base.get(url, { retry: 0 }));
        const guarded = await rejectionOf(api.get(url, { retry: 0 }));
        expect(guarded).not.toBeInstanceOf(CircuitBreakerError);
        expect(guarded!.constructor).toBe(plain!.constructor);
        expect((guarded as Error).message).toBe((plain as Error).message);
      }
      const error = await rejectionOf(api.get('http://a.test/status/500', { retry: 0 }));
      expect(error).toBeInstanceOf(mod.HTTPError);
      expect(error).toHaveProperty('response.status', 500);
    });

    it('leaves .json(), .text() and friends as they are without the adapter', async () => {
      const { api } = setup();
      /** How a body method settled: its value, or the class and message of its error. */
      const settle = (promise: Promise<unknown>) =>
        promise.then(
          (value) => ({ value }),
          (error: unknown) => ({
            error: (error as Error).constructor,
            message: (error as Error).message,
          }),
        );
      const reads = [
        (ky: KyInstance) => ky.get('http://a.test/json').json(),
        (ky: KyInstance) => ky.get('http://a.test/text').text(),
        (ky: KyInstance) => ky.get('http://a.test/empty').json(),
        (ky: KyInstance) => ky.get('http://a.test/empty').text(),
        (ky: KyInstance) => ky.get('http://a.test/text').json(),
        (ky: KyInstance) =>
          ky
            .get('http://a.test/text')
            .arrayBuffer()
            .then((bytes) => new TextDecoder().decode(bytes)),
        (ky: KyInstance) => ky.get('http://a.test/json').then((response) => response.json()),
      ];
      for (const read of reads) {
        expect(await settle(read(api))).toEqual(await settle(read(base)));
      }
      expect(await api.get('http://a.test/json').json()).toEqual({ id: 7, name: 'Ada' });
    });

    it('gives exclude one Outcome shape: (o) => o.status === 501 excludes 501', async () => {
      const outcomes: Outcome[] = [];
      const { infuse, api } = setup({ failMax: 2, exclude: [(o) => o.status === 501] });
      infuse.on('success', (event) => outcomes.push(event.outcome));
      for (let i = 0; i < 3; i++) {
        await rejectionOf(api.post('http://a.test/status/501?token=x', { retry: 0 }));
      }
      expect(infuse.circuit('a.test').snapshot()).toMatchObject({ state: 'closed', failures: 0 });
      expect(outcomes[0]).toMatchObject({
        key: 'a.test',
        status: 501,
        method: 'POST',
        url: 'http://a.test/status/501',
      });
      await rejectionOf(api.get('http://a.test/status/502', { retry: 0 }));
      expect(infuse.circuit('a.test').failCounter).toBe(1);
    });

    it('sends a request with the bypass header or option past an open circuit, without the header', async () => {
      const { infuse, api, recording } = setup();
      const { origin, host } = net.up;
      await infuse.circuit(host).forceOpen();
      const before = net.up.hits;
      const viaHeader = await api.get(`${origin}/ok`, { headers: { 'x-infuse-bypass': '1' } });
      const viaOption = await api.get(`${origin}/ok`, { infuseBypass: true } as Options);
      expect([viaHeader.status, viaOption.status]).toEqual([200, 200]);
      expect(net.up.hits).toBe(before + 2);
      expect(net.up.headers.slice(-2).map((h) => h['x-infuse-bypass'])).toEqual([
        undefined,
        undefined,
      ]);
      expect(recording.all).toEqual([]);
      expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
    });

    it("wraps the parent's fetch and keeps the parent's numeric retry limit", async () => {
      const seen: string[] = [];
      const parent = mod.default.create({
        retry: 1,
        fetch: (input, init) => {
          seen.push(input instanceof Request ? input.url : String(input));
          return globalThis.fetch(input, init);
        },
      });
      const { infuse, api } = setup({ failMax: 5 }, parent);
      await rejectionOf(api.get('http://a.test/status/500'));
      expect(seen).toEqual(['http://a.test/status/500', 'http://a.test/status/500']);
      expect(infuse.circuit('a.test').failCounter).toBe(2);
    });

    it("sends a body again on each retry and hands fetch the options ky would (undici's dispatcher)", async () => {
      const bodies: string[] = [];
      const given: unknown[] = [];
      const dispatcher = { marker: true };
      const parent = mod.default.create({
        retry: { limit: 2, delay: () => 1 },
        fetch: async (input, init) => {
          bodies.push(await (input as Request).clone().text());
          given.push((init as { dispatcher?: unknown } | undefined)?.dispatcher);
          return new Response('down', { status: 503 });
        },
      });
      const { infuse, api } = setup({ failMax: 5 }, parent);
      const error = await rejectionOf(
        api.put('http://a.test/items/1', { json: { n: 1 }, dispatcher } as Options),
      );
      expect(error).toBeInstanceOf(mod.HTTPError);
      expect(bodies).toEqual(['{"n":1}', '{"n":1}', '{"n":1}']);
      expect(given).toEqual([dispatcher, dispatcher, dispatcher]);
      expect(infuse.circuit('a.test').failCounter).toBe(3);
    });

    it('stops a per-request retry on an instance that never retries', async () => {
      const parent = mod.default.create({ retry: 0 });
      const { infuse, api, recording } = setup({ failMax: 1 }, parent);
      const { origin, host } = net.up;
      const before = net.up.hits;
      await rejectionOf(api.get(`${origin}/status/500`));
      expect(net.up.hits).toBe(before + 1);
      expect(infuse.circuit(host).state).toBe('open');
      const opened = await rejectionOf(
        api.get(`${origin}/ok`, { retry: { limit: 2, delay: () => 60_000 } }),
      );
      expect(opened).toBeInstanceOf(CircuitBreakerError);
      expect(net.up.hits).toBe(before + 1);
      expect(recording.verdicts()).toEqual(['failure', 'reject']);
    });

    it('uses a custom key, given the Request ky sends', async () => {
      const infuse = new Infuse();
      const api = form.extend(base, {
        infuse,
        key: (request) => `${request.method} ${new URL(request.url).host}`,
      });
      await api.put('http://a.test/status/200');
      expect([...infuse.keys()]).toEqual(['PUT a.test']);
    });
  });
}
