/**
 * Runs the real `infuse-breaker` CLI (src/cli/main.ts under tsx) as a child process, as an
 * operator would, and collects what it prints and how it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Waiters } from '../helpers/waiters.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// tsx, and .lua files as text (src/redis/scripts), as the build has them.
const RUN_TS = [
  '--import',
  'tsx',
  '--import',
  fileURLToPath(new URL('../../scripts/lua-text.mjs', import.meta.url)),
];
const children = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from start to exit. */
  readonly ms: number;
  /** Milliseconds from start to its first output on stderr (NaN when none). */
  readonly stderrMs: number;
}

/** The environment of a run: never the machine's REDIS_URL (it may point at the shared Redis). */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  delete inherited.REDIS_URL;
  return { ...inherited, NO_COLOR: '1', ...env };
}

/** Runs the CLI to completion (killed after `timeout` ms). */
export function cli(
  args: readonly string[],
  options: { env?: Record<string, string>; timeout?: number; main?: string } = {},
): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [...RUN_TS, options.main ?? MAIN, ...args], {
    env: environment(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let stderrMs = NaN;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr === '') stderrMs = Date.now() - started;
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 15_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr, ms: Date.now() - started, stderrMs });
    });
  });
}

/** A CLI left running (`status --watch`): its output so far, waits on it, and a Ctrl-C. */
export class RunningCli {
  stdout = '';
  stderr = '';
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #waiters = new Waiters();

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.#child = spawn(process.execPath, [...RUN_TS, MAIN, ...args], {
      env: environment(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this.#child);
    const wake = () => this.#waiters.wake();
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      wake();
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      wake();
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', (code) => {
        children.delete(this.#child);
        wake();
        resolve(code);
      });
    });
  }

  /** Resolves once the output from `from` on satisfies `match`; rejects after `timeout`. */
  waitFor(match: (output: string) => boolean, from = 0, timeout = 15_000): Promise<string> {
    return this.#waiters.until(
      () => {
        const output = this.stdout.slice(from);
        return match(output) ? output : undefined;
      },
      timeout,
      () => new Error(`no matching output within ${timeout} ms:\n${this.stdout}\n${this.stderr}`),
    );
  }

  /** Sends `signal` and resolves with the exit status. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }
}
