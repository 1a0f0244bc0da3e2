import type { InitialState, Policy, Store } from '../stores/store.js';
import type { Clock } from './clock.js';
import {
  normalizeRate,
  normalizeRetryAfter,
  normalizeSlowCallRate,
  type FailureRateOptions,
  type RetryAfterOptions,
  type RetryAfterPolicy,
  type SlowCallRateOptions,
} from './rule-options.js';
import type { Outcome } from './types.js';
import { checkKeys, invalid, nonNegative, positiveInteger, show } from './validate.js';

export type { FailureRateOptions, RetryAfterOptions, SlowCallRateOptions } from './rule-options.js';
// Other parts of the package import these from here.
export { invalid, show };

/** An error class (matched with `instanceof` on `outcome.error`) or a predicate of the outcome. */
export type ExcludeEntry =
  (abstract new (...args: never[]) => unknown) | ((outcome: Outcome) => boolean);

/** Options that can be set for all circuits and overridden per key in `circuits`. */
export interface CircuitOptions {
  /**
   * Consecutive failures that open the circuit. A success resets the count.
   * @default 5
   */
  readonly failMax?: number;
  /**
   * Milliseconds a circuit stays open before it lets a trial call through.
   * @default 60_000
   */
  readonly resetTimeout?: number;
  /**
   * Trial calls let through at once while half-open; all of them must succeed to close the
   * circuit, and one failure re-opens it.
   * @default 1
   */
  readonly halfOpenMaxCalls?: number;
  /**
   * Also open on the failure rate over a sliding window (catches a host that fails 90% of the
   * time, whose occasional successes keep resetting the consecutive count). `null` turns it off
   * for a key when it is set at the top level.
   * @default null (off)
   * @example { threshold: 0.5, minimumCalls: 20, window: 10_000 }
   */
  readonly failureRate?: FailureRateOptions | null;
  /**
   * With a shared store (`RedisStore`): how many distinct processes must agree before `failMax`
   * opens the circuit for the whole fleet. A process whose own calls reach `failMax` opens the
   * circuit for itself at once (its own trials follow `resetTimeout`) and votes; the fleet opens
   * once `quorum` processes agree (they voted, or their latest call to the host failed) and one
   * of them voted or their current streaks of failures add up to `failMax`. A vote stands for
   * `resetTimeout`, a success withdraws it. So one process with a broken path to a healthy host
   * cannot cut the fleet off, while a host that is down for everyone opens for the fleet after
   * about `failMax` failures in all. `1`: any process's own `failMax` opens the fleet. The
   * failure-rate rule (every process's calls together) needs no quorum. Stores that are not
   * shared ignore it.
   * @default 2
   */
  readonly quorum?: number;
  /**
   * Outcomes that are not failures: error classes (matched with `instanceof` on the error) and
   * predicates of the {@link Outcome}. An excluded outcome counts as a success.
   * @default []
   * @example [ValidationError, (outcome) => outcome.status === 501]
   */
  readonly exclude?: readonly ExcludeEntry[];
  /**
   * Replaces the default classification. Return true when the outcome is a failure. The default:
   * a thrown error is a failure (unless it is the caller's `AbortError`), and so is an HTTP status
   * of 500 or more.
   */
  readonly isFailure?: (outcome: Outcome) => boolean;
  /**
   * State given to a circuit the store holds nothing for yet. It never overwrites existing state,
   * so a process that starts does not reset the fleet's circuits.
   * @default 'closed'
   */
  readonly initialState?: InitialState;
  /**
   * Honour a server's `Retry-After`: a response whose status is in `statuses` (429 and 503 unless
   * given) and that carries `Retry-After` (delay-seconds or an HTTP-date) opens its circuit at
   * once, until that time (at most `max`), with reason `'retryAfter'`; the refusals meanwhile carry
   * the server's remaining time in `CircuitBreakerError.retryAfter`, and the first call after it
   * goes through as a trial. Malformed or past values are ignored. The HTTP adapters hand the
   * header over; `false` turns it off for a key when it is set at the top level.
   *
   * Off by default: a circuit covers a whole host (and, with a shared store, a whole fleet), while a
   * 429's `Retry-After` often speaks for one account, token or endpoint. Turn it on where the
   * server's limit is per host or per account that the whole fleet shares.
   * @default false
   * @example true
   * @example { statuses: [503], max: 60_000 }
   */
  readonly honorRetryAfter?: boolean | RetryAfterOptions;
  /**
   * Also open on the share of slow calls over a sliding window, with reason `'slowCallRate'`: a
   * call is slow when it took `duration` ms or more, whatever its outcome (for HTTP, the time to
   * its response). A slow trial call re-opens a half-open circuit. `null` turns it off for a key.
   * @default null (off)
   * @example { threshold: 0.5, duration: 2_000, minimumCalls: 20, window: 10_000 }
   */
  readonly slowCallRate?: SlowCallRateOptions | null;
  /**
   * Shadow mode: the circuit runs exactly as it would (transitions, snapshot, metrics), but no call
   * is refused. A call it would have refused goes through, fires `reject` with `shadow: true`, and
   * its outcome is not counted (the circuit would never have sent it). Use it to try a policy in
   * production before it may refuse anything.
   * @default false
   */
  readonly shadow?: boolean;
}

