import { CallPermit, type Circuit, type SettleInput } from '../core/circuit.js';
import type { Verdict } from '../core/types.js';
import { outcomeUrl } from './shared.js';

/**
 * One HTTP attempt through a circuit: its permit, and what the adapter tells the circuit about it
 * when it is settled with itself (`permit.settleNow(permit)`). One object per attempt: guarding a
 * request allocates little and touches little, which is most of what it costs.
 *
 * A response is judged by its status alone, whether or not the client threw on it, so that one
 * predicate sees the same Outcome from every client; `error` is there only when no response
 * decided the attempt (network error, timeout, abort). `method` and `url` are worked out only when
 * read, which happens only when an Outcome is built (a predicate or a listener).
 */
export class HttpPermit extends CallPermit implements SettleInput {
  // Declared, not initialised: `'error' in permit` must stay false for an attempt that returned.
  declare status?: number;
  declare error?: unknown;
  declare aborted?: boolean;
  /** The response's `Retry-After` header, for a status of 400 or more that carried one. */
  declare retryAfter?: string;
  readonly #method: string | undefined;
  #href: string | undefined;
  #shown = false;

  /** `href` is the request's absolute URL as sent (the outcome URL drops credentials and query). */
  constructor(circuit: Circuit, method: string | undefined, href: string | undefined) {
    super(circuit);
    this.#method = method;
    this.#href = href;
  }

  /** The HTTP method, upper case. */
  get method(): string {
    return this.#method === undefined ? 'GET' : this.#method.toUpperCase();
  }

  /** Origin and path, without credentials, query or fragment. */
  get url(): string | undefined {
    if (!this.#shown) {
      this.#shown = true;
      const href = this.#href;
      this.#href = href === undefined ? undefined : outcomeUrlOf(href);
    }
    return this.#href;
  }

  /**
   * Records a response; `retryAfter` is its raw `Retry-After` header, kept for a status of 400
   * or more (the core decides what it means).
   */
  responded(status: number, retryAfter?: string | null): void {
    this.status = status;
    if (retryAfter !== undefined && retryAfter !== null && status >= 400) {
      this.retryAfter = retryAfter;
    }
  }

  /** Records an attempt that ended without a response; `aborted` is the adapter's judgement. */
  failed(error: unknown, aborted?: boolean): void {
    this.error = error;
    if (aborted !== undefined) this.aborted = aborted;
  }
}

/** `outcomeUrl` of a URL that may not parse (a client's to reject): then there is none. */
function outcomeUrlOf(href: string): string | undefined {
  try {
    return outcomeUrl(href);
  } catch {
    return undefined;
  }
}

/**
 * One attempt an adapter runs through {@link runAttempt}: an {@link HttpPermit} that can also send
 * its request and note how it ended.
 */
export interface HttpAttempt<T> extends HttpPermit {
  /** Starts the attempt: the client's own request. */
  send(): Promise<T>;
  /** Notes on this attempt what the client's request resolved with (the response's status). */
  returned(value: T): void;
  /** Notes on this attempt what the client's request rejected with. */
  threw(error: unknown): void;
  /** Told when the circuit refused the attempt, just before the caller gets `error`. */
  refused?(error: unknown): void;
}

/**
 * Asks the circuit for one attempt: the one place every adapter does. `granted` runs once the
 * circuit lets the attempt go: at once when the store answers at once (so that the request starts
 * in the caller's tick, as it would unguarded), after the store's answer otherwise. A refusal
 * (`CircuitBreakerError`) goes to `refused`, at once or later. Hands back what `granted` or
 * `refused` returned, in a promise when the store answered later (where a throw of either
 * rejects it).
 */
export function admit<T>(
  permit: CallPermit,
  granted: () => T,
  refused: (error: unknown) => T,
): T | Promise<T> {
  let late: Promise<void> | undefined;
  try {
    late = permit.enter();
  } catch (error) {
    return refused(error);
  }
  if (late === undefined) return granted();
  return late.then<T, T>(granted, refused);
}

/**
 * Runs one attempt through its circuit: refuses before anything is sent when the circuit is open
 * (the promise rejects with `CircuitBreakerError`), otherwise sends, counts the outcome and hands
 * back exactly what the client did (see {@link admit}).
 */
export function runAttempt<T>(attempt: HttpAttempt<T>): Promise<T> {
  return admit(
    attempt,
    () => start(attempt),
    (error) => {
      attempt.refused?.(error);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a CircuitBreakerError
      return Promise.reject(error);
    },
  ) as Promise<T>;
}

/**
 * Written with `then` rather than `async`/`await`: no frame kept alive for the request's whole
 * life, and no extra turn when the store counts at once.
 */
function start<T>(attempt: HttpAttempt<T>): Promise<T> {
  let sent: Promise<T>;
  try {
    sent = attempt.send();
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the client threw
    sent = Promise.reject(error);
  }
  if (attempt.countsAtOnce) {
    // The store counts at once: the caller gets the client's own promise, and this reaction,
    // registered before any of the caller's, has counted the attempt by the time theirs run. One
    // promise fewer in the chain, and no extra turn.
    sent.then(
      (value) => void countValue(attempt, value),
      (error: unknown) => void countError(attempt, error),
    );
    return sent;
  }
  // A shared store may count later: the caller waits for it, so that the circuit's state is up
  // to date when the caller sees the outcome.
  return sent.then(
    (value) => {
      const counted = countValue(attempt, value);
      return typeof counted === 'string' ? value : counted.then(() => value);
    },
    (error: unknown) => {
      const counted = countError(attempt, error);
      if (typeof counted === 'string') throw error;
      return counted.then(() => {
        throw error;
      });
    },
  );
}

/** Notes what the client's request resolved with, and counts the attempt. */
function countValue<T>(attempt: HttpAttempt<T>, value: T): Verdict | Promise<Verdict> {
  attempt.returned(value);
  return attempt.settleNow(attempt);
}

/** Notes what the client's request rejected with, and counts the attempt. */
function countError<T>(attempt: HttpAttempt<T>, error: unknown): Verdict | Promise<Verdict> {
  attempt.threw(error);
  return attempt.settleNow(attempt);
}
