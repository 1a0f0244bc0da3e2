import type { FleetMessage, FleetState } from '../fleet.js';

/**
 * When to read a circuit again because others say it changed (pub/sub, the change feed). What a
 * message says is never applied (anyone allowed to PUBLISH could write it); the state comes from
 * Redis's keys. Messages that arrive while a read is under way make one more read after it, not
 * one each.
 */
export class Rechecks {
  readonly #read: () => Promise<unknown>;
  /** The change-feed score of the last change this process read the circuit again for. */
  #feedSeen = 0;
  /** A read asked for: none, one under way, or one more to make after it. */
  #state: 'idle' | 'reading' | 'again' = 'idle';

  /** `read` reads the circuit again (or does nothing when it cannot). */
  constructor(read: () => Promise<unknown>) {
    this.#read = read;
  }

  /**
   * The change feed lists the circuit as changed at `score` (ms, Redis clock): read it again,
   * unless this process already read it for that change.
   */
  changed(score: number): void {
    if (score <= this.#feedSeen) return;
    this.#feedSeen = score;
    this.#recheck();
  }

  /** A reply ran at `ranAt`: changes the feed lists from before it are known now. */
  seen(ranAt: number): void {
    if (ranAt > this.#feedSeen) this.#feedSeen = ranAt;
  }

  /**
   * A pub/sub message names the circuit, whose state this process knows as `fleet`: read it
   * again. A transition to a generation this process already read (its own, whose reply it has
   * applied) needs no read; any other message, a vote (which carries no transition) included,
   * makes one. Skipping only spares a read of a state already held: no message, forged or not,
   * keeps a process from reading a newer one.
   */
  heard(news: FleetMessage, fleet: FleetState): void {
    const known = news.fleet.epoch === fleet.epoch && news.fleet.generation <= fleet.generation;
    if (news.event !== null && known) return;
    this.#recheck();
  }

  /** Another process says the circuit changed: read it again (once more, if a read is under way). */
  #recheck(): void {
    if (this.#state !== 'idle') {
      this.#state = 'again';
      return;
    }
    this.#state = 'reading';
    void this.#read().then(() => {
      const again = this.#state === 'again';
      this.#state = 'idle';
      if (again) this.#recheck();
    });
  }
}
