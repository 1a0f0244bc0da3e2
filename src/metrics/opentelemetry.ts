import {
  metrics,
  trace,
  type Attributes,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
} from '@opentelemetry/api';
import type { OutcomeEvent } from '../core/events.js';
import type { Infuse } from '../core/infuse.js';
import { invalid } from '../core/validate.js';
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
  /**
   * Also record on the active span (see {@link instrumentOpenTelemetry}): refused calls, the
   * outcome of guarded calls, and transitions. Needs a tracer provider and a context manager
   * registered with @opentelemetry/api, as any OpenTelemetry tracing setup has.
   * @default true
   */
  readonly tracing?: boolean;
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

/** Attribute of a span event: seconds until the circuit lets a trial call through (absent while forced open). */
export const ATTR_RETRY_AFTER = 'infuse_breaker.circuit.retry_after';
/** Attribute of a span event: true when a circuit in shadow mode let the call it would refuse run. */
export const ATTR_SHADOW = 'infuse_breaker.call.shadow';
/** Span event: the circuit refused the call (key, state, retry_after; shadow when it let it run). */
export const EVENT_CALL_REJECTED = 'infuse_breaker.call.rejected';
/** Span event: a guarded call ended and was counted (key, outcome). */
export const EVENT_CALL_COMPLETED = 'infuse_breaker.call.completed';
/** Span event: a circuit changed state or forced mode (key, from, to, reason). */
export const EVENT_CIRCUIT_TRANSITION = 'infuse_breaker.circuit.transition';

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
 * Spans: unless `tracing: false`, each of these also becomes an event on the span active where it
 * happens (a span that is not recording is left alone), so that a trace says why a call never
 * reached the wire:
 *
 * | span event | attributes |
 * |---|---|
 * | `infuse_breaker.call.rejected` | `infuse_breaker.circuit.key`, `infuse_breaker.circuit.state`, `infuse_breaker.circuit.retry_after` (s), `infuse_breaker.call.shadow` (shadow mode only) |
 * | `infuse_breaker.call.completed` | `infuse_breaker.circuit.key`, `infuse_breaker.call.outcome` |
 * | `infuse_breaker.circuit.transition` | `infuse_breaker.circuit.key`, `infuse_breaker.transition.from`, `.to`, `.reason` |
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
    ['meter', 'meterProvider', 'buckets', 'tracing'],
    'instrumentOpenTelemetry',
  );
  const meter = meterOf(given);
  const buckets = given.buckets === undefined ? DEFAULT_BUCKETS : checkBuckets(given.buckets);
  const tracing = given.tracing ?? true;
  if (typeof tracing !== 'boolean') invalid('tracing', 'a boolean', tracing);

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

  const untrace = tracing ? traceSpans(infuse) : () => undefined;

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      unwatch();
      untrace();
      state.removeCallback(observe);
      attributesOf.clear();
    },
  };
}

/** Adds the breaker's events to the active span; returns a function that stops. */
function traceSpans(infuse: Infuse): () => void {
  const record = (name: string, attributes: Attributes): void => {
    const span = trace.getActiveSpan();
    if (span?.isRecording()) span.addEvent(name, attributes);
  };
  const onOutcome = ({ key, verdict }: OutcomeEvent): void => {
    record(EVENT_CALL_COMPLETED, { [ATTR_CIRCUIT_KEY]: key, [ATTR_CALL_OUTCOME]: verdict });
  };
  const unsubscribe = [
    infuse.on('reject', ({ key, state, forced, retryAfter, shadow }) => {
      const attributes: Attributes = {
        [ATTR_CIRCUIT_KEY]: key,
        [ATTR_CIRCUIT_STATE]: forced ?? state,
      };
      if (Number.isFinite(retryAfter)) attributes[ATTR_RETRY_AFTER] = retryAfter / 1000;
      if (shadow) attributes[ATTR_SHADOW] = true;
      record(EVENT_CALL_REJECTED, attributes);
    }),
    infuse.on('success', onOutcome),
    infuse.on('failure', onOutcome),
    infuse.on('abort', onOutcome),
    infuse.on('stateChange', ({ key, from, to, fromForced, forced, reason }) => {
      record(EVENT_CIRCUIT_TRANSITION, {
        [ATTR_CIRCUIT_KEY]: key,
        [ATTR_TRANSITION_FROM]: fromForced ?? from,
        [ATTR_TRANSITION_TO]: forced ?? to,
        [ATTR_TRANSITION_REASON]: reason,
      });
    }),
  ];
  return () => {
    for (const off of unsubscribe) off();
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