/** Options of {@link Infuse}. */
export interface InfuseOptions extends CircuitOptions {
  /**
   * Per-key overrides. An exact key beats a `*.suffix` pattern, a longer pattern beats a shorter
   * one, and anything unset falls back to the top-level options. `*.example.com` matches every key
   * that ends in `.example.com`, at any depth, but not `example.com` itself. An entry that names a
   * host applies to that host on any port (`'127.0.0.1'` to `127.0.0.1:8080`, `'*.example.com'`
   * to `api.example.com:8443`), unless an entry names the port too (`'127.0.0.1:8080'`).
   * @example { 'api.example.com': { failMax: 10 }, '*.internal.example': { resetTimeout: 5_000 } }
   */
  readonly circuits?: Readonly<Record<string, CircuitOptions>>;
  /**
   * Where circuit state lives.
   * @default new MemoryStore()
   */
  readonly store?: Store;
  /**
   * Idle closed circuits kept in memory; the least recently used beyond this are dropped (and
   * start afresh when used again). Open, half-open and forced circuits are never dropped.
   * @default 10_000
   */
  readonly maxCircuits?: number;
  /**
   * Capture a stack trace in every {@link CircuitBreakerError}. Off by default: a trace costs more
   * than a whole guarded call, and a rejection's message already names the circuit and its state.
   * @default false
   */
  readonly stackTraces?: boolean;
  /**
   * The clock the breaker runs on: the open periods, call durations and `Retry-After` dates of
   * every circuit, and the default store's time. A store you pass keeps its own: give a
   * `MemoryStore` the same clock (`new MemoryStore({ now: clock.now })`); one made without `now`
   * is refused here. Tests use `TestClock` from `infuse-breaker/testing`.
   * @default `Date.now` for times and `performance.now` for durations
   */
  readonly clock?: Clock;
}

/** How one circuit classifies outcomes. */
export interface Classifier {
  readonly classes: readonly (abstract new (...args: never[]) => unknown)[];
  readonly predicates: readonly ((outcome: Outcome) => boolean)[];
  readonly isFailure: ((outcome: Outcome) => boolean) | null;
  /** False when nothing but the default rules apply, so no Outcome needs to be built. */
  readonly custom: boolean;
}

/** Everything one circuit key needs, resolved once per key. */
export interface ResolvedCircuit {
  readonly policy: Policy;
  readonly classifier: Classifier;
  /** `honorRetryAfter`, or null when off. */
  readonly retryAfter: RetryAfterPolicy | null;
  readonly shadow: boolean;
}

