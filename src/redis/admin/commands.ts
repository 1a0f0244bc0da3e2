import { show } from '../../core/options.js';
import { runScript } from '../connections.js';
import { RedisAdminError } from '../errors.js';
import { parseReply } from '../fleet.js';
import { circuitKeys } from '../keys.js';
import { indexKey, writeFeed } from '../sync/feed.js';
import { MANUAL_OPEN_MAX, scriptHead } from '../scripts/index.js';
import { writeHistory } from '../history.js';
import type { FleetCommand, FleetCommandOptions, FleetCommandResult } from './types.js';
import type { AdminConnection, AdminScope } from './scope.js';
import { inspect, READER, toCircuit } from './read.js';

const COMMANDS = new Set<unknown>([
  'open',
  'close',
  'half-open',
  'force-open',
  'disable',
  'clear-forced',
  'shadow',
  'unshadow',
] satisfies FleetCommand[]);

/**
 * Runs `command` on one circuit with the script a process's own `circuit.open()` (etc.) runs,
 * lists the change in the feed and writes it into the history, by `actor`.
 */
export async function runCommand(
  scope: AdminScope,
  connection: AdminConnection,
  key: string,
  command: FleetCommand,
  options: FleetCommandOptions,
  actor: string,
): Promise<FleetCommandResult> {
  const policy = { ...READER, resetTimeout: options.resetTimeout ?? READER.resetTimeout };
  const create = options.create === true;
  const before = await inspect(scope, connection, key);
  if (before === null && !create) throw unknown(key);
  const raw = await scope.call(
    key,
    runScript(connection, 'infuseCommand', circuitKeys(scope.prefix, key), {
      ...scriptHead(key, policy, scope.settings),
      command,
      // Only a circuit that still exists: it may have expired since it was read.
      scope: create ? '' : 'existing',
      period: 0,
    }),
  );
  const { fleet, event } = parseReply(raw);
  if (fleet.epoch === '' && before === null && !create) throw unknown(key);
  // Processes that missed the pub/sub message catch the change at their next poll (a shadow
  // switch changes the generation without a transition).
  if (event !== null || fleet.generation !== (before?.generation ?? 0)) {
    await scope.call(key, writeFeed(connection, indexKey(scope.prefix), key, scope.settings.ttl));
  }
  const after = toCircuit(key, fleet);
  // Every manual action goes into the history, also one that changed no mode. The command
  // is done: a history Redis did not take must not make it look failed.
  await writeHistory(connection, scope.prefix, {
    key,
    from: before?.mode ?? 'closed',
    to: after.mode,
    reason: 'manual',
    by: options.actor ?? actor,
    command,
    scope: 'fleet',
  }).catch(() => undefined);
  return { before, after };
}

function unknown(key: string): RedisAdminError {
  return new RedisAdminError(
    'ECIRCUITUNKNOWN',
    key,
    `RedisAdmin: Redis holds no state for circuit ${JSON.stringify(key)} (no process has used it, or it expired); nothing was changed`,
  );
}

export function checkKey(key: unknown): TypeError | null {
  return typeof key === 'string' && key.length > 0
    ? null
    : new TypeError(`RedisAdmin: a circuit key must be a non-empty string; got ${show(key)}`);
}

export function checkCommand(command: unknown, options: FleetCommandOptions): TypeError | null {
  if (!COMMANDS.has(command)) {
    return new TypeError(
      `RedisAdmin: unknown command ${show(command)}; known commands are: ${[...COMMANDS].join(', ')}`,
    );
  }
  const { resetTimeout } = options;
  if (
    resetTimeout !== undefined &&
    (typeof resetTimeout !== 'number' ||
      !Number.isInteger(resetTimeout) ||
      resetTimeout < 0 ||
      resetTimeout > MANUAL_OPEN_MAX)
  ) {
    return new TypeError(
      `RedisAdmin: option "resetTimeout" must be an integer from 0 to ${MANUAL_OPEN_MAX}; got ${show(resetTimeout)}`,
    );
  }
  return null;
}
