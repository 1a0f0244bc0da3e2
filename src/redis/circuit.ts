import type { CircuitSnapshot, CircuitState, ForcedMode, TransitionReason } from '../core/types.js';
import { LocalCircuit } from '../stores/local-circuit.js';
import type {
  Admission,
  CallDetail,
  Command,
  Policy,
  StoreCircuit,
  StoreEvent,
  StoreVerdict,
  Ticket,
  Transition,
} from '../stores/store.js';
import { QUORUM_GRACE, type Arg, type ScriptName } from './scripts/index.js';
import {
  guess,
  isNewer,
  reseed,
  seed,
  type FleetState,
  type ScriptEvent,
  type ScriptReply,
} from './fleet.js';
import { within } from './wait.js';
import { describeFailure, RedisStoreError } from './errors.js';
import type { CircuitKeys } from './keys.js';
import { Usage } from './presence.js';

const BYPASS: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/** What a circuit needs from its store. */
export interface CircuitHost {
  /** False while Redis is unreachable: circuits then run on per-process state. */
  readonly up: boolean;
  /** Why Redis is unreachable (while `up` is false). */
  readonly downCause: unknown;
  readonly waitTimeout: number;
  readonly trialLease: number;
  /**
   * Runs a script for the circuit, with `args` by the names the script declares (the circuit
   * scripts' head is added); rejects when Redis does not answer.
   */
  run(
    script: ScriptName,
    circuit: RedisCircuit,
    args: Readonly<Record<string, Arg>>,
    rest?: readonly Arg[],
  ): Promise<unknown>;
  /** Parses a reply; malformed ones are reported and rejected. */
  parse(raw: unknown): ScriptReply;
  /** A command failed: Redis is probably unreachable. */
  fail(error: unknown): void;
  transition(transition: Transition): void;
  event(event: StoreEvent): void;
  /** Successes wait to be flushed. */
  dirty(circuit: RedisCircuit): void;
  /** The circuit holds trial leases that must be renewed. */
  leasing(circuit: RedisCircuit): void;
  /** The circuit's state was created or changed here: list it for preloading. */
  index(circuit: RedisCircuit): void;
  /** A script of this process made a transition of the fleet's state: write it into the history. */
  made(circuit: RedisCircuit, fleet: FleetState, event: ScriptEvent): void;
  /** A lease id prefix unique across the fleet. */
  leaseBatch(): string;
  /** This process's id in the quorum's ballots. */
  readonly voter: string;
}

/**
 * Where a circuit's decisions come from, one mode at a time:
 * - `loading`: its first read of the fleet's state is under way; calls wait for it (bounded by
 *   `waitTimeout`), then decide in the mode it leads to;
 * - `shared`: the fleet's state in Redis, as last learned (`#fleet`): the healthy path;
 * - `local`: Redis cannot answer; a per-process {@link LocalCircuit} with the same policy,
 *   started from what this process knew, decides until Redis answers with news.
 */
type Mode =
  | { readonly kind: 'loading'; readonly loaded: Promise<void> }
  | { readonly kind: 'shared' }
  | { readonly kind: 'local'; readonly fallback: LocalCircuit };

const SHARED: Mode = Object.freeze({ kind: 'shared' });

/**
 * This process's own open (see `quorum`): its calls reached failMax, too few processes agreed to
 * open the fleet. Open until a time, then `halfOpenMaxCalls` trial calls, all of which must succeed.
 */
type OwnOpen =
  | { readonly phase: 'open'; readonly until: number }
  | { readonly phase: 'half-open'; readonly trials: Set<Ticket>; succeeded: number };

class TrialTicket implements Ticket {
  readonly allowed = true;
  readonly kind = 'trial';
  readonly generation: number;
  readonly epoch: string;
  readonly lease: string;

  constructor(fleet: FleetState, lease: string) {
    this.generation = fleet.generation;
    this.epoch = fleet.epoch;
    this.lease = lease;
  }
}

type Resolve = (admission: Admission | PromiseLike<Admission>) => void;

