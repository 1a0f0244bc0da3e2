import type { FailureRatePolicy, InitialState, Policy, Store } from '../stores/store.js';
import type { Outcome } from './types.js';

/** An error class (matched with `instanceof` on `outcome.error`) or a predicate of the outcome. */
export type ExcludeEntry =
  (abstract new (...args: never[]) => unknown) | ((outcome: Outcome) => boolean);

/** Open the circuit when the share of failures over a sliding window gets too high. */
export interface FailureRateOptions {
  /** Share of failed calls, from 0 to 1, that opens the circuit (0.5 = half of them). */
  readonly threshold: number;
  /**
   * Calls the window must hold before the rate is judged at all.
   * @default 20
   */
  readonly minimumCalls?: number;
  /**
   * Length of the sliding window in milliseconds; it slides a tenth at a time.
   * @default 10_000
   */
  readonly window?: number;
}

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
   * once a process votes and `quorum` processes agree (they voted, or their latest call to the
   * host failed). A vote stands for `resetTimeout`, a success withdraws it. So one process with a
   * broken path to a healthy host cannot cut the fleet off, while a host that is down for everyone
   * opens for the fleet as soon as the first process votes. `1`: any process's `failMax` opens
   * the fleet. The failure-rate rule (every process's calls together) needs no quorum. Stores
   * that are not shared ignore it.
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
}

/** Options of {@link Infuse}. */
export interface InfuseOptions extends CircuitOptions {
  /**
   * Per-key overrides. An exact key beats a `*.suffix` pattern, a longer pattern beats a shorter
   * one, and anything unset falls back to the top-level options. `*.example.com` matches every key
   * that ends in `.example.com`, at any depth, but not `example.com` itself.
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
]);
const INFUSE_KEYS = new Set([...CIRCUIT_KEYS, 'circuits', 'store', 'maxCircuits', 'stackTraces']);
const RATE_KEYS = new Set(['threshold', 'minimumCalls', 'window']);
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
  return { base, exact, patterns, store, maxCircuits, stackTraces };
}

/** The resolved options for `key`: exact key, then the longest matching pattern, then the base. */
export function optionsFor(options: NormalizedOptions, key: string): ResolvedCircuit {
  const exact = options.exact.get(key);
  if (exact !== undefined) return exact;
  for (const [suffix, circuit] of options.patterns) {
    if (key.endsWith(suffix) && key.length > suffix.length) return circuit;
  }
  return options.base;
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
    policy: { failMax, resetTimeout, halfOpenMaxCalls, failureRate, initialState, quorum },
    classifier: {
      classes,
      predicates,
      isFailure,
      custom: classes.length > 0 || predicates.length > 0 || isFailure !== null,
    },
  };
}

function normalizeRate(
  rate: FailureRateOptions | null | undefined,
  path: string,
): FailureRatePolicy | null {
  if (rate === undefined || rate === null) return null;
  if (typeof rate !== 'object') invalid(path, 'an object such as { threshold: 0.5 }', rate);
  checkKeys(rate, RATE_KEYS, path + '.');
  const { threshold } = rate;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    invalid(path + '.threshold', 'a number from 0 to 1', threshold);
  }
  const minimumCalls = rate.minimumCalls ?? DEFAULTS.minimumCalls;
  positiveInteger(path + '.minimumCalls', minimumCalls);
  const window = rate.window ?? DEFAULTS.window;
  nonNegative(path + '.window', window);
  if (window === 0) invalid(path + '.window', 'more than 0 ms', window);
  return { threshold, minimumCalls, window };
}

function isClass(fn: (...args: never[]) => unknown): boolean {
  const prototype: unknown = (fn as { prototype?: unknown }).prototype;
  if (fn === Error || prototype instanceof Error) return true;
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function checkKeys(object: object, allowed: ReadonlySet<string>, path: string): void {
  for (const name of Object.keys(object)) {
    if (!allowed.has(name)) {
      const known = [...allowed].join(', ');
      throw new TypeError(
        `infuse-breaker: unknown option "${path}${name}"; known options are: ${known}`,
      );
    }
  }
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    invalid(name, 'a positive integer', value);
  }
}

function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(name, 'a finite number of milliseconds, 0 or more', value);
  }
}

/** Throws the TypeError every bad option gets: it names the option, what it must be, and the value. */
export function invalid(name: string, expected: string, value: unknown): never {
  throw new TypeError(`infuse-breaker: option "${name}" must be ${expected}; got ${show(value)}`);
}

/** Names a value in an error message without dumping it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  // Only primitives are left here (numbers, booleans, bigints, symbols, undefined).
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(value);
}
