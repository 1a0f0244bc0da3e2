import type { Admission, CallDetail, Command, StoreCircuit, Ticket } from '../stores/store.js';
import { causeOf } from './cause.js';
import { classify, countsAsNothing, storeVerdict } from './classify.js';
import type { Timebase } from './clock.js';
import { createRejection, type CircuitBreakerError } from './errors.js';
import type { Emitter } from './events.js';
import type { ResolvedCircuit } from './options.js';
import { CallPermit } from './permit.js';
import { parseRetryAfter } from './retry-after.js';
import type { RetryAfterPolicy } from './rule-options.js';
import type {
  CircuitSnapshot,
  CircuitState,
  ForcedMode,
  Outcome,
  TransitionReason,
  Verdict,
} from './types.js';

/** What an adapter reports about one call when it settles a {@link Permit}. */
export interface SettleInput {
  /** What the call threw. Leave the property out when the call returned. */
  readonly error?: unknown;
  /** HTTP status of the response, when there was one. */
  readonly status?: number;
  /** HTTP method, upper case. */
  readonly method?: string;
  /** Request URL without credentials, query or fragment. */
  readonly url?: string | undefined;
  /**
   * True when the caller aborted the call (it then counts as nothing). By default an error named
   * `AbortError` is a caller's abort; an adapter that knows better says so here.
   */
  readonly aborted?: boolean;
  /**
   * The response's `Retry-After` header, as received (delay-seconds or an HTTP-date). The circuit
   * reads it when `honorRetryAfter` applies to the response's status; otherwise it is ignored.
   */
  readonly retryAfter?: string;
}

/**
 * Permission for one call to go through a circuit, for integrations that cannot hand the breaker
 * a function (an HTTP client's adapter or hook). Settle it exactly once; later settles are ignored.
 */
export interface Permit {
  readonly key: string;
  /** True when this is a half-open trial call. */
  readonly trial: boolean;
  /** Reports how the call ended; resolves with how it was counted, once state is up to date. */
  settle(result?: SettleInput): Promise<Verdict>;
}

/** What a circuit needs from the `Infuse` that made it. @internal */
export interface CircuitHost {
  readonly emitter: Emitter;
  readonly stackTraces: boolean;
  readonly time: Timebase;
  /** Returns the store's circuit for `key`, registering `circuit` as its handle when needed. */
  attach(circuit: Circuit): StoreCircuit;
  /** Marks `circuit` as recently used. */
  touch(circuit: Circuit): void;
}

/** When the registry last saw the circuit used (a sequence number, not a time). @internal */
export const kSeq = Symbol('seq');

type AnyFunction = (...args: never[]) => unknown;

/**
 * What a call in shadow mode goes through with: the circuit would have refused it, so no store
 * issued a ticket, and nothing is counted when it ends.
 */
const SHADOW: Ticket = Object.freeze({ allowed: true, kind: 'bypass', generation: -1 });

/**
 * One named circuit. Get it from {@link Infuse.circuit}; it is created on first use, and every
 * handle for a key shares that key's state.
 */
export class Circuit {
  /** The circuit key. */
  readonly key: string;
  /** @internal */
  [kSeq] = 0;
  readonly #host: CircuitHost;
  readonly #resolved: ResolvedCircuit;
  #store: StoreCircuit;
  #rejections = 0;
  // Read on every call: kept here rather than two and three objects away.
  readonly #custom: boolean;
  /** A rule or a predicate needs the call's duration: calls are timed. */
  readonly #timed: boolean;
  readonly #slow: boolean;
  /** A rule needs more than the verdict (see CallDetail). */
  readonly #detailed: boolean;
  readonly #retryAfter: RetryAfterPolicy | null;
  readonly #shadow: boolean;
  readonly #emitter: Emitter;
  /** The last settle that may have tripped the circuit (a failure, a Retry-After). */
  #lastFailure: SettleInput | undefined;
  /** The failure that tripped the circuit this episode (see CircuitBreakerError.cause). */
  #cause: unknown;

  /** @internal Use {@link Infuse.circuit}. */
  constructor(key: string, resolved: ResolvedCircuit, host: CircuitHost, store: StoreCircuit) {
    this.key = key;
    this.#resolved = resolved;
    this.#host = host;
    this.#store = store;
    this.#custom = resolved.classifier.custom;
    this.#slow = (resolved.policy.slowCallRate ?? null) !== null;
    this.#timed = this.#custom || this.#slow;
    this.#retryAfter = resolved.retryAfter;
    this.#detailed = this.#slow || this.#retryAfter !== null;
    this.#shadow = resolved.shadow;
    this.#emitter = host.emitter;
  }

