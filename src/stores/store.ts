import type {
  CircuitScope,
  CircuitSnapshot,
  CircuitState,
  ForcedMode,
  TransitionReason,
} from '../core/types.js';

/**
 * The part of a circuit's options that decides its state. A store receives it with every circuit
 * it serves; classification (`exclude`, `isFailure`) stays in the core.
 */
export interface Policy {
  readonly failMax: number;
  readonly resetTimeout: number;
  readonly halfOpenMaxCalls: number;
  readonly failureRate: FailureRatePolicy | null;
  readonly initialState: InitialState | null;
  /**
   * Open on the share of slow calls (see {@link Store.capabilities}: only a store that declares
   * `'slowCallRate'` receives a policy with it set). Absent or `null`: off.
   */
  readonly slowCallRate?: SlowCallRatePolicy | null;
  /**
   * Distinct processes that must agree before `failMax` opens the circuit for a fleet (shared
   * stores only; see `quorum` in the options). Absent: 1.
   */
  readonly quorum?: number;
}

/** Normalised `failureRate` options. */
export interface FailureRatePolicy {
  readonly threshold: number;
  readonly minimumCalls: number;
  readonly window: number;
}

/** Normalised `slowCallRate` options: a call that took `duration` ms or more is slow. */
export interface SlowCallRatePolicy extends FailureRatePolicy {
  readonly duration: number;
}

/**
 * What a store needs to know of a call besides its verdict, for the rules that use it. The core
 * passes it only when a rule needs it (no object is built for most calls).
 */
export interface CallDetail {
  /** Milliseconds from acquire to settle; present when the policy has `slowCallRate`. */
  readonly duration?: number;
  /**
   * The server asked not to be called again for this many milliseconds (`honorRetryAfter`; already
   * parsed and bounded by `max`): the store opens the circuit at once until then, with reason
   * `'retryAfter'`, and lets the first call after it through as a trial.
   */
  readonly retryAfter?: number;
}

/**
 * A rule beyond the basic ones that a store must implement for an `Infuse` to use it. An `Infuse`
 * whose options need a capability its store does not declare throws at construction, rather than
 * run with the option silently ignored.
 *
 * - `retryAfter`: applies {@link CallDetail.retryAfter} (option `honorRetryAfter`).
 * - `slowCallRate`: counts {@link CallDetail.duration} against {@link Policy.slowCallRate}.
 * - `shadow`: option `shadow` (refusals are turned into calls by the core; a store declares it once
 *   its own side, such as a fleet-wide switch reported by {@link StoreCircuit.shadow}, is in
 *   place).
 */
export type StoreCapability = 'retryAfter' | 'slowCallRate' | 'shadow';

/** Every {@link StoreCapability}. */
export const STORE_CAPABILITIES: readonly StoreCapability[] = [
  'retryAfter',
  'slowCallRate',
  'shadow',
];

/** A state (or forced mode) applied to a circuit the store holds nothing for yet. */
export type InitialState = CircuitState | ForcedMode;

/**
 * The store's answer to "may this call go?". An allowed ticket is handed back to
 * {@link StoreCircuit.release} with the call's verdict.
 *
 * - `closed`: a normal call; its outcome is counted.
 * - `trial`: a half-open trial permit; its outcome closes or re-opens the circuit.
 * - `bypass`: the circuit is disabled; the outcome is not counted.
 */
export type Admission =
  | {
      readonly allowed: true;
      readonly kind: 'closed' | 'trial' | 'bypass';
      /** The generation the ticket was issued in; outcomes of older generations are ignored. */
      readonly generation: number;
    }
  | {
      readonly allowed: false;
      readonly state: CircuitState;
      readonly forced: ForcedMode | null;
      readonly retryAfter: number;
    };

/** An allowed {@link Admission}. */
export type Ticket = Extract<Admission, { allowed: true }>;

/** The outcome a store counts: excluded outcomes arrive as `success`. */
export type StoreVerdict = 'success' | 'failure' | 'aborted';

/** A change made by hand. */
export type Command = 'open' | 'close' | 'half-open' | 'force-open' | 'disable' | 'clear-forced';

