/**
 * Waits on what a child process sends (its output, its messages): every waiter checks again each
 * time the owner calls {@link wake}.
 */
export class Waiters {
  readonly #waiting = new Set<() => void>();

  /** Lets every waiter check again; call it whenever what they look at has changed. */
  wake(): void {
    for (const waiter of this.#waiting) waiter();
  }

  /**
   * Resolves with the first value other than `undefined` that `check` returns, now or after a
   * later {@link wake}; rejects with what `check` throws, or with `timedOut()` after `timeout` ms.
   */
  until<T>(check: () => T | undefined, timeout: number, timedOut: () => Error): Promise<T> {
    return new Promise((resolve, reject) => {
      const settled = (): boolean => {
        let found: T | undefined;
        try {
          found = check();
        } catch (error) {
          done();
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what `check` threw
          reject(error);
          return true;
        }
        if (found === undefined) return false;
        done();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(timedOut());
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.#waiting.delete(wake);
      };
      const wake = () => void settled();
      if (!settled()) this.#waiting.add(wake);
    });
  }
}
