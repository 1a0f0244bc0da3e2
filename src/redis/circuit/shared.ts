/**
 * A circuit's shared side: the fleet's state as this process last learned it, and the decisions
 * made from it without a round trip (the `shared` mode of modes.ts). It holds what follows from
 * that state here: when an open circuit may try again, the closed ticket of the current
 * generation and the fast path, this process's failure streak and calls in flight, and its
 * helpers: the fleet's trial permits (trials.ts), this process's own open and ballots
 * (own-open.ts) and the reports of its calls (reports.ts).
 *
 * RedisCircuit (../circuit.ts) owns it: it chooses the mode, hands it the replies that bring news
 * (`recount`, `adopt`), and keeps it while running on the local fallback, since what it holds is
 * the last state Redis confirmed, which a process writes back if Redis lost it.
 */
import type { CircuitSnapshot, CircuitState } from '../../core/types.js';
import type { LocalCircuit } from '../../stores/local-circuit.js';
import type { Admission, CallDetail, StoreVerdict, Ticket } from '../../stores/store.js';
import { guess, isNewer, reseed, seed, type FleetState, type Seed } from '../fleet.js';
import type { RedisCircuit } from '../circuit.js';
import type { CircuitCore, CircuitHost } from './host.js';
import type { ScriptLink } from './link.js';
import { countLocally, type Mode } from './modes.js';
import { OwnOpen } from './own-open.js';
import { Reports } from './reports.js';
import { sharedSnapshot } from './snapshot.js';
import { TrialTicket, Trials } from './trials.js';

const BYPASS: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/** What the shared side needs of the {@link RedisCircuit} that owns it. */
export interface SharedOwner {
  readonly circuit: RedisCircuit;
  readonly host: CircuitHost;
  readonly link: ScriptLink;
  /** The circuit's mode: the fast path is open in `shared` only. */
  readonly mode: Mode;
  /** Switches the circuit to per-process state; the fallback. */
  fallBack(): LocalCircuit;
  /** A caller Redis gave no trial permit in time (see {@link CircuitCore.withoutPermit}). */
  withoutPermit(): Admission;
}

export class SharedCircuit {
  readonly #owner: SharedOwner;
  /** The fleet's state as last learned (before the first read: what `initialState` would give). */
  #fleet: FleetState;
  /** `performance.now()` at which an open circuit may try again. */
  #openUntil = 0;
  /** The closed ticket of the current generation; a released ticket that is not it is old. */
  #closed: Ticket;
  /** `#closed` when a call may go without asking anyone, otherwise null. */
  #fast: Ticket | null = null;
  /** Consecutive failures of this process's calls (see README: what "consecutive" means). */
  streak = 0;
  #inFlight = 0;
  /** A call of this many ms or more is slow (`slowCallRate`; Infinity without it). */
  readonly #slowMs: number;
  /** Its part in the quorum: ballots, and this process's own open (see `quorum`). */
  readonly own: OwnOpen;
  /** The trial permits of the fleet's half-open circuit this process asks for and holds. */
  readonly trials: Trials;
  /** What this process tells the fleet about its calls. */
  readonly reports: Reports;

  constructor(owner: SharedOwner, known: FleetState | undefined) {
    this.#owner = owner;
    const { policy } = owner.circuit;
    this.#slowMs = policy.slowCallRate?.duration ?? Infinity;
    this.#fleet = known ?? guess(policy);
    this.#openUntil = performance.now() + this.#fleet.remaining;
    this.#closed = closedTicket(this.#fleet.generation);
    const core = this.#core();
    this.own = new OwnOpen(core);
    this.trials = new Trials(core);
    this.reports = new Reports(
      core,
      this.own,
      policy.failureRate !== null || this.#slowMs !== Infinity,
    );
  }

  get fleet(): FleetState {
    return this.#fleet;
  }

  /** The state this process acts on: its own open while one stands, else the fleet's. */
  get state(): CircuitState {
    return this.own.phase?.phase ?? this.#fleet.state;
  }

  /** The closed ticket of the current generation. */
  get closed(): Ticket {
    return this.#closed;
  }

  /** True when nothing is under way here: no call in flight, no trial permit held, no own open. */
  get settled(): boolean {
    return this.#inFlight === 0 && this.trials.size === 0 && this.own.phase === null;
  }

  /** The healthy path: the closed ticket, counted in flight, when a call may go without asking. */
  fast(): Ticket | null {
    const ticket = this.#fast;
    if (ticket !== null) this.#inFlight++;
    return ticket;
  }

