import { metrics, type Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { Infuse, MemoryStore, type InfuseOptions } from '../../src/index.js';
import {
  instrumentOpenTelemetry,
  type OpenTelemetryMetrics,
  type OpenTelemetryOptions,
} from '../../src/metrics/opentelemetry.js';
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

const KEY = 'infuse_breaker.circuit.key';
const OUTCOME = 'infuse_breaker.call.outcome';
const STATE = 'infuse_breaker.circuit.state';

const opened: { infuse: Infuse[]; providers: MeterProvider[]; metrics: OpenTelemetryMetrics[] } = {
  infuse: [],
  providers: [],
  metrics: [],
};

/** A real SDK pipeline: MeterProvider → PeriodicExportingMetricReader → InMemoryMetricExporter. */
function pipeline(temporality = AggregationTemporality.CUMULATIVE) {
  const exporter = new InMemoryMetricExporter(temporality);
  // The interval never elapses in a test; collect() flushes on demand.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  opened.providers.push(meterProvider);
  /** Exports once and returns what the exporter received, by instrument name. */
  async function collect(): Promise<Map<string, MetricData>> {
    exporter.reset();
    await reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resource of exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
    }
    return byName;
  }
  return { meterProvider, collect };
}

function setup(
  options: InfuseOptions = {},
  temporality?: AggregationTemporality,
  extra: OpenTelemetryOptions = {},
) {
  const { meterProvider, collect } = pipeline(temporality);
  const infuse = new Infuse({ resetTimeout: 60_000, ...options });
  const instrumentation = instrumentOpenTelemetry(infuse, { meterProvider, ...extra });
  opened.infuse.push(infuse);
  opened.metrics.push(instrumentation);
  return { infuse, collect, instrumentation };
}

afterEach(async () => {
  for (const instrumentation of opened.metrics.splice(0)) instrumentation.stop();
  for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
  for (const provider of opened.providers.splice(0)) await provider.shutdown();
  metrics.disable();
});

