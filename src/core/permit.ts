import type { Admission, StoreCircuit, Ticket } from '../stores/store.js';
import type { Circuit, Permit, SettleInput } from './circuit.js';
import type { Verdict } from './types.js';

/**
 * The {@link Permit} of one call. An adapter extends it with what it knows of its request, so that
 * one object per attempt carries the permit and, when it is passed to {@link settleNow}, the
 * outcome too. Create it for a circuit, {@link enter} it, settle it once. @internal
 */
export class CallPermit implements Permit {
  readonly #circuit: Circuit;
  #store: StoreCircuit | null = null;
  #ticket: Ticket | null = null;
  #started = NaN;
  #verdict: Verdict | Promise<Verdict> | null = null;

  constructor(circuit: Circuit) {
    this.#circuit = circuit;
  }

  get key(): string {
    return this.#circuit.key;
  }

  get trial(): boolean {
    return this.#ticket?.kind === 'trial';
  }

  /**
   * Asks the circuit for this call: returns nothing once the store let the call go at once,
   * throws {@link CircuitBreakerError} when it refused at once, or returns a promise when the
   * store answers later (which rejects on refusal). @internal
   */
  enter(): Promise<void> | undefined {
    const circuit = this.#circuit;
    const store = circuit.storeCircuit();
    const admission = store.acquire();
    if (admission instanceof Promise) return admission.then((late) => this.#admit(store, late));
    this.#admit(store, admission);
    return undefined;
  }

  #admit(store: StoreCircuit, admission: Admission): void {
    const circuit = this.#circuit;
    let ticket: Ticket;
    if (admission.allowed) ticket = admission;
    else {
      const error = circuit.refuse(admission);
      if (error !== null) throw error;
      ticket = circuit.shadowTicket;
    }
    this.#store = store;
    this.#ticket = ticket;
    if (circuit.observed) this.#started = circuit.elapsed();
  }

  settle(result?: SettleInput): Promise<Verdict> {
    return Promise.resolve(this.settleNow(result));
  }

  /**
   * True once admitted by a store whose `release` never returns a promise: {@link settleNow} then
   * always counts at once. @internal
   */
  get countsAtOnce(): boolean {
    return this.#store?.releasesAtOnce === true;
  }

  /**
   * {@link settle}, without a promise when the store counts at once (the in-memory store always
   * does), so that an adapter hands the response back without an extra turn. @internal
   */
  settleNow(result?: SettleInput): Verdict | Promise<Verdict> {
    if (this.#verdict === null) {
      const store = this.#store;
      const ticket = this.#ticket;
      // Never admitted (entered late, or refused): there is nothing to count.
      if (store === null || ticket === null) return (this.#verdict = 'aborted');
      const threw = result !== undefined && 'error' in result;
      this.#verdict = this.#circuit.settle(store, ticket, this.#started, threw, result);
    }
    return this.#verdict;
  }
}