  /** Decides a call from the fleet's state; `mayAsk`: Redis may be asked for a trial permit. */
  decide(mayAsk: boolean): Admission | Promise<Admission> {
    const fleet = this.#fleet;
    if (fleet.forced === 'disabled') return BYPASS;
    if (fleet.forced === 'forced-open') {
      return { allowed: false, state: fleet.state, forced: fleet.forced, retryAfter: Infinity };
    }
    const now = performance.now();
    switch (fleet.state) {
      case 'closed':
        if (this.own.phase !== null) return this.own.decide(this.own.phase, now);
        this.#inFlight++;
        return this.#closed;
      case 'open':
        if (now < this.#openUntil) {
          return { allowed: false, state: 'open', forced: null, retryAfter: this.#openUntil - now };
        }
        break;
      case 'half-open':
        if (this.trials.taken(now) || !mayAsk) {
          return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
        }
        break;
    }
    if (!mayAsk) return { allowed: false, state: fleet.state, forced: null, retryAfter: 0 };
    return this.trials.ask();
  }

  /**
   * The outcome of a call this side let through (tickets the fallback issued go back to it, see
   * RedisCircuit.release): counted, reported, or settled as a trial.
   */
  release(ticket: Ticket, verdict: StoreVerdict, detail?: CallDetail): void | Promise<void> {
    // A server's Retry-After holds the whole fleet back (no quorum: it is the host's own word).
    const retryAfter = verdict === 'aborted' ? 0 : (detail?.retryAfter ?? 0);
    const slow = (detail?.duration ?? -1) >= this.#slowMs;
    if (ticket === this.#closed) {
      this.#inFlight--;
      const mode = this.#owner.mode;
      if (mode.kind === 'local') return countLocally(mode.fallback, verdict, detail);
      if (retryAfter > 0) return this.reports.openFor(retryAfter, 'retryAfter');
      if (verdict === 'success') {
        this.streak = 0;
        if (this.own.tell !== null) this.own.told();
        this.reports.succeeded(slow);
        return;
      }
      if (verdict === 'aborted') return;
      this.streak++;
      return this.reports.failed(slow);
    }
    if (ticket.kind === 'bypass') return;
    const own = this.own.phase;
    if (own?.phase === 'half-open' && own.trials.has(ticket)) {
      this.#inFlight--;
      // A slow trial fails its test: the host answers, but not the way the policy asks.
      const judged = verdict === 'success' && (slow || retryAfter > 0) ? 'failure' : verdict;
      const settled = this.own.settle(own, ticket, judged);
      return retryAfter > 0 ? this.reports.openFor(retryAfter, 'retryAfter') : settled;
    }
    this.#inFlight--;
    if (ticket instanceof TrialTicket) return this.trials.settle(ticket, verdict, slow, retryAfter);
    // A closed ticket of an older generation: decided before a change, it must not undo it.
  }

  snapshot(): CircuitSnapshot {
    return sharedSnapshot({
      key: this.#owner.circuit.key,
      fleet: this.#fleet,
      own: this.own,
      openUntil: this.#openUntil,
      streak: this.streak,
      slowCalls: this.#slowMs !== Infinity,
    });
  }

  /**
   * The READ script's seed when reading the state again: the last state Redis confirmed (a
   * fallback never changes it), which Redis takes when it lost the state. Per-process trips made
   * while Redis was away are not in it.
   */
  reread(): Seed {
    const fleet = this.#fleet;
    const remaining = Math.max(0, Math.round(this.#openUntil - performance.now()));
    return fleet.epoch === '' ? seed(this.#owner.circuit.policy) : reseed(fleet, remaining);
  }

  /** Counters of the state this process knows (window, votes) from a reply about that state. */
  recount(fleet: FleetState): void {
    const known = this.#fleet;
    if (fleet.epoch !== known.epoch || fleet.generation !== known.generation) return;
    this.#fleet = { ...known, calls: fleet.calls, failures: fleet.failures };
    this.#fleet = { ...this.#fleet, slowCalls: fleet.slowCalls, slow: fleet.slow };
    this.#fleet = { ...this.#fleet, votes: fleet.votes, agreeing: fleet.agreeing };
    this.own.heard(fleet.votes);
  }

  /**
   * True when `fleet` is news: newer than what this process knew, or, running locally (`local`),
   * not older (anything Redis answers then brings the process back to the fleet's state).
   */
  isNews(fleet: FleetState, local: boolean): boolean {
    return local ? !isNewer(this.#fleet, fleet) : isNewer(fleet, this.#fleet);
  }

  /** Takes on `fleet`, which is news (the caller refreshes the fast path and says what changed). */
  adopt(fleet: FleetState): void {
    const previous = this.#fleet;
    // The fleet moved on (a transition, or its state was lost): this process's own open gives way
    // to the fleet's state. A newer read of the same state leaves it be.
    const moved = fleet.epoch !== previous.epoch || fleet.generation !== previous.generation;
    if (moved) this.own.moved();
    this.#fleet = fleet;
    this.#openUntil = performance.now() + fleet.remaining;
    this.trials.unhold();
    if (moved) {
      this.#closed = closedTicket(fleet.generation);
      this.reports.clear();
      if (fleet.state === 'closed') this.streak = 0;
    }
  }

  /** Opens or closes the fast path, after anything that may change it. */
  refresh(): void {
    const fleet = this.#fleet;
    this.#fast =
      this.#owner.mode.kind === 'shared' &&
      this.own.phase === null &&
      fleet.state === 'closed' &&
      fleet.forced === null
        ? this.#closed
        : null;
  }

  /** What the helpers (trial permits, the own open, the reports) reach of it; built once. */
  #core(): CircuitCore {
    // Lexically inside the class: the accessors may read and write its private state.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const shared = this;
    const owner = this.#owner;
    return {
      circuit: owner.circuit,
      host: owner.host,
      link: owner.link,
      get fleet() {
        return shared.#fleet;
      },
      get streak() {
        return shared.streak;
      },
      set streak(value: number) {
        shared.streak = value;
      },
      get mode() {
        return owner.mode;
      },
      admitted: () => {
        this.#inFlight++;
      },
      decideWithoutAsking: () => this.decide(false),
      withoutPermit: () => owner.withoutPermit(),
      refresh: () => {
        this.refresh();
      },
      reportFailure: () => this.reports.failed(),
      fallBack: () => owner.fallBack(),
    };
  }
}

function closedTicket(generation: number): Ticket {
  return Object.freeze({ allowed: true, kind: 'closed', generation });
}
