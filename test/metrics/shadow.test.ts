/**
 * Shadow mode in the metrics: a call a circuit in shadow mode would have refused is counted as
 * `shadow-rejected` (and ran, uncounted: no duration, no success or failure), in Prometheus and
 * in OpenTelemetry alike.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { instrumentOpenTelemetry } from '../../src/metrics/opentelemetry.js';
import { registerPrometheus } from '../../src/metrics/prometheus.js';
import { boom, ignore, ok } from './calls.js';

/** Trips `api` in shadow mode, then makes three calls it would have refused (they run). */
async function shadowCalls(infuse: Infuse): Promise<void> {
  const circuit = infuse.circuit('api');
  await circuit.call(boom).catch(ignore);
  await circuit.call(ok);
  await circuit.call(ok);
  await circuit.call(boom).catch(ignore);
}

describe('shadow-rejected calls in the metrics', () => {
  it('Prometheus counts them under outcome="shadow-rejected", with no duration', async () => {
    const registry = new Registry();
    const infuse = new Infuse({ failMax: 1, shadow: true });
    const metrics = registerPrometheus(infuse, { registry });
    await shadowCalls(infuse);
    const text = await registry.metrics();
    expect(text).toContain('infuse_breaker_calls_total{circuit="api",outcome="failure"} 1');
    expect(text).toContain('infuse_breaker_calls_total{circuit="api",outcome="shadow-rejected"} 3');
    expect(text).not.toContain('outcome="success"');
    expect(text).not.toMatch(/infuse_breaker_call_duration_seconds_count\{[^}]*shadow/);
    expect(text).toContain('infuse_breaker_state{circuit="api",state="open"} 1');
    metrics.stop();
    await infuse.shutdown();
  });

  it('OpenTelemetry counts them under infuse_breaker.call.outcome "shadow-rejected"', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const infuse = new Infuse({ failMax: 1, shadow: true });
    const instrumentation = instrumentOpenTelemetry(infuse, { meterProvider });
    await shadowCalls(infuse);
    await reader.forceFlush();
    const calls = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics)
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === 'infuse_breaker.calls');
    const rows = calls?.dataPoints
      .map((point) => [point.attributes['infuse_breaker.call.outcome'], point.value])
      .sort();
    expect(rows).toEqual([
      ['failure', 1],
      ['shadow-rejected', 3],
    ]);
    instrumentation.stop();
    await infuse.shutdown();
    await meterProvider.shutdown();
  });
});
