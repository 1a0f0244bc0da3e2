import type { CircuitSnapshot, CircuitState, ForcedMode } from '../core/types.js';
import type { LocalCircuit } from '../stores/local-circuit.js';
import type {
  Admission,
  CallDetail,
  Command,
  Policy,
  StoreCircuit,
  StoreVerdict,
  Ticket,
} from '../stores/store.js';
import {
  guess,
  isNewer,
  reseed,
  seed,
  type FleetMessage,
  type FleetState,
  type ScriptEvent,
  type ScriptReply,
} from './fleet.js';
import { describeFailure, RedisStoreError } from './errors.js';
import type { CircuitKeys } from './keys.js';
import { Usage } from './presence/usage.js';
import { report, type CircuitCore, type CircuitHost } from './circuit/host.js';
import {
  acquireLocally,
  countLocally,
  fallbackFrom,
  modeIdle,
  SHARED,
  type Mode,
} from './circuit/modes.js';
import { OwnOpen } from './circuit/own-open.js';
import { TrialTicket, Trials } from './circuit/trials.js';
import { Rechecks } from './circuit/rechecks.js';
import { ScriptLink } from './circuit/link.js';
import { sharedSnapshot } from './circuit/snapshot.js';

export type { CircuitHost } from './circuit/host.js';

const BYPASS: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/**
 * One circuit of a {@link RedisStore}: a local picture of the fleet's state that answers the
 * healthy path without a round trip, kept current by script replies and pub/sub messages, and a
 * per-process {@link LocalCircuit} with the same policy to fall back on while Redis cannot answer.
 */
export class RedisCircuit implements StoreCircuit {
  readonly key: string;
  readonly keys: CircuitKeys;
  readonly policy: Policy;
  /** This process's calls through the circuit, for its heartbeat (presence/heartbeat.ts). */
  readonly usage = new Usage();
  readonly #host: CircuitHost;

