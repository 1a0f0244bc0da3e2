// Every public export, by name. Internals (LocalCircuit, the option normaliser, the emitter) are
// not exported: stores and adapters in this package import them directly, and users should not
// depend on them.
export { Infuse } from './core/infuse.js';
export { Circuit, type Permit, type SettleInput } from './core/circuit.js';
export { CircuitBreakerError, isCircuitBreakerError } from './core/errors.js';
export { isAbortError, defaultIsFailure } from './core/classify.js';
export type {
  CircuitOptions,
  ExcludeEntry,
  FailureRateOptions,
  InfuseOptions,
} from './core/options.js';
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
  Command,
  FailureRatePolicy,
  InitialState,
  Policy,
  Store,
  StoreCircuit,
  StoreConnection,
  StoreEvent,
  StoreHooks,
  StoreVerdict,
  Ticket,
  Transition,
} from './stores/store.js';
