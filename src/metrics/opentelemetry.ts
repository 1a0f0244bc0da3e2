import {
  metrics,
  type Attributes,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
} from '@opentelemetry/api';
import type { Infuse } from '../core/infuse.js';
import type { CircuitMode, TransitionReason } from '../core/types.js';
import {
  MODES,
  checkBuckets,
  checkInfuse,
  checkMethods,
  checkOptions,
  watch,
  type CallOutcome,
} from './shared.js';

/** Options of {@link instrumentOpenTelemetry}. Give a `meter` or a `meterProvider`, not both. */
export interface OpenTelemetryOptions {
  /** The meter to create the instruments with. */
  readonly meter?: Meter;
  /**
   * The provider to get the `infuse-breaker` meter from.
   * @default the global provider (`metrics.getMeterProvider()` of @opentelemetry/api)
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Bucket boundaries, in seconds, advised for the call duration histogram (a View can still
   * override them).
   * @default [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] (those of
   * the HTTP semantic conventions)
   */
  readonly buckets?: readonly number[];
}

/** The instrumentation {@link instrumentOpenTelemetry} set up. */
export interface OpenTelemetryMetrics {
  /** Stops recording and observing. Safe to call more than once. */
  stop(): void;
}

// Attribute names are namespaced, as the semantic conventions ask of a library's own attributes.
/** Attribute: the circuit key (for the HTTP adapters, the request's host). */
export const ATTR_CIRCUIT_KEY = 'infuse_breaker.circuit.key';
/** Attribute: a circuit state, forced modes included (`closed`, `open`, `half-open`, `forced-open`, `disabled`). */
export const ATTR_CIRCUIT_STATE = 'infuse_breaker.circuit.state';
/**
 * Attribute: how a call ended (`success`, `failure`, `excluded`, `rejected`, `shadow-rejected`,
 * `aborted`).
 */
export const ATTR_CALL_OUTCOME = 'infuse_breaker.call.outcome';
/** Attribute: the state a circuit left. */
export const ATTR_TRANSITION_FROM = 'infuse_breaker.transition.from';
/** Attribute: the state a circuit entered. */
export const ATTR_TRANSITION_TO = 'infuse_breaker.transition.to';
/** Attribute: why the circuit changed state (a `TransitionReason`, `remote` for another process). */
export const ATTR_TRANSITION_REASON = 'infuse_breaker.transition.reason';

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Reports the circuits of `infuse` through the @opentelemetry/api metrics API, named after the
 * OpenTelemetry semantic conventions (dot-separated namespaces, units in `unit`, seconds for
 * durations, no `_total` suffix):
 *
 * | instrument | kind | unit | attributes |
 * |---|---|---|---|
 * | `infuse_breaker.calls` | Counter | `{call}` | `infuse_breaker.circuit.key`, `infuse_breaker.call.outcome` |
 * | `infuse_breaker.call.duration` | Histogram | `s` | `infuse_breaker.circuit.key`, `infuse_breaker.call.outcome` |
 * | `infuse_breaker.circuit.state` | ObservableUpDownCounter | `{circuit}` | `infuse_breaker.circuit.key`, `infuse_breaker.circuit.state` |
 * | `infuse_breaker.circuit.transitions` | Counter | `{transition}` | `infuse_breaker.circuit.key`, `infuse_breaker.transition.from`, `.to`, `.reason` |
 *
 * Outcomes are `success`, `failure`, `excluded`, `rejected` (refused, never ran; no duration),
 * `shadow-rejected` (shadow mode: would have been refused, ran, not counted; no duration) and
 * `aborted`. The state is observed at each collection from {@link Infuse.snapshot} for every state
 * (`closed`, `open`, `half-open`, `forced-open`, `disabled`): 1 for the one the circuit is in, 0
 * for the others, so summing over circuits counts circuits per state.
 *
 * A circuit the registry drops (`maxCircuits`) is no longer observed and its cached attributes
 * are let go. The API has no way to remove a series of a synchronous instrument: with delta
 * temporality a dropped circuit's series end at the next export; with cumulative temporality the
 * SDK keeps exporting them (see "Metrics" in the README for how to bound that).
 *
 * @example
 * ```ts
 * import { instrumentOpenTelemetry } from 'infuse-breaker/opentelemetry';
 *
 * const instrumentation = instrumentOpenTelemetry(infuse); // the global MeterProvider
 * // later: instrumentation.stop();
 * ```
 */
