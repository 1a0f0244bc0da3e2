import type { Clock } from '../core/clock.js';
import { invalid } from '../core/validate.js';

/**
 * The fake timers of a test framework: vitest's `vi`, jest's `jest`, or a `ModernFakeTimers` of
 * `@jest/fake-timers`. Anything with `advanceTimersByTime(ms)` will do.
 */
export interface FakeTimers {
  advanceTimersByTime(ms: number): unknown;
}

/** Options of {@link TestClock}. */
export interface TestClockOptions {
  /**
   * The time the clock starts at, in epoch milliseconds (ignored with `timers`, which bring their
   * own time).
   * @default Date.now() when the clock is made
   */
  readonly start?: number;
  /**
   * Your test's fake timers (`vi` or `jest`, installed with `useFakeTimers()`): the clock then reads
   * the fake time, and {@link TestClock.advance} moves the fake timers, so that the breaker and your
   * own code's timers (a retry delay, a timeout) agree on what time it is.
   * @default none: the clock is a counter that only {@link TestClock.advance} moves
   */
  readonly timers?: FakeTimers;
}

/**
 * A clock that moves only when the test says so. Give it to an `Infuse` (`clock` option) and to a
 * `MemoryStore` you make yourself (`now: clock.now`); then an open circuit stays open until you
 * {@link advance} past its `resetTimeout`, and call durations (for `slowCallRate`) are the time you
 * advanced during the call.
 *
 * @example
 * ```ts
 * import { Infuse } from 'infuse-breaker';
 * import { TestClock } from 'infuse-breaker/testing';
 *
 * const clock = new TestClock();
 * const infuse = new Infuse({ clock, resetTimeout: 30_000 });
 * await infuse.circuit('api').open();
 * clock.advance(30_000); // the next call is a trial
 * ```
 */
export class TestClock implements Clock {
  #time: number;
  readonly #timers: FakeTimers | null;

  /** Starts at `options.start` (or now), or on the fake timers' time with `options.timers`. */
  constructor(options: TestClockOptions = {}) {
    const { start = Date.now(), timers = null } = options as {
      start?: unknown;
      timers?: FakeTimers | null;
    };
    if (typeof start !== 'number' || !Number.isFinite(start)) {
      invalid('TestClock start', 'a finite number of epoch milliseconds', start);
    }
    if (timers !== null && typeof timers.advanceTimersByTime !== 'function') {
      invalid(
        'TestClock timers',
        'fake timers with advanceTimersByTime(ms), such as vi or jest',
        timers,
      );
    }
    this.#time = start;
    this.#timers = timers;
  }

  /** The current time, in epoch milliseconds. Bound: pass `clock.now` where a function is wanted. */
  readonly now = (): number => (this.#timers === null ? this.#time : Date.now());

  /**
   * Moves time forward by `ms`. With `timers`, the fake timers move (and fire what falls due);
   * it throws when they turn out not to be installed, rather than leave the clock still.
   */
  advance(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      invalid('advance(ms)', 'a finite number of milliseconds, 0 or more', ms);
    }
    const timers = this.#timers;
    if (timers === null) {
      this.#time += ms;
      return;
    }
    const before = Date.now();
    timers.advanceTimersByTime(ms);
    if (ms > 0 && Date.now() - before < ms) {
      throw new Error(
        'infuse-breaker: TestClock.advance: the fake timers did not move Date.now; install them ' +
          '(vi.useFakeTimers() or jest.useFakeTimers()) before advancing',
      );
    }
  }
}
