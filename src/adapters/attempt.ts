import { CallPermit, type Circuit, type SettleInput } from '../core/circuit.js';
import type { Verdict } from '../core/types.js';
import { isCallersAbort, outcomeUrl } from './shared.js';

/**
 * Where an {@link HttpAttempt} is in its life: not asked yet (`new`), asked with the store's answer
 * to come (`waiting`), let through and the client's until it ends (`running`), ended while still
 * waiting, its permit to be given back as soon as it arrives (`abandoned`), or counted, given back
 * or refused, after which anything more said about it is ignored (`ended`).
 */
type Phase = 'new' | 'waiting' | 'running' | 'abandoned' | 'ended';

/**
 * One HTTP attempt through a circuit, the one lifecycle every adapter drives: asked for
 * ({@link ask}), run by the client, ended once ({@link respond}, {@link fail}, {@link giveBack}),
 * counted. What differs between clients (how to hook in, how to read a status, a header or an
 * error) stays in the adapter; everything the circuit is told goes through here, so that each
 * attempt counts exactly once, whichever of a client's hooks, events or promises reports it first,
 * and an attempt that ends before its permit arrives gives the permit straight back.
 *
 * One object per attempt, which is also the permit and the Outcome's input: guarding a request
 * allocates little and touches little, which is most of what it costs. A response is judged by its
 * status alone, whether or not the client threw on it, so that one predicate sees the same Outcome
 * from every client; `error` is there only when no response decided the attempt (network error,
 * timeout, abort). `method` and `url` are worked out only when read, which happens only when an
 * Outcome is built (a predicate or a listener).
 */
export class HttpAttempt extends CallPermit implements SettleInput {
  // Declared, not initialised: `'error' in attempt` must stay false for an attempt that returned.
  declare status?: number;
  declare error?: unknown;
  declare aborted?: boolean;
  /** The response's `Retry-After` header, for a status of 400 or more that carried one. */
  declare retryAfter?: string;
  readonly #circuit: Circuit;
  readonly #method: string | undefined;
  #href: string | undefined;
  #shown = false;
  readonly #countAborts: boolean;
  #phase: Phase = 'new';
  #deadline: ReturnType<typeof setTimeout> | undefined;

