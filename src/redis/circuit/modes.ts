import type { CircuitState, ForcedMode } from '../../core/types.js';
import { LocalCircuit } from '../../stores/local-circuit.js';
import type { Admission, CallDetail, Policy, StoreVerdict, Ticket } from '../../stores/store.js';
import type { CircuitHost } from './host.js';

/**
 * Where a circuit's decisions come from, one mode at a time:
 * - `loading`: its first read of the fleet's state is under way; calls wait for it (bounded by
 *   `waitTimeout`), then decide in the mode it leads to;
 * - `shared`: the fleet's state in Redis, as last learned (`#fleet`): the healthy path;
 * - `local`: Redis cannot answer; a per-process {@link LocalCircuit} with the same policy,
 *   started from what this process knew, decides until Redis answers with news.
 */
export type Mode =
  | { readonly kind: 'loading'; readonly loaded: Promise<void> }
  | { readonly kind: 'shared' }
  | { readonly kind: 'local'; readonly fallback: LocalCircuit };

export const SHARED: Mode = Object.freeze({ kind: 'shared' });

/** True when the mode holds nothing a dropped circuit would lose. */
export function modeIdle(mode: Mode): boolean {
  switch (mode.kind) {
    case 'loading':
      return false;
    case 'local':
      return mode.fallback.idle;
    case 'shared':
      return true;
  }
}

/**
 * The per-process circuit to fall back on, starting from what this process knew, `known`: the
 * same state (an open circuit stays open a full `resetTimeout` from now). Its transitions are
 * this process's alone.
 */
export function fallbackFrom(
  key: string,
  policy: Policy,
  known: CircuitState | ForcedMode,
  host: CircuitHost,
): LocalCircuit {
  return new LocalCircuit(
    key,
    { ...policy, initialState: known === 'closed' ? null : known },
    Date.now,
    (transition) => host.transition({ ...transition, scope: 'process' }),
  );
}

/** Admits a call on the fallback; `issued` remembers which fallback issued each ticket. */
export function acquireLocally(
  fallback: LocalCircuit,
  issued: WeakMap<Ticket, LocalCircuit>,
): Admission {
  const admission = fallback.acquire();
  if (admission.allowed && admission.kind !== 'bypass') issued.set(admission, fallback);
  return admission;
}

/** Counts, on the fallback, the outcome of a call that was let through before it took over. */
export function countLocally(
  fallback: LocalCircuit,
  verdict: StoreVerdict,
  detail?: CallDetail,
): void {
  if (verdict === 'aborted' || fallback.state !== 'closed' || fallback.forced !== null) return;
  const ticket = fallback.acquire();
  if (ticket.allowed) fallback.release(ticket, verdict, detail);
}
