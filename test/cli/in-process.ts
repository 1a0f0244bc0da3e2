/**
 * The CLI run in this process (`run(argv, io)`), for what a child process cannot show precisely:
 * how long a command takes once started, and what a terminal (isTTY) is sent.
 */
import { Writable } from 'node:stream';
import { run } from '../../src/cli/cli.js';
import type { Io } from '../../src/cli/spec.js';

/** Collects what is written to it. */
export class Collected extends Writable {
  text = '';
  readonly isTTY: boolean;

  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface InProcess {
  readonly stdout: Collected;
  readonly stderr: Collected;
  /** Resolves with the exit status. */
  readonly status: Promise<number>;
  /** Milliseconds from start to the exit status; set once `status` resolves. */
  ms: number;
}

/** Starts the CLI in this process; `tty` makes its stdout a terminal. */
export function runInProcess(
  args: readonly string[],
  { tty = false, env = {} }: { tty?: boolean; env?: Record<string, string> } = {},
): InProcess {
  const stdout = new Collected(tty);
  const stderr = new Collected();
  const io: Io = { stdout, stderr, env };
  const started = performance.now();
  const result: InProcess = {
    stdout,
    stderr,
    ms: NaN,
    status: run(args, io).then((status) => {
      result.ms = performance.now() - started;
      return status;
    }),
  };
  return result;
}
