/**
 * The one way tests wait for something that happens elsewhere (another process, a server, a
 * timer): `assertion` is run until it returns without throwing, and its result is returned. Put
 * the `expect(...)` that says what you are waiting for inside it, so that a wait always asserts
 * what it waited for. On timeout the last assertion error is thrown, with how long it waited, so
 * a test that waited in vain fails with the reason rather than passing by accident.
 *
 * @example
 * ```ts
 * await eventually(() => expect(other.state('api.example.com')).toBe('open'));
 * const row = await eventually(async () => {
 *   const found = (await admin.list()).find((c) => c.key === 'a');
 *   expect(found?.state).toBe('open');
 *   return found;
 * });
 * ```
 */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  { timeout = 5_000, interval = 20 }: { timeout?: number; interval?: number } = {},
): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      const waited = Date.now() - started;
      if (waited >= timeout) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`eventually: still failing after ${waited} ms: ${message}`, {
          cause: error,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
