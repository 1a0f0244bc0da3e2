import type { Admission, StoreVerdict, Ticket } from '../../stores/store.js';
import type { FleetState } from '../fleet.js';
import type { CircuitCore } from './host.js';

/** A permit from Redis for one trial call of the fleet's half-open circuit, held under a lease. */
export class TrialTicket implements Ticket {
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
 * The trial permits of the fleet's half-open circuit that this process asks for, holds (leases
 * renewed while the calls run) and settles.
 */
export class Trials {
  readonly #core: CircuitCore;
  readonly #held = new Set<TrialTicket>();
  /** Every trial permit is taken: reject locally until then, or until news arrives. */
  #holdUntil = 0;
  #waiters: Resolve[] = [];
  #asking = false;

  constructor(core: CircuitCore) {
    this.#core = core;
  }

  /** How many permits this process holds. */
  get size(): number {
    return this.#held.size;
  }

  /** True while every permit is known to be taken. */
  taken(now: number): boolean {
    return now < this.#holdUntil;
  }

  /** News arrived: a permit may be free again. */
  unhold(): void {
    this.#holdUntil = 0;
  }

  /**
   * Asks Redis for trial permits. Callers that arrive in the same tick share one script call;
   * callers that arrive while it is in flight wait for its answer, then decide on it.
   */
  ask(): Promise<Admission> {
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
    const core = this.#core;
    const waiters = this.#waiters;
    this.#waiters = [];
    let answered = false;
    const asked = core.link.send(
      'infuseAcquire',
      {
        wanted: waiters.length,
        leaseMs: core.host.trialLease,
        leasePrefix: core.host.leaseBatch(),
      },
      (reply) => {
        if (answered || core.circuit.local) {
          // The callers were answered locally already: give the permits straight back.
          for (const lease of reply.leases) this.#giveBack(reply.fleet, lease);
          return;
        }
        answered = true;
        if (reply.hold > 0) this.#holdUntil = performance.now() + reply.hold;
        waiters.forEach((resolve, i) => {
          const lease = reply.leases[i];
          if (lease === undefined) {
            resolve(core.decideWithoutAsking());
            return;
          }
          const ticket = new TrialTicket(reply.fleet, lease);
          this.#held.add(ticket);
          core.admitted();
          resolve(ticket);
        });
        if (reply.leases.length > 0) core.host.leasing(core.circuit);
      },
    );
    // No answer in time: these callers are refused, as half-open callers without a permit are.
    // A trial granted here on per-process state could exceed the fleet's halfOpenMaxCalls while
    // Redis is merely slow; once Redis is declared down, the fallback grants trials on its own.
    const refuse = (): void => {
      answered = true;
      for (const resolve of waiters) resolve(core.withoutPermit());
    };
    void core.link.bounded(asked, refuse).then(() => {
      if (!answered) refuse();
      this.#asking = false;
      const queued = this.#waiters;
      this.#waiters = [];
      for (const resolve of queued) resolve(core.circuit.acquire());
    });
  }

  #giveBack(fleet: FleetState, lease: string): void {
    void this.#core.link.send('infuseSettle', {
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
  settle(
    ticket: TrialTicket,
    verdict: StoreVerdict,
    slow: boolean,
    retryAfter: number,
  ): void | Promise<void> {
    const core = this.#core;
    this.#held.delete(ticket);
    // A permit may be free again (an abort gives it back; an outcome ends the attempt).
    this.#holdUntil = 0;
    const failed = verdict !== 'aborted' && (verdict === 'failure' || slow || retryAfter > 0);
    if (failed) core.streak++;
    if (!core.host.up) return; // the lease expires in Redis on its own
    const settled = core.link.send('infuseSettle', {
      epoch: ticket.epoch,
      generation: ticket.generation,
      lease: ticket.lease,
      verdict: failed ? 'failure' : verdict,
      reason: retryAfter > 0 ? 'retryAfter' : '',
      period: Math.round(retryAfter),
    });
    // Past the wait, the call settles; Redis applies the outcome when it gets to it, and its
    // reply (or the transition's message) brings this process up to date.
    return core.link.bounded(settled, () => undefined);
  }

  /** Renews the trial leases this process holds; false when it holds none. */
  renew(): boolean {
    if (this.#held.size === 0) return false;
    const { circuit, host } = this.#core;
    const leases = [...this.#held].map((ticket) => ticket.lease);
    host
      .run('infuseRenew', circuit, { leaseMs: host.trialLease }, leases)
      .catch((error: unknown) => {
        host.fail(error);
      });
    return true;
  }
}
