import { Registry, register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Infuse, MemoryStore, type InfuseOptions } from '../../src/index.js';
import { registerPrometheus, type PrometheusMetrics } from '../../src/metrics/prometheus.js';
import {
  EVERY_OUTCOME_OPTIONS,
  boom,
  callEveryOutcome,
  circuitInEveryMode,
  dropGone,
  ignore,
  ok,
  sleep,
  transitionEveryWay,
} from './calls.js';

const opened: { infuse: Infuse[]; metrics: PrometheusMetrics[] } = { infuse: [], metrics: [] };

function setup(options: InfuseOptions = {}) {
  const registry = new Registry();
  const infuse = new Infuse({ resetTimeout: 60_000, ...options });
  const metrics = registerPrometheus(infuse, { registry });
  opened.infuse.push(infuse);
  opened.metrics.push(metrics);
  return { registry, infuse, metrics };
}

afterEach(async () => {
  for (const metrics of opened.metrics.splice(0)) metrics.stop();
  for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
});

type Labels = Record<string, string | number>;

/** The series of one metric as prom-client's own JSON export shows them. */
async function series(
  registry: Registry,
  name: string,
): Promise<{ labels: Labels; value: number }[]> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return metric.values.map(({ labels, value }) => ({ labels: labels as Labels, value }));
}

async function value(
  registry: Registry,
  name: string,
  labels: Labels,
): Promise<number | undefined> {
  const found = (await series(registry, name)).find((entry) =>
    Object.entries(labels).every(([label, expected]) => entry.labels[label] === expected),
  );
  return found?.value;
}

