/**
 * The docs' examples work for someone who starts from nothing: a project made by `npm init -y`
 * (npm's default, CommonJS), with the package installed from the tarball `npm pack` makes of a
 * fresh build, and its peers linked from this repository's node_modules (no network). There:
 *
 * - the README's quick starts compile under strict `tsc` with `module: "nodenext"` as CommonJS and
 *   run with `node`, and run as they are with tsx (`npx tsx`);
 * - every runnable example of README.md and docs/*.md type-checks as an ES module (`.mts`) under the
 *   tsconfig.json that `tsc --init` writes, which is stricter still (exactOptionalPropertyTypes,
 *   noUncheckedIndexedAccess, verbatimModuleSyntax), and the quick starts run as ES modules too.
 *
 * Requests to *.example.com are answered by msw, preloaded into each `node` run.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  readdirSync,
  statSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blocksOf,
  docFiles,
  quickStartOutput,
  quickStarts,
  root,
  type DocBlock,
} from '../helpers/doc-blocks.js';

const exec = promisify(execFile);
const bin = (name: string) => join(root, 'node_modules/.bin', name);

const examples = docFiles.flatMap(blocksOf).filter((block) => block.notRunnable === null);

/** The packages the examples import (and what the test itself needs in the project). */
function peersOf(blocks: readonly DocBlock[]): string[] {
  const names = new Set(['@types/node', 'msw', 'tsx']);
  for (const block of blocks) {
    for (const [, specifier = ''] of block.code.matchAll(/from '([^'.][^']*)'/g)) {
      if (specifier.startsWith('node:') || specifier.startsWith('infuse-breaker')) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
    }
  }
  return [...names].sort();
}

/** True when dist/ holds a complete build newer than every file it is built from. */
function builtSinceLastChange(): boolean {
  const times = (dir: string) =>
    readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs);
  if (!existsSync(join(root, 'dist/index.d.cts')) || !existsSync(join(root, 'dist/cli.js'))) {
    return false;
  }
  const sources = [
    ...times('src'),
    ...['package.json', 'tsup.config.ts'].map((f) => statSync(join(root, f)).mtimeMs),
  ];
  return Math.min(...times('dist')) > Math.max(...sources);
}

/** A file name for an example: where it is in the docs. */
const moduleName = (block: DocBlock) => `${block.file.replace(/[^a-z0-9]+/gi, '-')}-${block.line}`;

/** Answers every request to *.example.com, as test/readme.test.ts does; preloaded with --require. */
const UPSTREAM = `
const { http, HttpResponse } = require('msw');
const { setupServer } = require('msw/node');
setupServer(
  http.all(/^https?:\\/\\/([a-z]+\\.)*example\\.com\\//, () => HttpResponse.json({ ok: true })),
).listen({ onUnhandledRequest: 'error' });
`;

const EXPECTED = quickStartOutput();
/** npm, kept off the network. */
const npmEnv = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

describe('the docs in a fresh `npm init -y` project', () => {
  let tmp = '';
  let app = '';

  /**
   * Runs a quick start with node in the project (a `.ts` file through tsx, as `npx tsx` does); its
   * output, line by line.
   */
  async function runQuickStart(file: string): Promise<{ stdout: string[]; stderr: string }> {
    const tsx = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
    // msw, preloaded, reads `localStorage`, which Node 26 warns about: that warning is the test's.
    const quiet = ['--disable-warning=ExperimentalWarning'];
    const args = [...quiet, '--require', './upstream.cjs', ...tsx, file];
    const { stdout, stderr } = await exec(process.execPath, args, { cwd: app, timeout: 30_000 });
    return { stdout: stdout.trimEnd().split('\n'), stderr };
  }

  /** Runs tsc on a project of the app: its diagnostics, '' when there are none. */
  async function typecheck(project: string): Promise<string> {
    try {
      await exec(bin('tsc'), ['-p', project], { cwd: app });
      return '';
    } catch (error) {
      return (error as { stdout?: string }).stdout || String(error);
    }
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'infuse-fresh-'));
    // The package as npm would publish it, built from the sources now in the work tree: CI's
    // `npm run build` when it is newer than every source, else a build of the test's own.
    const pkg = join(tmp, 'package');
    if (builtSinceLastChange()) cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    else await exec(bin('tsup'), ['--out-dir', join(pkg, 'dist'), '--silent'], { cwd: root });
    for (const file of ['package.json', 'README.md', 'LICENSE']) {
      copyFileSync(join(root, file), join(pkg, file));
    }
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', tmp], {
      cwd: pkg,
      env: npmEnv,
    });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];

    app = join(tmp, 'app');
    mkdirSync(join(app, 'node_modules/infuse-breaker'), { recursive: true });
    await exec('npm', ['init', '-y'], { cwd: app, env: npmEnv });
    await exec('tar', [
      '-xzf',
      join(tmp, filename),
      '-C',
      join(app, 'node_modules/infuse-breaker'),
      '--strip-components=1',
    ]);
    for (const peer of peersOf(examples)) {
      const link = join(app, 'node_modules', peer);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(root, 'node_modules', peer), link, 'dir');
    }
    writeFileSync(join(app, 'upstream.cjs'), UPSTREAM);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is a CommonJS project, as npm init -y makes it', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
      type?: string;
    };
    expect(manifest.type ?? 'commonjs').toBe('commonjs');
  });

  it('compiles the quick starts as CommonJS under strict tsc (module nodenext), runs them with node and with tsx', async () => {
    const dir = join(app, 'cjs');
    mkdirSync(dir);
    const starts = quickStarts();
    expect(starts).toHaveLength(EXPECTED.length);
    starts.forEach((block, index) => writeFileSync(join(dir, `quick-${index}.ts`), block.code));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          types: ['node'],
          skipLibCheck: true,
        },
      }),
    );
    expect(await typecheck(dir)).toBe('');

    for (const [index, expected] of EXPECTED.entries()) {
      const source = readFileSync(join(dir, `quick-${index}.js`), 'utf8');
      expect(source).toContain('require("infuse-breaker'); // really CommonJS
      for (const file of [`cjs/quick-${index}.js`, `cjs/quick-${index}.ts`]) {
        const { stdout, stderr } = await runQuickStart(file);
        expect({ stdout, stderr }, file).toEqual({ stdout: expected, stderr: '' });
      }
    }
  }, 120_000);

  it('type-checks every runnable example as an ES module under the tsconfig of tsc --init, and runs the quick starts', async () => {
    const dir = join(app, 'esm');
    mkdirSync(dir);
    await exec(bin('tsc'), ['--init'], { cwd: dir });
    renameSync(join(dir, 'tsconfig.json'), join(dir, 'tsconfig.init.json'));
    // tsc --init leaves out every @types package; Node's are what the examples need.
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: './tsconfig.init.json',
        compilerOptions: { types: ['node'], outDir: 'out' },
      }),
    );
    for (const block of examples) writeFileSync(join(dir, `${moduleName(block)}.mts`), block.code);
    expect(await typecheck(dir)).toBe('');

    for (const [index, block] of quickStarts().entries()) {
      const { stdout, stderr } = await runQuickStart(`esm/out/${moduleName(block)}.mjs`);
      expect({ stdout, stderr }, `quick start ${index + 1}`).toEqual({
        stdout: EXPECTED[index],
        stderr: '',
      });
    }
  }, 180_000);
});
