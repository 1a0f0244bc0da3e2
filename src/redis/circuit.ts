/**
 * One circuit of a RedisStore, as the store sees it: the {@link StoreCircuit} it hands calls to,
 * with a local picture of the fleet's state that answers the healthy path without a round trip,
 * kept current by script replies and pub/sub messages, and a per-process {@link LocalCircuit}
 * with the same policy to fall back on while Redis cannot answer.
 *
 * This file decides where the circuit's decisions come from, one mode at a time
 * (circuit/modes.ts): `loading` while its first read is under way, `shared` for the fleet's state
 * (circuit/shared.ts, the healthy path), `local` on the fallback. It switches between them
 * (falling back; coming back when Redis answers with news) and reads the state again when asked
 * to (a reconnect, the slow poll, pub/sub, the change feed: circuit/rechecks.ts). Scripts run
 * through circuit/link.ts; what the circuit needs of its store is circuit/host.ts.
 *
 * Why it is a little over 300 lines: it is the one place the mode is read and changed, and each
 * public member is a few lines that ask the mode first and hand over to a helper. Spreading them
 * out would spread the mode switches with them.
 */
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
  seed,
  type FleetMessage,
  type FleetState,
  type ScriptEvent,
  type ScriptReply,
} from './fleet.js';
import type { CircuitKeys } from './keys.js';
import { Usage } from './presence/usage.js';
import type { CircuitHost } from './circuit/host.js';
import {
  acquireLocally,
  countLocally,
  fallbackFrom,
  modeIdle,
  SHARED,
  type Mode,
} from './circuit/modes.js';
import { Rechecks } from './circuit/rechecks.js';
import { ScriptLink } from './circuit/link.js';
import { SharedCircuit, type SharedOwner } from './circuit/shared.js';

export type { CircuitHost } from './circuit/host.js';

