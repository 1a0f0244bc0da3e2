/** Buckets the window is cut into: the window slides one bucket (a tenth of it) at a time. */
export const WINDOW_BUCKETS = 10;

/** A share of calls over a sliding window that opens the circuit (`failureRate`, `slowCallRate`). */
export interface RateRule {
  readonly threshold: number;
  readonly minimumCalls: number;
  readonly window: number;
}

/**
 * Calls, and the calls a rule marks (failed ones, slow ones), over the last `window` milliseconds,
 * kept in a fixed ring of buckets so that memory stays constant whatever the traffic.
 */
export class RateWindow {
  readonly #rule: RateRule;
  readonly #bucketMs: number;
  readonly #calls = new Uint32Array(WINDOW_BUCKETS);
  readonly #marked = new Uint32Array(WINDOW_BUCKETS);
  #head = 0;
  #headStart = 0;
  #totalCalls = 0;
  #totalMarked = 0;

  constructor(rule: RateRule, now: number) {
    this.#rule = rule;
    this.#bucketMs = Math.max(1, rule.window / WINDOW_BUCKETS);
    this.#headStart = now;
  }

  get calls(): number {
    return this.#totalCalls;
  }

  /** Marked calls in the window (failures, or slow calls). */
  get marked(): number {
    return this.#totalMarked;
  }

  /** Counts one call and answers whether the share of marked calls now calls for opening. */
  record(now: number, marked: boolean): boolean {
    this.#advance(now);
    const head = this.#head;
    this.#calls[head] = (this.#calls[head] ?? 0) + 1;
    this.#totalCalls++;
    if (marked) {
      this.#marked[head] = (this.#marked[head] ?? 0) + 1;
      this.#totalMarked++;
    }
    const { minimumCalls, threshold } = this.#rule;
    return (
      this.#totalCalls >= minimumCalls &&
      this.#totalMarked > 0 &&
      this.#totalMarked / this.#totalCalls >= threshold
    );
  }

  /** Drops buckets older than the window (for reading counts without recording). */
  refresh(now: number): void {
    this.#advance(now);
  }

  reset(now: number): void {
    this.#calls.fill(0);
    this.#marked.fill(0);
    this.#totalCalls = 0;
    this.#totalMarked = 0;
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
      this.#totalMarked -= this.#marked[this.#head] ?? 0;
      this.#calls[this.#head] = 0;
      this.#marked[this.#head] = 0;
    }
    this.#headStart += steps * this.#bucketMs;
  }
}
