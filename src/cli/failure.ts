/**
 * What the operator reads when a command fails: one line that names the problem (the permission
 * a Redis user lacks, the credentials Redis refused, how long it waited and for whom), never a
 * stack trace and never a credential.
 */
import { RedisAdminError } from '../redis/index.js';
import { printable } from './printable.js';

/** The exit status for a key Redis does not hold, or a pattern that matches nothing. */
export const EXIT_NOT_FOUND = 3;

/** A command that gave up after `--timeout`. */
export class CommandTimeout extends Error {
  readonly ms: number;
  readonly where: string;

  constructor(ms: number, where: string) {
    super(`gave up after ${ms} ms (--timeout): Redis at ${where} did not answer`);
    this.ms = ms;
    this.where = where;
  }
}

/** A failure explained for the operator: the line to print and the exit status. */
export class CliFailure extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** What an explanation needs to know about the command that failed. */
export interface FailureContext {
  /** Where Redis is, as messages name it (no credential). */
  readonly where: string;
  /** The ACL user the command connected as. */
  readonly user: string;
  readonly prefix: string;
  /** True for a command that changes circuits (what a timeout may have left behind differs). */
  readonly steering: boolean;
}

/** ACL categories of the commands the CLI sends, for a NOPERM on one of them. */
const CATEGORIES: Readonly<Record<string, string>> = {
  evalsha: '+@scripting',
  eval: '+@scripting',
  script: '+@scripting',
  subscribe: '+@pubsub',
  psubscribe: '+@pubsub',
};

/** Turns any error of a command into a {@link CliFailure}; a TypeError (bad input) is kept. */
export function explain(error: unknown, context: FailureContext): unknown {
  if (error instanceof CliFailure || error instanceof TypeError) return error;
  if (error instanceof CommandTimeout) {
    const after = context.steering
      ? '; if the command reached Redis it still applies: check with infuse-breaker status'
      : '';
    return new CliFailure(`${error.message}${after}`, 1);
  }
  const refused = refusal(error, context);
  if (refused !== null) return new CliFailure(refused, 1);
  if (error instanceof RedisAdminError) {
    if (error.code === 'ECIRCUITUNKNOWN') {
      return new CliFailure(printable(error.message.replace(/^RedisAdmin: /, '')), EXIT_NOT_FOUND);
    }
    const cause = error.cause instanceof Error ? error.cause.message : error.message;
    return new CliFailure(
      `Redis cannot be reached at ${context.where} (${scrubUrls(cause)}); nothing was changed`,
      1,
    );
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new CliFailure(`unexpected failure: ${printable(scrubUrls(message))}`, 1);
}

/**
 * The message for Redis refusing the user (a permission it lacks, credentials it does not
 * accept), found anywhere in the error's cause chain; null for any other error.
 */
export function refusal(error: unknown, context: FailureContext): string | null {
  const replies = chain(error).map((e) => e.message);
  const denied = replies.find((m) => m.startsWith('NOPERM'));
  if (denied !== undefined) return permission(denied, context);
  // A command inside a script: Redis does not name it, only the script.
  const inScript = replies.find((m) => /user executing the script can't run/i.test(m));
  if (inScript !== undefined) {
    const { user, prefix } = context;
    return `Redis user "${user}" may not run a command inside infuse-breaker's scripts: grant +@read +@write +@pubsub +time on ~${prefix}:* (ACL SETUSER ${user} +@read +@write +@pubsub +time); nothing was changed`;
  }
  const refused = replies.find((m) => /^(WRONGPASS|NOAUTH)\b/.test(m));
  if (refused === undefined) return null;
  return `Redis at ${context.where} refused the credentials of --redis (${refused.trim()}); nothing was changed`;
}

function permission(reply: string, { user, prefix }: FailureContext): string {
  const who = `Redis user "${user}"`;
  const command = /'([a-z_|]+)'/i.exec(reply)?.[1]?.split('|')[0]?.toLowerCase();
  if (command !== undefined) {
    const grant = CATEGORIES[command] ?? `+${command}`;
    return `${who} may not run ${command.toUpperCase()}: grant ${grant} (ACL SETUSER ${user} ${grant}); nothing was changed`;
  }
  if (/channel/i.test(reply)) {
    return `${who} may not use the channel ${prefix}:transitions: grant &${prefix}:* (ACL SETUSER ${user} &${prefix}:*)`;
  }
  if (/key/i.test(reply)) {
    return `${who} may not use the keys under prefix "${prefix}": grant ~${prefix}:* (ACL SETUSER ${user} ~${prefix}:*); nothing was changed`;
  }
  return `${who} lacks a permission (${reply.trim()}); nothing was changed`;
}

function chain(error: unknown): Error[] {
  const errors: Error[] = [];
  for (let e = error; e instanceof Error && errors.length < 10; e = e.cause) errors.push(e);
  return errors;
}

/** Hides the userinfo of any URL inside a message. */
export function scrubUrls(message: string): string {
  return message.replace(/([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, '$1***@');
}
