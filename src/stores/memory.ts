import { LocalCircuit, forgetIdle } from './local-circuit.js';
import {
  STORE_CAPABILITIES,
  type Policy,
  type Store,
  type StoreCircuit,
  type StoreConnection,
  type StoreHooks,
  type Transition,
} from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The clock, in epoch milliseconds. Tests may pass their own; fake timers that mock `Date.now`
   * work too.
   * @default Date.now
   */
  readonly now?: () => number;
}

/**
 * Keeps circuit state in this process: the default store. Several `Infuse` instances given the
 * same `MemoryStore` share their circuits. It keeps no timer and holds nothing that outlives the
 * circuits `Infuse` keeps in memory.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * const a = new Infuse({ store });
 * const b = new Infuse({ store }); // sees the circuits a trips
 * ```
 */
export class MemoryStore implements Store {
  /** Every rule: circuits here run the core's own state machine. */
  readonly capabilities = STORE_CAPABILITIES;
  readonly #circuits = new Map<string, LocalCircuit>();
  readonly #hooks = new Set<StoreHooks>();
  readonly #now: () => number;
  readonly #readsDateNow: boolean;
  readonly #announce = (transition: Transition): void => {
    for (const hooks of this.#hooks) hooks.transition(transition);
  };

  constructor(options: MemoryStoreOptions = {}) {
    const now = options.now ?? (() => Date.now());
    if (typeof now !== 'function') {
      throw new TypeError(`MemoryStore: option "now" must be a function, got ${typeof now}`);
    }
    this.#now = now;
    this.#readsDateNow = options.now === undefined;
  }

  /** True when made without a `now` option: its circuits read `Date.now`. @internal */
  get readsDateNow(): boolean {
    return this.#readsDateNow;
  }

  /** How many circuits the store holds. */
  get size(): number {
    return this.#circuits.size;
  }

  connect(hooks: StoreHooks): StoreConnection {
    this.#hooks.add(hooks);
    return {
      disconnect: () => {
        this.#hooks.delete(hooks);
        return Promise.resolve();
      },
    };
  }

  circuit(key: string, policy: Policy): StoreCircuit {
    let circuit = this.#circuits.get(key);
    if (circuit === undefined) {
      circuit = new LocalCircuit(key, policy, this.#now, this.#announce);
      this.#circuits.set(key, circuit);
    }
    return circuit;
  }

  forget(key: string): boolean {
    return forgetIdle(this.#circuits, key) !== false;
  }
}