  /**
   * `href` is the request's absolute URL as sent (the outcome URL drops credentials and query);
   * `countAborts` is the adapter's option of that name.
   */
  constructor(
    circuit: Circuit,
    countAborts: boolean,
    method: string | undefined,
    href: string | undefined,
  ) {
    super(circuit);
    this.#circuit = circuit;
    this.#countAborts = countAborts;
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

  /** True once this attempt has asked the circuit. */
  get asked(): boolean {
    return this.#phase !== 'new';
  }

  /** The next attempt of the same request (a client's retry): the same circuit, method and URL. */
  retry(): HttpAttempt {
    return new HttpAttempt(this.#circuit, this.#countAborts, this.#method, this.#href);
  }

  /**
   * True when the circuit would refuse an attempt now (open with time to wait, or forced open):
   * a client's retry delay then only delays the refusal.
   */
  wouldRefuse(): boolean {
    const { state, forced, retryAfter } = this.#circuit.snapshot();
    return forced === 'forced-open' || (forced === null && state === 'open' && retryAfter > 0);
  }

  /**
   * Asks the circuit for this attempt. Returns nothing when it let the attempt go at once (so
   * that the request starts in the caller's tick, as it would unguarded), throws
   * `CircuitBreakerError` when it refused at once, and returns a promise when the store answers
   * later (rejecting on refusal).
   */
  ask(): Promise<void> | undefined {
    let late: Promise<void> | undefined;
    try {
      late = this.enter();
    } catch (error) {
      this.#phase = 'ended';
      throw error;
    }
    if (late === undefined) {
      this.#phase = 'running';
      return undefined;
    }
    this.#phase = 'waiting';
    return late.then(
      () => {
        if (this.#phase === 'abandoned') void this.#count();
        else this.#phase = 'running';
      },
      (error: unknown) => {
        this.#phase = 'ended';
        throw error;
      },
    );
  }

  /**
   * Ends the attempt with a response: counted by its status. `retryAfter` is the response's raw
   * `Retry-After` header (the first, if the client gives a list), kept for a status of 400 or
   * more; the core decides what it means. Returns a promise only when the store counts later.
   */
  respond(
    status: number,
    retryAfter?: string | readonly string[] | null,
  ): Promise<Verdict> | undefined {
    if (!this.#ends()) return undefined;
    this.status = status;
    if (status >= 400 && retryAfter !== undefined && retryAfter !== null) {
      const value = typeof retryAfter === 'string' ? retryAfter : retryAfter[0];
      if (value !== undefined) this.retryAfter = value;
    }
    return this.#count();
  }

  /** Ends the attempt as one that returned with no status to judge: a success. */
  succeed(): Promise<Verdict> | undefined {
    if (!this.#ends()) return undefined;
    return this.#count();
  }

  /**
   * Ends the attempt without a response. `aborted` is the adapter's judgement of whether the
   * caller aborted it (see {@link callersAbort}); left out, the core's default applies (an
   * `AbortError` is the caller's). Returns a promise only when the store counts later.
   */
  fail(error: unknown, aborted?: boolean): Promise<Verdict> | undefined {
    if (!this.#ends()) return undefined;
    this.error = error;
    if (aborted !== undefined) this.aborted = aborted;
    return this.#count();
  }

  /** Ends an attempt that was never sent: counted as nothing, its trial permit given back. */
  giveBack(): Promise<Verdict> | undefined {
    if (!this.#ends()) return undefined;
    this.aborted = true;
    return this.#count();
  }

  /**
   * Whether an abort with this reason is the caller's (it counts as nothing): never when
   * `countAborts` is set or the reason is a `TimeoutError`.
   */
  callersAbort(reason: unknown): boolean {
    return isCallersAbort(this.#countAborts, reason);
  }

  /**
   * Starts the breaker's own deadline for this attempt (the adapters' `timeout` option): when it
   * passes, `abort` is called with a `TimeoutError`, which counts as a failure. Once per attempt;
   * {@link stopDeadline} when the response is over.
   */
  startDeadline(timeout: number | null, abort: (reason: Error) => void): void {
    if (timeout === null || this.#deadline !== undefined) return;
    this.#deadline = setTimeout(() => {
      abort(new DOMException(`infuse-breaker: no response within ${timeout} ms`, 'TimeoutError'));
    }, timeout);
    // A pending deadline is no reason for the process to stay up.
    (this.#deadline as { unref?: () => void }).unref?.();
  }

  stopDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
  }

  /** True when this report ends a running attempt; an attempt still waiting is abandoned instead. */
  #ends(): boolean {
    const phase = this.#phase;
    if (phase === 'running') {
      this.#phase = 'ended';
      return true;
    }
    if (phase === 'waiting') this.#phase = 'abandoned';
    return false;
  }

  /** Tells the circuit. An attempt abandoned before it ran is given back (nothing recorded). */
  #count(): Promise<Verdict> | undefined {
    if (this.#phase === 'abandoned') {
      this.#phase = 'ended';
      this.aborted = true;
    }
    const counted = this.settleNow(this);
    return typeof counted === 'string' ? undefined : counted;
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
 * An {@link HttpAttempt} of a client whose request is one promise (fetch, axios, ky), run by
 * {@link runAttempt}: it sends its request and reads what the client gave.
 */
export interface PromiseAttempt<T> extends HttpAttempt {
  /** Starts the attempt: the client's own request. */
  send(): Promise<T>;
  /** Ends the attempt with what the client's request resolved with (`respond`, usually). */
  returned(value: T): Promise<Verdict> | undefined;
  /** Ends the attempt with what the client's request rejected with. */
  threw(error: unknown): Promise<Verdict> | undefined;
  /** Told when the circuit refused the attempt, just before the caller gets `error`. */
  refused?(error: unknown): void;
}

/**
 * Runs one attempt of a promise client: refuses before anything is sent when the circuit is open
 * (the promise rejects with `CircuitBreakerError`), otherwise sends, counts the outcome and hands
 * back exactly what the client did. The request starts in the caller's tick when the store
 * answers at once.
 */
export function runAttempt<T>(attempt: PromiseAttempt<T>): Promise<T> {
  let late: Promise<void> | undefined;
  try {
    late = attempt.ask();
  } catch (error) {
    return refuse(attempt, error);
  }
  if (late === undefined) return start(attempt);
  return late.then(
    () => start(attempt),
    (error: unknown) => refuse(attempt, error),
  );
}

function refuse<T>(attempt: PromiseAttempt<T>, error: unknown): Promise<never> {
  attempt.refused?.(error);
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a CircuitBreakerError
  return Promise.reject(error);
}

/**
 * Written with `then` rather than `async`/`await`: no frame kept alive for the request's whole
 * life, and no extra turn when the store counts at once.
 */
function start<T>(attempt: PromiseAttempt<T>): Promise<T> {
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
      (value) => void attempt.returned(value),
      (error: unknown) => void attempt.threw(error),
    );
    return sent;
  }
  // A shared store may count later: the caller waits for it, so that the circuit's state is up
  // to date when the caller sees the outcome.
  return sent.then(
    (value) => {
      const counted = attempt.returned(value);
      return counted === undefined ? value : counted.then(() => value);
    },
    (error: unknown) => {
      const counted = attempt.threw(error);
      if (counted === undefined) throw error;
      return counted.then(() => {
        throw error;
      });
    },
  );
}
