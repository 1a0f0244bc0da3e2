import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreCircuit, StoreConnection, Transition } from '../stores/store.js';
import { Circuit, kSeq, type CircuitHost } from './circuit.js';
import { Emitter, type InfuseEvents, type Listener } from './events.js';
import {
  normalizeOptions,
  optionsFor,
  show,
  type InfuseOptions,
  type NormalizedOptions,
} from './options.js';
import type { CircuitStatus } from './types.js';

/**
 * A registry of circuits that share one policy, one store and one set of listeners. Circuits are
 * named by key (for the HTTP adapters, the request's host) and created on first use.
 *
 * @example
 * ```ts
 * const infuse = new Infuse({ failMax: 5, resetTimeout: 60_000 });
 * const db = infuse.circuit('db');
 * await db.call(updateCustomer, customer);
 * infuse.on('stateChange', ({ key, from, to }) => console.log(`${key}: ${from} -> ${to}`));
 * ```
 */
export class Infuse {
  readonly #options: NormalizedOptions;
  readonly #store: Store;
  readonly #emitter = new Emitter();
  readonly #circuits = new Map<string, Circuit>();
  readonly #connection: StoreConnection;
  readonly #host: CircuitHost;
  #sweepAbove: number;
  /** Sequence of the most recent use; see {@link touch}. */
  #seq = 0;
  /** Uses within this many of the newest count as recent and are not reordered again. */
  readonly #recent: number;
  #shutdown: Promise<void> | null = null;

  /** Validates `options` (a TypeError names any bad one) and connects to the store. */
  constructor(options?: InfuseOptions) {
    this.#options = normalizeOptions(options);
    this.#store = this.#options.store ?? new MemoryStore();
    this.#sweepAbove = this.#options.maxCircuits;
    this.#recent = Math.floor(this.#options.maxCircuits / 2);
    const emitter = this.#emitter;
    this.#host = {
      emitter,
      stackTraces: this.#options.stackTraces,
      attach: (circuit) => this.#attach(circuit),
      touch: (circuit) => {
        this.#touch(circuit);
      },
    };
    this.#connection = this.#store.connect({
      transition: (transition: Transition) => {
        if (emitter.has('stateChange')) {
          const { key, from, to, fromForced, forced, reason, scope } = transition;
          emitter.emit(
            'stateChange',
            scope === undefined
              ? { key, from, to, fromForced, forced, reason }
              : { key, from, to, fromForced, forced, reason, scope },
          );
        }
      },
      event: (event) => {
        emitter.emit('store', event);
      },
    });
  }

  /** The store this instance keeps state in. */
  get store(): Store {
    return this.#store;
  }

  /**
   * The circuit for `key`, created on first use with the options that apply to the key (see
   * `circuits`). Calling it again with the same key returns the same circuit.
   */
  circuit(key: string): Circuit {
    let circuit = this.#circuits.get(key);
    if (circuit !== undefined) {
      this.#touch(circuit);
      return circuit;
    }
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(
        `infuse-breaker: a circuit key must be a non-empty string; got ${show(key)}`,
      );
    }
    const resolved = optionsFor(this.#options, key);
    circuit = new Circuit(key, resolved, this.#host, this.#store.circuit(key, resolved.policy));
    this.#insert(circuit);
    return circuit;
  }

  /**
   * True when this instance holds a circuit for `key` in memory now. A shared store also reports
   * transitions of circuits other instances hold; this tells them apart without creating one.
   */
  has(key: string): boolean {
    return this.#circuits.has(key);
  }

  /** Keys of the circuits held in memory now (idle ones may have been dropped; see `maxCircuits`). */
  keys(): IterableIterator<string> {
    return this.#circuits.keys();
  }

  /**
   * A plain picture of every circuit this instance holds in memory, in key order: state, forced
   * mode, consecutive failures, failure-rate window counts, time of the last transition, time
   * until an open circuit lets a trial call through, and the calls this process refused. Reading
   * it changes nothing (an open circuit past its `resetTimeout` reports `retryAfter: 0` and stays
   * open until a call arrives). Idle circuits dropped by `maxCircuits` are not listed.
   *
   * `retryAfter` is `Infinity` for a forced-open circuit, which `JSON.stringify` writes as `null`.
   *
   * @example
   * ```ts
   * for (const { key, mode, failures, retryAfter } of infuse.snapshot()) {
   *   if (mode !== 'closed') console.log(`${key} is ${mode} (${failures} failures), retry in ${retryAfter} ms`);
   * }
   * ```
   */
  snapshot(): CircuitStatus[] {
    const statuses: CircuitStatus[] = [];
    for (const circuit of this.#circuits.values()) {
      statuses.push({ ...circuit.snapshot(), rejections: circuit.rejections });
    }
    return statuses.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes. A listener that throws does not
   * disturb the call or the circuit; its error is rethrown asynchronously.
   */
  on<E extends keyof InfuseEvents>(event: E, listener: Listener<E>): () => void {
    return this.#emitter.on(event, listener);
  }

  /**
   * Drops every circuit, removes every listener and disconnects from the store, which releases
   * what it opened (a shared store closes its own connections, never the ones it was given).
   * Nothing of this instance keeps the process alive afterwards. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown === null) {
      this.#circuits.clear();
      this.#emitter.clear();
      this.#shutdown = this.#connection.disconnect();
    }
    return this.#shutdown;
  }

  #attach(circuit: Circuit): StoreCircuit {
    const store = this.#store.circuit(circuit.key, circuit.resolved.policy);
    if (!this.#circuits.has(circuit.key)) this.#insert(circuit);
    return store;
  }

  #insert(circuit: Circuit): void {
    circuit[kSeq] = ++this.#seq;
    this.#circuits.set(circuit.key, circuit);
    if (this.#circuits.size > this.#sweepAbove) this.#sweep(circuit);
  }

  /**
   * Keeps the map in least-recently-used order. Moving an entry to the end costs a delete and a
   * set, so a circuit used again while it is still among the newest half is left where it is: the
   * order is exact for what matters (which circuits are old) at the price of a field read per use.
   */
  #touch(circuit: Circuit): void {
    if (circuit[kSeq] >= this.#seq - this.#recent) return;
    const circuits = this.#circuits;
    if (circuits.get(circuit.key) !== circuit) return;
    circuits.delete(circuit.key);
    circuits.set(circuit.key, circuit);
    circuit[kSeq] = ++this.#seq;
  }

  /**
   * Drops idle circuits from the least recently used end. Circuits that cannot be dropped (open,
   * half-open, forced, busy) move to the other end so that the next sweep does not scan them again;
   * when too few are idle, the next sweep waits for a tenth more growth, so that a fleet of open
   * circuits does not make every new key scan the whole map.
   */
  #sweep(keep: Circuit): void {
    const max = this.#options.maxCircuits;
    const circuits = this.#circuits;
    // Listeners hear of drops after the loop, so that one that uses a circuit cannot reshape
    // the map while it is being walked.
    const dropped: string[] = [];
    let budget = circuits.size;
    for (const [key, circuit] of circuits) {
      if (circuits.size <= max || budget-- <= 0) break;
      if (circuit === keep) continue;
      circuits.delete(key);
      if (!this.#store.forget(key)) {
        circuits.set(key, circuit);
        circuit[kSeq] = ++this.#seq;
      } else {
        dropped.push(key);
      }
    }
    this.#sweepAbove = circuits.size <= max ? max : circuits.size + Math.ceil(max / 10);
    for (const key of dropped) this.#emitter.emit('drop', { key });
  }
}
