import type { CircuitState, ForcedMode } from './types.js';

/**
 * The state of one circuit and the data that state needs, as one value: each state carries its
 * own fields and no others, so that no field is read in a state where it means nothing. A plain,
 * serialisable value: what a store keeps, and what `initialState` starts from.
 *
 * Counters that outlive a state (the consecutive failures, the rate windows) are the trip rules'
 * (see `TripRules`), not the state's.
 */
export type CircuitPhase = ClosedPhase | OpenPhase | HalfOpenPhase | ForcedPhase;

/** Calls go through and their outcomes are counted. */
export interface ClosedPhase {
  readonly mode: 'closed';
}

/** Calls are refused until `until` (the store's clock, epoch ms). */
export interface OpenPhase {
  readonly mode: 'open';
  readonly until: number;
}

/** Up to `permits` more trial calls may start; `successes` of this episode's trials succeeded. */
export interface HalfOpenPhase {
  readonly mode: 'half-open';
  readonly permits: number;
  readonly inFlight: number;
  readonly successes: number;
}

/**
 * A mode set by hand that overrides the state machine until cleared. `state` is the state the
 * circuit was in when it was forced, reported as its `state` meanwhile; clearing the mode closes
 * the circuit whatever it was.
 */
export interface ForcedPhase {
  readonly mode: ForcedMode;
  readonly state: CircuitState;
}

/** The one closed phase: closed carries no data, so every closed circuit shares it. */
export const CLOSED: ClosedPhase = Object.freeze({ mode: 'closed' });

/** A half-open phase with every one of `permits` trial permits free. */
export function halfOpen(permits: number): HalfOpenPhase {
  return { mode: 'half-open', permits, inFlight: 0, successes: 0 };
}

/** The state a phase reports (a forced phase reports the state it was forced in). */
export function stateOf(phase: CircuitPhase): CircuitState {
  switch (phase.mode) {
    case 'closed':
    case 'open':
    case 'half-open':
      return phase.mode;
    case 'forced-open':
    case 'disabled':
      return phase.state;
    default:
      return unreachable(phase);
  }
}

/** The forced mode of a phase, or null. */
export function forcedOf(phase: CircuitPhase): ForcedMode | null {
  return phase.mode === 'forced-open' || phase.mode === 'disabled' ? phase.mode : null;
}

/**
 * Ends a switch that handled every member of a union. The type check makes a forgotten member a
 * compile error; the throw makes a value from elsewhere (a store's corrupt data) a loud one.
 */
export function unreachable(value: never): never {
  throw new Error(`infuse-breaker: unexpected circuit phase ${JSON.stringify(value)}`);
}
