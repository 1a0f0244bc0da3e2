import type { FailureRatePolicy } from './store.js';

/** Buckets the window is cut into: the window slides one bucket (a tenth of it) at a time. */
export const WINDOW_BUCKETS = 10;

/**
 * Calls and failures over the last `window` milliseconds, kept in a fixed ring of buckets so that
 * memory stays constant whatever the traffic.
 */
export class RateWindow {
  readonly #policy: FailureRatePolicy;
  readonly #bucketMs: number;
  readonly #calls = new Uint32Array(WINDOW_BUCKETS);
  readonly #failures = new Uint32Array(WINDOW_BUCKETS);
  #head = 0;
  #headStart = 0;
  #totalCalls = 0;
  #totalFailures = 0;

  constructor(policy: FailureRatePolicy, now: number) {
    this.#policy = policy;
    this.#bucketMs = Math.max(1, policy.window / WINDOW_BUCKETS);
    this.#headStart = now;
  }

  get calls(): number {
    return this.#totalCalls;
  }

  get failures(): number {
    return this.#totalFailures;
  }

  /** Counts one call and answers whether the failure rate now calls for opening the circuit. */
  record(now: number, failed: boolean): boolean {
    this.#advance(now);
    const head = this.#head;
    this.#calls[head] = (this.#calls[head] ?? 0) + 1;
    this.#totalCalls++;
    if (failed) {
      this.#failures[head] = (this.#failures[head] ?? 0) + 1;
      this.#totalFailures++;
    }
    const { minimumCalls, threshold } = this.#policy;
    return (
      this.#totalCalls >= minimumCalls &&
      this.#totalFailures > 0 &&
      this.#totalFailures / this.#totalCalls >= threshold
    );
  }

  /** Drops buckets older than the window (for reading counts without recording). */
  refresh(now: number): void {
    this.#advance(now);
  }

  reset(now: number): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#totalCalls = 0;
    this.#totalFailures = 0;
    this.#head = 0;
    this.#headStart = now;
  }

  #advance(now: number): void {
    const elapsed = now - this.#headStart;
    if (elapsed < this.#bucketMs) return;
    const steps = Math.floor(elapsed / this.#bucketMs);
    if (steps >= WINDOW_BUCKETS) {
      this.reset(now);
      return;
    }
    for (let i = 0; i < steps; i++) {
      this.#head = (this.#head + 1) % WINDOW_BUCKETS;
      this.#totalCalls -= this.#calls[this.#head] ?? 0;
      this.#totalFailures -= this.#failures[this.#head] ?? 0;
      this.#calls[this.#head] = 0;
      this.#failures[this.#head] = 0;
    }
    this.#headStart += steps * this.#bucketMs;
  }
}
