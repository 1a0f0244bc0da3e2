import type { Infuse } from '../core/infuse.js';
import type { CircuitMode } from '../core/types.js';

/**
 * Puts the circuit `key` of `infuse` in `mode`, so that a test can check what its own code does
 * when the circuit is open (calls refused until `resetTimeout` passes on the clock), half-open
 * (`halfOpenMaxCalls` trial calls let through), forced open, disabled or closed. It goes through
 * the same commands an operator uses, so listeners hear the change with reason `'manual'`.
 *
 * @example
 * ```ts
 * await setCircuitState(infuse, 'api.example.com', 'open');
 * await expect(getUser(1)).resolves.toEqual(cachedUser); // your fallback
 * ```
 */
export function setCircuitState(infuse: Infuse, key: string, mode: CircuitMode): Promise<void> {
  const circuit = infuse.circuit(key);
  switch (mode) {
    case 'closed':
      return circuit.close();
    case 'open':
      return circuit.open();
    case 'half-open':
      return circuit.halfOpen();
    case 'forced-open':
      return circuit.forceOpen();
    case 'disabled':
      return circuit.disable();
    default:
      return Promise.reject(
        new TypeError(
          `infuse-breaker: setCircuitState: unknown mode ${JSON.stringify(mode)}; use closed, open, half-open, forced-open or disabled`,
        ),
      );
  }
}
