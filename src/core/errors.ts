import type { CircuitState, ForcedMode } from './types.js';

const brand = Symbol.for('infuse-breaker.CircuitBreakerError');

/**
 * Thrown (as a rejection) when a circuit refuses a call: it is open, forced open, or half-open with
 * every trial permit taken. The guarded function never ran.
 *
 * `instanceof CircuitBreakerError` works across copies of the package (ESM and CommonJS loaded side
 * by side); {@link isCircuitBreakerError} does the same as a function.
 *
 * Rejections are cheap: by default no stack trace is captured (a trace costs more than a whole
 * guarded call); the message names the circuit, its state and when to retry. Set the `stackTraces`
 * option of `Infuse` to capture one.
 */
export class CircuitBreakerError extends Error {
  /** Always `'ECIRCUITOPEN'`. */
  readonly code = 'ECIRCUITOPEN' as const;
  /** The circuit that refused the call. */
  readonly key: string;
  /** The circuit's state when it refused the call. */
  readonly state: CircuitState;
  /** The forced mode, when a forced mode made the refusal. */
  readonly forced: ForcedMode | null;
  /**
   * Milliseconds until a trial call may go: 0 when the circuit is half-open with every permit
   * taken (try again soon), `Infinity` while forced open. When a server's `Retry-After` opened the
   * circuit (`honorRetryAfter`), the time the server asked for that remains.
   */
  readonly retryAfter: number;
  /**
   * The failure that tripped the circuit, when it tripped in this process: what the guarded call
   * threw, or, for a failing response that threw nothing (a 5xx from `fetch`, a 429 with
   * `Retry-After`), an `Error` naming its status. Absent for a circuit opened by hand, forced
   * open, or tripped by another process of the fleet.
   */
  declare readonly cause?: unknown;

  /** @param options `cause`: the failure that tripped the circuit (see {@link cause}). */
  constructor(
    key: string,
    state: CircuitState,
    retryAfter: number,
    forced: ForcedMode | null = null,
    options?: { readonly cause?: unknown },
  ) {
    super(describe(key, state, retryAfter, forced), options);
    this.key = key;
    this.state = state;
    this.forced = forced;
    this.retryAfter = retryAfter;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isCircuitBreakerError(value);
  }
}

Object.defineProperty(CircuitBreakerError.prototype, 'name', {
  value: 'CircuitBreakerError',
  enumerable: false,
  configurable: true,
  writable: true,
});
Object.defineProperty(CircuitBreakerError.prototype, brand, { value: true });

function describe(
  key: string,
  state: CircuitState,
  retryAfter: number,
  forced: ForcedMode | null,
): string {
  if (forced === 'forced-open')
    return `Circuit "${key}" is forced open; call clearForced() to resume`;
  if (state === 'half-open') return `Circuit "${key}" is half-open and its trial calls are taken`;
  return `Circuit "${key}" is open; a trial call may go in ${Math.ceil(retryAfter)} ms`;
}

/** True when `value` is a {@link CircuitBreakerError} from any copy of this package. */
export function isCircuitBreakerError(value: unknown): value is CircuitBreakerError {
  return typeof value === 'object' && value !== null && brand in value;
}

/**
 * Builds a rejection without paying for a stack trace unless asked to. Error.stackTraceLimit is
 * read by V8 when the error is constructed, so lowering it for the duration of `new` is enough.
 */
export function createRejection(
  key: string,
  state: CircuitState,
  retryAfter: number,
  forced: ForcedMode | null,
  stackTraces: boolean,
  cause: unknown,
): CircuitBreakerError {
  // Error sets `cause` whenever the options have one, even undefined: leave it out then.
  const options = cause === undefined ? undefined : { cause };
  if (stackTraces) return new CircuitBreakerError(key, state, retryAfter, forced, options);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CircuitBreakerError(key, state, retryAfter, forced, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
