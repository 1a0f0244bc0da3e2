/**
 * The ```ts blocks of the user docs (README.md and docs/*.md), which test/readme.test.ts runs and
 * test/docs/fresh-project.test.ts compiles in a project of its own.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The user docs, relative to the repository root: README.md, then docs/*.md by name. */
export const docFiles: readonly string[] = [
  'README.md',
  ...readdirSync(`${root}docs`)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

/** One ```ts block of a doc. */
export interface DocBlock {
  /** The doc, relative to the repository root. */
  readonly file: string;
  /** The line of the block's opening fence, 1-based. */
  readonly line: number;
  readonly code: string;
  /** Why it cannot run, from its `// not runnable: <why>` line; null for a block that runs. */
  readonly notRunnable: string | null;
}

/** Every ```ts block of `file`, in order. */
export function blocksOf(file: string): DocBlock[] {
  const text = readFileSync(`${root}${file}`, 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => {
    const code = match[1] ?? '';
    const reason = /\/\/ not runnable\b:?(.*)/.exec(code);
    return {
      file,
      line: text.slice(0, match.index).split('\n').length,
      code,
      notRunnable: reason ? (reason[1] ?? '').trim() : null,
    };
  });
}

/** The README's quick starts: the ```ts blocks under "## Quick start". */
export function quickStarts(): DocBlock[] {
  const readme = readFileSync(`${root}README.md`, 'utf8').split('\n');
  const start = readme.indexOf('## Quick start') + 1;
  const end = readme.findIndex((line, index) => index >= start && line.startsWith('## '));
  return blocksOf('README.md').filter((block) => block.line > start && block.line < end);
}

/**
 * The quick starts end with `main().catch(console.error);` so that they run in a CommonJS project.
 * Where a test imports a block as a module, awaiting `main()` instead makes the import wait for it
 * and fail with its error.
 */
export function awaitMain(code: string): string {
  return code.replace(/^main\(\)\.catch\(console\.error\);$/m, 'await main();');
}

/**
 * What a block's comments say it logs, in order: a `console.log(...)` line whose comment starts with
 * a quoted string or a number (`console.log(db.state); // 'open'`), or any line whose comment says
 * `// logs "..."`.
 */
export function promisedOutput(code: string): string[] {
  const promised: string[] = [];
  for (const line of code.split('\n')) {
    const logs = /\/\/ logs "([^"]*)"/.exec(line);
    const literal = /console\.log\(.*\);\s*\/\/ (?:'([^']*)'|(\d+)\b)/.exec(line);
    if (logs) promised.push(logs[1] ?? '');
    else if (literal) promised.push(literal[1] ?? literal[2] ?? '');
  }
  return promised;
}

/**
 * What each README quick start logs (as `console.log` formats it), in the README's order: the
 * function one, then axios, ky, got and fetch against a host that answers `{ "ok": true }`.
 */
export function quickStartOutput(): unknown[][] {
  return [
    [
      ...[1, 2, 3, 4, 5].map((n) => `attempt ${n}: failed (${n} in a row)`),
      expect.stringMatching(/^attempt 6: not even tried, retry in \d+ ms$/),
      expect.stringMatching(/^attempt 7: not even tried, retry in \d+ ms$/),
      'open',
      'CircuitBreakerError',
    ],
    ['{ ok: true }'],
    ['{ ok: true }'],
    ['{ ok: true }'],
    ['200'],
  ];
}
