import type { CircuitState, ForcedMode } from './types.js';

const brand = Symbol.for('infuse-breaker.CircuitBreakerError');

/**
 * Thrown (as a rejection) when a circuit refuses a call: it is open, forced open, or half-open with
 * every trial permit taken. The guarded function never ran.
 *
 * `instanceof CircuitBreakerError` works across copies of the package (ESM and CommonJS loaded side
 * by side); {@link isCircuitBreakerError} also finds it inside the errors SDKs wrap it in.
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

  // The brand alone: `instanceof` means the error itself, not an error that carries one.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && brand in value;
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

/**
 * True when `value` is a {@link CircuitBreakerError} from any copy of this package, or an error
 * that carries one: SDKs and clients wrap the rejection of the fetch or dispatcher they were
 * given (fetch's `TypeError` and OpenAI's `APIConnectionError` keep it as `cause`, Octokit's
 * `RequestError` as `cause`, Stripe's `StripeConnectionError` as `detail`). Use
 * {@link findCircuitBreakerError} to get the breaker's error itself.
 *
 * @example
 * ```ts
 * try {
 *   await openai.chat.completions.create(request);
 * } catch (error) {
 *   if (isCircuitBreakerError(error)) return fallback(); // the API's circuit is open
 *   throw error;
 * }
 * ```
 */
export function isCircuitBreakerError(value: unknown): boolean {
  return findCircuitBreakerError(value) !== undefined;
}

/**
 * Where wrappers keep the error they wrap: `cause` (the standard), `detail` (Stripe),
 * `originalError` and `error` (several SDKs and GraphQL clients).
 */
const WRAPPED = ['cause', 'detail', 'originalError', 'error'] as const;

/** How deep a chain of wrappers is followed; also what ends a chain that loops. */
const DEPTH = 8;

/**
 * The {@link CircuitBreakerError} `value` is or carries (see {@link isCircuitBreakerError}), or
 * undefined. Follows `cause`, `detail`, `originalError`, `error` and an `AggregateError`'s
 * `errors`, at most eight wrappers deep.
 *
 * @example
 * ```ts
 * const refusal = findCircuitBreakerError(error);
 * if (refusal !== undefined) console.log(`${refusal.key} is ${refusal.state}; retry in ${refusal.retryAfter} ms`);
 * ```
 */
export function findCircuitBreakerError(value: unknown): CircuitBreakerError | undefined {
  return find(value, DEPTH);
}

function find(value: unknown, depth: number): CircuitBreakerError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (brand in value) return value as unknown as CircuitBreakerError;
  if (depth === 0) return undefined;
  for (const field of WRAPPED) {
    // A getter that throws (a hostile or lazy wrapper) is no reason to throw here.
    let inner: unknown;
    try {
      inner = (value as Record<string, unknown>)[field];
    } catch {
      continue;
    }
    const found = find(inner, depth - 1);
    if (found !== undefined) return found;
  }
  const { errors } = value as { errors?: unknown };
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = find(inner, depth - 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
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
