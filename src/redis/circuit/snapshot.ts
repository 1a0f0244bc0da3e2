import type { CircuitSnapshot } from '../../core/types.js';
import type { FleetState } from '../fleet.js';
import type { OwnOpen } from './own-open.js';

/** What a circuit in shared mode shows of itself: the fleet's state, or this process's own open. */
export interface SharedView {
  readonly key: string;
  readonly fleet: FleetState;
  readonly own: OwnOpen;
  /** `performance.now()` at which the fleet's open circuit may try again. */
  readonly openUntil: number;
  /** Consecutive failures of this process's calls. */
  readonly streak: number;
  /** Slow calls are counted (`slowCallRate`). */
  readonly slowCalls: boolean;
}

/** The snapshot of a circuit whose decisions come from the fleet's state. */
export function sharedSnapshot(view: SharedView): CircuitSnapshot {
  const { fleet } = view;
  const own = view.own.phase;
  const state = own?.phase ?? fleet.state;
  let retryAfter = 0;
  if (fleet.forced === 'forced-open') retryAfter = Infinity;
  else if (own?.phase === 'open') retryAfter = view.own.retryAfter(performance.now());
  else if (fleet.forced === null && fleet.state === 'open') {
    retryAfter = Math.max(0, Math.ceil(view.openUntil - performance.now()));
  }
  const snapshot: CircuitSnapshot = {
    key: view.key,
    state,
    forced: fleet.forced,
    mode: fleet.forced ?? state,
    failures: view.streak,
    window: { calls: fleet.calls, failures: fleet.failures },
    trialsInFlight: fleet.state === 'half-open' ? fleet.trialsInFlight : 0,
    changedAt: fleet.changedAt,
    retryAfter,
    generation: fleet.generation,
    scope: own === null ? 'fleet' : 'process',
    votes: fleet.votes,
  };
  if (!view.slowCalls) return snapshot;
  return { ...snapshot, slowCalls: { calls: fleet.slowCalls, slow: fleet.slow } };
}
