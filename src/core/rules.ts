import type { Policy } from '../stores/store.js';
import { RateWindow } from './rate-window.js';
import type { TransitionReason } from './types.js';

/**
 * The rules that decide when a closed circuit opens, apart from the state machine that acts on
 * them: consecutive failures (`failMax`), the failure rate and the slow-call rate over their
 * windows. A rule that is off costs nothing: no window is kept and no clock is read for it.
 */
export class TripRules {
  /** Consecutive failures counted so far. */
  failures = 0;
  readonly #failMax: number;
  readonly #failureRate: RateWindow | null;
  readonly #slowCalls: RateWindow | null;
  readonly #slowMs: number;

  constructor(policy: Policy, now: number) {
    this.#failMax = policy.failMax;
    this.#failureRate = policy.failureRate ? new RateWindow(policy.failureRate, now) : null;
    const slow = policy.slowCallRate ?? null;
    this.#slowCalls = slow === null ? null : new RateWindow(slow, now);
    this.#slowMs = slow === null ? Infinity : slow.duration;
  }

  /** Calls and failures in the failure-rate window (zeros when it is off). */
  get window(): { readonly calls: number; readonly failures: number } {
    const rate = this.#failureRate;
    return { calls: rate?.calls ?? 0, failures: rate?.marked ?? 0 };
  }

  /** Calls and slow calls in the slow-call window, or null when `slowCallRate` is off. */
  get slowWindow(): { readonly calls: number; readonly slow: number } | null {
    const slow = this.#slowCalls;
    return slow === null ? null : { calls: slow.calls, slow: slow.marked };
  }

  /** True when a call of `duration` ms counts as slow (never without `slowCallRate`). */
  isSlow(duration: number | undefined): boolean {
    return duration !== undefined && duration >= this.#slowMs;
  }

  /**
   * Counts one call of a closed circuit and answers why it should open now, or null. Every rule
   * counts the call, whichever of them trips; `clock` is read only when a window needs the time.
   */
  record(
    failed: boolean,
    duration: number | undefined,
    clock: () => number,
  ): TransitionReason | null {
    let reason: TransitionReason | null = null;
    if (!failed) this.failures = 0;
    else if (++this.failures >= this.#failMax) reason = 'failMax';
    const rate = this.#failureRate;
    const slow = this.#slowCalls;
    if (rate === null && slow === null) return reason;
    const now = clock();
    if (rate !== null && rate.record(now, failed)) reason ??= 'failureRate';
    if (slow !== null && slow.record(now, this.isSlow(duration))) reason ??= 'slowCallRate';
    return reason;
  }

  /** Drops window buckets older than the windows, before a read. */
  refresh(now: number): void {
    this.#failureRate?.refresh(now);
    this.#slowCalls?.refresh(now);
  }

  /** Starts the windows afresh (a new episode); `andFailures` also clears the consecutive count. */
  reset(now: number, andFailures: boolean): void {
    if (andFailures) this.failures = 0;
    this.#failureRate?.reset(now);
    this.#slowCalls?.reset(now);
  }
}
