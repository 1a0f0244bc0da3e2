// Packs the package as npm would publish it, then checks the tarball with publint and
// @arethetypeswrong/cli. Fails on any error either reports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'infuse-pack-'));
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
try {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    encoding: 'utf8',
  });
  const tarball = join(dir, JSON.parse(out)[0].filename);
  run('npx', ['--no-install', 'publint', '--strict', tarball]);
  // ESM-only peers (ky, got) cannot be required from CommonJS; their subpaths ship ESM only, which
  // attw reports as a CJS resolution problem that does not apply.
  run('npx', ['--no-install', 'attw', tarball, '--profile', 'node16']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