/** One circuit of a {@link RedisStore} (see the top of this file). */
export class RedisCircuit implements StoreCircuit {
  readonly key: string;
  readonly keys: CircuitKeys;
  readonly policy: Policy;
  /** This process's calls through the circuit, for its heartbeat (presence/heartbeat.ts). */
  readonly usage = new Usage();
  readonly #host: CircuitHost;
  #mode: Mode = SHARED;
  /** Tickets a fallback issued, so that each goes back to the machine that issued it. */
  readonly #issued = new WeakMap<Ticket, LocalCircuit>();
  /** Runs the circuit's scripts, and applies their replies. */
  readonly #link: ScriptLink;
  /** The fleet's state as last learned, and the decisions made from it (kept in every mode). */
  readonly #shared: SharedCircuit;
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
    this.#link = new ScriptLink(this, host, (reply) => {
      this.#apply(reply);
    });
    this.#shared = new SharedCircuit(this.#owner(), known);
    if (known === undefined) {
      if (host.up) this.#mode = { kind: 'loading', loaded: this.#load() };
      else this.#fallBack();
    }
    this.#shared.refresh();
  }

  get state(): CircuitState {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.state : this.#shared.state;
  }

  get forced(): ForcedMode | null {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.forced : this.#shared.fleet.forced;
  }

  get failures(): number {
    const mode = this.#mode;
    return mode.kind === 'local' ? mode.fallback.failures : this.#shared.streak;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** The fleet's shadow switch as last learned (kept while Redis is away: an operator's choice). */
  get shadow(): boolean {
    return this.#shared.fleet.shadow;
  }

  /** True when dropping the circuit loses nothing but this process's failure streak. */
  get idle(): boolean {
    return (
      this.state === 'closed' &&
      this.forced === null &&
      this.#shared.settled &&
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
    const ticket = this.#shared.fast();
    if (ticket !== null) return ticket;
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
        return this.#shared.decide(true);
    }
  }

  release(ticket: Ticket, verdict: StoreVerdict, detail?: CallDetail): void | Promise<void> {
    this.usage.settled(verdict);
    // A ticket a fallback issued goes back to it (if it still decides); others, to the shared side.
    if (ticket !== this.#shared.closed) {
      const issuer = this.#issued.get(ticket);
      if (issuer !== undefined) {
        const mode = this.#mode;
        if (mode.kind === 'local' && issuer === mode.fallback) {
          issuer.release(ticket, verdict, detail);
        }
        return;
      }
    }
    return this.#shared.release(ticket, verdict, detail);
  }

  async command(command: Command): Promise<void> {
    if (this.#mode.kind === 'loading') await this.#mode.loaded;
    return this.#link.command(command);
  }

  snapshot(): CircuitSnapshot {
    const mode = this.#mode;
    if (mode.kind === 'local') return { ...mode.fallback.snapshot(), scope: 'process' };
    return this.#shared.snapshot();
  }

  /** A server's Retry-After opens the circuit for the fleet (see circuit/reports.ts). */
  openFor(ms: number, reason: 'retryAfter'): Promise<void> {
    return this.#shared.reports.openFor(ms, reason);
  }

  /** Sends batched successes (called by the store's flush timer). */
  flush(): void {
    this.#shared.reports.flush();
  }

  /** Renews the trial leases this process holds; false when it holds none. */
  renew(): boolean {
    return this.#shared.trials.renew();
  }

  /**
   * Reads the fleet's state again (after a reconnect, on recovery, and by the slow poll). Where
   * Redis lost the state, a process that knew it open or forced writes it back. Resolves false
   * when Redis did not answer.
   */
  resync(keepAlive = false): Promise<boolean> {
    return this.#link.send('infuseRead', {
      ...this.#shared.reread(),
      keepAlive: keepAlive ? 1 : 0,
    });
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
   * ever writes again) lives in Redis as long as a process that knows it polls. Nothing else
   * needs keeping alive.
   */
  keepAlive(): void {
    const fleet = this.#shared.fleet;
    if (fleet.forced === null && !fleet.shadow) return;
    if (this.#mode.kind !== 'shared') return;
    void this.resync(true);
  }

  /**
   * A pub/sub message names this circuit: read it again, unless it tells of a state this process
   * already read (see {@link Rechecks.heard}). What a message says is never applied.
   */
  heard(news: FleetMessage): void {
    this.#rechecks.heard(news, this.#shared.fleet);
  }

  /** Redis became unreachable: run on per-process state until it is back. */
  fallBack(): void {
    this.#fallBack();
  }

  #load(): Promise<void> {
    const read = this.#link.send('infuseRead', { ...seed(this.policy), keepAlive: 0 });
    return this.#link
      .bounded(read, () => this.#fallBack())
      .then(() => {
        // Unless it fell back meanwhile (Redis did not answer in time, or was lost).
        if (this.#mode.kind === 'loading') this.#mode = SHARED;
        this.#shared.refresh();
      });
  }

  /** A reply of one of the circuit's scripts (see `ScriptLink`). */
  #apply(reply: ScriptReply): void {
    this.#shared.recount(reply.fleet);
    // Changes the feed lists from before this reply are known now: no need to read them again.
    this.#rechecks.seen(reply.ranAt);
    this.#adopt(reply.fleet, reply.event);
  }

  /** Takes on the fleet's state when it is news; announces what changed for this process. */
  #adopt(fleet: FleetState, event: ScriptEvent | null): void {
    if (!this.#host.up) return;
    const mode = this.#mode;
    if (!this.#shared.isNews(fleet, mode.kind === 'local')) return;
    const from = this.state;
    const fromForced = this.forced;
    this.#shared.adopt(fleet);
    if (mode.kind === 'local') {
      this.#mode = SHARED;
      const { fallback } = mode;
      if (fleet.state === 'closed' && fallback.state === 'closed') {
        this.#shared.streak = fallback.failures;
      }
    }
    this.#shared.refresh();
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
    this.#shared.refresh();
    if (known === 'closed') {
      for (let i = 0; i < this.#shared.streak; i++) countLocally(fallback, 'failure');
    }
    return fallback;
  }

  /** What the shared side reaches of this circuit; built once. */
  #owner(): SharedOwner {
    // Lexically inside the class: the accessor may read its private state.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const circuit = this;
    return {
      circuit,
      host: this.#host,
      link: this.#link,
      get mode() {
        return circuit.#mode;
      },
      fallBack: () => this.#fallBack(),
      withoutPermit: () => {
        const mode = this.#mode;
        return mode.kind === 'local'
          ? acquireLocally(mode.fallback, this.#issued)
          : { allowed: false, state: 'half-open', forced: null, retryAfter: 0 };
      },
    };
  }
}