  /** The fleet's state as last learned (before the first read: what `initialState` would give). */
  #fleet: FleetState;
  /** `performance.now()` at which an open circuit may try again. */
  #openUntil = 0;
  /** The closed ticket of the current generation; a released ticket that is not it is old. */
  #closed: Ticket;
  /** `#closed` when a call may go without asking anyone, otherwise null. */
  #fast: Ticket | null = null;
  /** Consecutive failures of this process's calls (see README: what "consecutive" means). */
  #streak = 0;
  /** Its part in the quorum: ballots, and this process's own open (see `quorum`). */
  readonly #own: OwnOpen;
  /** Successes not yet sent, and how many of them were slow (rate policies only). */
  #successes = 0;
  #slowSuccesses = 0;
  /** A call of this many ms or more is slow (`slowCallRate`; Infinity without it). */
  readonly #slowMs: number;
  /** Successes are batched for a window of the fleet (`failureRate` or `slowCallRate`). */
  readonly #counted: boolean;
  #inFlight = 0;
  /** The trial permits of the fleet's half-open circuit this process asks for and holds. */
  readonly #trials: Trials;
  #mode: Mode = SHARED;
  /** Tickets a fallback issued, so that each goes back to the machine that issued it. */
  readonly #issued = new WeakMap<Ticket, LocalCircuit>();
  /** Runs the circuit's scripts, and applies their replies. */
  readonly #link: ScriptLink;
  /** When to read the circuit again because others say it changed. */
  readonly #rechecks = new Rechecks(() => {
    const mode = this.#mode;
    return (mode.kind === 'loading' ? mode.loaded : Promise.resolve()).then(() =>
      this.#host.up && this.#mode.kind !== 'local' ? this.resync() : false,
    );
  });
  #retired = false;

  constructor(
    key: string,
    keys: CircuitKeys,
    policy: Policy,
    host: CircuitHost,
    known: FleetState | undefined,
  ) {
    this.key = key;
    this.keys = keys;
    this.policy = policy;
    this.#host = host;
    this.#slowMs = policy.slowCallRate?.duration ?? Infinity;
    this.#counted = policy.failureRate !== null || this.#slowMs !== Infinity;
    this.#fleet = known ?? guess(policy);
    this.#openUntil = performance.now() + this.#fleet.remaining;
    this.#closed = closedTicket(this.#fleet.generation);
    this.#link = new ScriptLink(this, host, (reply) => {
      this.#apply(reply);
    });
    const core = this.#core();
    this.#own = new OwnOpen(core);
    this.#trials = new Trials(core);
    if (known === undefined) {
      if (host.up) this.#mode = { kind: 'loading', loaded: this.#load() };
      else this.#fallBack();
    }
    this.#refresh();
  }

  get state(): CircuitState {
    const mode = this.#mode;
    return mode.kind === 'local'
      ? mode.fallback.state
      : (this.#own.phase?.phase ?? this.#fleet.state);
  }

  get forced(): ForcedMode | null {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.forced : this.#fleet.forced;
  }

  get failures(): number {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.failures : this.#streak;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** The fleet's shadow switch as last learned (kept while Redis is away: an operator's choice). */
  get shadow(): boolean {
    return this.#fleet.shadow;
  }

  /** True when dropping the circuit loses nothing but this process's failure streak. */
  get idle(): boolean {
    return (
      this.state === 'closed' &&
      this.forced === null &&
      this.#inFlight === 0 &&
      this.#trials.size === 0 &&
      this.#own.phase === null &&
      !this.#link.busy &&
      modeIdle(this.#mode)
    );
  }

  /** True when calls run on per-process state. */
  get local(): boolean {
    return this.#mode.kind === 'local';
  }

  retire(): void {
    this.#retired = true;
  }

  acquire(): Admission | Promise<Admission> {
    const ticket = this.#fast;
    if (ticket !== null) {
      this.#inFlight++;
      return ticket;
    }
    return this.usage.admit(this.#admit());
  }

  #admit(): Admission | Promise<Admission> {
    const mode = this.#mode;
    switch (mode.kind) {
      case 'loading':
        return mode.loaded.then(() => this.#admit());
      case 'local':
        return acquireLocally(mode.fallback, this.#issued);
      case 'shared':
        return this.#decide(true);
    }
  }

  release(ticket: Ticket, verdict: StoreVerdict, detail?: CallDetail): void | Promise<void> {
    this.usage.settled(verdict);
    // A server's Retry-After holds the whole fleet back (no quorum: it is the host's own word).
    const retryAfter = verdict === 'aborted' ? 0 : (detail?.retryAfter ?? 0);
    const slow = (detail?.duration ?? -1) >= this.#slowMs;
    if (ticket === this.#closed) {
      this.#inFlight--;
      const mode = this.#mode;
      if (mode.kind === 'local') return countLocally(mode.fallback, verdict, detail);
      if (retryAfter > 0) return this.openFor(retryAfter, 'retryAfter');
      if (verdict === 'success') {
        this.#streak = 0;
        if (this.#own.tell !== null) this.#own.told();
        if (slow) this.#slowSuccesses++;
        if (this.#counted && this.#successes++ === 0) this.#host.dirty(this);
        return;
      }
      if (verdict === 'aborted') return;
      this.#streak++;
      return this.#reportFailure(slow);
    }
    if (ticket.kind === 'bypass') return;
    const own = this.#own.phase;
    if (own?.phase === 'half-open' && own.trials.has(ticket)) {
      this.#inFlight--;
      // A slow trial fails its test: the host answers, but not the way the policy asks.
      const judged = verdict === 'success' && (slow || retryAfter > 0) ? 'failure' : verdict;
      const settled = this.#own.settle(own, ticket, judged);
      return retryAfter > 0 ? this.openFor(retryAfter, 'retryAfter') : settled;
    }
    const issuer = this.#issued.get(ticket);
    if (issuer !== undefined) {
      if (this.#mode.kind === 'local' && issuer === this.#mode.fallback) {
        issuer.release(ticket, verdict, detail);
      }
      return;
    }
    this.#inFlight--;
    if (ticket instanceof TrialTicket)
      return this.#trials.settle(ticket, verdict, slow, retryAfter);
    // A closed ticket of an older generation: decided before a change, it must not undo it.
  }

  async command(command: Command): Promise<void> {
    if (this.#mode.kind === 'loading') await this.#mode.loaded;
    const refuse = (cause: unknown): RedisStoreError =>
      new RedisStoreError(
        this.key,
        `RedisStore: cannot ${command} circuit ${JSON.stringify(this.key)}: ${describeFailure(cause)}; nothing was changed`,
        cause,
      );
    if (!this.#host.up) throw refuse(this.#host.downCause);
    try {
      await this.#link.exec('infuseCommand', { command, scope: '', period: 0 });
    } catch (error) {
      this.#host.fail(error);
      throw refuse(error);
    }
  }

  snapshot(): CircuitSnapshot {
    const mode = this.#mode;
    if (mode.kind === 'local') return { ...mode.fallback.snapshot(), scope: 'process' };
    return sharedSnapshot({
      key: this.key,
      fleet: this.#fleet,
      own: this.#own,
      openUntil: this.#openUntil,
      streak: this.#streak,
      slowCalls: this.#slowMs !== Infinity,
    });
  }

  /**
   * Opens the circuit for the whole fleet for `ms` (at most the longest open period the policy
   * allows) with `reason`, when it is closed as this process knows it: a server's Retry-After is
   * a fact about the host, not one process's evidence, so no quorum applies. Resolves once Redis
   * has answered, or after `waitTimeout` (the fallback then opens locally, for `ms`).
   */
  openFor(ms: number, reason: 'retryAfter'): Promise<void> {
    const fleet = this.#fleet;
    if (this.#mode.kind === 'local' || fleet.state !== 'closed' || fleet.forced !== null) {
      return Promise.resolve();
    }
    const period = Math.max(1, Math.round(ms));
    const successes = this.#successes;
    const slow = this.#slowSuccesses;
    this.#successes = this.#slowSuccesses = 0;
    const reported = this.#link.send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      successes,
      slow,
      reason,
      period,
    });
    return this.#link.bounded(reported, () => {
      countLocally(this.#fallBack(), 'success', { retryAfter: period });
    });
  }

  /** Sends batched successes (called by the store's flush timer). */
  flush(): void {
    const successes = this.#successes;
    const slow = this.#slowSuccesses;
    this.#successes = this.#slowSuccesses = 0;
    if (successes === 0 || this.#mode.kind !== 'shared') return;
    const fleet = this.#fleet;
    void this.#link.send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      successes,
      slow,
    });
  }

  /** Renews the trial leases this process holds; false when it holds none. */
  renew(): boolean {
    return this.#trials.renew();
  }

  /**
   * Reads the fleet's state again (after a reconnect, on recovery, and by the slow poll). Where
   * Redis lost the state, a process that knew it open or forced writes it back. Resolves false
   * when Redis did not answer.
   */
  resync(keepAlive = false): Promise<boolean> {
    // `#fleet` is the last state Redis confirmed (a fallback never changes it): what this process
    // writes back if Redis lost it. Per-process trips made while Redis was away are not.
    const fleet = this.#fleet;
    const remaining = Math.max(0, Math.round(this.#openUntil - performance.now()));
    const args = fleet.epoch === '' ? seed(this.policy) : reseed(fleet, remaining);
    return this.#link.send('infuseRead', { ...args, keepAlive: keepAlive ? 1 : 0 });
  }

  /**
   * The change feed lists the circuit as changed at `score` (ms, Redis clock): read it again,
   * unless this process already read it for that change.
   */
  changed(score: number): void {
    this.#rechecks.changed(score);
  }

  /**
   * Called by every poll: a forced mode or shadow mode (an operator's decision, which no call
   * ever writes again) lives in Redis as long as a process that knows it polls. Nothing else needs keeping alive.
   */
  keepAlive(): void {
    const fleet = this.#fleet;
    if (fleet.forced === null && !fleet.shadow) return;
    if (this.#mode.kind !== 'shared') return;
    void this.resync(true);
  }

  /**
   * A pub/sub message names this circuit: read it again. What a message says is never applied
   * (anyone allowed to PUBLISH could write it); the state comes from Redis's keys, and messages
   * that arrive while a read is under way make one more read after it, not one each. A transition
   * to a generation this process already read (its own, whose reply it has applied) needs no
   * read; any other message, a vote (which carries no transition) included, makes one. Skipping
   * only spares a read of a state already held: no message, forged or not, keeps a process from
   * reading a newer one.
   */
  heard(news: FleetMessage): void {
    const fleet = this.#fleet;
    const known = news.fleet.epoch === fleet.epoch && news.fleet.generation <= fleet.generation;
    if (news.event !== null && known) return;
    this.#rechecks.recheck();
  }

  /** Redis became unreachable: run on per-process state until it is back. */
  fallBack(): void {
    this.#fallBack();
  }

  #decide(mayAsk: boolean): Admission | Promise<Admission> {
    const fleet = this.#fleet;
    if (fleet.forced === 'disabled') return BYPASS;
    if (fleet.forced === 'forced-open') {
      return { allowed: false, state: fleet.state, forced: fleet.forced, retryAfter: Infinity };
    }
    const now = performance.now();
    switch (fleet.state) {
      case 'closed':
        if (this.#own.phase !== null) return this.#own.decide(this.#own.phase, now);
        this.#inFlight++;
        return this.#closed;
      case 'open':
        if (now < this.#openUntil) {
          return { allowed: false, state: 'open', forced: null, retryAfter: this.#openUntil - now };
        }
        break;
      case 'half-open':
        if (this.#trials.taken(now) || !mayAsk) {
          return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
        }
        break;
    }
    if (!mayAsk) return { allowed: false, state: fleet.state, forced: null, retryAfter: 0 };
    return this.#trials.ask();
  }

  #reportFailure(slow = false): Promise<void> {
    const fleet = this.#fleet;
    const successes = this.#successes;
    const slowCalls = this.#slowSuccesses + (slow ? 1 : 0);
    this.#successes = this.#slowSuccesses = 0;
    const trips = this.#streak >= this.policy.failMax;
    const voter = this.#own.failed(trips);
    const reported = this.#link.send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      successes,
      failures: 1,
      slow: slowCalls,
      reason: trips ? 'failMax' : '',
      voter,
    });
    return this.#link.bounded(reported, () => this.#fallBack());
  }

  #load(): Promise<void> {
    const read = this.#link.send('infuseRead', { ...seed(this.policy), keepAlive: 0 });
    return this.#link
      .bounded(read, () => this.#fallBack())
      .then(() => {
        // Unless it fell back meanwhile (Redis did not answer in time, or was lost).
        if (this.#mode.kind === 'loading') this.#mode = SHARED;
        this.#refresh();
      });
  }

  /** A reply of one of the circuit's scripts (see `ScriptLink`). */
  #apply(reply: ScriptReply): void {
    this.#recount(reply.fleet);
    // Changes the feed lists from before this reply are known now: no need to read them again.
    this.#rechecks.seen(reply.ranAt);
    this.#adopt(reply.fleet, reply.event);
  }

  /** Counters of the state this process knows (window, votes) from a reply about that state. */
  #recount(fleet: FleetState): void {
    const known = this.#fleet;
    if (fleet.epoch !== known.epoch || fleet.generation !== known.generation) return;
    this.#fleet = { ...known, calls: fleet.calls, failures: fleet.failures };
    this.#fleet = { ...this.#fleet, slowCalls: fleet.slowCalls, slow: fleet.slow };
    this.#fleet = { ...this.#fleet, votes: fleet.votes, agreeing: fleet.agreeing };
    this.#own.heard(fleet.votes);
  }

  /** Takes on the fleet's state when it is news; announces what changed for this process. */
  #adopt(fleet: FleetState, event: ScriptEvent | null): void {
    if (!this.#host.up) return;
    const mode = this.#mode;
    // Running locally, anything Redis answers that is not older than what this process knew
    // brings it back to the fleet's state.
    if (mode.kind === 'local' ? isNewer(this.#fleet, fleet) : !isNewer(fleet, this.#fleet)) return;
    const from = this.state;
    const fromForced = this.forced;
    const previous = this.#fleet;
    // The fleet moved on (a transition, or its state was lost): this process's own open gives way
    // to the fleet's state. A newer read of the same state leaves it be.
    const moved = fleet.epoch !== previous.epoch || fleet.generation !== previous.generation;
    if (moved) this.#own.moved();
    this.#fleet = fleet;
    this.#openUntil = performance.now() + fleet.remaining;
    this.#trials.unhold();
    if (moved) {
      this.#closed = closedTicket(fleet.generation);
      this.#successes = this.#slowSuccesses = 0;
      if (fleet.state === 'closed') this.#streak = 0;
    }
    if (mode.kind === 'local') {
      this.#mode = SHARED;
      const { fallback } = mode;
      if (fleet.state === 'closed' && fallback.state === 'closed') this.#streak = fallback.failures;
    }
    this.#refresh();
    const to = this.state; // this process's own open, when it still stands
    if (from !== to || fromForced !== fleet.forced) {
      this.#host.transition({
        key: this.key,
        from,
        to,
        fromForced,
        forced: fleet.forced,
        reason: event?.reason ?? 'remote',
        generation: fleet.generation,
        scope: 'fleet',
      });
    }
  }

  /**
   * Switches to per-process state, starting from what this process knew: the same state (an open
   * circuit stays open a full `resetTimeout` from now) and the same failure streak.
   */
  #fallBack(): LocalCircuit {
    if (this.#mode.kind === 'local') return this.#mode.fallback;
    const known = this.forced ?? this.state;
    const fallback = fallbackFrom(this.key, this.policy, known, this.#host);
    // A first read still under way is not waited for: its answer, if it comes, is news (#adopt).
    this.#mode = { kind: 'local', fallback };
    this.#refresh();
    if (known === 'closed') {
      for (let i = 0; i < this.#streak; i++) countLocally(fallback, 'failure');
    }
    return fallback;
  }

  /** What the helpers (trial permits, the own open) reach of this circuit; built once. */
  #core(): CircuitCore {
    // Lexically inside the class: the accessors may read and write its private state.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const circuit = this;
    return {
      circuit,
      host: this.#host,
      link: this.#link,
      get fleet() {
        return circuit.#fleet;
      },
      get streak() {
        return circuit.#streak;
      },
      set streak(value: number) {
        circuit.#streak = value;
      },
      admitted: () => {
        this.#inFlight++;
      },
      decideWithoutAsking: () => this.#decide(false),
      withoutPermit: () => {
        const mode = this.#mode;
        return mode.kind === 'local'
          ? acquireLocally(mode.fallback, this.#issued)
          : { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
      },
      refresh: () => {
        this.#refresh();
      },
      reportFailure: () => this.#reportFailure(),
    };
  }

  #refresh(): void {
    const fleet = this.#fleet;
    this.#fast =
      this.#mode.kind === 'shared' &&
      this.#own.phase === null &&
      fleet.state === 'closed' &&
      fleet.forced === null
        ? this.#closed
        : null;
  }
}

function closedTicket(generation: number): Ticket {
  return Object.freeze({ allowed: true, kind: 'closed', generation });
}
