import type {
  Admission,
  CallDetail,
  Command,
  Policy,
  StoreVerdict,
  Ticket,
  Transition,
} from '../stores/store.js';
import { TripRules } from './rules.js';
import {
  CLOSED,
  forcedOf,
  halfOpen,
  stateOf,
  unreachable,
  type CircuitPhase,
  type HalfOpenPhase,
} from './state.js';
import type { CircuitSnapshot, CircuitState, ForcedMode, TransitionReason } from './types.js';

const BYPASS: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/**
 * One circuit's state machine: a {@link CircuitPhase} that changes only through {@link #enter},
 * the trip rules that decide when a closed circuit opens, and the tickets that tie each outcome to
 * the episode it began in. It is the reference implementation of the policy; the in-memory store
 * serves it as it is, and shared stores fall back to it when their backend cannot be reached.
 *
 * Time only moves forward when a call or a read arrives: an open circuit turns half-open when the
 * first call after its open period asks to go, so no timer is kept per circuit.
 */
export class CircuitMachine {
  readonly key: string;
  readonly #policy: Policy;
  readonly #now: () => number;
  readonly #onTransition: (transition: Transition) => void;
  readonly #rules: TripRules;

  #phase: CircuitPhase = CLOSED;
  #generation = 0;
  #changedAt: number;
  #inFlight = 0;
  /** Shared by every call of a closed generation, so that a closed call allocates nothing. */
  #closedTicket: Ticket;

  constructor(
    key: string,
    policy: Policy,
    now: () => number,
    onTransition: (transition: Transition) => void,
  ) {
    this.key = key;
    this.#policy = policy;
    this.#now = now;
    this.#onTransition = onTransition;
    const at = now();
    this.#changedAt = at;
    this.#rules = new TripRules(policy, at);
    this.#closedTicket = closedTicket(0);
    const initial = policy.initialState;
    switch (initial) {
      case null:
      case 'closed':
        break;
      case 'open':
        this.#phase = { mode: 'open', until: at + policy.resetTimeout };
        break;
      case 'half-open':
        this.#phase = halfOpen(policy.halfOpenMaxCalls);
        break;
      case 'forced-open':
      case 'disabled':
        this.#phase = { mode: initial, state: 'closed' };
        break;
      default:
        unreachable(initial);
    }
  }

  /** The current phase (a plain value; read it, never change it). */
  get phase(): CircuitPhase {
    return this.#phase;
  }

