/**
 * A source of time for an `Infuse` and its store, in epoch milliseconds. The breaker reads it
 * when it needs the time (an open period's end, a call's duration, a `Retry-After` date) and never
 * sets a timer of its own, so a clock that only moves when a test says so is all a test needs.
 * See `infuse-breaker/testing` for one.
 */
export interface Clock {
  /** The current time, in epoch milliseconds. */
  now(): number;
}

/** How the core reads time: one function for epoch times, one for durations. */
export interface Timebase {
  /** Epoch milliseconds (a `Retry-After` date is compared with it). */
  readonly epoch: () => number;
  /** A monotonic reading for durations: only differences of two readings mean anything. */
  readonly elapsed: () => number;
}

/**
 * The time an `Infuse` runs on: `clock` for everything when one is given; otherwise `Date.now` and
 * `performance.now`, looked up at each call so that fake timers installed later are honoured.
 */
export function timebase(clock: Clock | null): Timebase {
  if (clock !== null) {
    const now = () => clock.now();
    return { epoch: now, elapsed: now };
  }
  return { epoch: () => Date.now(), elapsed: () => performance.now() };
}
