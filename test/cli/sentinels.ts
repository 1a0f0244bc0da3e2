/**
 * Real Redis Sentinels for the CLI's tests: `redis-server <conf> --sentinel` processes on free
 * ports, watching a master started by test/helpers/redis-server.ts. Each is killed when the test
 * file's process exits. (test/helpers/redis-server.ts may gain Sentinels of its own; these are
 * the CLI's, kept apart until then.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadPort, waitForPort } from '../helpers/redis-server.js';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Sentinels watching one master under a group name. */
export interface Sentinels {
  readonly ports: readonly number[];
  readonly name: string;
  stop(): Promise<void>;
}

/** Starts `count` Sentinels that monitor the master on `masterPort` as `name`. */
export async function startSentinels(
  masterPort: number,
  name: string,
  count = 2,
): Promise<Sentinels> {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const port = await deadPort();
    const dir = mkdtempSync(join(tmpdir(), `infuse-sentinel-${port}-`));
    // Sentinel rewrites its config file as it learns the fleet: it must be its own, writable.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 5000`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    live.add(child);
    children.push(child);
    dirs.push(dir);
    ports.push(port);
  }
  await Promise.all(ports.map((port) => waitForPort(port, 10_000)));
  return {
    ports,
    name,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              live.delete(child);
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
