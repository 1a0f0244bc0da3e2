/**
 * A MemoryStore whose circuits behave as another store's would in one respect: tests of the core
 * and the adapters use it to see how they meet a store they cannot get from MemoryStore alone.
 */
import { MemoryStore, type Store } from '../../src/index.js';
import type { Admission, StoreCircuit } from '../../src/stores/store.js';

export interface StoreChange {
  /** Replaces each circuit's `acquire` (a late store's answers a tick later, say). */
  acquire?: (circuit: StoreCircuit) => Admission | Promise<Admission>;
  /** The store's own shadow switch (`StoreCircuit.shadow`), read each time the core asks. */
  shadow?: () => boolean;
}

/** A MemoryStore with its circuits changed as `change` says; everything else is MemoryStore's. */
export function changedMemoryStore(change: StoreChange): Store {
  const memory = new MemoryStore();
  return {
    capabilities: memory.capabilities,
    connect: (hooks) => memory.connect(hooks),
    forget: (key) => memory.forget(key),
    circuit(key, policy): StoreCircuit {
      const circuit = memory.circuit(key, policy);
      const { acquire, shadow } = change;
      return {
        key,
        get state() {
          return circuit.state;
        },
        get forced() {
          return circuit.forced;
        },
        get failures() {
          return circuit.failures;
        },
        get retired() {
          return circuit.retired;
        },
        get shadow() {
          return shadow?.() ?? false;
        },
        acquire: acquire === undefined ? () => circuit.acquire() : () => acquire(circuit),
        release: (ticket, verdict, detail) => circuit.release(ticket, verdict, detail),
        command: (command) => circuit.command(command),
        snapshot: () => circuit.snapshot(),
      };
    },
  };
}