describe('registerPrometheus', () => {
  it('counts calls by outcome in infuse_breaker_calls_total', async () => {
    const { registry, infuse } = setup(EVERY_OUTCOME_OPTIONS);
    const expected = await callEveryOutcome(infuse.circuit('api.example'));

    const text = await registry.metrics();
    expect(text).toContain('# TYPE infuse_breaker_calls_total counter');
    const calls = (await series(registry, 'infuse_breaker_calls_total'))
      .map(({ labels, value: count }) => [labels.outcome, count])
      .sort();
    expect(calls).toEqual(expected);
    expect(text).toContain('infuse_breaker_calls_total{circuit="api.example",outcome="failure"} 2');
  });

  it('shows each circuit state as one 0/1 series per state', async () => {
    const { registry, infuse } = setup({ failMax: 1 });
    const modes = await circuitInEveryMode(infuse);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE infuse_breaker_state gauge');
    expect(text).toContain('infuse_breaker_state{circuit="down",state="open"} 1');
    expect(text).toContain('infuse_breaker_state{circuit="down",state="closed"} 0');
    const states = await series(registry, 'infuse_breaker_state');
    expect(states).toHaveLength(4 * 5);
    const current = states
      .filter((entry) => entry.value === 1)
      .map(({ labels }) => [labels.circuit, labels.state])
      .sort();
    expect(current).toEqual(modes);

    await infuse.circuit('down').close();
    expect(await value(registry, 'infuse_breaker_state', { circuit: 'down', state: 'open' })).toBe(
      0,
    );
    expect(
      await value(registry, 'infuse_breaker_state', { circuit: 'down', state: 'closed' }),
    ).toBe(1);
  });

  it('records call durations in seconds in a histogram; rejected calls have none', async () => {
    const { registry, infuse } = setup({ failMax: 1 });
    await infuse.circuit('slow').call(() => sleep(60));
    await infuse.circuit('slow').call(boom).catch(ignore);
    await infuse.circuit('slow').call(ok).catch(ignore);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE infuse_breaker_call_duration_seconds histogram');
    const name = 'infuse_breaker_call_duration_seconds';
    const success = { circuit: 'slow', outcome: 'success' };
    expect(await value(registry, name, { ...success, le: 0.025 })).toBe(0);
    expect(await value(registry, name, { ...success, le: 10 })).toBe(1);
    const all = await series(registry, name);
    const sum = all.find(
      (entry) => entry.labels.outcome === 'success' && !('le' in entry.labels) && entry.value > 0,
    );
    // Timers never fire early by more than a millisecond; a generous upper bound for busy machines.
    expect(sum?.value).toBeGreaterThanOrEqual(0.059);
    expect(sum?.value).toBeLessThan(10);
    expect(all.some((entry) => entry.labels.outcome === 'failure')).toBe(true);
    expect(all.some((entry) => entry.labels.outcome === 'rejected')).toBe(false);
  });

  it('counts transitions with from, to (forced modes included) and reason', async () => {
    const { registry, infuse } = setup({ failMax: 1 });
    const expected = await transitionEveryWay(infuse.circuit('api'));
    const transitions = (await series(registry, 'infuse_breaker_transitions_total'))
      .map(({ labels, value: count }) => [labels.from, labels.to, labels.reason, count])
      .sort();
    expect(transitions).toEqual(expected);
  });

  it('does not count transitions of circuits only another Infuse on the same store holds', async () => {
    const store = new MemoryStore();
    const { registry, infuse } = setup({ store });
    const other = new Infuse({ store });
    opened.infuse.push(other);
    await other.circuit('not-mine').open();
    await other.circuit('shared').open();
    infuse.circuit('shared');
    await other.circuit('shared').close();

    const circuits = (await series(registry, 'infuse_breaker_transitions_total')).map(
      ({ labels }) => labels.circuit,
    );
    expect(circuits).toEqual(['shared']);
  });

  it('drops every series of a circuit the registry drops, and keeps the others', async () => {
    const { registry, infuse } = setup({ failMax: 1, maxCircuits: 2 });
    const circuitsIn = async (name: string) =>
      new Set((await series(registry, name)).map(({ labels }) => labels.circuit));
    const names = [
      'infuse_breaker_calls_total',
      'infuse_breaker_call_duration_seconds',
      'infuse_breaker_transitions_total',
      'infuse_breaker_state',
    ];
    const dropped = await dropGone(infuse, async () => {
      for (const name of names) expect(await circuitsIn(name), name).toContain('gone');
    });
    for (const name of names) {
      const circuits = await circuitsIn(name);
      expect(circuits, name).not.toContain('gone');
      expect(circuits, name).toContain('stays-open');
      for (const key of dropped) expect(circuits, name).not.toContain(key);
    }
    expect(await registry.metrics()).not.toContain('circuit="gone"');

    // A dropped circuit that comes back starts new series from zero.
    await infuse.circuit('gone').call(ok);
    expect(
      await value(registry, 'infuse_breaker_calls_total', { circuit: 'gone', outcome: 'success' }),
    ).toBe(1);
  });

  it('stop() unregisters every metric and stops counting; registering again works', async () => {
    const { registry, infuse, metrics } = setup();
    await infuse.circuit('api').call(ok);
    expect(metrics.names).toEqual([
      'infuse_breaker_state',
      'infuse_breaker_calls_total',
      'infuse_breaker_call_duration_seconds',
      'infuse_breaker_transitions_total',
    ]);
    metrics.stop();
    metrics.stop();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    await infuse.circuit('api').call(ok);

    const again = registerPrometheus(infuse, { registry });
    opened.metrics.push(again);
    await infuse.circuit('api').call(ok);
    expect(
      await value(registry, 'infuse_breaker_calls_total', { circuit: 'api', outcome: 'success' }),
    ).toBe(1);
  });

  it("uses prom-client's global registry by default, and a prefix when given", async () => {
    const infuse = new Infuse();
    opened.infuse.push(infuse);
    const global = registerPrometheus(infuse);
    opened.metrics.push(global);
    const prefixed = registerPrometheus(infuse, { prefix: 'checkout_' });
    opened.metrics.push(prefixed);
    await infuse.circuit('api').call(ok);
    const text = await register.metrics();
    expect(text).toContain('infuse_breaker_calls_total{circuit="api",outcome="success"} 1');
    expect(text).toContain(
      'checkout_infuse_breaker_calls_total{circuit="api",outcome="success"} 1',
    );
    global.stop();
    prefixed.stop();
    expect(register.getSingleMetric('infuse_breaker_calls_total')).toBeUndefined();
  });

  it('takes custom buckets', async () => {
    const registry = new Registry();
    const infuse = new Infuse();
    opened.infuse.push(infuse);
    opened.metrics.push(registerPrometheus(infuse, { registry, buckets: [0.5, 2] }));
    await infuse.circuit('api').call(ok);
    const bounds = (await series(registry, 'infuse_breaker_call_duration_seconds'))
      .map(({ labels }) => labels.le)
      .filter((le) => le !== undefined);
    expect(bounds).toEqual([0.5, 2, '+Inf']);
  });

  it('refuses a second registration under the same names with a clear error', () => {
    const { registry, infuse } = setup();
    expect(() => registerPrometheus(infuse, { registry })).toThrow(
      /already has a metric named "infuse_breaker_state".*prefix/,
    );
  });

  it('rejects bad arguments with a TypeError naming the option and value', async () => {
    const infuse = new Infuse();
    opened.infuse.push(infuse);
    const registry = new Registry();
    expect(() => registerPrometheus({} as unknown as Infuse)).toThrow(
      new TypeError('infuse-breaker: option "infuse" must be an Infuse instance; got an object'),
    );
    expect(() => registerPrometheus(infuse, { registry: {} as unknown as Registry })).toThrow(
      /option "registry" must be a prom-client Registry; got an object/,
    );
    expect(() => registerPrometheus(infuse, { registry, prefix: '9lives' })).toThrow(
      /option "prefix" must be .*; got "9lives"/,
    );
    expect(() => registerPrometheus(infuse, { registry, buckets: [1, 0.5] })).toThrow(
      /option "buckets" must be a non-empty array of increasing numbers/,
    );
    expect(() =>
      registerPrometheus(infuse, { registry, prefx: 'x' } as unknown as { prefix: string }),
    ).toThrow(/unknown option "prefx" of registerPrometheus; known options are: registry/);
    await expect(registry.getMetricsAsJSON()).resolves.toEqual([]);
  });
});
