/**
 * The subcommand layer: each command declares its options once (for `node:util` parseArgs and for
 * its help), and {@link parseCommandLine} turns argv into a command with parsed values or a
 * {@link UsageError}.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One option of a command: what parseArgs needs, plus its help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in help (`--redis URL`). */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Values parseArgs produced for a command's options. */
export type Values = Readonly<Record<string, string | boolean | undefined>>;

/** What a command writes to and reads from (the real process, in the binary). */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for the tool's help. */
  readonly summary: string;
  /** The argument part of the usage line, e.g. `KEY-OR-PATTERN`. */
  readonly args: string;
  /** How many positional arguments it takes. */
  readonly positionals: number;
  /** True when the positional arguments may be left out (`history [KEY]`). */
  readonly optionalPositionals?: boolean;
  /** Paragraphs for the command's help. */
  readonly description: readonly string[];
  readonly options: OptionSpecs;
  readonly examples: readonly string[];
  run(values: Values, positionals: readonly string[], io: Io): Promise<number>;
}

/** Bad command line: the message names the problem; the process exits with status 2. */
export class UsageError extends Error {
  /** The command whose help explains the fix, or null for the tool's. */
  readonly command: string | null;

  constructor(message: string, command: string | null) {
    super(message);
    this.command = command;
  }
}

Object.defineProperty(UsageError.prototype, 'name', { value: 'UsageError' });

export const HELP: OptionSpecs = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Parses `argv` (after the command name) for `spec`; throws a UsageError naming the problem. */
export function parseCommandArgs(
  spec: CommandSpec,
  argv: readonly string[],
): { values: Values; positionals: string[] } {
  const options: ParseArgsConfig['options'] = {};
  for (const [name, option] of Object.entries({ ...spec.options, ...HELP })) {
    options[name] =
      option.short === undefined
        ? { type: option.type }
        : { type: option.type, short: option.short };
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    // No option is `multiple`, so every value is a string or a boolean.
    const result = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    parsed = { values: result.values as Values, positionals: result.positionals };
  } catch (error) {
    throw new UsageError(parseArgsProblem(error), spec.name);
  }
  if (parsed.values.help === true) return parsed;
  const count = parsed.positionals.length;
  if (count > spec.positionals) {
    throw new UsageError(
      `${spec.name}: unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals])}`,
      spec.name,
    );
  }
  if (count < spec.positionals && spec.optionalPositionals !== true)
    throw new UsageError(`${spec.name}: missing ${spec.args}`, spec.name);
  return parsed;
}

/** parseArgs' message, without its advice about `--` (which rarely applies here). */
function parseArgsProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, '');
}

/** The option lines of a help text, aligned. */
export function optionLines(options: OptionSpecs): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short === undefined ? '    ' : `-${option.short}, `}--${name}`;
    return [option.value === undefined ? flag : `${flag} ${option.value}`, option.help] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`);
}
