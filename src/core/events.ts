import type { StoreEvent } from '../stores/store.js';
import type {
  CircuitScope,
  CircuitState,
  ForcedMode,
  Outcome,
  TransitionReason,
  Verdict,
} from './types.js';

/** A circuit changed state or forced mode. */
export interface StateChangeEvent {
  readonly key: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The forced mode before the change. */
  readonly fromForced: ForcedMode | null;
  /** The forced mode after the change (`null` when none). */
  readonly forced: ForcedMode | null;
  readonly reason: TransitionReason;
  /**
   * With a shared store: `process` for a change of this process's own state (it opened on its own
   * `failMax` without a quorum, and its own trials), `fleet` for the fleet's. Absent otherwise.
   */
  readonly scope?: CircuitScope;
}

/** A guarded call settled and was counted (or, for `abort`, deliberately not counted). */
export interface OutcomeEvent {
  readonly key: string;
  readonly outcome: Outcome;
  readonly verdict: Verdict;
}

/** A call was refused by an open, forced-open or saturated half-open circuit. */
export interface RejectEvent {
  readonly key: string;
  readonly state: CircuitState;
  readonly forced: ForcedMode | null;
  readonly retryAfter: number;
}

/**
 * The registry let go of an idle circuit to stay within `maxCircuits`. The circuit was closed, not
 * forced and had no call in flight; it starts afresh if its key is used again. Metrics drop the
 * circuit's series on this event, which keeps their cardinality bounded.
 */
export interface DropEvent {
  readonly key: string;
}

/** The events of {@link Infuse}, by name. */
export interface InfuseEvents {
  /** A circuit changed state or forced mode, here or (with a shared store) in another process. */
  stateChange: StateChangeEvent;
  /** A call succeeded, or failed in a way `exclude` says is not a failure (`verdict: 'excluded'`). */
  success: OutcomeEvent;
  /** A call failed and was counted. */
  failure: OutcomeEvent;
  /** A call was aborted by its caller and counted as nothing. */
  abort: OutcomeEvent;
  /** A call was refused without running; fires once per refused call. */
  reject: RejectEvent;
  /** Something happened to the store itself (a shared backend went away or came back, bad data). */
  store: StoreEvent;
  /** An idle circuit was dropped from memory (see `maxCircuits`). */
  drop: DropEvent;
}

/** A listener of one {@link InfuseEvents} event. */
export type Listener<E extends keyof InfuseEvents> = (event: InfuseEvents[E]) => void;

type ListenerLists = { [E in keyof InfuseEvents]: readonly Listener<E>[] };

/**
 * A minimal typed emitter. Lists are replaced, never mutated, so a listener that unsubscribes while
 * an event is being delivered does not disturb that delivery.
 */
export class Emitter {
  #lists: ListenerLists = {
    stateChange: [],
    success: [],
    failure: [],
    abort: [],
    reject: [],
    store: [],
    drop: [],
  };
  #observesOutcomes = false;

  on<E extends keyof InfuseEvents>(event: E, listener: Listener<E>): () => void {
    if (!Object.hasOwn(this.#lists, event)) {
      throw new TypeError(
        `infuse-breaker: unknown event ${JSON.stringify(event)}; known events are: ${Object.keys(this.#lists).join(', ')}`,
      );
    }
    if (typeof listener !== 'function') {
      throw new TypeError(`infuse-breaker: listener for "${event}" must be a function`);
    }
    this.#set(event, [...this.#lists[event], listener]);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = this.#lists[event];
      const index = list.indexOf(listener);
      this.#set(event, [...list.slice(0, index), ...list.slice(index + 1)]);
    };
  }

  /** True when someone listens to `event`: lets callers skip building the payload. */
  has(event: keyof InfuseEvents): boolean {
    return this.#lists[event].length > 0;
  }

  /** True when someone listens to the outcome of calls (success, failure or abort). */
  get observesOutcomes(): boolean {
    return this.#observesOutcomes;
  }

  emit<E extends keyof InfuseEvents>(event: E, payload: InfuseEvents[E]): void {
    for (const listener of this.#lists[event]) {
      try {
        listener(payload);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }

  clear(): void {
    for (const event of Object.keys(this.#lists) as (keyof InfuseEvents)[]) this.#set(event, []);
  }

  #set<E extends keyof InfuseEvents>(event: E, list: readonly Listener<E>[]): void {
    (this.#lists as Record<E, readonly Listener<E>[]>)[event] = list;
    const lists = this.#lists;
    this.#observesOutcomes =
      lists.success.length > 0 || lists.failure.length > 0 || lists.abort.length > 0;
  }
}

/**
 * A listener or predicate that throws must not change what the guarded call returns nor corrupt
 * the circuit, and must not vanish either: its error surfaces as an uncaught exception, as it would
 * from an EventEmitter, but only after the breaker has finished its own work.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
