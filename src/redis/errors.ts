/**
 * Why a {@link RedisStoreError} was thrown:
 * - `EREDISUNAVAILABLE`: Redis cannot be reached (or did not answer within `commandTimeout`);
 * - `EREDISNOPERM`: the Redis user lacks a permission the store needs; the message names it
 *   (`+@scripting` to run the store's scripts).
 */
export type RedisStoreErrorCode = 'EREDISUNAVAILABLE' | 'EREDISNOPERM';

/**
 * A manual change (`open()`, `close()`, `halfOpen()`, `forceOpen()`, `disable()`,
 * `clearForced()`) that could not be made because Redis cannot be reached or refuses the store's
 * commands. The change was not applied anywhere, not even in this process: a fleet-wide decision
 * is never faked locally.
 */
export class RedisStoreError extends Error {
  /** Why the change could not be made (see {@link RedisStoreErrorCode}). */
  readonly code: RedisStoreErrorCode;
  /** The circuit the change was for. */
  readonly key: string;

  constructor(key: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.key = key;
    this.code = missingPermission(cause) === null ? 'EREDISUNAVAILABLE' : 'EREDISNOPERM';
  }
}

/**
 * The ACL permission a `NOPERM` reply says the Redis user lacks, in `ACL SETUSER` terms, or null
 * when `error` is not a `NOPERM` reply. A missing permission is a configuration error to name,
 * not an unreachable Redis.
 */
export function missingPermission(error: unknown): string | null {
  const text = error instanceof Error ? error.message : '';
  if (!text.startsWith('NOPERM')) return null;
  const command = /'([a-z|]+)' command/i.exec(text)?.[1]?.toLowerCase();
  if (command === undefined) {
    return /channel/i.test(text)
      ? 'access to the channel (&<channel>)'
      : 'access to the keys (~<pattern>)';
  }
  if (/^(evalsha|eval|script|evalsha_ro|eval_ro)/.test(command)) return '+@scripting';
  return `+${command}`;
}

/** Why Redis failed a store's command, for an event or error message. */
export function describeFailure(error: unknown): string {
  const permission = missingPermission(error);
  const reason = error instanceof Error ? error.message : String(error);
  return permission === null
    ? `Redis cannot be reached (${reason})`
    : `the Redis user lacks a permission the store needs: grant it ${permission} (${reason})`;
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
