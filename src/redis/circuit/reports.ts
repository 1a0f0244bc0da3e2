/**
 * What a circuit in shared mode tells the fleet about this process's calls, through the REPORT
 * script: successes batched until the store's flush timer (only rate policies count them), each
 * failure at once (with the quorum's ballot), and a server's Retry-After as an open for the whole
 * fleet. Owned by the shared circuit (shared.ts); its replies come back through the script link
 * (link.ts) like any other.
 */
import { countLocally } from './modes.js';
import type { OwnOpen } from './own-open.js';
import { report, type CircuitCore } from './host.js';

export class Reports {
  readonly #core: CircuitCore;
  readonly #own: OwnOpen;
  /** Successes are batched for a window of the fleet (`failureRate` or `slowCallRate`). */
  readonly #counted: boolean;
  /** Successes not yet sent, and how many of them were slow (rate policies only). */
  #successes = 0;
  #slowSuccesses = 0;

  constructor(core: CircuitCore, own: OwnOpen, counted: boolean) {
    this.#core = core;
    this.#own = own;
    this.#counted = counted;
  }

  /** Counts a success (`slow`: it took `slowCallRate.duration` or more) for the next flush. */
  succeeded(slow: boolean): void {
    if (slow) this.#slowSuccesses++;
    const core = this.#core;
    if (this.#counted && this.#successes++ === 0) core.host.dirty(core.circuit);
  }

  /** The fleet moved on: successes counted for the state before it count for nothing. */
  clear(): void {
    this.#successes = this.#slowSuccesses = 0;
  }

  /** Sends batched successes (called by the store's flush timer). */
  flush(): void {
    const [successes, slow] = this.#take();
    const core = this.#core;
    if (successes === 0 || core.mode.kind !== 'shared') return;
    void core.link.send('infuseReport', {
      ...report(core.fleet, core.circuit.policy.failMax),
      successes,
      slow,
    });
  }

  /**
   * Reports one failure (the streak already counts it; `slow`: the call was slow too), with the
   * successes not yet sent. Resolves once Redis has answered, or after `waitTimeout`, when the
   * circuit falls back to per-process state.
   */
  failed(slow = false): Promise<void> {
    const core = this.#core;
    const fleet = core.fleet;
    const [successes, slowSuccesses] = this.#take();
    const trips = core.streak >= core.circuit.policy.failMax;
    const voter = this.#own.failed(trips);
    const reported = core.link.send('infuseReport', {
      ...report(fleet, core.circuit.policy.failMax),
      successes,
      failures: 1,
      slow: slowSuccesses + (slow ? 1 : 0),
      reason: trips ? 'failMax' : '',
      voter,
    });
    return core.link.bounded(reported, () => core.fallBack());
  }

  /**
   * Opens the circuit for the whole fleet for `ms` (at most the longest open period the policy
   * allows) with `reason`, when it is closed as this process knows it: a server's Retry-After is
   * a fact about the host, not one process's evidence, so no quorum applies. Resolves once Redis
   * has answered, or after `waitTimeout` (the fallback then opens locally, for `ms`).
   */
  openFor(ms: number, reason: 'retryAfter'): Promise<void> {
    const core = this.#core;
    const fleet = core.fleet;
    if (core.mode.kind === 'local' || fleet.state !== 'closed' || fleet.forced !== null) {
      return Promise.resolve();
    }
    const period = Math.max(1, Math.round(ms));
    const [successes, slow] = this.#take();
    const reported = core.link.send('infuseReport', {
      ...report(fleet, core.circuit.policy.failMax),
      successes,
      slow,
      reason,
      period,
    });
    return core.link.bounded(reported, () => {
      countLocally(core.fallBack(), 'success', { retryAfter: period });
    });
  }

  /** The successes not yet sent, and the slow ones among them; none are left. */
  #take(): [number, number] {
    const taken: [number, number] = [this.#successes, this.#slowSuccesses];
    this.clear();
    return taken;
  }
}