  get state(): CircuitState {
    return stateOf(this.#phase);
  }

  get forced(): ForcedMode | null {
    return forcedOf(this.#phase);
  }

  get failures(): number {
    return this.#rules.failures;
  }

  /** True when nothing would be lost by dropping this circuit but a count of recent failures. */
  get idle(): boolean {
    return this.#phase.mode === 'closed' && this.#inFlight === 0;
  }

  acquire(): Admission {
    const phase = this.#phase;
    switch (phase.mode) {
      case 'closed':
        this.#inFlight++;
        return this.#closedTicket;
      case 'open': {
        const now = this.#now();
        if (now < phase.until) {
          return { allowed: false, state: 'open', forced: null, retryAfter: phase.until - now };
        }
        return this.#grantTrial(
          this.#enter(halfOpen(this.#policy.halfOpenMaxCalls), 'resetTimeout'),
        );
      }
      case 'half-open':
        return this.#grantTrial(phase);
      case 'forced-open':
        return { allowed: false, state: phase.state, forced: phase.mode, retryAfter: Infinity };
      case 'disabled':
        return BYPASS;
      default:
        return unreachable(phase);
    }
  }

  release(ticket: Ticket, verdict: StoreVerdict, detail?: CallDetail): void {
    if (ticket.kind === 'bypass') return;
    this.#inFlight--;
    // A ticket of an older generation was decided before a change: it must not undo it.
    if (ticket.generation !== this.#generation || verdict === 'aborted') {
      if (verdict === 'aborted') this.#giveBack(ticket);
      return;
    }
    const retryAfter = detail?.retryAfter ?? 0;
    if (retryAfter > 0) {
      this.#enter({ mode: 'open', until: this.#now() + retryAfter }, 'retryAfter');
      return;
    }
    const phase = this.#phase;
    if (ticket.kind === 'trial') {
      if (phase.mode !== 'half-open') return;
      // A slow trial fails its test: the host answers, but not the way the policy asks.
      if (verdict === 'failure' || this.#rules.isSlow(detail?.duration)) {
        this.#rules.failures++;
        this.#open('trialFailed');
      } else if (phase.successes + 1 >= this.#policy.halfOpenMaxCalls) {
        this.#enter(CLOSED, 'trialSucceeded');
      } else {
        this.#phase = { ...phase, inFlight: phase.inFlight - 1, successes: phase.successes + 1 };
      }
      return;
    }
    const reason = this.#rules.record(verdict === 'failure', detail?.duration, this.#now);
    if (reason !== null) this.#open(reason);
  }

  /** Applies a manual change, synchronously. */
  apply(command: Command): void {
    const state = this.state;
    switch (command) {
      case 'open':
        this.#open('manual');
        break;
      case 'close':
        this.#enter(CLOSED, 'manual');
        break;
      case 'half-open':
        this.#enter(halfOpen(this.#policy.halfOpenMaxCalls), 'manual');
        break;
      case 'force-open':
        this.#enter({ mode: 'forced-open', state }, 'manual');
        break;
      case 'disable':
        this.#enter({ mode: 'disabled', state }, 'manual');
        break;
      case 'clear-forced':
        if (this.forced !== null) this.#enter(CLOSED, 'manual');
        break;
      default:
        unreachable(command);
    }
  }

  snapshot(): CircuitSnapshot {
    const now = this.#now();
    this.#rules.refresh(now);
    const phase = this.#phase;
    const forced = forcedOf(phase);
    const state = stateOf(phase);
    const slowCalls = this.#rules.slowWindow;
    const snapshot: CircuitSnapshot = {
      key: this.key,
      state,
      forced,
      mode: forced ?? state,
      failures: this.#rules.failures,
      window: this.#rules.window,
      trialsInFlight: phase.mode === 'half-open' ? phase.inFlight : 0,
      changedAt: this.#changedAt,
      retryAfter:
        phase.mode === 'forced-open'
          ? Infinity
          : phase.mode === 'open'
            ? Math.max(0, phase.until - now)
            : 0,
      generation: this.#generation,
    };
    return slowCalls === null ? snapshot : { ...snapshot, slowCalls };
  }

  #grantTrial(phase: HalfOpenPhase): Admission {
    if (phase.permits === 0) {
      return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
    }
    this.#phase = { ...phase, permits: phase.permits - 1, inFlight: phase.inFlight + 1 };
    this.#inFlight++;
    return { allowed: true, kind: 'trial', generation: this.#generation };
  }

  /** An aborted trial of the current episode gives its permit back; nothing else is counted. */
  #giveBack(ticket: Ticket): void {
    const phase = this.#phase;
    if (ticket.kind !== 'trial' || ticket.generation !== this.#generation) return;
    if (phase.mode !== 'half-open') return;
    this.#phase = { ...phase, permits: phase.permits + 1, inFlight: phase.inFlight - 1 };
  }

  #open(reason: TransitionReason): void {
    this.#enter({ mode: 'open', until: this.#now() + this.#policy.resetTimeout }, reason);
  }

  /**
   * The one place the phase changes to a new episode: a new generation, the counters the new
   * state starts from, and the transition announced (unless nothing visible changed, as when a
   * manual change repeats the current state: its counters restart, but it is no news).
   */
  #enter<P extends CircuitPhase>(next: P, reason: TransitionReason): P {
    const previous = this.#phase;
    const now = this.#now();
    this.#phase = next;
    this.#generation++;
    this.#changedAt = now;
    switch (next.mode) {
      case 'closed':
        this.#rules.reset(now, true);
        this.#closedTicket = closedTicket(this.#generation);
        break;
      case 'open':
        this.#rules.reset(now, false);
        break;
      case 'half-open':
        break;
      case 'forced-open':
      case 'disabled':
        // Forcing restarts the counters of the state it keeps, as entering that state would.
        if (next.state !== 'half-open') this.#rules.reset(now, next.state === 'closed');
        break;
      default:
        unreachable(next);
    }
    const from = stateOf(previous);
    const to = stateOf(next);
    const fromForced = forcedOf(previous);
    const forced = forcedOf(next);
    if (from !== to || fromForced !== forced) {
      this.#onTransition({
        key: this.key,
        from,
        to,
        fromForced,
        forced,
        reason,
        generation: this.#generation,
      });
    }
    return next;
  }
}

function closedTicket(generation: number): Ticket {
  return Object.freeze({ allowed: true, kind: 'closed', generation });
}