/** Normalised options: validated, defaults applied, patterns sorted. */
export interface NormalizedOptions {
  readonly base: ResolvedCircuit;
  readonly exact: ReadonlyMap<string, ResolvedCircuit>;
  /** `[suffix, circuit]`, longest suffix first; a suffix includes its leading dot. */
  readonly patterns: readonly (readonly [string, ResolvedCircuit])[];
  readonly store: Store | null;
  readonly maxCircuits: number;
  readonly stackTraces: boolean;
  readonly clock: Clock | null;
}

export const DEFAULTS = {
  failMax: 5,
  resetTimeout: 60_000,
  halfOpenMaxCalls: 1,
  minimumCalls: 20,
  window: 10_000,
  maxCircuits: 10_000,
  quorum: 2,
} as const;

const CIRCUIT_KEYS = new Set([
  'failMax',
  'resetTimeout',
  'halfOpenMaxCalls',
  'failureRate',
  'quorum',
  'exclude',
  'isFailure',
  'initialState',
  'honorRetryAfter',
  'slowCallRate',
  'shadow',
]);
const INFUSE_KEYS = new Set([
  ...CIRCUIT_KEYS,
  'circuits',
  'store',
  'maxCircuits',
  'stackTraces',
  'clock',
]);
const INITIAL_STATES = new Set<unknown>(['closed', 'open', 'half-open', 'forced-open', 'disabled']);

/** Validates `options` and returns a new normalised object; the caller's object is not touched. */
export function normalizeOptions(options: InfuseOptions | undefined): NormalizedOptions {
  const given: InfuseOptions = options ?? {};
  if (typeof given !== 'object') invalid('options', 'an object', given);
  checkKeys(given, INFUSE_KEYS, '');
  const base = resolve(given, null, '');
  const exact = new Map<string, ResolvedCircuit>();
  const patterns: [string, ResolvedCircuit][] = [];
  const circuits = given.circuits ?? {};
  if (typeof circuits !== 'object' || Array.isArray(circuits)) {
    invalid('circuits', 'an object of per-key options', circuits);
  }
  for (const [key, overrides] of Object.entries(circuits)) {
    const path = `circuits[${JSON.stringify(key)}].`;
    if (typeof overrides !== 'object' || Array.isArray(overrides)) {
      invalid(path.slice(0, -1), 'an object of options', overrides);
    }
    checkKeys(overrides, CIRCUIT_KEYS, path);
    const circuit = resolve(overrides, given, path);
    if (key.startsWith('*.') && key.length > 2 && !key.slice(1).includes('*')) {
      patterns.push([key.slice(1), circuit]);
    } else if (key.length === 0 || key.includes('*')) {
      throw new TypeError(
        `infuse-breaker: option "circuits" has the key ${JSON.stringify(key)}; ` +
          'use an exact key or a pattern of the form "*.example.com"',
      );
    } else {
      exact.set(key, circuit);
    }
  }
  patterns.sort((a, b) => b[0].length - a[0].length);

  const store = given.store ?? null;
  if (
    store !== null &&
    (typeof store !== 'object' ||
      typeof store.circuit !== 'function' ||
      typeof store.connect !== 'function')
  ) {
    invalid('store', 'a store (such as new MemoryStore())', store);
  }
  const maxCircuits = given.maxCircuits ?? DEFAULTS.maxCircuits;
  positiveInteger('maxCircuits', maxCircuits);
  const stackTraces = given.stackTraces ?? false;
  if (typeof stackTraces !== 'boolean') invalid('stackTraces', 'a boolean', stackTraces);
  const clock = given.clock ?? null;
  if (clock !== null && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
    invalid('clock', 'an object with a now() method', clock);
  }
  return { base, exact, patterns, store, maxCircuits, stackTraces, clock };
}

/**
 * The resolved options for `key`: exact key, then the longest matching pattern, then the base.
 * A key with a port (`host:8080`, as the HTTP adapters key) is looked up as written first, then
 * by its hostname alone: an entry that names a host applies to it on any port, unless an entry
 * names the port too.
 */
export function optionsFor(options: NormalizedOptions, key: string): ResolvedCircuit {
  const hostname = withoutPort(key);
  return (
    (hostname === key
      ? lookup(options, key)
      : (lookup(options, key) ?? lookup(options, hostname))) ?? options.base
  );
}

