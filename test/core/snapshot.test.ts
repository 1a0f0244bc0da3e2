import { afterEach, describe, expect, it } from 'vitest';
import {
  CircuitBreakerError,
  Infuse,
  MemoryStore,
  type CircuitStatus,
  type DropEvent,
  type InfuseOptions,
} from '../../src/index.js';
import { failTimes } from '../helpers/calls.js';

let clock = 1_000_000;
const opened: Infuse[] = [];

function setup(options: InfuseOptions = {}): Infuse {
  const infuse = new Infuse({ store: new MemoryStore({ now: () => clock }), ...options });
  opened.push(infuse);
  return infuse;
}

const ok = (): Promise<string> => Promise.resolve('ok');

function statusOf(infuse: Infuse, key: string): CircuitStatus {
  const status = infuse.snapshot().find((entry) => entry.key === key);
  if (status === undefined) throw new Error(`no circuit ${key} in the snapshot`);
  return status;
}

afterEach(async () => {
  for (const infuse of opened.splice(0)) await infuse.shutdown();
});

describe('infuse.snapshot()', () => {
  it('is empty before any circuit is used, and lists circuits in key order', () => {
    const infuse = setup();
    expect(infuse.snapshot()).toEqual([]);
    for (const key of ['b.example', 'c.example', 'a.example']) infuse.circuit(key);
    expect(infuse.snapshot().map((status) => status.key)).toEqual([
      'a.example',
      'b.example',
      'c.example',
    ]);
  });

  it('describes a fresh closed circuit', () => {
    const infuse = setup();
    infuse.circuit('db');
    expect(infuse.snapshot()).toEqual([
      {
        key: 'db',
        state: 'closed',
        forced: null,
        mode: 'closed',
        failures: 0,
        window: { calls: 0, failures: 0 },
        trialsInFlight: 0,
        changedAt: clock,
        retryAfter: 0,
        generation: 0,
        rejections: 0,
      },
    ]);
  });

  it('counts consecutive failures and window counts while closed', async () => {
    const infuse = setup({ failMax: 10, failureRate: { threshold: 0.9, minimumCalls: 100 } });
    await infuse.circuit('api').call(ok);
    await failTimes(infuse, 'api', 3);
    const status = statusOf(infuse, 'api');
    expect(status.mode).toBe('closed');
    expect(status.failures).toBe(3);
    expect(status.window).toEqual({ calls: 4, failures: 3 });
  });

  it('reports an open circuit: time of the transition, retryAfter, rejections', async () => {
    const infuse = setup({ failMax: 2, resetTimeout: 30_000 });
    clock += 5;
    const trippedAt = clock;
    await failTimes(infuse, 'api', 2);
    clock += 10_000;
    const rejected = await infuse
      .circuit('api')
      .call(ok)
      .catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(CircuitBreakerError);
    await infuse
      .circuit('api')
      .call(ok)
      .catch(() => undefined);

    const status = statusOf(infuse, 'api');
    expect(status).toMatchObject({
      state: 'open',
      forced: null,
      mode: 'open',
      failures: 2,
      changedAt: trippedAt,
      retryAfter: 20_000,
      rejections: 2,
    });
    expect(status.generation).toBeGreaterThan(0);
  });

  it('does not move an open circuit past resetTimeout by itself: retryAfter is 0, state stays open', async () => {
    const infuse = setup({ failMax: 1, resetTimeout: 1_000 });
    await failTimes(infuse, 'api', 1);
    clock += 5_000;
    expect(statusOf(infuse, 'api')).toMatchObject({ state: 'open', retryAfter: 0 });
    expect(statusOf(infuse, 'api').state).toBe('open');
  });

  it('shows forced modes, with retryAfter Infinity while forced open', async () => {
    const infuse = setup();
    await infuse.circuit('down').forceOpen();
    await infuse.circuit('off').disable();
    await infuse
      .circuit('down')
      .call(ok)
      .catch(() => undefined);
    const [down, off] = infuse.snapshot();
    expect(down).toMatchObject({
      key: 'down',
      state: 'closed',
      forced: 'forced-open',
      mode: 'forced-open',
      retryAfter: Infinity,
      rejections: 1,
    });
    expect(off).toMatchObject({ key: 'off', forced: 'disabled', mode: 'disabled', retryAfter: 0 });
    // Infinity does not survive JSON; the documented stand-in is null.
    expect(JSON.parse(JSON.stringify(down)).retryAfter).toBeNull();
  });

  it('counts rejections of a saturated half-open circuit', async () => {
    const infuse = setup({ failMax: 1, resetTimeout: 1_000 });
    await failTimes(infuse, 'api', 1);
    clock += 1_000;
    let release!: () => void;
    const trial = infuse.circuit('api').call(() => new Promise<void>((r) => (release = r)));
    await expect(infuse.circuit('api').call(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(statusOf(infuse, 'api')).toMatchObject({
      state: 'half-open',
      trialsInFlight: 1,
      rejections: 1,
    });
    release();
    await trial;
    expect(statusOf(infuse, 'api')).toMatchObject({ state: 'closed', trialsInFlight: 0 });
  });

  it('returns a copy: changing it changes nothing, and later reads reflect new state', async () => {
    const infuse = setup({ failMax: 1 });
    const before = infuse.snapshot();
    infuse.circuit('api');
    expect(before).toEqual([]);
    const [first] = infuse.snapshot();
    await failTimes(infuse, 'api', 1);
    expect(first?.state).toBe('closed');
    expect(statusOf(infuse, 'api').state).toBe('open');
  });

  it('lists only circuits this instance holds, and none after shutdown', async () => {
    const store = new MemoryStore({ now: () => clock });
    const a = setup({ store });
    const b = setup({ store });
    a.circuit('only-a');
    await b.circuit('shared').open();
    a.circuit('shared');
    expect(a.snapshot().map((status) => [status.key, status.state])).toEqual([
      ['only-a', 'closed'],
      ['shared', 'open'],
    ]);
    expect(b.snapshot().map((status) => status.key)).toEqual(['shared']);
    expect([b.has('shared'), b.has('only-a')]).toEqual([true, false]);
    await a.shutdown();
    expect(a.snapshot()).toEqual([]);
  });
});

describe('the drop event', () => {
  it('names each idle circuit dropped by maxCircuits; busy ones are kept and not named', async () => {
    const infuse = setup({ maxCircuits: 2, failMax: 1 });
    const dropped: DropEvent[] = [];
    infuse.on('drop', (event) => dropped.push(event));
    await failTimes(infuse, 'tripped', 1);
    infuse.circuit('idle-1');
    infuse.circuit('idle-2');
    // Every circuit was used once; the sweep gives each a second chance before dropping it.
    infuse.circuit('idle-3');
    infuse.circuit('idle-4');
    const kept = infuse.snapshot().map((status) => status.key);
    expect(kept).toContain('tripped');
    expect(dropped.length).toBeGreaterThan(0);
    for (const { key } of dropped) {
      expect(key).toMatch(/^idle-/);
      expect(kept).not.toContain(key);
    }
    expect(kept.length + dropped.length).toBe(5);
  });

  it('a listener that uses a circuit while hearing of a drop does not break the sweep', () => {
    const infuse = setup({ maxCircuits: 1 });
    const heard: string[] = [];
    infuse.on('drop', ({ key }) => {
      heard.push(key);
      if (heard.length === 1) infuse.circuit('echo');
    });
    for (let i = 0; i < 6; i++) infuse.circuit(`k${i}`);
    expect(heard.length).toBeGreaterThan(0);
    const keys = infuse.snapshot().map((status) => status.key);
    for (const key of heard) expect(keys).not.toContain(key);
    expect(new Set(heard).size).toBe(heard.length);
    expect(keys.length + heard.length).toBe(7);
  });
});
