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

/**
 * Why a {@link RedisAdmin} call failed:
 * - `EREDISUNAVAILABLE`: Redis could not be reached (or did not answer within `commandTimeout`);
 *   nothing was changed;
 * - `ECIRCUITUNKNOWN`: Redis holds no state for the circuit (never used, expired, or its data was
 *   malformed); nothing was written.
 */
export type RedisAdminErrorCode = 'EREDISUNAVAILABLE' | 'ECIRCUITUNKNOWN';

/** A {@link RedisAdmin} call that could not be done; `code` says why. */
export class RedisAdminError extends Error {
  readonly code: RedisAdminErrorCode;
  /** The circuit the call was about, or null for calls about every circuit. */
  readonly key: string | null;

  constructor(code: RedisAdminErrorCode, key: string | null, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.key = key;
  }
}

Object.defineProperty(RedisAdminError.prototype, 'name', {
  value: 'RedisAdminError',
  enumerable: false,
  configurable: true,
  writable: true,
});
