import type { Connection } from '../connections.js';
import type { ScriptSettings } from '../scripts/index.js';
import type { RedisAdminError } from '../errors.js';

/** Everything the admin needs of a connection is on the seam. */
export type AdminConnection = Connection;

/** What the admin's reads and commands share: where the fleet's keys are, and how to fail. */
export interface AdminScope {
  /** The fleet's key prefix (`prefix` of its stores). */
  readonly prefix: string;
  /** The client's own key prefix, which SCAN sees and other commands add. */
  readonly keyPrefix: string;
  readonly settings: ScriptSettings;
  /** A Redis command: a reply error is Redis's answer; anything else means it is unreachable. */
  call<T>(key: string | null, command: Promise<T>): Promise<T>;
  /** Reports data under infuse-breaker's keys that it did not write. */
  malformedAt(redisKey: string, key: string | null, reason: string): void;
  unreachable(key: string | null, cause: unknown): RedisAdminError;
}

export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** Resolves when the connection is ready; rejects on its first error or after `ms`. */
export function whenReady(connection: AdminConnection, ms: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      connection.removeListener('ready', onReady);
      connection.removeListener('error', onError);
      connection.removeListener('end', onEnd);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error('connection failed'));
    };
    const onReady = (): void => finish();
    const onError = (error: unknown): void => finish(error);
    const onEnd = (): void => finish(new Error('connection closed'));
    const timer = setTimeout(() => finish(new Error(`no answer within ${ms} ms`)), ms);
    connection.on('ready', onReady);
    connection.on('error', onError);
    connection.on('end', onEnd);
  });
}