function lookup(options: NormalizedOptions, key: string): ResolvedCircuit | undefined {
  const exact = options.exact.get(key);
  if (exact !== undefined) return exact;
  for (const [suffix, circuit] of options.patterns) {
    if (key.endsWith(suffix) && key.length > suffix.length) return circuit;
  }
  return undefined;
}

/** `host` of a `host:port` key (`[::1]:8080` gives `[::1]`); any other key as it is. */
function withoutPort(key: string): string {
  const colon = key.lastIndexOf(':');
  if (colon <= 0 || colon === key.length - 1) return key;
  for (let at = colon + 1; at < key.length; at++) {
    const code = key.charCodeAt(at);
    if (code < 0x30 || code > 0x39) return key;
  }
  const host = key.slice(0, colon);
  // An IPv6 address without brackets has colons of its own and no port.
  return host.includes(':') && !host.endsWith(']') ? key : host;
}

function resolve(
  own: CircuitOptions,
  parent: CircuitOptions | null,
  path: string,
): ResolvedCircuit {
  const pick = <K extends keyof CircuitOptions>(name: K): CircuitOptions[K] | undefined =>
    own[name] !== undefined ? own[name] : parent?.[name];

  const failMax = pick('failMax') ?? DEFAULTS.failMax;
  positiveInteger(path + 'failMax', failMax);
  const resetTimeout = pick('resetTimeout') ?? DEFAULTS.resetTimeout;
  nonNegative(path + 'resetTimeout', resetTimeout);
  const halfOpenMaxCalls = pick('halfOpenMaxCalls') ?? DEFAULTS.halfOpenMaxCalls;
  positiveInteger(path + 'halfOpenMaxCalls', halfOpenMaxCalls);
  const failureRate = normalizeRate(pick('failureRate'), path + 'failureRate');
  const slowCallRate = normalizeSlowCallRate(pick('slowCallRate'), path + 'slowCallRate');
  const retryAfter = normalizeRetryAfter(pick('honorRetryAfter'), path + 'honorRetryAfter');
  const shadow = pick('shadow') ?? false;
  if (typeof shadow !== 'boolean') invalid(path + 'shadow', 'a boolean', shadow);
  const quorum = pick('quorum') ?? DEFAULTS.quorum;
  positiveInteger(path + 'quorum', quorum);
  const initialState = pick('initialState') ?? null;
  if (initialState !== null && !INITIAL_STATES.has(initialState)) {
    invalid(path + 'initialState', `one of ${[...INITIAL_STATES].join(', ')}`, initialState);
  }

  const exclude = pick('exclude') ?? [];
  if (!Array.isArray(exclude)) invalid(path + 'exclude', 'an array', exclude);
  const classes: (abstract new (...args: never[]) => unknown)[] = [];
  const predicates: ((outcome: Outcome) => boolean)[] = [];
  exclude.forEach((entry: unknown, index) => {
    if (typeof entry !== 'function') {
      invalid(`${path}exclude[${index}]`, 'an error class or a predicate function', entry);
    }
    if (isClass(entry as (...args: never[]) => unknown))
      classes.push(entry as abstract new (...args: never[]) => unknown);
    else predicates.push(entry as (outcome: Outcome) => boolean);
  });
  const isFailure = pick('isFailure') ?? null;
  if (isFailure !== null && typeof isFailure !== 'function') {
    invalid(path + 'isFailure', 'a function', isFailure);
  }
  return {
    policy: {
      failMax,
      resetTimeout,
      halfOpenMaxCalls,
      failureRate,
      initialState,
      slowCallRate,
      quorum,
    },
    classifier: {
      classes,
      predicates,
      isFailure,
      custom: classes.length > 0 || predicates.length > 0 || isFailure !== null,
    },
    retryAfter,
    shadow,
  };
}

function isClass(fn: (...args: never[]) => unknown): boolean {
  const prototype: unknown = (fn as { prototype?: unknown }).prototype;
  if (fn === Error || prototype instanceof Error) return true;
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}