/** One change of a circuit's state or forced mode, announced once. */
export interface Transition {
  readonly key: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The forced mode before the change. */
  readonly fromForced: ForcedMode | null;
  /** The forced mode after the change. */
  readonly forced: ForcedMode | null;
  readonly reason: TransitionReason;
  readonly generation: number;
  /** With a shared store: whose state changed (see {@link CircuitSnapshot.scope}). */
  readonly scope?: CircuitScope;
}

/** Something about the store itself, reported through the `store` event of `Infuse`. */
export interface StoreEvent {
  /**
   * - `degraded`: the shared backend cannot be reached; circuits run on per-process state.
   * - `recovered`: the backend is back and state is resynchronised.
   * - `malformed`: data under the store's keys could not be read; it was treated as absent.
   * - `error`: anything else worth knowing that did not fail a call.
   */
  readonly type: 'degraded' | 'recovered' | 'malformed' | 'error';
  readonly message: string;
  readonly key?: string;
  readonly error?: unknown;
}

/** What a store reports back to each `Infuse` connected to it. */
export interface StoreHooks {
  transition(transition: Transition): void;
  event(event: StoreEvent): void;
}

/** A connection between one `Infuse` and a store. */
export interface StoreConnection {
  /** Stop reporting to these hooks; a store with no connection left releases what it opened. */
  disconnect(): Promise<void>;
}

/**
 * One circuit as a store keeps it.
 *
 * `acquire` and `release` sit on every call's path. A store answers them synchronously whenever it
 * can (the in-memory store always does); it returns a promise only when it must ask someone else,
 * and a caller awaits that promise before it settles its own call, so that state and events are up
 * to date when the guarded call's promise settles.
 */
export interface StoreCircuit {
  readonly key: string;
  /** Current state, as this process knows it. */
  readonly state: CircuitState;
  /** Current forced mode, or null. */
  readonly forced: ForcedMode | null;
  /** Consecutive failures counted so far. */
  readonly failures: number;
  /** True once the store has let go of this circuit; ask the store for it again. */
  readonly retired: boolean;
  /** May a call go now? Allowed tickets must be released exactly once. */
  acquire(): Admission | Promise<Admission>;
  /**
   * Report how an allowed call ended. `detail` is given only when a rule of the policy needs more
   * than the verdict (see {@link CallDetail}).
   */
  release(ticket: Ticket, verdict: StoreVerdict, detail?: CallDetail): void | Promise<void>;
  /**
   * True when `release` never returns a promise (the in-memory store). An adapter can then count
   * an attempt alongside the client's own handling of its response, rather than ahead of it.
   */
  readonly releasesAtOnce?: boolean;
  /**
   * True while the store's own switch runs the circuit in shadow mode (a shared store's fleet-wide
   * switch): the core then lets through the calls it would refuse, as with option `shadow`. Read
   * on each refusal. Absent: the store has no such switch.
   */
  readonly shadow?: boolean;
  /** Apply a manual change; rejects when the change cannot be made everywhere it must be. */
  command(command: Command): Promise<void>;
  snapshot(): CircuitSnapshot;
}

/**
 * Where circuit state lives. {@link MemoryStore} keeps it in the process; `RedisStore` shares it
 * across a fleet. Every store runs the same contract test suite.
 */
export interface Store {
  /**
   * The optional rules this store implements (see {@link StoreCapability}). Absent: none of them.
   * @example readonly capabilities = ['retryAfter', 'slowCallRate'] as const;
   */
  readonly capabilities?: readonly StoreCapability[];
  /** Called by each `Infuse` that uses the store. */
  connect(hooks: StoreHooks): StoreConnection;
  /**
   * The circuit for `key`, created on first use with `policy`. `policy.initialState` is applied
   * only when the store holds nothing for the key.
   */
  circuit(key: string, policy: Policy): StoreCircuit;
  /**
   * Let go of an idle circuit to save memory. Returns false (and keeps it) unless the circuit is
   * closed, not forced and has no call in flight.
   */
  forget(key: string): boolean;
}
