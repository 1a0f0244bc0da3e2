/**
 * `infuse-breaker open|close|disable|clear|shadow|unshadow KEY-OR-PATTERN`: steer circuits
 * fleet-wide.
 */
import {
  RedisAdminError,
  type RedisAdmin,
  type FleetCircuit,
  type FleetCommand,
  type FleetCommandResult,
} from '../redis/index.js';
import { globMatcher, isGlob } from '../redis/pattern.js';
import { CONNECTION_OPTIONS, failureContext, fleetSettings, withFleet } from './connect.js';
import { EXIT_NOT_FOUND, explain } from './failure.js';
import { jsonCircuit } from './format.js';
import { printable, printableJson } from './printable.js';
import { UsageError, type CommandSpec, type Io, type Values } from './spec.js';
import { suggestionLine } from './suggest.js';

interface Steering {
  readonly name: string;
  readonly command: FleetCommand;
  readonly summary: string;
  readonly description: string;
  /** What it did, for a circuit whose mode did not change (`before`: as it was, if known). */
  readonly same: (circuit: FleetCircuit, before: FleetCircuit) => string;
}

const STEERINGS: readonly Steering[] = [
  {
    name: 'open',
    command: 'force-open',
    summary: 'force circuits open fleet-wide, until `clear` or `close`',
    description:
      'Forces the circuits open (mode forced-open): every process rejects every call at once, and no trial call is ever made, until `infuse-breaker clear` or `close`. Use it before a planned outage, or when a host misbehaves in a way the breaker cannot see.',
    same: () => 'forced-open (already)',
  },
  {
    name: 'close',
    command: 'close',
    summary: 'close circuits and end any forced mode',
    description:
      'Closes the circuits (after a false trip, or once a host is back): every process lets calls through again, with fresh counters (the failure-rate window is emptied; each process starts its consecutive-failure count again). Ends forced-open and disabled too. Closing a closed circuit only resets its counters.',
    same: () => 'closed (counters reset)',
  },
  {
    name: 'disable',
    command: 'disable',
    summary: 'let every call through, uncounted, until `clear` or `close`',
    description:
      'Disables the breaker on the circuits (mode disabled): every process lets every call through and counts nothing, until `infuse-breaker clear` or `close`. Use it when the breaker itself is in the way, e.g. a host that fails in a way that must not trip it.',
    same: () => 'disabled (already)',
  },
  {
    name: 'clear',
    command: 'clear-forced',
    summary: 'end a forced mode (open or disable): the circuit resumes closed',
    description:
      'Ends the forced mode set by `open` or `disable`: the circuits resume closed, with fresh counters. A circuit with no forced mode is left as it is (an open circuit that tripped by itself stays open until its retry time; use `close` to close it).',
    same: (circuit) => `${circuit.mode} (unchanged: no forced mode)`,
  },
  {
    name: 'shadow',
    command: 'shadow',
    summary: 'shadow mode fleet-wide: refuse nothing, tell what would be refused',
    description:
      'Switches the circuits into shadow mode in every process, until `infuse-breaker unshadow`: the breaker runs as it would (transitions, snapshots, metrics), but refuses no call. A call it would refuse goes through, is told as a `reject` event with shadow: true, and its outcome is not counted. Use it to try a breaker in production before it may refuse anything. State and counters are left as they are.',
    same: (circuit, before) =>
      `${circuit.mode}, shadow mode ${before.shadow ? 'on (already)' : 'on: nothing is refused'}`,
  },
  {
    name: 'unshadow',
    command: 'unshadow',
    summary: 'end shadow mode fleet-wide: circuits refuse calls again',
    description:
      'Switches the circuits out of shadow mode in every process: each circuit refuses again the calls its state refuses (an open circuit, at once). State and counters are left as they are. A process whose own options set `shadow: true` stays in shadow mode.',
    same: (circuit, before) =>
      `${circuit.mode}, shadow mode ${before.shadow ? 'off: calls are refused again' : 'off (already)'}`,
  },
];

