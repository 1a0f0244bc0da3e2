import type { OutcomeEvent } from '../core/events.js';
import { Infuse } from '../core/infuse.js';
import { invalid } from '../core/options.js';
import type { CircuitMode, TransitionReason } from '../core/types.js';

/**
 * How a call through a circuit ended, as metrics count it: a counted verdict (`success`,
 * `failure`, `excluded`, `aborted`), `rejected` when the circuit refused the call and it never
 * ran, or `shadow-rejected` when a circuit in shadow mode would have refused it and let it run
 * (its outcome is not counted).
 */
export type CallOutcome =
  'success' | 'failure' | 'excluded' | 'rejected' | 'shadow-rejected' | 'aborted';

/** Every {@link CallOutcome}. */
export const CALL_OUTCOMES: readonly CallOutcome[] = [
  'success',
  'failure',
  'excluded',
  'rejected',
  'shadow-rejected',
  'aborted',
];

/** The outcomes of calls that ran, and so have a duration. */
export const TIMED_OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'excluded', 'aborted'];

/** Every mode a circuit can be in, forced modes included: the values of the state series. */
export const MODES: readonly CircuitMode[] = [
  'closed',
  'open',
  'half-open',
  'forced-open',
  'disabled',
];

/** What a metrics integration does with the events of one Infuse. */
export interface MetricsSink {
  /** A call ended; `seconds` is absent for a rejected call (which never ran) and a shadow one. */
  call(key: string, outcome: CallOutcome, seconds?: number): void;
  /** A circuit this Infuse holds changed mode. */
  transition(key: string, from: CircuitMode, to: CircuitMode, reason: TransitionReason): void;
  /** The registry dropped an idle circuit: forget every series of `key`. */
  drop(key: string): void;
}

/** Throws the TypeError every integration gives when it is not handed an Infuse. */
export function checkInfuse(infuse: unknown): asserts infuse is Infuse {
  if (!(infuse instanceof Infuse)) invalid('infuse', 'an Infuse instance', infuse);
}

/** Feeds `sink` from the events of `infuse`; returns a function that stops it. */
export function watch(infuse: Infuse, sink: MetricsSink): () => void {
  const onOutcome = ({ key, outcome, verdict }: OutcomeEvent): void => {
    sink.call(key, verdict, outcome.duration / 1000);
  };
  const unsubscribe = [
    infuse.on('success', onOutcome),
    infuse.on('failure', onOutcome),
    infuse.on('abort', onOutcome),
    infuse.on('reject', ({ key, shadow }) =>
      sink.call(key, shadow ? 'shadow-rejected' : 'rejected'),
    ),
    infuse.on('stateChange', ({ key, from, to, fromForced, forced, reason }) => {
      // A shared store announces the transitions of circuits other instances hold too; counting
      // those would add series that no 'drop' ever removes.
      if (infuse.has(key)) sink.transition(key, fromForced ?? from, forced ?? to, reason);
    }),
    infuse.on('drop', ({ key }) => sink.drop(key)),
  ];
  return () => {
    for (const off of unsubscribe) off();
  };
}

/** Throws unless `buckets` is a non-empty array of increasing finite numbers of seconds. */
export function checkBuckets(buckets: unknown): readonly number[] {
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    !buckets.every(
      (bound: unknown, index) =>
        typeof bound === 'number' &&
        Number.isFinite(bound) &&
        (index === 0 || bound > (buckets[index - 1] as number)),
    )
  ) {
    invalid('buckets', 'a non-empty array of increasing numbers of seconds', buckets);
  }
  return [...(buckets as number[])];
}

/** Throws unless `options` is absent or an object with none but the `known` keys. */
export function checkOptions<T extends object>(
  options: T | undefined,
  known: readonly string[],
  where: string,
): Partial<T> {
  const given: unknown = options;
  if (given === undefined) return {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    invalid(`${where} options`, 'an object', given);
  }
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      throw new TypeError(
        `infuse-breaker: unknown option "${name}" of ${where}; known options are: ${known.join(', ')}`,
      );
    }
  }
  return given;
}

/**
 * Returns `value` when it is an object with every one of `methods` (duck typing, so that a second
 * copy of a client library in the process still works); otherwise throws the TypeError that
 * names `option`.
 */
export function checkMethods<T>(
  option: string,
  expected: string,
  value: T,
  methods: readonly string[],
): T {
  const given: unknown = value;
  if (
    typeof given !== 'object' ||
    given === null ||
    methods.some((method) => typeof (given as Record<string, unknown>)[method] !== 'function')
  ) {
    invalid(option, expected, given);
  }
  return value;
}
