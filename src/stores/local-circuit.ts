import type { CircuitSnapshot, CircuitState, ForcedMode, TransitionReason } from '../core/types.js';
import { RateWindow } from './rate-window.js';
import type {
  Admission,
  Command,
  Policy,
  StoreCircuit,
  StoreVerdict,
  Ticket,
  Transition,
} from './store.js';

const BYPASS: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/**
 * One circuit's state machine, kept in this process. It is the reference implementation of the
 * policy: {@link MemoryStore} serves these, and shared stores fall back to them when their backend
 * cannot be reached.
 *
 * Time only moves forward when a call or a read arrives: an open circuit turns half-open when the
 * first call after `resetTimeout` asks to go, so no timer is kept per circuit.
 */
export class LocalCircuit implements StoreCircuit {
  readonly key: string;
  readonly releasesAtOnce = true;
  readonly #policy: Policy;
  readonly #now: () => number;
  readonly #onTransition: (transition: Transition) => void;

  #state: CircuitState = 'closed';
  #forced: ForcedMode | null = null;
  #failures = 0;
  #generation = 0;
  #changedAt: number;
  #openUntil = 0;
  #trialsLeft = 0;
  #trialsInFlight = 0;
  #trialSuccesses = 0;
  #inFlight = 0;
  #window: RateWindow | null;
  #closedTicket: Ticket;
  #retired = false;

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
    this.#window = policy.failureRate ? new RateWindow(policy.failureRate, at) : null;
    this.#closedTicket = closedTicket(0);
    switch (policy.initialState) {
      case null:
      case 'closed':
        break;
      case 'open':
        this.#state = 'open';
        this.#openUntil = at + policy.resetTimeout;
        break;
      case 'half-open':
        this.#enterHalfOpen();
        break;
      case 'forced-open':
      case 'disabled':
        this.#forced = policy.initialState;
        break;
    }
  }

  get state(): CircuitState {
    return this.#state;
  }

  get forced(): ForcedMode | null {
    return this.#forced;
  }

  get failures(): number {
    return this.#failures;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** True when nothing would be lost by dropping this circuit but a count of recent failures. */
  get idle(): boolean {
    return this.#state === 'closed' && this.#forced === null && this.#inFlight === 0;
  }

  retire(): void {
    this.#retired = true;
  }

  acquire(): Admission {
    if (this.#forced !== null) {
      if (this.#forced === 'disabled') return BYPASS;
      return { allowed: false, state: this.#state, forced: this.#forced, retryAfter: Infinity };
    }
    switch (this.#state) {
      case 'closed':
        this.#inFlight++;
        return this.#closedTicket;
      case 'open': {
        const now = this.#now();
        if (now < this.#openUntil) {
          return { allowed: false, state: 'open', forced: null, retryAfter: this.#openUntil - now };
        }
        this.#transition('half-open', this.#forced, 'resetTimeout');
        return this.#grantTrial();
      }
      case 'half-open':
        return this.#grantTrial();
    }
  }

  release(ticket: Ticket, verdict: StoreVerdict): void {
    if (ticket.kind === 'bypass') return;
    this.#inFlight--;
    if (ticket.generation !== this.#generation) return;
    if (ticket.kind === 'trial') {
      this.#trialsInFlight--;
      if (verdict === 'aborted') this.#trialsLeft++;
      else if (verdict === 'failure') {
        this.#failures++;
        this.#trip('trialFailed');
      } else if (++this.#trialSuccesses >= this.#policy.halfOpenMaxCalls) {
        this.#transition('closed', null, 'trialSucceeded');
      }
      return;
    }
    if (verdict === 'aborted') return;
    const failed = verdict === 'failure';
    if (failed) this.#failures++;
    else this.#failures = 0;
    const rateTrips = this.#window?.record(this.#now(), failed) ?? false;
    if (failed && this.#failures >= this.#policy.failMax) this.#trip('failMax');
    else if (rateTrips) this.#trip('failureRate');
  }

  command(command: Command): Promise<void> {
    this.apply(command);
    return Promise.resolve();
  }

  /** {@link command}, synchronously. */
  apply(command: Command): void {
    switch (command) {
      case 'open':
        this.#trip('manual', null);
        break;
      case 'close':
        this.#transition('closed', null, 'manual');
        break;
      case 'half-open':
        this.#transition('half-open', null, 'manual');
        break;
      case 'force-open':
        this.#transition(this.#state, 'forced-open', 'manual');
        break;
      case 'disable':
        this.#transition(this.#state, 'disabled', 'manual');
        break;
      case 'clear-forced':
        if (this.#forced !== null) this.#transition('closed', null, 'manual');
        break;
    }
  }

  snapshot(): CircuitSnapshot {
    const now = this.#now();
    this.#window?.refresh(now);
    return {
      key: this.key,
      state: this.#state,
      forced: this.#forced,
      mode: this.#forced ?? this.#state,
      failures: this.#failures,
      window: { calls: this.#window?.calls ?? 0, failures: this.#window?.failures ?? 0 },
      trialsInFlight: this.#trialsInFlight,
      changedAt: this.#changedAt,
      retryAfter: this.#retryAfter(now),
      generation: this.#generation,
    };
  }

  #retryAfter(now: number): number {
    if (this.#forced === 'forced-open') return Infinity;
    if (this.#forced === null && this.#state === 'open') return Math.max(0, this.#openUntil - now);
    return 0;
  }

  #grantTrial(): Admission {
    if (this.#trialsLeft === 0) {
      return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
    }
    this.#trialsLeft--;
    this.#trialsInFlight++;
    this.#inFlight++;
    return { allowed: true, kind: 'trial', generation: this.#generation };
  }

  #trip(reason: TransitionReason, forced: ForcedMode | null = this.#forced): void {
    this.#transition('open', forced, reason);
  }

  #enterHalfOpen(): void {
    this.#state = 'half-open';
    this.#trialsLeft = this.#policy.halfOpenMaxCalls;
    this.#trialsInFlight = 0;
    this.#trialSuccesses = 0;
  }

  #transition(to: CircuitState, forced: ForcedMode | null, reason: TransitionReason): void {
    const from = this.#state;
    const fromForced = this.#forced;
    const now = this.#now();
    this.#generation++;
    this.#changedAt = now;
    this.#forced = forced;
    switch (to) {
      case 'closed':
        this.#state = 'closed';
        this.#failures = 0;
        this.#window?.reset(now);
        this.#closedTicket = closedTicket(this.#generation);
        break;
      case 'open':
        this.#state = 'open';
        this.#openUntil = now + this.#policy.resetTimeout;
        this.#window?.reset(now);
        break;
      case 'half-open':
        this.#enterHalfOpen();
        break;
    }
    // A manual change to the same state resets its counters but is no news to anyone.
    if (from === to && fromForced === forced) return;
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
}

function closedTicket(generation: number): Ticket {
  return Object.freeze({ allowed: true, kind: 'closed', generation });
}

/** A circuit a store can let go of: see {@link forgetIdle}. */
export interface Retirable {
  readonly idle: boolean;
  retire(): void;
}

/**
 * `Store.forget` for every store: drops `key`'s circuit from `circuits` when it is idle (closed, not
 * forced, nothing in flight) and marks it retired so that handles ask the store again. Returns the
 * dropped circuit, `null` when there was none, or `false` when it is busy and was kept.
 */
export function forgetIdle<C extends Retirable>(
  circuits: Map<string, C>,
  key: string,
): C | null | false {
  const circuit = circuits.get(key);
  if (circuit === undefined) return null;
  if (!circuit.idle) return false;
  circuit.retire();
  circuits.delete(key);
  return circuit;
}
