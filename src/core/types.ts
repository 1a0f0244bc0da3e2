/**
 * The three states of the circuit breaker pattern.
 *
 * - `closed`: calls go through; failures are counted.
 * - `open`: calls are rejected at once with a {@link CircuitBreakerError} until `resetTimeout` has passed.
 * - `half-open`: up to `halfOpenMaxCalls` trial calls go through; every other call is rejected.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A mode set by hand that lasts until it is cleared with `clearForced()` (or replaced by
 * `open()`, `close()` or `halfOpen()`).
 *
 * - `forced-open`: every call is rejected, whatever happens; the circuit never tries a trial call.
 * - `disabled`: every call goes through and nothing is counted; the breaker is switched off.
 */
export type ForcedMode = 'forced-open' | 'disabled';

/** What a circuit is doing, forced modes included: the state, or the forced mode that overrides it. */
export type CircuitMode = CircuitState | ForcedMode;

/** Why a circuit changed state or mode. */
export type TransitionReason =
  /** `failMax` consecutive failures. */
  | 'failMax'
  /** The failure rate over the window reached `failureRate.threshold`. */
  | 'failureRate'
  /** The share of slow calls over the window reached `slowCallRate.threshold`. */
  | 'slowCallRate'
  /** A response carried `Retry-After` (see `honorRetryAfter`): open until the server's time. */
  | 'retryAfter'
  /**
   * The open period ended (`resetTimeout`, or the server's `Retry-After`) and a call arrived: the
   * circuit lets trial calls through.
   */
  | 'resetTimeout'
  /** A trial call failed: the circuit opens for another `resetTimeout`. */
  | 'trialFailed'
  /** Every trial call of the recovery attempt succeeded. */
  | 'trialSucceeded'
  /** `open()`, `close()`, `halfOpen()`, `forceOpen()`, `disable()` or `clearForced()`. */
  | 'manual'
  /** Another process sharing the store made the change (see `RedisStore`). */
  | 'remote';

/**
 * Every {@link TransitionReason}, for code that checks a reason it reads from outside (a script's
 * reply, a test of the docs). A `Record` so that a reason added to the type must be added here.
 */
const REASONS: Record<TransitionReason, true> = {
  failMax: true,
  failureRate: true,
  slowCallRate: true,
  retryAfter: true,
  resetTimeout: true,
  trialFailed: true,
  trialSucceeded: true,
  manual: true,
  remote: true,
};

/** The reasons a transition can have, in the order the type lists them. */
export const TRANSITION_REASONS = Object.keys(REASONS) as readonly TransitionReason[];

/**
 * What one guarded call did, as exclusion and classification predicates see it. The same shape
 * comes from every HTTP adapter, so a predicate written once works for axios, ky, got and fetch.
 */
export interface Outcome {
  /** The circuit key (for HTTP adapters, the request's host). */
  readonly key: string;
  /** What the call threw or rejected with; absent when it returned. */
  readonly error?: unknown;
  /** HTTP status of the response, when there was one. */
  readonly status?: number;
  /** HTTP method, upper case, when the call was an HTTP request. */
  readonly method?: string;
  /** Request URL without credentials, query or fragment, when the call was an HTTP request. */
  readonly url?: string;
  /**
   * Milliseconds from the start of the call until it settled. Calls are timed only while a
   * predicate or an outcome listener is registered: a call that was already under way when the
   * first one arrived reports 0.
   */
  readonly duration: number;
}

/**
 * How an outcome was counted.
 *
 * - `success` and `excluded` count as a success (an excluded outcome is a business error, like
 *   pybreaker's `exclude`);
 * - `failure` counts towards opening the circuit;
 * - `aborted` (the caller gave up) counts as nothing and gives back a trial permit.
 */
export type Verdict = 'success' | 'failure' | 'excluded' | 'aborted';

/** A plain, serialisable picture of one circuit. */
export interface CircuitSnapshot {
  readonly key: string;
  readonly state: CircuitState;
  /** The forced mode, or `null` when none is set. */
  readonly forced: ForcedMode | null;
  /** State and forced mode in one value. */
  readonly mode: CircuitMode;
  /** Consecutive failures counted so far. */
  readonly failures: number;
  /** Calls and failures in the failure-rate window (zero when `failureRate` is off). */
  readonly window: { readonly calls: number; readonly failures: number };
  /** Trial calls in flight (half-open only). */
  readonly trialsInFlight: number;
  /** Epoch milliseconds of the last transition (or of creation). */
  readonly changedAt: number;
  /**
   * Milliseconds until an open circuit lets a trial call through: 0 when a call may go now,
   * `Infinity` while forced open.
   */
  readonly retryAfter: number;
  /** Incremented on every transition; tells an old episode's outcomes from the current one's. */
  readonly generation: number;
  /**
   * With a shared store (`RedisStore`): `process` when the state is this process's own (its calls
   * reached `failMax` but too few processes agree to open the circuit for the fleet, see
   * `quorum`), `fleet` when it is the fleet's. Absent for a store that is not shared.
   */
  readonly scope?: CircuitScope;
  /**
   * With a shared store: processes whose own calls reached `failMax` and that vote now to open
   * the circuit for the fleet (see `quorum`). Absent for a store that is not shared.
   */
  readonly votes?: number;
  /**
   * Calls and slow calls in the slow-call window (see `slowCallRate`; with a shared store, the
   * fleet's counts). Absent when `slowCallRate` is off.
   */
  readonly slowCalls?: { readonly calls: number; readonly slow: number };
  /**
   * True when calls the circuit would refuse go through: option `shadow`, or the fleet-wide switch
   * (`RedisAdmin`'s `shadow` command, `infuse-breaker shadow KEY`). Absent otherwise.
   */
  readonly shadow?: boolean;
}

/** Whose state a circuit's state is: this process's own, or the fleet's (see `quorum`). */
export type CircuitScope = 'process' | 'fleet';

/**
 * One circuit as {@link Infuse.snapshot} reports it: the store's picture plus what this process
 * counted itself.
 */
export interface CircuitStatus extends CircuitSnapshot {
  /**
   * Calls this process refused through the circuit since the circuit was created here (a circuit
   * dropped as idle by `maxCircuits` starts again from 0). With a shared store, other processes
   * count their own.
   */
  readonly rejections: number;
}
