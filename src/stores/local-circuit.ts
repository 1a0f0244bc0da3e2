import { CircuitMachine } from '../core/machine.js';
import type { Command, StoreCircuit } from './store.js';

/**
 * One circuit kept in this process: the core's {@link CircuitMachine} as a store serves it.
 * {@link MemoryStore} holds these, and shared stores fall back to them when their backend cannot
 * be reached, so the two run one state machine.
 */
export class LocalCircuit extends CircuitMachine implements StoreCircuit {
  readonly releasesAtOnce = true;
  #retired = false;

  get retired(): boolean {
    return this.#retired;
  }

  retire(): void {
    this.#retired = true;
  }

  command(command: Command): Promise<void> {
    this.apply(command);
    return Promise.resolve();
  }
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
