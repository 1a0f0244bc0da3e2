import type { CircuitState, TransitionReason } from '../../core/types.js';
import type { Admission, StoreVerdict, Ticket } from '../../stores/store.js';
import { QUORUM_GRACE } from '../scripts/index.js';
import { report, type CircuitCore } from './host.js';

/**
 * This process's own open (see `quorum`): its calls reached failMax, too few processes agreed to
 * open the fleet. Open until a time, then `halfOpenMaxCalls` trial calls, all of which must succeed.
 */
export type OwnPhase =
  | { readonly phase: 'open'; readonly until: number }
  | { readonly phase: 'half-open'; readonly trials: Set<Ticket>; succeeded: number };

/** What this process tells the quorum with its next success. */
export type Tell = 'withdraw' | 'contrary';

/**
 * A circuit's part in the quorum (`quorum` > 1): its ballots, and its own open while the fleet's
 * circuit is closed because too few processes agreed.
 */
export class OwnOpen {
  readonly #core: CircuitCore;
  /** This process's own open while the fleet's circuit is closed, or null. */
  phase: OwnPhase | null = null;
  /**
   * What this process's next success tells the quorum: `withdraw` its failure mark and vote, or
   * `contrary` evidence against another process's vote it heard of; null when nothing.
   */
  tell: Tell | null = null;

  constructor(core: CircuitCore) {
    this.#core = core;
  }

  /**
   * The quorum's part of reporting a failure: the voter id to report it with ('' without a
   * quorum). When the streak `trips`, the process protects itself at once; the fleet opens if the
   * quorum agrees (the reply), or when no other process contradicts the vote in time (asked again
   * then).
   */
  failed(trips: boolean): string {
    const core = this.#core;
    const voter = (core.circuit.policy.quorum ?? 1) > 1 ? core.host.voter : '';
    if (voter === '') return voter;
    this.tell = 'withdraw';
    if (trips && this.phase === null) this.#open('closed', 'failMax');
    if (trips) this.#confirmLater();
    return voter;
  }

  /**
   * A success tells the quorum what `tell` holds: this process's vote and mark no longer stand
   * (`withdraw`), or it succeeded with the host after another process voted (`contrary`).
   */
  told(): void {
    const tell = this.tell;
    if (tell === null) return;
    this.tell = null;
    this.#ballot(tell);
  }

  /** A reply counted `votes` on the state this process knows. */
  heard(votes: number): void {
    // Another process voted: this process's next success, if it has one, contradicts the vote.
    if (votes > 0 && this.tell === null && this.#core.streak === 0 && this.phase === null) {
      this.tell = 'contrary';
    }
  }

  /** The fleet moved on (a transition, or its state was lost): the own open gives way to it. */
  moved(): void {
    this.phase = null;
    this.tell = null; // a transition voids every ballot
  }

  /** Ms until the own open lets trial calls through (0 when it is not open). */
  retryAfter(now: number): number {
    const own = this.phase;
    return own?.phase === 'open' ? Math.max(0, Math.ceil(own.until - now)) : 0;
  }

  /** Decides a call while the own open stands. */
  decide(own: OwnPhase, now: number): Admission {
    if (own.phase === 'open') {
      if (now < own.until) {
        return { allowed: false, state: 'open', forced: null, retryAfter: own.until - now };
      }
      own = { phase: 'half-open', trials: new Set(), succeeded: 0 };
      this.phase = own;
      this.#announce('open', 'half-open', 'resetTimeout');
    }
    const core = this.#core;
    if (own.trials.size + own.succeeded >= core.circuit.policy.halfOpenMaxCalls) {
      return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
    }
    const trial: Ticket = Object.freeze({
      allowed: true,
      kind: 'trial',
      generation: core.fleet.generation,
    });
    own.trials.add(trial);
    core.admitted();
    return trial;
  }

  /** The outcome of one of this process's own trial calls: all must succeed to close. */
  settle(
    own: OwnPhase & { phase: 'half-open' },
    ticket: Ticket,
    verdict: StoreVerdict,
  ): void | Promise<void> {
    const core = this.#core;
    own.trials.delete(ticket);
    if (verdict === 'aborted') return;
    if (verdict === 'success') {
      if (++own.succeeded < core.circuit.policy.halfOpenMaxCalls) return;
      this.phase = null;
      core.streak = 0;
      core.refresh();
      this.#announce('half-open', 'closed', 'trialSucceeded');
      this.tell = null;
      this.#ballot('withdraw');
      return;
    }
    core.streak++;
    this.#open('half-open', 'trialFailed');
    return core.reportFailure();
  }

  #ballot(tell: Tell | ''): void {
    const core = this.#core;
    void core.link.send('infuseReport', {
      ...report(core.fleet, core.circuit.policy.failMax),
      voter: core.host.voter,
      tell,
    });
  }

  /** Once the vote's grace has passed, asks Redis again whether it opens the fleet. */
  #confirmLater(): void {
    const core = this.#core;
    const generation = core.fleet.generation;
    const timer = setTimeout(() => {
      if (this.phase !== null && core.fleet.generation === generation && core.host.up) {
        this.#ballot('');
      }
    }, QUORUM_GRACE + 100);
    timer.unref();
  }

  /** Opens the circuit for this process alone, for its own `resetTimeout`. */
  #open(from: CircuitState, reason: 'failMax' | 'trialFailed'): void {
    const core = this.#core;
    this.phase = { phase: 'open', until: performance.now() + core.circuit.policy.resetTimeout };
    core.refresh();
    this.#announce(from, 'open', reason);
  }

  #announce(from: CircuitState, to: CircuitState, reason: TransitionReason): void {
    const core = this.#core;
    core.host.transition({
      key: core.circuit.key,
      from,
      to,
      fromForced: null,
      forced: null,
      reason,
      generation: core.fleet.generation,
      scope: 'process',
    });
  }
}
