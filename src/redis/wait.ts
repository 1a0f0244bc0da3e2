/** Timing helpers of src/redis: bounded waits on Redis, and jittered intervals. */

/**
 * Waits for `op` at most `ms`. Past that, `late` answers (from per-process state) and the returned
 * promise resolves; `op` goes on, and whatever it does when it completes is up to its own handlers.
 * The timer's check is deferred once, to after the event loop's poll phase, so that a reply
 * already in the socket is not mistaken for a late one when the loop was merely busy.
 */
export function within(op: Promise<unknown>, ms: number, late: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (done) return;
        late();
        finish();
      });
    }, ms);
    timer.unref();
    void op.then(finish, finish);
  });
}

/** `ms` ±20%, so that a fleet started at once does not poll or probe in step. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
