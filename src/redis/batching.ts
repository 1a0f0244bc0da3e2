/**
 * Batching: what the store sends to Redis for many circuits at once, so that the load on Redis
 * grows with the changes, not with the calls. Successes wait up to `flushInterval` and go as one
 * report per circuit; the trial leases a process holds are renewed together every third of
 * `trialLease`; and reading every circuit again (recovery, reconnect) goes a batch at a time.
 */

/** A circuit as batching sees it. */
export interface Batched {
  /** Sends the successes counted since the last flush. */
  flush(): void;
  /** Renews the trial leases the circuit holds; false when it holds none. */
  renew(): boolean;
}

export class Batching<C extends Batched> {
  readonly #flushInterval: number;
  readonly #trialLease: number;
  /** False while Redis does not answer: leases are not renewed (they expire in Redis). */
  readonly #up: () => boolean;
  readonly #dirty = new Set<C>();
  readonly #leasing = new Set<C>();
  #flushTimer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;

  constructor(flushInterval: number, trialLease: number, up: () => boolean) {
    this.#flushInterval = flushInterval;
    this.#trialLease = trialLease;
    this.#up = up;
  }

  /** `circuit` counted successes: flush them with the others within `flushInterval`. */
  dirty(circuit: C): void {
    this.#dirty.add(circuit);
    if (this.#flushTimer !== null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const each of dirty) each.flush();
    }, this.#flushInterval);
    this.#flushTimer.unref();
  }

  /** `circuit` holds trial leases: renew them until it holds none. */
  leasing(circuit: C): void {
    this.#leasing.add(circuit);
    if (this.#renewTimer !== null) return;
    this.#renewTimer = setInterval(
      () => {
        if (!this.#up()) return;
        for (const each of this.#leasing) if (!each.renew()) this.#leasing.delete(each);
        if (this.#leasing.size === 0 && this.#renewTimer !== null) {
          clearInterval(this.#renewTimer);
          this.#renewTimer = null;
        }
      },
      Math.ceil(this.#trialLease / 3),
    );
    this.#renewTimer.unref();
  }

  /** The store let go of `circuit` (an idle one: it has nothing to flush that matters). */
  forget(circuit: C): void {
    this.#dirty.delete(circuit);
  }

  /** Drops everything pending (the store closes). */
  stop(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    this.#flushTimer = this.#renewTimer = null;
    this.#dirty.clear();
    this.#leasing.clear();
  }
}

/** Circuits read again at once when all are (recovery, reconnect). */
const RESYNC_BATCH = 100;

/**
 * Reads every circuit again, a batch at a time: sent all at once, thousands of reads would queue
 * behind each other in Redis past `commandTimeout`, and a recovery would fail for its own load.
 * Resolves true when every read succeeded; stops at the first batch Redis did not answer.
 */
export async function resyncInBatches(
  circuits: readonly { resync(): Promise<boolean> }[],
): Promise<boolean> {
  for (let i = 0; i < circuits.length; i += RESYNC_BATCH) {
    const batch = await Promise.all(
      circuits.slice(i, i + RESYNC_BATCH).map((circuit) => circuit.resync()),
    );
    if (!batch.every(Boolean)) return false;
  }
  return true;
}
