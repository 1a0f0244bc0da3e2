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
  // Every subpath ships both formats. ky and got are ESM-only peers, so the ky and got subpaths
  // load neither client (got's adapter imports only its types); their CJS builds load fine.
  run('npx', ['--no-install', 'attw', tarball, '--profile', 'node16']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