export function instrumentOpenTelemetry(
  infuse: Infuse,
  options?: OpenTelemetryOptions,
): OpenTelemetryMetrics {
  checkInfuse(infuse);
  const given = checkOptions(
    options,
    ['meter', 'meterProvider', 'buckets'],
    'instrumentOpenTelemetry',
  );
  const meter = meterOf(given);
  const buckets = given.buckets === undefined ? DEFAULT_BUCKETS : checkBuckets(given.buckets);

  const calls = meter.createCounter('infuse_breaker.calls', {
    description: 'Calls through the circuit, by outcome.',
    unit: '{call}',
  });
  const duration = meter.createHistogram('infuse_breaker.call.duration', {
    description: 'Duration of calls that ran through the circuit, by outcome.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...buckets] },
  });
  const state = meter.createObservableUpDownCounter('infuse_breaker.circuit.state', {
    description: 'Circuit state: 1 for the state the circuit is in, 0 for the others.',
    unit: '{circuit}',
  });
  const transitions = meter.createCounter('infuse_breaker.circuit.transitions', {
    description: 'Changes of circuit state or forced mode.',
    unit: '{transition}',
  });

  // Attribute objects are built once per circuit and outcome, not once per call.
  const attributesOf = new Map<string, Partial<Record<CallOutcome, Attributes>>>();

  const unwatch = watch(infuse, {
    call(key: string, outcome: CallOutcome, seconds?: number) {
      let byOutcome = attributesOf.get(key);
      if (byOutcome === undefined) attributesOf.set(key, (byOutcome = {}));
      const attributes = (byOutcome[outcome] ??= {
        [ATTR_CIRCUIT_KEY]: key,
        [ATTR_CALL_OUTCOME]: outcome,
      });
      calls.add(1, attributes);
      if (seconds !== undefined) duration.record(seconds, attributes);
    },
    transition(key: string, from: CircuitMode, to: CircuitMode, reason: TransitionReason) {
      transitions.add(1, {
        [ATTR_CIRCUIT_KEY]: key,
        [ATTR_TRANSITION_FROM]: from,
        [ATTR_TRANSITION_TO]: to,
        [ATTR_TRANSITION_REASON]: reason,
      });
    },
    drop(key: string) {
      attributesOf.delete(key);
    },
  });

  const observe: ObservableCallback = (result) => {
    for (const { key, mode } of infuse.snapshot()) {
      for (const each of MODES) {
        result.observe(mode === each ? 1 : 0, {
          [ATTR_CIRCUIT_KEY]: key,
          [ATTR_CIRCUIT_STATE]: each,
        });
      }
    }
  };
  state.addCallback(observe);

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      unwatch();
      state.removeCallback(observe);
      attributesOf.clear();
    },
  };
}

function meterOf(options: Partial<OpenTelemetryOptions>): Meter {
  const { meter, meterProvider } = options;
  if (meter !== undefined && meterProvider !== undefined) {
    throw new TypeError(
      'infuse-breaker: instrumentOpenTelemetry takes "meter" or "meterProvider", not both',
    );
  }
  if (meter !== undefined) {
    return checkMethods('meter', 'an OpenTelemetry Meter', meter, [
      'createCounter',
      'createHistogram',
      'createObservableUpDownCounter',
    ]);
  }
  const provider = meterProvider ?? metrics.getMeterProvider();
  checkMethods('meterProvider', 'an OpenTelemetry MeterProvider', provider, ['getMeter']);
  return provider.getMeter('infuse-breaker');
}