/** `[attribute values..., value]` rows of a sum metric, sorted, for the named attributes. */
function rows(metric: MetricData | undefined, ...names: string[]): unknown[][] {
  if (metric === undefined) return [];
  return metric.dataPoints
    .map((point) => [...names.map((name) => point.attributes[name]), point.value])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function keysOf(metric: MetricData | undefined): Set<unknown> {
  return new Set(metric?.dataPoints.map((point) => point.attributes[KEY]) ?? []);
}

describe('instrumentOpenTelemetry', () => {
  it('names instruments after the semantic conventions, with units and kinds', async () => {
    const { infuse, collect } = setup({ failMax: 1 });
    await infuse.circuit('api').call(boom).catch(ignore);
    const exported = await collect();
    const described = [...exported.values()]
      .map(({ descriptor, dataPointType }) => [
        descriptor.name,
        descriptor.unit,
        DataPointType[dataPointType],
      ])
      .sort();
    expect(described).toEqual([
      ['infuse_breaker.call.duration', 's', 'HISTOGRAM'],
      ['infuse_breaker.calls', '{call}', 'SUM'],
      ['infuse_breaker.circuit.state', '{circuit}', 'SUM'],
      ['infuse_breaker.circuit.transitions', '{transition}', 'SUM'],
    ]);
    const monotonic = (name: string) => {
      const metric = exported.get(name);
      return metric?.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined;
    };
    expect(monotonic('infuse_breaker.calls')).toBe(true);
    expect(monotonic('infuse_breaker.circuit.transitions')).toBe(true);
    expect(monotonic('infuse_breaker.circuit.state')).toBe(false);
  });

  it('counts calls by outcome', async () => {
    const { infuse, collect } = setup(EVERY_OUTCOME_OPTIONS);
    const api = infuse.circuit('api.example');
    const expected = await callEveryOutcome(api);
    const calls = (await collect()).get('infuse_breaker.calls');
    expect(rows(calls, OUTCOME)).toEqual(expected);
    expect(keysOf(calls)).toEqual(new Set(['api.example']));
    await api.call(ok).catch(ignore);
    expect(rows((await collect()).get('infuse_breaker.calls'), KEY, OUTCOME)).toContainEqual([
      'api.example',
      'rejected',
      2,
    ]);
  });

  it('reports each circuit state as 1 for its state and 0 for the others', async () => {
    const { infuse, collect } = setup({ failMax: 1 });
    const modes = await circuitInEveryMode(infuse);

    let state = rows((await collect()).get('infuse_breaker.circuit.state'), KEY, STATE);
    expect(state).toHaveLength(4 * 5);
    expect(state.filter((row) => row[2] === 1)).toEqual(modes.map((mode) => [...mode, 1]));
    await infuse.circuit('down').close();
    state = rows((await collect()).get('infuse_breaker.circuit.state'), KEY, STATE);
    expect(state).toContainEqual(['down', 'closed', 1]);
    expect(state).toContainEqual(['down', 'open', 0]);
  });

  it('records durations in seconds in a histogram with the advised buckets; rejected calls have none', async () => {
    const { infuse, collect } = setup({ failMax: 1 });
    await infuse.circuit('slow').call(() => sleep(60));
    await infuse.circuit('slow').call(boom).catch(ignore);
    await infuse.circuit('slow').call(ok).catch(ignore);

    const histogram = (await collect()).get('infuse_breaker.call.duration');
    if (histogram?.dataPointType !== DataPointType.HISTOGRAM) throw new Error('no histogram');
    const outcomes = histogram.dataPoints.map((point) => point.attributes[OUTCOME]).sort();
    expect(outcomes).toEqual(['failure', 'success']);
    const success = histogram.dataPoints.find((point) => point.attributes[OUTCOME] === 'success');
    expect(success?.value.count).toBe(1);
    // Timers never fire early by more than a millisecond; a generous upper bound for busy machines.
    expect(success?.value.sum).toBeGreaterThanOrEqual(0.059);
    expect(success?.value.sum).toBeLessThan(10);
    expect(success?.value.buckets.boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]);
  });

  it('takes custom buckets', async () => {
    const { infuse, collect } = setup({}, undefined, { buckets: [0.5, 2] });
    await infuse.circuit('api').call(ok);
    const histogram = (await collect()).get('infuse_breaker.call.duration');
    if (histogram?.dataPointType !== DataPointType.HISTOGRAM) throw new Error('no histogram');
    expect(histogram.dataPoints[0]?.value.buckets.boundaries).toEqual([0.5, 2]);
  });

  it('counts transitions with from, to (forced modes included) and reason', async () => {
    const { infuse, collect } = setup({ failMax: 1 });
    const expected = await transitionEveryWay(infuse.circuit('api'));

    const transitions = (await collect()).get('infuse_breaker.circuit.transitions');
    expect(
      rows(
        transitions,
        'infuse_breaker.transition.from',
        'infuse_breaker.transition.to',
        'infuse_breaker.transition.reason',
      ),
    ).toEqual(expected);
    expect(keysOf(transitions)).toEqual(new Set(['api']));
  });

  it('does not count transitions of circuits only another Infuse on the same store holds', async () => {
    const store = new MemoryStore();
    const { infuse, collect } = setup({ store });
    const other = new Infuse({ store });
    opened.infuse.push(other);
    await other.circuit('not-mine').open();
    await other.circuit('shared').open();
    infuse.circuit('shared');
    await other.circuit('shared').close();
    expect(keysOf((await collect()).get('infuse_breaker.circuit.transitions'))).toEqual(
      new Set(['shared']),
    );
  });

  it('drops the series of a circuit the registry drops (delta temporality), and keeps the others', async () => {
    const { infuse, collect } = setup({ failMax: 1, maxCircuits: 2 }, AggregationTemporality.DELTA);
    const all = [
      'infuse_breaker.calls',
      'infuse_breaker.call.duration',
      'infuse_breaker.circuit.state',
      'infuse_breaker.circuit.transitions',
    ];
    let exported = new Map<string, MetricData>();
    const dropped = await dropGone(infuse, async () => {
      exported = await collect();
      for (const name of all) expect(keysOf(exported.get(name)), name).toContain('gone');
    });
    exported = await collect();
    for (const name of all) {
      const keys = keysOf(exported.get(name));
      for (const key of dropped) expect(keys, name).not.toContain(key);
    }
    // A circuit still held is observed at every collection, calls or not (unchanged: delta 0).
    const state = rows(exported.get('infuse_breaker.circuit.state'), KEY, STATE);
    expect(state.filter(([key]) => key === 'stays-open')).toEqual(
      ['closed', 'disabled', 'forced-open', 'half-open', 'open'].map((mode) => [
        'stays-open',
        mode,
        0,
      ]),
    );

    // A dropped circuit that comes back is counted again.
    await infuse.circuit('gone').call(ok);
    exported = await collect();
    expect(rows(exported.get('infuse_breaker.calls'), KEY, OUTCOME)).toEqual([
      ['gone', 'success', 1],
    ]);
    expect(keysOf(exported.get('infuse_breaker.circuit.state'))).toContain('gone');
  });

  it('stop() ends recording and observing', async () => {
    const { infuse, collect, instrumentation } = setup();
    await infuse.circuit('api').call(ok);
    expect(rows((await collect()).get('infuse_breaker.calls'), KEY, OUTCOME)).toEqual([
      ['api', 'success', 1],
    ]);
    instrumentation.stop();
    instrumentation.stop();
    await infuse.circuit('api').call(ok);
    await infuse.circuit('other').call(ok);
    const exported = await collect();
    expect(rows(exported.get('infuse_breaker.calls'), KEY, OUTCOME)).toEqual([
      ['api', 'success', 1],
    ]);
    expect(keysOf(exported.get('infuse_breaker.call.duration'))).toEqual(new Set(['api']));
    expect(keysOf(exported.get('infuse_breaker.circuit.state'))).not.toContain('other');
  });

  it('uses the global MeterProvider by default, or a given meter', async () => {
    const global = pipeline();
    metrics.setGlobalMeterProvider(global.meterProvider);
    const infuse = new Infuse();
    opened.infuse.push(infuse);
    opened.metrics.push(instrumentOpenTelemetry(infuse));
    await infuse.circuit('api').call(ok);
    expect(rows((await global.collect()).get('infuse_breaker.calls'), KEY, OUTCOME)).toEqual([
      ['api', 'success', 1],
    ]);

    const own = pipeline();
    const meter: Meter = own.meterProvider.getMeter('my-service');
    opened.metrics.push(instrumentOpenTelemetry(infuse, { meter }));
    await infuse.circuit('api').call(ok);
    expect(rows((await own.collect()).get('infuse_breaker.calls'), KEY, OUTCOME)).toEqual([
      ['api', 'success', 1],
    ]);
  });

  it('rejects bad arguments with a TypeError naming the option and value', () => {
    const infuse = new Infuse();
    opened.infuse.push(infuse);
    const { meterProvider } = pipeline();
    expect(() => instrumentOpenTelemetry('infuse' as unknown as Infuse)).toThrow(
      new TypeError('infuse-breaker: option "infuse" must be an Infuse instance; got "infuse"'),
    );
    expect(() => instrumentOpenTelemetry(infuse, { meter: {} as Meter })).toThrow(
      /option "meter" must be an OpenTelemetry Meter; got an object/,
    );
    expect(() =>
      instrumentOpenTelemetry(infuse, { meterProvider: 42 as unknown as MeterProvider }),
    ).toThrow(/option "meterProvider" must be an OpenTelemetry MeterProvider; got 42/);
    expect(() =>
      instrumentOpenTelemetry(infuse, { meterProvider, meter: meterProvider.getMeter('x') }),
    ).toThrow(/takes "meter" or "meterProvider", not both/);
    expect(() => instrumentOpenTelemetry(infuse, { meterProvider, buckets: [] })).toThrow(
      /option "buckets" must be a non-empty array of increasing numbers of seconds; got an array/,
    );
    expect(() =>
      instrumentOpenTelemetry(infuse, { provider: meterProvider } as OpenTelemetryOptions),
    ).toThrow(/unknown option "provider" of instrumentOpenTelemetry/);
  });
});
