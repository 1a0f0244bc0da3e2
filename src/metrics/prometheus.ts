import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';
import type { Infuse } from '../core/infuse.js';
import { invalid } from '../core/options.js';
import type { CircuitMode, TransitionReason } from '../core/types.js';
import {
  CALL_OUTCOMES,
  MODES,
  TIMED_OUTCOMES,
  checkBuckets,
  checkInfuse,
  checkMethods,
  checkOptions,
  watch,
  type CallOutcome,
} from './shared.js';

/** Options of {@link registerPrometheus}. */
export interface PrometheusOptions {
  /**
   * The prom-client registry to register the metrics with.
   * @default prom-client's global `register`
   */
  readonly registry?: Registry;
  /**
   * Prepended to every metric name, as prom-client's `collectDefaultMetrics` does; use it to tell
   * apart two `Infuse` instances that share a registry.
   * @default ''
   * @example 'checkout_' // checkout_infuse_breaker_calls_total
   */
  readonly prefix?: string;
  /**
   * Upper bounds, in seconds, of the call duration histogram's buckets.
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] (prom-client's defaults)
   */
  readonly buckets?: readonly number[];
}

/** The metrics {@link registerPrometheus} registered. */
export interface PrometheusMetrics {
  /** The registered metric names, prefix included. */
  readonly names: readonly string[];
  /** Stops counting and removes every metric from the registry. Safe to call more than once. */
  stop(): void;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Exposes the circuits of `infuse` as Prometheus metrics in a prom-client registry:
 *
 * - `infuse_breaker_state{circuit, state}` (gauge): 1 for the state the circuit is in, 0 for the
 *   others, one series per state (`closed`, `open`, `half-open`, `forced-open`, `disabled`), like an
 *   OpenMetrics StateSet. `sum by (state) (infuse_breaker_state)` counts circuits per state.
 * - `infuse_breaker_calls_total{circuit, outcome}` (counter): calls by outcome, one of `success`,
 *   `failure`, `excluded`, `rejected` (refused by the circuit, never ran), `shadow-rejected` (a
 *   circuit in shadow mode would have refused it and let it run; its outcome is not counted) or
 *   `aborted`.
 * - `infuse_breaker_call_duration_seconds{circuit, outcome}` (histogram): duration of calls that
 *   ran and were counted (every outcome but `rejected` and `shadow-rejected`).
 * - `infuse_breaker_transitions_total{circuit, from, to, reason}` (counter): changes of state or
 *   forced mode; `from` and `to` take the state values above, `reason` is a `TransitionReason`
 *   (`remote` when another process sharing the store made the change).
 *
 * The state gauge is read from {@link Infuse.snapshot} at each scrape. When the registry drops an
 * idle circuit (`maxCircuits`), every series of that circuit is removed, so the number of series
 * stays bounded by the circuits the `Infuse` holds.
 *
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { registerPrometheus } from 'infuse-breaker/prometheus';
 *
 * const metrics = registerPrometheus(infuse);
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
 * // later: metrics.stop();
 * ```
 */
export function registerPrometheus(infuse: Infuse, options?: PrometheusOptions): PrometheusMetrics {
  checkInfuse(infuse);
  const given = checkOptions(options, ['registry', 'prefix', 'buckets'], 'registerPrometheus');
  const registry = checkMethods('registry', 'a prom-client Registry', given.registry ?? register, [
    'registerMetric',
    'getSingleMetric',
    'removeSingleMetric',
  ]);
  const prefix = given.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    invalid('prefix', 'a string of letters, digits, "_" and ":" not starting with a digit', prefix);
  }
  const buckets = given.buckets === undefined ? DEFAULT_BUCKETS : checkBuckets(given.buckets);

  const name = (suffix: string): string => `${prefix}infuse_breaker_${suffix}`;
  const names = ['state', 'calls_total', 'call_duration_seconds', 'transitions_total'].map(name);
  for (const taken of names) {
    if (registry.getSingleMetric(taken) !== undefined) {
      throw new Error(
        `infuse-breaker: the registry already has a metric named "${taken}"; ` +
          'give each Infuse its own "prefix" or "registry"',
      );
    }
  }
  const registers = [registry];

  new Gauge({
    name: name('state'),
    help: 'Circuit state: 1 for the state the circuit is in, 0 for the others.',
    labelNames: ['circuit', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { key, mode } of infuse.snapshot()) {
        for (const state of MODES) this.set({ circuit: key, state }, mode === state ? 1 : 0);
      }
    },
  });
  const calls = new Counter({
    name: name('calls_total'),
    help: 'Calls through the circuit, by outcome.',
    labelNames: ['circuit', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: name('call_duration_seconds'),
    help: 'Duration of calls that ran through the circuit, by outcome.',
    labelNames: ['circuit', 'outcome'],
    buckets: [...buckets],
    registers,
  });
  const transitions = new Counter({
    name: name('transitions_total'),
    help: 'Changes of circuit state or forced mode.',
    labelNames: ['circuit', 'from', 'to', 'reason'],
    registers,
  });

  type TransitionLabels = { circuit: string; from: CircuitMode; to: CircuitMode; reason: string };
  // prom-client removes one exact label set at a time, so remember which transition series each
  // circuit has (few: most circuits never change state).
  const seen = new Map<string, Map<string, TransitionLabels>>();

  const unwatch = watch(infuse, {
    call(circuit: string, outcome: CallOutcome, seconds?: number) {
      calls.inc({ circuit, outcome });
      if (seconds !== undefined) duration.observe({ circuit, outcome }, seconds);
    },
    transition(circuit: string, from: CircuitMode, to: CircuitMode, reason: TransitionReason) {
      const labels = { circuit, from, to, reason };
      transitions.inc(labels);
      let series = seen.get(circuit);
      if (series === undefined) seen.set(circuit, (series = new Map<string, TransitionLabels>()));
      series.set(`${from} ${to} ${reason}`, labels);
    },
    drop(circuit: string) {
      for (const outcome of CALL_OUTCOMES) calls.remove({ circuit, outcome });
      for (const outcome of TIMED_OUTCOMES) duration.remove({ circuit, outcome });
      for (const labels of seen.get(circuit)?.values() ?? []) transitions.remove(labels);
      seen.delete(circuit);
    },
  });

  let stopped = false;
  return {
    names,
    stop() {
      if (stopped) return;
      stopped = true;
      unwatch();
      seen.clear();
      for (const metric of names) registry.removeSingleMetric(metric);
    },
  };
}