/**
 * One circuit of a {@link RedisStore}: a local picture of the fleet's state that answers the
 * healthy path without a round trip, kept current by script replies and pub/sub messages, and a
 * per-process {@link LocalCircuit} with the same policy to fall back on while Redis cannot answer.
 */
export class RedisCircuit implements StoreCircuit {
  readonly key: string;
  readonly keys: CircuitKeys;
  readonly policy: Policy;
  /** This process's calls through the circuit, for its heartbeat (presence.ts). */
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
  /** This process's own open while the fleet's circuit is closed (see `quorum`), or null. */
  #own: OwnOpen | null = null;
  /**
   * What this process's next success tells the quorum: `withdraw` its failure mark and vote, or
   * `contrary` evidence against another process's vote it heard of; null when nothing.
   */
  #tell: 'withdraw' | 'contrary' | null = null;
  /** Successes not yet sent, and how many of them were slow (rate policies only). */
  #successes = 0;
  #slowSuccesses = 0;
  /** A call of this many ms or more is slow (`slowCallRate`; Infinity without it). */
  readonly #slowMs: number;
  /** Successes are batched for a window of the fleet (`failureRate` or `slowCallRate`). */
  readonly #counted: boolean;
  #inFlight = 0;
  readonly #trials = new Set<TrialTicket>();
  /** Every trial permit is taken: reject locally until then, or until news arrives. */
  #holdUntil = 0;
  #mode: Mode = SHARED;
  /** Tickets a fallback issued, so that each goes back to the machine that issued it. */
  readonly #issued = new WeakMap<Ticket, LocalCircuit>();
  #waiters: Resolve[] = [];
  #asking = false;
  /** Scripts in flight. */
  #ops = 0;
  /** The change-feed score of the last change this process read the circuit again for. */
  #feedSeen = 0;
  /** A read asked for by pub/sub: none, one under way, or one more to make after it. */
  #rechecking: 'idle' | 'reading' | 'again' = 'idle';
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
    if (known === undefined) {
      if (host.up) this.#mode = { kind: 'loading', loaded: this.#load() };
      else this.#fallBack();
    }
    this.#refresh();
  }

  get state(): CircuitState {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.state : (this.#own?.phase ?? this.#fleet.state);
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
      this.#own === null &&
      this.#ops === 0 &&
      this.#modeIdle()
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
        return this.#acquireLocally(mode.fallback);
      case 'shared':
        return this.#decide(true);
    }
  }

  #modeIdle(): boolean {
    const mode = this.#mode;
    switch (mode.kind) {
      case 'loading':
        return false;
      case 'local':
        return mode.fallback.idle;
      case 'shared':
        return true;
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
      if (mode.kind === 'local') return this.#countLocally(mode.fallback, verdict, detail);
      if (retryAfter > 0) return this.openFor(retryAfter, 'retryAfter');
      if (verdict === 'success') {
        this.#streak = 0;
        if (this.#tell !== null) this.#told(this.#tell);
        if (slow) this.#slowSuccesses++;
        if (this.#counted && this.#successes++ === 0) this.#host.dirty(this);
        return;
      }
      if (verdict === 'aborted') return;
      this.#streak++;
      return this.#reportFailure(slow);
    }
    if (ticket.kind === 'bypass') return;
    const own = this.#own;
    if (own?.phase === 'half-open' && own.trials.has(ticket)) {
      this.#inFlight--;
      // A slow trial fails its test: the host answers, but not the way the policy asks.
      const judged = verdict === 'success' && (slow || retryAfter > 0) ? 'failure' : verdict;
      const settled = this.#settleOwn(own, ticket, judged);
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
    if (ticket instanceof TrialTicket) return this.#settleTrial(ticket, verdict, slow, retryAfter);
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
      await this.#exec('infuseCommand', { command, scope: '', period: 0 });
    } catch (error) {
      this.#host.fail(error);
      throw refuse(error);
    }
  }

  snapshot(): CircuitSnapshot {
    const mode = this.#mode;
    if (mode.kind === 'local') return { ...mode.fallback.snapshot(), scope: 'process' };
    const fleet = this.#fleet;
    const own = this.#own;
    const state = own?.phase ?? fleet.state;
    let retryAfter = 0;
    if (fleet.forced === 'forced-open') retryAfter = Infinity;
    else if (own?.phase === 'open') {
      retryAfter = Math.max(0, Math.ceil(own.until - performance.now()));
    } else if (fleet.forced === null && fleet.state === 'open') {
      retryAfter = Math.max(0, Math.ceil(this.#openUntil - performance.now()));
    }
    const snapshot: CircuitSnapshot = {
      key: this.key,
      state,
      forced: fleet.forced,
      mode: fleet.forced ?? state,
      failures: this.#streak,
      window: { calls: fleet.calls, failures: fleet.failures },
      trialsInFlight: fleet.state === 'half-open' ? fleet.trialsInFlight : 0,
      changedAt: fleet.changedAt,
      retryAfter,
      generation: fleet.generation,
      scope: own === null ? 'fleet' : 'process',
      votes: fleet.votes,
    };
    if (this.#slowMs === Infinity) return snapshot;
    return { ...snapshot, slowCalls: { calls: fleet.slowCalls, slow: fleet.slow } };
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
    const reported = this.#send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      successes,
      slow,
      reason,
      period,
    });
    return this.#bounded(reported, () => {
      this.#countLocally(this.#fallBack(), 'success', { retryAfter: period });
    });
  }

  /** Sends batched successes (called by the store's flush timer). */
  flush(): void {
    const successes = this.#successes;
    const slow = this.#slowSuccesses;
    this.#successes = this.#slowSuccesses = 0;
    if (successes === 0 || this.#mode.kind !== 'shared') return;
    const fleet = this.#fleet;
    void this.#send('infuseReport', { ...report(fleet, this.policy.failMax), successes, slow });
  }

  /** Renews the trial leases this process holds; false when it holds none. */
  renew(): boolean {
    if (this.#trials.size === 0) return false;
    const leases = [...this.#trials].map((ticket) => ticket.lease);
    this.#host
      .run('infuseRenew', this, { leaseMs: this.#host.trialLease }, leases)
      .catch((error: unknown) => {
        this.#host.fail(error);
      });
    return true;
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
    return this.#send('infuseRead', { ...args, keepAlive: keepAlive ? 1 : 0 });
  }

  /**
   * The change feed lists the circuit as changed at `score` (ms, Redis clock): read it again,
   * unless this process already read it for that change.
   */
  changed(score: number): void {
    if (score <= this.#feedSeen) return;
    this.#feedSeen = score;
    this.recheck();
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
   * Another process says the circuit changed: read it again. What a message says is never applied
   * (anyone allowed to PUBLISH could write it); the state comes from Redis's keys. Messages that
   * arrive while a read is under way make one more read after it, not one each.
   */
  recheck(): void {
    if (this.#rechecking !== 'idle') {
      this.#rechecking = 'again';
      return;
    }
    this.#rechecking = 'reading';
    const mode = this.#mode;
    void (mode.kind === 'loading' ? mode.loaded : Promise.resolve())
      .then(() => (this.#host.up && this.#mode.kind !== 'local' ? this.resync() : false))
      .then(() => {
        const again = this.#rechecking === 'again';
        this.#rechecking = 'idle';
        if (again) this.recheck();
      });
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
        if (this.#own !== null) return this.#decideOwn(this.#own, now);
        this.#inFlight++;
        return this.#closed;
      case 'open':
        if (now < this.#openUntil) {
          return { allowed: false, state: 'open', forced: null, retryAfter: this.#openUntil - now };
        }
        break;
      case 'half-open':
        if (now < this.#holdUntil || !mayAsk) {
          return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
        }
        break;
    }
    if (!mayAsk) return { allowed: false, state: fleet.state, forced: null, retryAfter: 0 };
    return this.#askPermit();
  }

  /**
   * Asks Redis for trial permits. Callers that arrive in the same tick share one script call;
   * callers that arrive while it is in flight wait for its answer, then decide on it.
   */
  #askPermit(): Promise<Admission> {
    return new Promise<Admission>((resolve) => {
      this.#waiters.push(resolve);
      if (!this.#asking) {
        this.#asking = true;
        queueMicrotask(() => {
          this.#sendAsk();
        });
      }
    });
  }

  #sendAsk(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    let answered = false;
    const asked = this.#send(
      'infuseAcquire',
      {
        wanted: waiters.length,
        leaseMs: this.#host.trialLease,
        leasePrefix: this.#host.leaseBatch(),
      },
      (reply) => {
        if (answered || this.#mode.kind === 'local') {
          // The callers were answered locally already: give the permits straight back.
          for (const lease of reply.leases) this.#giveBack(reply.fleet, lease);
          return;
        }
        answered = true;
        if (reply.hold > 0) this.#holdUntil = performance.now() + reply.hold;
        waiters.forEach((resolve, i) => {
          const lease = reply.leases[i];
          if (lease === undefined) {
            resolve(this.#decide(false));
            return;
          }
          const ticket = new TrialTicket(reply.fleet, lease);
          this.#trials.add(ticket);
          this.#inFlight++;
          resolve(ticket);
        });
        if (reply.leases.length > 0) this.#host.leasing(this);
      },
    );
    // No answer in time: these callers are refused, as half-open callers without a permit are.
    // A trial granted here on per-process state could exceed the fleet's halfOpenMaxCalls while
    // Redis is merely slow; once Redis is declared down, the fallback grants trials on its own.
    const refuse = (): void => {
      answered = true;
      const mode = this.#mode;
      for (const resolve of waiters) {
        resolve(
          mode.kind === 'local'
            ? this.#acquireLocally(mode.fallback)
            : { allowed: false, state: 'half-open', forced: null, retryAfter: 0 },
        );
      }
    };
    void this.#bounded(asked, refuse).then(() => {
      if (!answered) refuse();
      this.#asking = false;
      const queued = this.#waiters;
      this.#waiters = [];
      for (const resolve of queued) resolve(this.acquire());
    });
  }

  #giveBack(fleet: FleetState, lease: string): void {
    void this.#send('infuseSettle', {
      epoch: fleet.epoch,
      generation: fleet.generation,
      lease,
      verdict: 'aborted',
      reason: '',
      period: 0,
    });
  }

  /**
   * A trial's outcome. A slow trial fails its test (the host answers, but not the way the policy
   * asks); a trial answered with Retry-After re-opens the fleet until the server's time.
   */
  #settleTrial(
    ticket: TrialTicket,
    verdict: StoreVerdict,
    slow: boolean,
    retryAfter: number,
  ): void | Promise<void> {
    this.#trials.delete(ticket);
    // A permit may be free again (an abort gives it back; an outcome ends the attempt).
    this.#holdUntil = 0;
    const failed = verdict !== 'aborted' && (verdict === 'failure' || slow || retryAfter > 0);
    if (failed) this.#streak++;
    if (!this.#host.up) return; // the lease expires in Redis on its own
    const settled = this.#send('infuseSettle', {
      epoch: ticket.epoch,
      generation: ticket.generation,
      lease: ticket.lease,
      verdict: failed ? 'failure' : verdict,
      reason: retryAfter > 0 ? 'retryAfter' : '',
      period: Math.round(retryAfter),
    });
    // Past the wait, the call settles; Redis applies the outcome when it gets to it, and its
    // reply (or the transition's message) brings this process up to date.
    return this.#bounded(settled, () => undefined);
  }

  #reportFailure(slow = false): Promise<void> {
    const fleet = this.#fleet;
    const successes = this.#successes;
    const slowCalls = this.#slowSuccesses + (slow ? 1 : 0);
    this.#successes = this.#slowSuccesses = 0;
    const trips = this.#streak >= this.policy.failMax;
    const voter = (this.policy.quorum ?? 1) > 1 ? this.#host.voter : '';
    if (voter !== '') {
      this.#tell = 'withdraw';
      // The process protects itself at once; the fleet opens if the quorum agrees (the reply), or
      // when no other process contradicts the vote in time (asked again then).
      if (trips && this.#own === null) this.#openOwn('closed', 'failMax');
      if (trips) this.#confirmLater();
    }
    const reported = this.#send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      successes,
      failures: 1,
      slow: slowCalls,
      reason: trips ? 'failMax' : '',
      voter,
    });
    return this.#bounded(reported, () => this.#fallBack());
  }

  /**
   * A success tells the quorum: this process's vote and mark no longer stand (`withdraw`), or it
   * succeeded with the host after another process voted (`contrary`).
   */
  #told(tell: 'withdraw' | 'contrary'): void {
    this.#tell = null;
    this.#ballot(tell);
  }

  #ballot(tell: 'withdraw' | 'contrary' | ''): void {
    const fleet = this.#fleet;
    void this.#send('infuseReport', {
      ...report(fleet, this.policy.failMax),
      voter: this.#host.voter,
      tell,
    });
  }

  /** Once the vote's grace has passed, asks Redis again whether it opens the fleet. */
  #confirmLater(): void {
    const generation = this.#fleet.generation;
    const timer = setTimeout(() => {
      if (this.#own !== null && this.#fleet.generation === generation && this.#host.up) {
        this.#ballot('');
      }
    }, QUORUM_GRACE + 100);
    timer.unref();
  }

  /** Opens the circuit for this process alone, for its own `resetTimeout`. */
  #openOwn(from: CircuitState, reason: 'failMax' | 'trialFailed'): void {
    this.#own = { phase: 'open', until: performance.now() + this.policy.resetTimeout };
    this.#refresh();
    this.#announceOwn(from, 'open', reason);
  }

  #decideOwn(own: OwnOpen, now: number): Admission {
    if (own.phase === 'open') {
      if (now < own.until) {
        return { allowed: false, state: 'open', forced: null, retryAfter: own.until - now };
      }
      own = { phase: 'half-open', trials: new Set(), succeeded: 0 };
      this.#own = own;
      this.#announceOwn('open', 'half-open', 'resetTimeout');
    }
    if (own.trials.size + own.succeeded >= this.policy.halfOpenMaxCalls) {
      return { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
    }
    const trial: Ticket = Object.freeze({
      allowed: true,
      kind: 'trial',
      generation: this.#fleet.generation,
    });
    own.trials.add(trial);
    this.#inFlight++;
    return trial;
  }

  /** The outcome of one of this process's own trial calls: all must succeed to close. */
  #settleOwn(
    own: OwnOpen & { phase: 'half-open' },
    ticket: Ticket,
    verdict: StoreVerdict,
  ): void | Promise<void> {
    own.trials.delete(ticket);
    if (verdict === 'aborted') return;
    if (verdict === 'success') {
      if (++own.succeeded < this.policy.halfOpenMaxCalls) return;
      this.#own = null;
      this.#streak = 0;
      this.#refresh();
      this.#announceOwn('half-open', 'closed', 'trialSucceeded');
      this.#told('withdraw');
      return;
    }
    this.#streak++;
    this.#openOwn('half-open', 'trialFailed');
    return this.#reportFailure();
  }

  #announceOwn(from: CircuitState, to: CircuitState, reason: TransitionReason): void {
    this.#host.transition({
      key: this.key,
      from,
      to,
      fromForced: null,
      forced: null,
      reason,
      generation: this.#fleet.generation,
      scope: 'process',
    });
  }

  #load(): Promise<void> {
    const read = this.#send('infuseRead', { ...seed(this.policy), keepAlive: 0 });
    return this.#bounded(read, () => this.#fallBack()).then(() => {
      // Unless it fell back meanwhile (Redis did not answer in time, or was lost).
      if (this.#mode.kind === 'loading') this.#mode = SHARED;
      this.#refresh();
    });
  }

  #bounded(op: Promise<boolean>, late: () => void): Promise<void> {
    return within(op, this.#host.waitTimeout, late);
  }

  /** Runs a script and applies its reply; resolves false (after telling the store) on failure. */
  #send(
    script: ScriptName,
    args: Readonly<Record<string, Arg>>,
    onReply?: (reply: ScriptReply) => void,
  ): Promise<boolean> {
    return this.#exec(script, args, onReply).then(
      () => true,
      (error: unknown) => {
        this.#host.fail(error);
        return false;
      },
    );
  }

  async #exec(
    script: ScriptName,
    args: Readonly<Record<string, Arg>>,
    onReply?: (reply: ScriptReply) => void,
  ): Promise<void> {
    this.#ops++;
    try {
      const reply = this.#host.parse(await this.#host.run(script, this, args));
      if (reply.malformed) {
        this.#host.event({
          type: 'malformed',
          key: this.key,
          message: `RedisStore: data under the keys of circuit ${JSON.stringify(this.key)} was not written by infuse-breaker; it was treated as absent and replaced`,
        });
      }
      if (reply.created || reply.event !== null) this.#host.index(this);
      if (reply.event !== null) this.#host.made(this, reply.fleet, reply.event);
      this.#recount(reply.fleet);
      // Changes the feed lists from before this reply are known now: no need to read them again.
      if (reply.ranAt > this.#feedSeen) this.#feedSeen = reply.ranAt;
      this.#adopt(reply.fleet, reply.event);
      onReply?.(reply);
    } finally {
      this.#ops--;
    }
  }

  /** Counters of the state this process knows (window, votes) from a reply about that state. */
  #recount(fleet: FleetState): void {
    const known = this.#fleet;
    if (fleet.epoch !== known.epoch || fleet.generation !== known.generation) return;
    this.#fleet = { ...known, calls: fleet.calls, failures: fleet.failures };
    this.#fleet = { ...this.#fleet, slowCalls: fleet.slowCalls, slow: fleet.slow };
    this.#fleet = { ...this.#fleet, votes: fleet.votes, agreeing: fleet.agreeing };
    // Another process voted: this process's next success, if it has one, contradicts the vote.
    if (fleet.votes > 0 && this.#tell === null && this.#streak === 0 && this.#own === null) {
      this.#tell = 'contrary';
    }
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
    if (moved) this.#own = null;
    this.#fleet = fleet;
    this.#openUntil = performance.now() + fleet.remaining;
    this.#holdUntil = 0;
    if (fleet.epoch !== previous.epoch || fleet.generation !== previous.generation) {
      this.#closed = closedTicket(fleet.generation);
      this.#successes = this.#slowSuccesses = 0;
      this.#tell = null; // a transition voids every ballot
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
    const fallback = new LocalCircuit(
      this.key,
      { ...this.policy, initialState: known === 'closed' ? null : known },
      Date.now,
      (transition) => this.#host.transition({ ...transition, scope: 'process' }),
    );
    // A first read still under way is not waited for: its answer, if it comes, is news (#adopt).
    this.#mode = { kind: 'local', fallback };
    this.#refresh();
    if (known === 'closed') {
      for (let i = 0; i < this.#streak; i++) this.#countLocally(fallback, 'failure');
    }
    return fallback;
  }

  #acquireLocally(fallback: LocalCircuit): Admission {
    const admission = fallback.acquire();
    if (admission.allowed && admission.kind !== 'bypass') this.#issued.set(admission, fallback);
    return admission;
  }

  /** Counts, on the fallback, the outcome of a call that was let through before it took over. */
  #countLocally(fallback: LocalCircuit, verdict: StoreVerdict, detail?: CallDetail): void {
    if (verdict === 'aborted' || fallback.state !== 'closed' || fallback.forced !== null) return;
    const ticket = fallback.acquire();
    if (ticket.allowed) fallback.release(ticket, verdict, detail);
  }

  #refresh(): void {
    const fleet = this.#fleet;
    this.#fast =
      this.#mode.kind === 'shared' &&
      this.#own === null &&
      fleet.state === 'closed' &&
      fleet.forced === null
        ? this.#closed
        : null;
  }
}

/**
 * REPORT's arguments for the state `fleet`, reporting nothing yet: callers set what they report.
 * `failMax` counts only with a ballot (a `voter`): the fleet's streak.
 */
function report(fleet: FleetState, failMax: number): Record<string, Arg> {
  return {
    epoch: fleet.epoch,
    generation: fleet.generation,
    successes: 0,
    failures: 0,
    slow: 0,
    reason: '',
    period: 0,
    voter: '',
    tell: '',
    failMax,
  };
}

function closedTicket(generation: number): Ticket {
  return Object.freeze({ allowed: true, kind: 'closed', generation });
}
