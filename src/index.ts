// Every public export, by name. Internals (the state machine and its CircuitPhase union,
// LocalCircuit, the option normaliser, the emitter) are not exported: stores and adapters in this
// package import them directly, and users should not depend on them. Members tagged internal in
// their TSDoc are left out of the published .d.ts; etc/infuse-breaker.api.md records the public API
// (npm run api:check compares it). No comment here may carry that tag: TypeScript would drop the
// export it precedes from the .d.ts.
export { Infuse } from './core/infuse.js';
export { Circuit, type Permit, type SettleInput } from './core/circuit.js';
export {
  CircuitBreakerError,
  findCircuitBreakerError,
  isCircuitBreakerError,
} from './core/errors.js';
export { isAbortError, defaultIsFailure } from './core/classify.js';
export type {
  CircuitOptions,
  ExcludeEntry,
  FailureRateOptions,
  InfuseOptions,
  RetryAfterOptions,
  SlowCallRateOptions,
} from './core/options.js';
export type { Clock } from './core/clock.js';
export type {
  DropEvent,
  InfuseEvents,
  Listener,
  OutcomeEvent,
  RejectEvent,
  StateChangeEvent,
} from './core/events.js';
export type {
  CircuitMode,
  CircuitScope,
  CircuitSnapshot,
  CircuitState,
  CircuitStatus,
  ForcedMode,
  Outcome,
  TransitionReason,
  Verdict,
} from './core/types.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export type {
  Admission,
  CallDetail,
  Command,
  FailureRatePolicy,
  InitialState,
  Policy,
  SlowCallRatePolicy,
  Store,
  StoreCapability,
  StoreCircuit,
  StoreConnection,
  StoreEvent,
  StoreHooks,
  StoreVerdict,
  Ticket,
  Transition,
} from './stores/store.js';
