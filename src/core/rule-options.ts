import type { FailureRatePolicy, SlowCallRatePolicy } from '../stores/store.js';
import { checkKeys, invalid, nonNegative, positiveInteger } from './validate.js';

/** Open the circuit when the share of failures over a sliding window gets too high. */
export interface FailureRateOptions {
  /** Share of failed calls, from 0 to 1, that opens the circuit (0.5 = half of them). */
  readonly threshold: number;
  /**
   * Calls the window must hold before the rate is judged at all.
   * @default 20
   */
  readonly minimumCalls?: number;
  /**
   * Length of the sliding window in milliseconds; it slides a tenth at a time.
   * @default 10_000
   */
  readonly window?: number;
}

/**
 * Open the circuit when the share of slow calls over a sliding window gets too high: a
 * dependency that slows down hurts before it fails. A call is slow when it took `duration` ms or
 * more (for HTTP, the time to its response), whatever its outcome.
 */
export interface SlowCallRateOptions extends FailureRateOptions {
  /** Share of slow calls, from 0 to 1, that opens the circuit. */
  readonly threshold: number;
  /** Milliseconds from which a call counts as slow. */
  readonly duration: number;
}

/** What `honorRetryAfter` honours, when given as an object. */
export interface RetryAfterOptions {
  /**
   * Response statuses whose `Retry-After` opens the circuit.
   * @default [429, 503]
   */
  readonly statuses?: readonly number[];
  /**
   * The longest a `Retry-After` may open the circuit for, in milliseconds: a longer one opens it
   * for this long (a misconfigured or hostile server cannot stop calls for days).
   * @default 300_000 (5 minutes)
   */
  readonly max?: number;
}

/** Normalised `honorRetryAfter`. */
export interface RetryAfterPolicy {
  readonly statuses: readonly number[];
  readonly max: number;
}

/** Defaults of the rules' options. */
export const RULE_DEFAULTS = {
  minimumCalls: 20,
  window: 10_000,
  retryAfterStatuses: [429, 503] as readonly number[],
  retryAfterMax: 300_000,
} as const;

const RATE_KEYS = new Set(['threshold', 'minimumCalls', 'window']);
const SLOW_KEYS = new Set([...RATE_KEYS, 'duration']);
const RETRY_AFTER_KEYS = new Set(['statuses', 'max']);

/** Validates `failureRate`; `null` when it is off. */
export function normalizeRate(
  rate: FailureRateOptions | null | undefined,
  path: string,
): FailureRatePolicy | null {
  if (rate === undefined || rate === null) return null;
  if (typeof rate !== 'object') invalid(path, 'an object such as { threshold: 0.5 }', rate);
  checkKeys(rate, RATE_KEYS, path + '.');
  return windowRule(rate, path);
}

/** Validates `slowCallRate`; `null` when it is off. */
export function normalizeSlowCallRate(
  rate: SlowCallRateOptions | null | undefined,
  path: string,
): SlowCallRatePolicy | null {
  if (rate === undefined || rate === null) return null;
  if (typeof rate !== 'object') {
    invalid(path, 'an object such as { threshold: 0.5, duration: 1_000 }', rate);
  }
  checkKeys(rate, SLOW_KEYS, path + '.');
  const { duration } = rate;
  nonNegative(path + '.duration', duration);
  if (duration === 0) invalid(path + '.duration', 'more than 0 ms', duration);
  return { ...windowRule(rate, path), duration };
}

/** Validates `honorRetryAfter`; `null` when it is off. */
export function normalizeRetryAfter(
  given: boolean | RetryAfterOptions | undefined,
  path: string,
): RetryAfterPolicy | null {
  if (given === undefined || given === false) return null;
  if (given === true) {
    return { statuses: RULE_DEFAULTS.retryAfterStatuses, max: RULE_DEFAULTS.retryAfterMax };
  }
  if (typeof given !== 'object' || Array.isArray(given)) {
    invalid(path, 'a boolean or an object such as { statuses: [429, 503], max: 300_000 }', given);
  }
  checkKeys(given, RETRY_AFTER_KEYS, path + '.');
  const statuses = given.statuses ?? RULE_DEFAULTS.retryAfterStatuses;
  if (
    !Array.isArray(statuses) ||
    statuses.length === 0 ||
    !statuses.every((status) => Number.isInteger(status) && status >= 100 && status <= 599)
  ) {
    invalid(path + '.statuses', 'a non-empty array of HTTP statuses (100 to 599)', statuses);
  }
  const max = given.max ?? RULE_DEFAULTS.retryAfterMax;
  nonNegative(path + '.max', max);
  if (max === 0) invalid(path + '.max', 'more than 0 ms', max);
  return { statuses: [...(statuses as readonly number[])], max };
}

function windowRule(rate: FailureRateOptions, path: string): FailureRatePolicy {
  const { threshold } = rate;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    invalid(path + '.threshold', 'a number from 0 to 1', threshold);
  }
  const minimumCalls = rate.minimumCalls ?? RULE_DEFAULTS.minimumCalls;
  positiveInteger(path + '.minimumCalls', minimumCalls);
  const window = rate.window ?? RULE_DEFAULTS.window;
  nonNegative(path + '.window', window);
  if (window === 0) invalid(path + '.window', 'more than 0 ms', window);
  return { threshold, minimumCalls, window };
}
