/**
 * A circuit's calls in this process, counted on the call path (RedisCircuit's `usage`) and turned
 * into per-minute counts at each heartbeat (heartbeat.ts), which the readers parse back
 * (../presence.ts).
 */
import type { Admission, StoreVerdict } from '../../stores/store.js';

/** Minutes of calls and failures each circuit reports (one bucket a minute). */
export const MINUTES = 60;

/**
 * A circuit's calls in this process, counted on the call path (two increments at most): the
 * heartbeat turns them into per-minute counts.
 */
export class Usage {
  calls = 0;
  failures = 0;
  refusals = 0;
  /** Totals at the last beat, and the per-minute counts so far: [minute, calls, failures]. */
  #seen = [0, 0];
  #minutes: [number, number, number][] = [];
  /** Epoch ms of the last beat that saw calls (or of creation): the least recent go first. */
  lastUsed = Date.now();

  /** Counts an allowed call's end. */
  settled(verdict: StoreVerdict): void {
    if (verdict === 'aborted') return;
    this.calls++;
    if (verdict === 'failure') this.failures++;
  }

  /** Counts a refusal in `admission` (a value or a promise of one), and passes it on. */
  admit(admission: Admission | Promise<Admission>): Admission | Promise<Admission> {
    if (admission instanceof Promise) return admission.then((a) => this.#count(a));
    return this.#count(admission);
  }

  #count(admission: Admission): Admission {
    if (!admission.allowed) this.refusals++;
    return admission;
  }

  /** At a beat: adds the calls since the last one to this minute; the last hour per minute. */
  minutes(now: number): readonly (readonly [number, number, number])[] {
    const minute = Math.floor(now / 60_000);
    const calls = this.calls - (this.#seen[0] ?? 0);
    const failures = this.failures - (this.#seen[1] ?? 0);
    this.#seen = [this.calls, this.failures];
    if (calls > 0) {
      this.lastUsed = now;
      const last = this.#minutes.at(-1);
      if (last !== undefined && last[0] === minute) {
        last[1] += calls;
        last[2] += failures;
      } else this.#minutes.push([minute, calls, failures]);
    }
    while ((this.#minutes[0]?.[0] ?? minute) <= minute - MINUTES) this.#minutes.shift();
    return this.#minutes;
  }
}