function steeringSpec(steering: Steering): CommandSpec {
  return {
    name: steering.name,
    summary: steering.summary,
    args: 'KEY-OR-PATTERN',
    positionals: 1,
    description: [
      steering.description,
      'KEY-OR-PATTERN is a circuit key (for the HTTP adapters, a host such as api.example.com) or a glob: `*` matches any characters (dots too: *.example.com matches a.b.example.com, not example.com), `?` one character, [abc] one of a set, \\ makes the next character literal; quote it for the shell. A pattern steers every circuit it matches that has state in Redis. With --exact it is one key, as written, whatever characters it holds.',
      'Prints each circuit it changed as `key: before → after`. Exit status 0 when done, 1 when Redis cannot be reached (nothing changed), 2 for a bad command line, 3 when the key is unknown or the pattern matches nothing.',
    ],
    options: {
      ...CONNECTION_OPTIONS,
      'dry-run': { type: 'boolean', help: 'print what would change, change nothing' },
      exact: {
        type: 'boolean',
        help: 'KEY-OR-PATTERN is one key, as written: for a key with * ? [ or \\ in it',
      },
      create: {
        type: 'boolean',
        help: 'steer a key Redis holds nothing for yet (no process has used it); not with a pattern',
      },
      json: {
        type: 'boolean',
        help: 'print JSON: an array of { key, before, after }',
      },
    },
    examples: [
      `infuse-breaker ${steering.name} api.example.com`,
      `infuse-breaker ${steering.name} '*.example.com' --prefix checkout --dry-run`,
      `infuse-breaker ${steering.name} --exact 'reports[2026].internal'`,
    ],
    run: (values, positionals, io) => steer(steering, values, positionals[0] ?? '', io),
  };
}

export const steeringCommands: readonly CommandSpec[] = STEERINGS.map(steeringSpec);

async function steer(steering: Steering, values: Values, target: string, io: Io): Promise<number> {
  if (target === '')
    throw new UsageError(`${steering.name}: KEY-OR-PATTERN is empty`, steering.name);
  const exact = values.exact === true;
  // Compiled before connecting: a pattern that cannot be read is a usage error (a TypeError).
  const matches = !exact && isGlob(target) ? globMatcher(target) : null;
  if (matches !== null && values.create === true) {
    throw new UsageError(
      `${steering.name}: --create takes one key, not a pattern (add --exact for a key with * ? [ or \\ in it)`,
      steering.name,
    );
  }
  const settings = fleetSettings(values, steering.name, io);
  try {
    return await withFleet(settings, io, ({ admin }) =>
      steerKeys(steering, values, target, matches, admin, io),
    );
  } catch (error) {
    throw explain(error, failureContext(settings, values['dry-run'] !== true));
  }
}

async function steerKeys(
  steering: Steering,
  values: Values,
  target: string,
  matches: ((key: string) => boolean) | null,
  admin: RedisAdmin,
  io: Io,
): Promise<number> {
  let keys: string[];
  if (matches !== null) {
    keys = (await admin.list()).map((circuit) => circuit.key).filter(matches);
    if (keys.length === 0) {
      io.stderr.write(
        `infuse-breaker: no circuit in Redis matches "${printable(target)}" (prefix "${printable(admin.prefix)}"); nothing was changed. To steer a key with * ? [ or \\ in it as written, add --exact.\n`,
      );
      return EXIT_NOT_FOUND;
    }
  } else keys = [target];

  if (values['dry-run'] === true) {
    for (const key of keys) {
      const circuit = await admin.get(key);
      io.stdout.write(
        `${printable(key)}: ${circuit?.mode ?? 'unknown'} (would ${steering.name})\n`,
      );
    }
    return 0;
  }

  const results: FleetCommandResult[] = [];
  for (const key of keys) {
    try {
      results.push(await admin.command(key, steering.command, { create: values.create === true }));
    } catch (error) {
      if (!(error instanceof RedisAdminError) || error.code !== 'ECIRCUITUNKNOWN') throw error;
      if (matches === null) {
        io.stderr.write(
          `infuse-breaker: Redis holds no circuit "${printable(key)}" under prefix "${printable(admin.prefix)}" (no process has used it, or it expired); nothing was changed. Check the key and --prefix, or pass --create.\n`,
        );
        io.stderr.write(
          suggestionLine(
            key,
            (await admin.list()).map((known) => known.key),
          ),
        );
        return EXIT_NOT_FOUND;
      }
      io.stderr.write(`infuse-breaker: ${printable(key)}: gone (expired since it was listed)\n`);
    }
  }
  if (values.json === true) {
    const rows = results.map(({ before, after }) => ({
      key: after.key,
      before: before === null ? null : jsonCircuit(before),
      after: jsonCircuit(after),
    }));
    io.stdout.write(printableJson(JSON.stringify(rows, null, 2)) + '\n');
  } else {
    for (const { before, after } of results)
      io.stdout.write(`${printable(after.key)}: ${change(steering, before, after)}\n`);
  }
  return 0;
}

function change(steering: Steering, before: FleetCircuit | null, after: FleetCircuit): string {
  if (before === null) return `(new) → ${after.mode}`;
  if (before.mode === after.mode) return steering.same(after, before);
  return `${before.mode} → ${after.mode}`;
}
