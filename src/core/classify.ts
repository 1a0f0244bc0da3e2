import type { StoreVerdict } from '../stores/store.js';
import type { SettleInput } from './circuit.js';
import { isCircuitBreakerError } from './errors.js';
import { rethrowLater } from './events.js';
import type { Classifier } from './options.js';
import type { Outcome, Verdict } from './types.js';

/** True for the rejection of a call its caller aborted (a DOMException or Node AbortError). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  );
}

/**
 * True when a call that ended this way counts as nothing (the verdict `aborted`): the adapter said
 * the caller aborted it, or, when it said nothing, the call rejected with an `AbortError`. A
 * refusal by another circuit (an inner breaker, a guarded client inside a guarded call, an SDK
 * error that carries one) never counts either, whatever the adapter said: that circuit's host
 * failed, not necessarily this one's, and counting it would keep this circuit open after the
 * host recovered.
 */
export function countsAsNothing(threw: boolean, input: SettleInput | undefined): boolean {
  if (!threw) return input?.aborted === true;
  const error = input?.error;
  return (input?.aborted ?? isAbortError(error)) || isCircuitBreakerError(error);
}

/**
 * The default rule: a thrown error or an HTTP status of 500 or more is a failure. A caller's abort
 * is decided before this is asked.
 */
export function defaultIsFailure(outcome: Outcome): boolean {
  return 'error' in outcome || (outcome.status !== undefined && outcome.status >= 500);
}

/** Classifies an outcome with a circuit's `isFailure` and `exclude` options. */
export function classify(classifier: Classifier, outcome: Outcome): Verdict {
  let failed: boolean;
  try {
    failed =
      classifier.isFailure === null ? defaultIsFailure(outcome) : classifier.isFailure(outcome);
  } catch (error) {
    rethrowLater(error);
    failed = true;
  }
  if (!failed) return 'success';
  if ('error' in outcome) {
    for (const errorClass of classifier.classes) {
      if (outcome.error instanceof errorClass) return 'excluded';
    }
  }
  for (const predicate of classifier.predicates) {
    try {
      if (predicate(outcome)) return 'excluded';
    } catch (error) {
      rethrowLater(error);
    }
  }
  return 'failure';
}

/** What the store counts: an excluded outcome is a success. */
export function storeVerdict(verdict: Verdict): StoreVerdict {
  return verdict === 'excluded' ? 'success' : verdict;
}
