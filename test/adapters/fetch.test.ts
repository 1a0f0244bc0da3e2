import { describe, expect, it } from 'vitest';
import { infuseFetch } from '../../src/adapters/fetch.js';
import { CircuitBreakerError, Infuse, type Outcome } from '../../src/index.js';
import { lateStore, mswHits, record, rejectionOf, useMsw, useServers } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

// Made before msw starts: the adapter must still see msw's fetch, looked up per call.
const early = new Infuse({ failMax: 2 });
const earlyFetch = infuseFetch({ infuse: early });

useMsw('bypass');
const net = useServers();

describe('infuseFetch', () => {
  it('looks globalThis.fetch up at call time (msw installed after the adapter was made)', async () => {
    const response = await earlyFetch('http://a.test/json');
    expect(await response.json()).toEqual({ id: 7, name: 'Ada' });
    expect(early.circuit('a.test').snapshot().failures).toBe(0);
  });

  it('rejects with CircuitBreakerError while open, and the server sees no request', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const fetch = infuseFetch({ infuse });
    const { origin, host } = net.up;
    expect((await fetch(`${origin}/status/500`)).status).toBe(500);
    expect((await fetch(`${origin}/status/500`)).status).toBe(500);
    expect(infuse.circuit(host).state).toBe('open');
    const hits = net.up.hits;
    const error = await rejectionOf(fetch(`${origin}/ok`));
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(error).toMatchObject({ code: 'ECIRCUITOPEN', key: host, state: 'open' });
    expect(net.up.hits).toBe(hits);
  });

  it('waits for a store that answers later, then sends or refuses', async () => {
    const infuse = new Infuse({ failMax: 1, store: lateStore() });
    const recording = record(infuse);
    const fetch = infuseFetch({ infuse });
    const { origin, host } = net.up;
    expect(await (await fetch(`${origin}/ok`)).text()).toBe('ok');
    expect((await fetch(`${origin}/status/500`)).status).toBe(500);
    const hits = net.up.hits;
    expect(await rejectionOf(fetch(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
    expect(net.up.hits).toBe(hits);
    expect(infuse.circuit(host).state).toBe('open');
    expect(recording.verdicts()).toEqual(['success', 'failure', 'reject']);
  });

  it('counts 5xx as failures and 4xx never', async () => {
    const infuse = new Infuse({ failMax: 3 });
    const fetch = infuseFetch({ infuse });
    for (let i = 0; i < 10; i++) expect((await fetch('http://a.test/status/404')).status).toBe(404);
    expect(infuse.circuit('a.test').snapshot()).toMatchObject({ state: 'closed', failures: 0 });
    for (const code of [500, 503, 504]) await fetch(`http://a.test/status/${code}`);
    expect(infuse.circuit('a.test').state).toBe('open');
  });

  it('counts refused connections and resets as failures, handing back fetch’s own error', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const fetch = infuseFetch({ infuse });
    const { refused } = net;
    const plain = await rejectionOf(globalThis.fetch(`${refused}/ok`));
    const guarded = await rejectionOf(fetch(`${refused}/ok`));
    expect(guarded).toBeInstanceOf(TypeError);
    expect(guarded).toMatchObject({ message: (plain as Error).message });
    expect((guarded as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });

    const reset = await rejectionOf(fetch(`${net.up.origin}/reset`));
    expect(reset).toBeInstanceOf(TypeError);
    expect(infuse.circuit(new URL(refused).host).snapshot().failures).toBe(1);
    expect(infuse.circuit(net.up.host).snapshot().failures).toBe(1);
  });

  it('counts a TimeoutError (AbortSignal.timeout) as a failure and hands it back unchanged', async () => {
    const infuse = new Infuse();
    const recording = record(infuse);
    const fetch = infuseFetch({ infuse });
    const error = await rejectionOf(
      fetch(`${net.up.origin}/slow/2000`, { signal: AbortSignal.timeout(50) }),
    );
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(recording.verdicts()).toEqual(['failure']);
    expect(infuse.circuit(net.up.host).snapshot().failures).toBe(1);
  });

  it('counts a caller abort as nothing and hands back the signal’s reason', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const recording = record(infuse);
    const fetch = infuseFetch({ infuse });
    const controller = new AbortController();
    const pending = fetch(`${net.up.origin}/hang`, { signal: controller.signal });
    await net.up.nextRequest();
    controller.abort();
    const error = await rejectionOf(pending);
    expect(error).toBe(controller.signal.reason);
    expect(error).toMatchObject({ name: 'AbortError' });
    // A custom reason is still the caller's abort, even though it is not named AbortError.
    const custom = new AbortController();
    const second = fetch(`${net.up.origin}/hang`, { signal: custom.signal });
    custom.abort(new Error('navigated away'));
    expect(await rejectionOf(second)).toBe(custom.signal.reason);
    expect(recording.verdicts()).toEqual(['aborted', 'aborted']);
    expect(infuse.circuit(net.up.host).state).toBe('closed');
  });

  it('gives back the half-open permit of an aborted trial: the next call is the trial', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const fetch = infuseFetch({ infuse });
    const { origin, host } = net.up;
    const circuit = infuse.circuit(host);
    await circuit.halfOpen();
    const controller = new AbortController();
    const trial = fetch(`${origin}/hang`, { signal: controller.signal });
    await eventually(() => expect(circuit.snapshot().trialsInFlight).toBe(1));
    // The only permit is taken: another call is refused.
    expect(await rejectionOf(fetch(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
    controller.abort();
    await rejectionOf(trial);
    expect(circuit.state).toBe('half-open');
    expect((await fetch(`${origin}/ok`)).status).toBe(200);
    expect(circuit.state).toBe('closed');
  });

  it('keeps hosts independent and applies per-host circuits options', async () => {
    const infuse = new Infuse({ failMax: 3, circuits: { 'b.test': { failMax: 1 } } });
    const fetch = infuseFetch({ infuse });
    await fetch('http://b.test/status/500');
    expect(infuse.circuit('b.test').state).toBe('open');
    await fetch('http://a.test/status/500');
    await fetch('http://a.test/status/500');
    expect(infuse.circuit('a.test').state).toBe('closed');
    expect((await fetch('http://a.test/json')).status).toBe(200);
    expect(await rejectionOf(fetch('http://b.test/json'))).toBeInstanceOf(CircuitBreakerError);
    expect(mswHits.get('b.test')).toBe(1);
  });

  it('gives exclude and isFailure one Outcome shape: (o) => o.status === 501 excludes 501', async () => {
    const outcomes: Outcome[] = [];
    const infuse = new Infuse({
      failMax: 2,
      exclude: [(o) => o.status === 501],
      isFailure: (o) => {
        outcomes.push(o);
        return 'error' in o || (o.status ?? 0) >= 500;
      },
    });
    const fetch = infuseFetch({ infuse });
    for (let i = 0; i < 3; i++) await fetch('http://a.test/status/501?token=x#top');
    expect(infuse.circuit('a.test').snapshot()).toMatchObject({ state: 'closed', failures: 0 });
    await rejectionOf(fetch('http://a.test/network-error', { method: 'post' }));
    expect(outcomes[0]).toMatchObject({
      key: 'a.test',
      status: 501,
      method: 'GET',
      url: 'http://a.test/status/501',
    });
    expect(outcomes[0]!.duration).toBeGreaterThanOrEqual(0);
    expect(outcomes[3]).toMatchObject({ key: 'a.test', method: 'POST' });
    expect(outcomes[3]!.error).toBeInstanceOf(TypeError);
    expect(infuse.circuit('a.test').snapshot().failures).toBe(1);
  });

  it('keys on the WHATWG host: lower case, default port dropped', async () => {
    const infuse = new Infuse();
    const fetch = infuseFetch({ infuse });
    await fetch('http://A.TEST:80/json?x=1');
    await fetch(new Request('http://a.Test/json'));
    await fetch(new URL('http://a.TEST/json'));
    expect([...infuse.keys()]).toEqual(['a.test']);
  });

  it('uses a custom key, given the Request or the url, method and headers', async () => {
    const seen: string[] = [];
    const infuse = new Infuse();
    const fetch = infuseFetch({
      infuse,
      key: (request) => {
        seen.push(`${request.method} ${request.url} ${request.headers.get('x-tenant')}`);
        return `tenant-${request.headers.get('x-tenant')}`;
      },
    });
    // Written unlike Request.url would write it: the key still sees the normalised URL.
    await fetch('http://A.TEST:80/json', { headers: { 'x-tenant': 'blue' } });
    await fetch(
      new Request('http://a.test/status/200', { method: 'PUT', headers: { 'x-tenant': 'red' } }),
    );
    expect(seen).toEqual(['GET http://a.test/json blue', 'PUT http://a.test/status/200 red']);
    expect([...infuse.keys()].sort()).toEqual(['tenant-blue', 'tenant-red']);
    const bad = infuseFetch({ key: () => '' });
    await expect(bad('http://a.test/json')).rejects.toThrow(/option "key" must return/);
  });

  describe('bypass', () => {
    it('sends a request with x-infuse-bypass past an open circuit, without the header', async () => {
      const infuse = new Infuse();
      const recording = record(infuse);
      const fetch = infuseFetch({ infuse });
      const { origin, host } = net.up;
      await infuse.circuit(host).forceOpen();
      const before = net.up.hits;
      const viaInit = await fetch(`${origin}/ok`, {
        headers: { 'X-Infuse-Bypass': '1', 'x-keep': 'yes' },
      });
      const viaRequest = await fetch(
        new Request(`${origin}/ok`, { headers: new Headers({ 'x-infuse-bypass': 'true' }) }),
      );
      const viaOption = await fetch(`${origin}/ok`, { infuseBypass: true });
      expect([viaInit.status, viaRequest.status, viaOption.status]).toEqual([200, 200, 200]);
      expect(net.up.hits).toBe(before + 3);
      const sent = net.up.headers.slice(-3);
      expect(sent.map((h) => h['x-infuse-bypass'])).toEqual([undefined, undefined, undefined]);
      expect(sent[0]!['x-keep']).toBe('yes');
      expect(recording.all).toEqual([]);
    });

    it('does not bypass with x-infuse-bypass: 0 (still removed) and rejects bad values', async () => {
      const infuse = new Infuse();
      const fetch = infuseFetch({ infuse });
      const { origin, host } = net.up;
      await infuse.circuit(host).forceOpen();
      const error = await rejectionOf(
        fetch(`${origin}/ok`, { headers: [['x-infuse-bypass', '0']] }),
      );
      expect(error).toBeInstanceOf(CircuitBreakerError);
      await expect(
        fetch(`${origin}/ok`, { headers: { 'x-infuse-bypass': 'yes' } }),
      ).rejects.toThrow(/header "x-infuse-bypass" must be "1", "true", "0" or "false"; got "yes"/);
      await expect(
        fetch(`${origin}/ok`, { infuseBypass: 'yes' as unknown as boolean }),
      ).rejects.toThrow(/option "infuseBypass" must be a boolean; got "yes"/);
    });
  });

  describe('options', () => {
    it('wraps the given fetch', async () => {
      const calls: string[] = [];
      const inner = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
        calls.push(input instanceof Request ? input.url : input.toString());
        return globalThis.fetch(input, init);
      };
      const fetch = infuseFetch({ fetch: inner, failMax: 1 });
      await fetch('http://a.test/status/500');
      await rejectionOf(fetch('http://a.test/json'));
      expect(calls).toEqual(['http://a.test/status/500']);
    });

    it('rejects bad options with a TypeError naming the option', () => {
      expect(() => infuseFetch({ fetch: 5 as never })).toThrow(
        'infuse-breaker: option "fetch" must be a function; got 5',
      );
      expect(() => infuseFetch({ infuse: new Infuse(), failMax: 2 } as never)).toThrow(
        /both "infuse" and Infuse options \(failMax\)/,
      );
      expect(() => infuseFetch({ failMax: 0 })).toThrow(
        /option "failMax" must be a positive integer/,
      );
    });

    it('leaves a URL it cannot parse to fetch, which rejects with its own error', async () => {
      const infuse = new Infuse();
      const fetch = infuseFetch({ infuse });
      const plain = await rejectionOf(globalThis.fetch('/relative'));
      const guarded = await rejectionOf(fetch('/relative'));
      expect(guarded).toBeInstanceOf(TypeError);
      expect((guarded as Error).message).toBe((plain as Error).message);
      expect([...infuse.keys()]).toEqual([]);
    });

    it('leaves a URL with credentials to fetch, which refuses it before sending', async () => {
      const infuse = new Infuse({ failMax: 1 });
      const fetch = infuseFetch({ infuse });
      const plain = await rejectionOf(globalThis.fetch('http://user:secret@a.test/json'));
      const guarded = await rejectionOf(fetch('http://user:secret@a.test/json'));
      expect((guarded as Error).message).toBe((plain as Error).message);
      expect(infuse.circuit('a.test').snapshot()).toMatchObject({ state: 'closed', failures: 0 });
      expect(mswHits.get('a.test')).toBeUndefined();
    });
  });
});
