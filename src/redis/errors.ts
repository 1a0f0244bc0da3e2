/**
 * A manual change (`open()`, `close()`, `halfOpen()`, `forceOpen()`, `disable()`,
 * `clearForced()`) that could not be made because Redis cannot be reached. The change was not
 * applied anywhere, not even in this process: a fleet-wide decision is never faked locally.
 */
export class RedisStoreError extends Error {
  /** Always `'EREDISUNAVAILABLE'`. */
  readonly code = 'EREDISUNAVAILABLE' as const;
  /** The circuit the change was for. */
  readonly key: string;

  constructor(key: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.key = key;
  }
}

Object.defineProperty(RedisStoreError.prototype, 'name', {
  value: 'RedisStoreError',
  enumerable: false,
  configurable: true,
  writable: true,
});
