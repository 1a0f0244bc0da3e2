/**
 * `npm run demo:fleet --quick` as a user runs it: it starts its own redis-server and four real
 * processes, shows a sick process held to itself and one trip reaching every process, prints the
 * commands to watch it and the history, and ends by itself with redis-server gone.
 */
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../demo/fleet.ts', import.meta.url));
// tsx, and .lua files as text (src/redis/scripts), as the build has them.
const RUN_TS = [
  '--import',
  'tsx',
  '--import',
  fileURLToPath(new URL('../../scripts/lua-text.mjs', import.meta.url)),
];

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [...RUN_TS, DEMO, '--quick'], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

describe('npm run demo:fleet', () => {
  it('shows quorum and a fleet-wide trip, prints how to watch it, and cleans up', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const url = /redis-server on (redis:\/\/127\.0\.0\.1:(\d+))/.exec(stdout);
    expect(url).not.toBeNull();
    const [, redisUrl, port] = url ?? [];
    for (const command of ['status', 'processes', 'history', 'dashboard']) {
      expect(stdout).toContain(`npx infuse-breaker ${command} --redis ${redisUrl} --prefix demo`);
    }
    expect(stdout).toMatch(
      /the sick process is held to itself: 1 process open for itself, the other 3 closed/,
    );
    expect(stdout).toMatch(/worker-4 \(pid \d+\) +open \(own\)/);
    expect(stdout).toContain('one trip reached all 4 processes: the fleet is open everywhere');
    expect(stdout).toContain('closed again everywhere');
    // The history names the process that tripped for itself and the one that opened the fleet.
    expect(stdout).toMatch(/closed → open \(own\) +failMax +process \d+ on /);
    expect(stdout).toMatch(/closed → open +failMax +process \d+ on /);
    expect(stdout).toContain('done: stopping the processes and redis-server.');
    expect(await accepts(Number(port))).toBe(false);
  }, 120_000);
});