  /** `'closed'`, `'open'` or `'half-open'`. An open circuit turns half-open when a call arrives after `resetTimeout`. */
  get state(): CircuitState {
    return this.#current().state;
  }

  /** The forced mode (`'forced-open'` or `'disabled'`), or `null`. */
  get forced(): ForcedMode | null {
    return this.#current().forced;
  }

  /** Consecutive failures counted so far. */
  get failCounter(): number {
    return this.#current().failures;
  }

  /**
   * Calls this handle refused since it was created (in this process only; see
   * {@link Infuse.snapshot}).
   */
  get rejections(): number {
    return this.#rejections;
  }

  /** The options this circuit resolved to (exact key, pattern, or top level). @internal */
  get resolved(): ResolvedCircuit {
    return this.#resolved;
  }

  /** A plain picture of the circuit: state, forced mode, counters, time to retry. */
  snapshot(): CircuitSnapshot {
    const snapshot = this.#current().snapshot();
    return this.#inShadow() ? { ...snapshot, shadow: true } : snapshot;
  }

  /** Option `shadow`, or the store's switch (a fleet-wide one), read each time it matters. */
  #inShadow(): boolean {
    return this.#shadow || this.#current().shadow === true;
  }

  /**
   * Calls `fn(...args)` through the circuit, like pybreaker's `call`. Rejects with
   * {@link CircuitBreakerError} without calling `fn` when the circuit refuses the call; otherwise
   * settles as `fn` does, after counting the outcome.
   *
   * @example
   * ```ts
   * const customer = await infuse.circuit('db').call(updateCustomer, input);
   * ```
   */
  call<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`Circuit.call: expected a function, got ${typeof fn}`));
    }
    if (isAsyncGeneratorFunction(fn)) {
      return Promise.reject(
        new TypeError('Circuit.call: guard an async generator function with wrap(), then iterate'),
      );
    }
    this.#host.touch(this);
    const store = this.#current();
    const admission = store.acquire();
    if (admission instanceof Promise) {
      return admission.then((late) => this.#run(store, late, fn, args));
    }
    if (!admission.allowed) {
      const error = this.#reject(admission);
      if (error !== null) return Promise.reject(error);
      return this.#run(store, SHADOW, fn, args);
    }
    return this.#run(store, admission, fn, args);
  }

  /**
   * Returns `fn` guarded by the circuit: each call goes through {@link call}. An async generator
   * function stays one: the circuit is asked when iteration starts, and an error thrown while
   * iterating counts as a failure.
   *
   * @example
   * ```ts
   * const getUser = infuse.circuit('users').wrap(fetchUser);
   * const rows = infuse.circuit('db').wrap(async function* (sql) { yield* cursor(sql); });
   * ```
   */
  // The generator overload keeps the function's own type: inferring its parts from a contextually
  // typed `async function*` would leave the generator's next-type unresolved.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrap<F extends (...args: any[]) => AsyncGenerator<unknown, unknown>>(fn: F): F;
  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>>;
  wrap(fn: AnyFunction): AnyFunction {
    if (typeof fn !== 'function') {
      throw new TypeError(`Circuit.wrap: expected a function, got ${typeof fn}`);
    }
    if (isAsyncGeneratorFunction(fn)) return this.#wrapGenerator(fn);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const circuit = this;
    return function guarded(this: unknown, ...args: never[]) {
      return circuit.call((...inner: never[]) => fn.apply(this, inner), ...args);
    };
  }

  /**
   * Asks the circuit for one call, for integrations that cannot pass a function. Rejects with
   * {@link CircuitBreakerError} when the circuit refuses; otherwise the returned {@link Permit}
   * must be settled once the call ends.
   */
  acquire(): Promise<Permit> {
    // A throw in the executor (a refusal) rejects the promise.
    return new Promise((resolve) => {
      resolve(this.acquireNow());
    });
  }

  /**
   * {@link acquire}, without a promise when the store can answer at once (a closed circuit
   * always can): adapters call the client in the same tick, so that guarding a request does not
   * delay it to a later turn of the event loop. Throws {@link CircuitBreakerError} when the
   * circuit refuses at once. @internal
   */
  acquireNow(): CallPermit | Promise<CallPermit> {
    this.#host.touch(this);
    const permit = new CallPermit(this);
    const late = permit.enter();
    return late === undefined ? permit : late.then(() => permit);
  }

  /** The store's circuit, for a call about to ask it. @internal */
  storeCircuit(): StoreCircuit {
    return this.#current();
  }

  /**
   * True when something will look at the outcome of a call starting now: a predicate or an
   * outcome listener. Only then is a call timed. @internal
   */
  get observed(): boolean {
    return this.#timed || this.#emitter.observesOutcomes;
  }

  /** A reading of the clock durations are measured with. @internal */
  elapsed(): number {
    return this.#host.time.elapsed();
  }

  /**
   * Counts a refusal, tells listeners, and returns the error to reject with; or, in shadow mode,
   * tells listeners and returns null: the call goes through with {@link shadowTicket}. @internal
   */
  refuse(admission: Extract<Admission, { allowed: false }>): CircuitBreakerError | null {
    return this.#reject(admission);
  }

  /** The ticket a call in shadow mode goes through with. @internal */
  get shadowTicket(): Ticket {
    return SHADOW;
  }

  /**
   * The store announced that this circuit opened: remember what tripped it, for the refusals of
   * this episode. @internal
   */
  opened(reason: TransitionReason): void {
    this.#cause = causeOf(reason, this.#lastFailure);
  }

  /** Opens the circuit now, for `resetTimeout` (clears a forced mode). */
  open(): Promise<void> {
    return this.#command('open');
  }

  /** Closes the circuit now and resets its counters (clears a forced mode). */
  close(): Promise<void> {
    return this.#command('close');
  }

  /** Lets `halfOpenMaxCalls` trial calls through now (clears a forced mode). */
  halfOpen(): Promise<void> {
    return this.#command('half-open');
  }

  /** Rejects every call until {@link clearForced} (or `close()`, `open()`, `halfOpen()`). */
  forceOpen(): Promise<void> {
    return this.#command('force-open');
  }

  /** Switches the breaker off: every call goes through and nothing is counted, until cleared. */
  disable(): Promise<void> {
    return this.#command('disable');
  }

  /** Ends `forceOpen()` or `disable()`; the circuit resumes closed with fresh counters. */
  clearForced(): Promise<void> {
    return this.#command('clear-forced');
  }

  /**
   * Counts one outcome and emits its event. `started` is the `performance.now()` of the call's
   * start, or NaN when nothing observed outcomes then (the Outcome's duration is then 0). @internal
   */
  settle(
    store: StoreCircuit,
    ticket: Ticket,
    started: number,
    threw: boolean,
    input: SettleInput | undefined,
  ): Verdict | Promise<Verdict> {
    const emitter = this.#emitter;
    if (ticket === SHADOW) return this.#settleShadow(started, threw, input);
    const aborted = countsAsNothing(threw, input);
    // The default rule needs no Outcome (a throw or a status of 500 or more fails): one is built
    // only for a predicate or a listener that will see it.
    let outcome = this.#custom ? this.#outcome(started, threw, input) : undefined;
    const verdict: Verdict = aborted
      ? 'aborted'
      : outcome !== undefined
        ? classify(this.#resolved.classifier, outcome)
        : threw || (input?.status ?? 0) >= 500
          ? 'failure'
          : 'success';
    // Most calls have nobody listening to outcomes: no event to look up.
    if (emitter.observesOutcomes) {
      const event = eventOf(verdict);
      if (emitter.has(event)) {
        outcome ??= this.#outcome(started, threw, input);
        emitter.emit(event, { key: this.key, outcome, verdict });
      }
    }
    // Most circuits have neither rule: no detail to build, and only a failure is remembered.
    const detail =
      this.#detailed && verdict !== 'aborted' ? this.#detail(started, input) : undefined;
    if (verdict === 'failure' || detail?.retryAfter !== undefined) this.#lastFailure = input;
    const released = store.release(ticket, storeVerdict(verdict), detail);
    return released === undefined ? verdict : released.then(() => verdict);
  }

  /** What the store's rules need besides the verdict: the duration, the server's Retry-After. */
  #detail(started: number, input: SettleInput | undefined): CallDetail | undefined {
    let retryAfter: number | undefined;
    const policy = this.#retryAfter;
    const header = input?.retryAfter;
    const status = input?.status;
    if (policy !== null && header !== undefined && status !== undefined) {
      if (policy.statuses.includes(status)) {
        const ms = parseRetryAfter(header, this.#host.time.epoch());
        if (ms !== null) retryAfter = Math.min(ms, policy.max);
      }
    }
    const duration = this.#slow && !Number.isNaN(started) ? this.elapsed() - started : undefined;
    if (duration === undefined && retryAfter === undefined) return undefined;
    return retryAfter === undefined
      ? { duration: duration as number }
      : duration === undefined
        ? { retryAfter }
        : { duration, retryAfter };
  }

  /**
   * A call the circuit would have refused ended: nothing is counted and no outcome is told, as the
   * circuit would never have sent it; the caller still learns how it would have been judged.
   */
  #settleShadow(started: number, threw: boolean, input: SettleInput | undefined): Verdict {
    if (countsAsNothing(threw, input)) return 'aborted';
    return classify(this.#resolved.classifier, this.#outcome(started, threw, input));
  }

  #outcome(started: number, threw: boolean, input: SettleInput | undefined): Outcome {
    const outcome: { -readonly [K in keyof Outcome]: Outcome[K] } = {
      key: this.key,
      // A call that began while nothing observed outcomes was not timed.
      duration: Number.isNaN(started) ? 0 : this.elapsed() - started,
    };
    if (threw) outcome.error = input?.error;
    if (input?.status !== undefined) outcome.status = input.status;
    if (input?.method !== undefined) outcome.method = input.method;
    if (input?.url !== undefined) outcome.url = input.url;
    return outcome;
  }

  async #run<A extends unknown[], R>(
    store: StoreCircuit,
    admission: Admission,
    fn: (...args: A) => R,
    args: A,
  ): Promise<Awaited<R>> {
    let ticket: Ticket;
    if (admission.allowed) ticket = admission;
    else {
      const error = this.#reject(admission);
      if (error !== null) throw error;
      ticket = SHADOW;
    }
    // With no predicate and no outcome listener nobody sees an Outcome: no clock is read, and the
    // settle below goes straight to the store. This is the path most calls take.
    const started = this.observed ? this.elapsed() : NaN;
    let value: Awaited<R>;
    try {
      value = await fn(...args);
    } catch (error) {
      const settled = this.settle(store, ticket, started, true, { error });
      if (typeof settled !== 'string') await settled;
      throw error;
    }
    const settled = this.settle(store, ticket, started, false, undefined);
    if (typeof settled !== 'string') await settled;
    return value;
  }

  #wrapGenerator(fn: AnyFunction): AnyFunction {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const circuit = this;
    return async function* guarded(this: unknown, ...args: never[]) {
      const permit = await circuit.acquire();
      let failed = false;
      try {
        return yield* fn.apply(this, args) as AsyncGenerator<unknown, unknown, unknown>;
      } catch (error) {
        failed = true;
        await permit.settle({ error });
        throw error;
      } finally {
        if (!failed) await permit.settle();
      }
    };
  }

  #reject(admission: Extract<Admission, { allowed: false }>): CircuitBreakerError | null {
    const { state, forced, retryAfter } = admission;
    const emitter = this.#host.emitter;
    const shadow = this.#inShadow();
    if (shadow) {
      if (emitter.has('reject')) {
        emitter.emit('reject', { key: this.key, state, forced, retryAfter, shadow });
      }
      return null;
    }
    this.#rejections++;
    const cause = forced === null ? this.#cause : undefined;
    const { stackTraces } = this.#host;
    const error = createRejection(this.key, state, retryAfter, forced, stackTraces, cause);
    if (emitter.has('reject')) {
      emitter.emit('reject', { key: this.key, state, forced, retryAfter, shadow });
    }
    return error;
  }

  #command(command: Command): Promise<void> {
    return this.#current().command(command);
  }

  #current(): StoreCircuit {
    const store = this.#store;
    if (!store.retired) return store;
    return (this.#store = this.#host.attach(this));
  }
}

/** Adapters import the permit from here, where it always lived. @internal */
export { CallPermit };

function eventOf(verdict: Verdict): 'success' | 'failure' | 'abort' {
  return verdict === 'failure' ? 'failure' : verdict === 'aborted' ? 'abort' : 'success';
}

// Comparing constructors is a property read; Object.prototype.toString would cost a fifth of a call.
const AsyncGeneratorFunction = async function* () {
  // only its constructor is needed
}.constructor;

function isAsyncGeneratorFunction(fn: AnyFunction): boolean {
  return fn.constructor === AsyncGeneratorFunction;
}
