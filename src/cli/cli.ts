/** The `infuse-breaker` tool: finds the command, runs it, turns every failure into an exit status. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONNECTION_OPTIONS } from './connect.js';
import { CliFailure, EXIT_NOT_FOUND } from './failure.js';
import { printable } from './printable.js';
import { optionLines, parseCommandArgs, UsageError, type CommandSpec, type Io } from './spec.js';
import { dashboard } from './dashboard.js';
import { status } from './status.js';
import { history } from './history.js';
import { processes } from './processes.js';
import { steeringCommands } from './steer.js';

const COMMANDS: readonly CommandSpec[] = [
  status,
  processes,
  history,
  ...steeringCommands,
  dashboard,
];

export const EXIT_CODES = [
  '0  done',
  '1  Redis cannot be reached, or failed (nothing was changed)',
  '2  bad command line',
  `${EXIT_NOT_FOUND}  the key is unknown, or the pattern matches no circuit`,
];

function toolHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.length));
  return [
    'infuse-breaker: see and steer the circuits of a fleet that shares state through Redis',
    '(RedisStore from infuse-breaker/redis).',
    '',
    'Usage: infuse-breaker <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (infuse-breaker <command> --help for a command’s)',
    '  -v, --version  print the version',
    '',
    'Every command takes:',
    ...optionLines(CONNECTION_OPTIONS),
    '',
    'A password in a URL may hold any character (@ : / # % too) and is never printed; $REDIS_URL',
    'keeps it out of the process list. Keys are printed with control characters escaped (\\x1b,',
    '\\r, \\u202e, and \\\\ for a backslash); in --json they decode exactly.',
    '',
    'Exit status:',
    ...EXIT_CODES.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  return [
    `Usage: infuse-breaker ${spec.name}${spec.args === '' ? '' : ` ${spec.args}`} [options]`,
    '',
    ...spec.description.flatMap((paragraph) => [...wrap(paragraph, 78), '']),
    'Options:',
    ...optionLines({
      ...spec.options,
      help: { type: 'boolean', short: 'h', help: 'show this help' },
    }),
    '',
    'Examples:',
    ...spec.examples.map((example) => `  ${example}`),
    '',
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The package's version, from the package.json above this file (in src/ or in dist/). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'infuse-breaker' && manifest.version !== undefined)
        return manifest.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** Runs the tool with `argv` (without node and the script) and resolves with the exit status. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) throw new UsageError('missing command', null);
    if (first === '-h' || first === '--help') {
      io.stdout.write(toolHelp());
      return 0;
    }
    if (first === '-v' || first === '--version') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (first === 'help') {
      const spec = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
      if (rest[0] !== undefined && spec === undefined) throw unknownCommand(rest[0]);
      io.stdout.write(spec === undefined ? toolHelp() : commandHelp(spec));
      return 0;
    }
    if (first.startsWith('-'))
      throw new UsageError(`unknown option ${JSON.stringify(first)} (a command comes first)`, null);
    const spec = COMMANDS.find((c) => c.name === first);
    if (spec === undefined) throw unknownCommand(first);
    const { values, positionals } = parseCommandArgs(spec, rest);
    if (values.help === true) {
      io.stdout.write(commandHelp(spec));
      return 0;
    }
    return await spec.run(values, positionals, io);
  } catch (error) {
    return fail(error, io);
  }
}

function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command ${JSON.stringify(name)}; commands are: ${COMMANDS.map((c) => c.name).join(', ')}`,
    null,
  );
}

function fail(error: unknown, io: Io): number {
  if (error instanceof UsageError) {
    const help =
      error.command === null ? 'infuse-breaker --help' : `infuse-breaker ${error.command} --help`;
    io.stderr.write(`infuse-breaker: ${error.message}\nSee '${help}'.\n`);
    return 2;
  }
  if (error instanceof CliFailure) {
    io.stderr.write(`infuse-breaker: ${error.message}\n`);
    return error.status;
  }
  if (error instanceof TypeError) {
    // Bad input the library refused (e.g. a pattern it cannot read): a usage problem.
    io.stderr.write(`infuse-breaker: ${printable(error.message.replace(/^RedisAdmin: /, ''))}\n`);
    return 2;
  }
  // Commands explain their own failures; this is a bug. The stack is for whoever reports it.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.stderr.write(`infuse-breaker: unexpected failure: ${printable(message)}\n`);
  if (io.env.INFUSE_BREAKER_DEBUG === '1' && error instanceof Error && error.stack !== undefined)
    io.stderr.write(`${error.stack}\n`);
  return 1;
}
