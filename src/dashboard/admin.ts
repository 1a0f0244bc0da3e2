import type { CircuitMode, CircuitState, ForcedMode } from '../core/types.js';

/** One circuit of the fleet as Redis holds it (the shape RedisAdmin reports). */
export interface FleetCircuit {
  readonly key: string;
  readonly state: CircuitState;
  readonly forced: ForcedMode | null;
  readonly mode: CircuitMode;
  readonly window: { readonly calls: number; readonly failures: number };
  readonly trialsInFlight: number;
  readonly changedAt: number;
  readonly retryAfter: number;
  readonly generation: number;
}

/** Commands the dashboard may send. */
export type FleetCommand =
  'force-open' | 'close' | 'disable' | 'clear-forced' | 'open' | 'half-open';

/** What the dashboard needs of RedisAdmin. */
export interface DashboardAdmin {
  list(): Promise<FleetCircuit[]>;
  get(key: string): Promise<FleetCircuit | null>;
  command(key: string, command: FleetCommand): Promise<{ before: unknown; after: unknown }>;
  watch(listener: (transition: { readonly key: string }) => void): Promise<() => Promise<void>>;
}
