/**
 * `infuse-breaker dashboard` as an operator runs it: a real process, its printed link, and its
 * errors when the port is taken, Redis does not answer, or an argument is wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { command, send } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../../src/cli/dashboard-main.ts', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  out: string;
  err: string;
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    env: { ...process.env, REDIS_URL: '', INFUSE_DASHBOARD_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const result: Run = {
    child,
    out: '',
    err: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => (result.out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (result.err += chunk.toString()));
  void result.exited.then(() => running.delete(child));
  return result;
}

async function printed(result: Run, pattern: RegExp, timeout = 20_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const match = pattern.exec(result.out);
    if (match !== null) return match;
    if (Date.now() > deadline || result.child.exitCode !== null) {
      throw new Error(`not printed: ${pattern}\nstdout: ${result.out}\nstderr: ${result.err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

afterAll(async () => {
  await redis.stop();
});

describe('infuse-breaker dashboard', () => {
  it('prints the link with a fresh token, serves the page, and stops on Ctrl-C', async () => {
    const dashboard = run(['--redis', redis.url, '--port', '0', '--prefix', 'cli']);
    const [, url, token] = await printed(
      dashboard,
      /Open (http:\/\/127\.0\.0\.1:\d+\/)#token=([A-Za-z0-9_-]{43})\n/,
    );
    expect(dashboard.out).toContain(`prefix "cli" on ${redis.url}`);
    expect((await send(url!, 'GET', '/')).status).toBe(200);
    const refused = await command(url!, 'k', 'close', {
      authorization: 'Bearer wrong-token-0123456789',
    });
    expect(refused.status).toBe(401);
    const unknown = await command(url!, 'k', 'close', { authorization: `Bearer ${token}` });
    expect(unknown.status).toBe(404);
    // Every command run is logged on stdout.
    await printed(dashboard, /close "k" from 127\.0\.0\.1: failed: .*no state for circuit "k"/);
    dashboard.child.kill('SIGINT');
    expect(await dashboard.exited).toBe(0);
  });

  it('does not print a token the operator chose', async () => {
    const token = 'operator-chosen-token-42';
    const dashboard = run(['--redis', redis.url, '--port', '0'], { INFUSE_DASHBOARD_TOKEN: token });
    const [, url] = await printed(
      dashboard,
      /Open (http:\/\/127\.0\.0\.1:\d+\/)#token=<your token>/,
    );
    expect(dashboard.out).not.toContain(token);
    const unknown = await command(url!, 'k', 'close', { authorization: `Bearer ${token}` });
    expect(unknown.status).toBe(404);
    dashboard.child.kill('SIGTERM');
    expect(await dashboard.exited).toBe(0);
  });

  it('says the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dashboard = run(['--redis', redis.url, '--port', String(port)]);
      expect(await dashboard.exited).toBe(1);
      expect(dashboard.err).toContain(
        `port ${port} on 127.0.0.1 is already in use: stop what listens there or choose another with --port`,
      );
    } finally {
      blocker.close();
    }
  });

  it('says Redis cannot be reached', async () => {
    const nothing: Server = createServer();
    await new Promise<void>((resolve) => nothing.listen(0, '127.0.0.1', resolve));
    const port = (nothing.address() as { port: number }).port;
    await new Promise((resolve) => nothing.close(resolve));
    const dashboard = run(['--redis', `redis://127.0.0.1:${port}`, '--port', '0']);
    expect(await dashboard.exited).toBe(1);
    expect(dashboard.err).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(dashboard.out).toBe('');
  });

  it('names a bad argument', async () => {
    const cases: [string[], string][] = [
      [['--port', 'eighty'], '--port must be a port number from 0 to 65535 (got "eighty")'],
      [['--token', 'short'], '--token must be at least 16 printable ASCII characters'],
      [['--prefix', 'a{b}'], '--prefix must be non-empty, without { or } (got "a{b}")'],
      [['--colour'], "Unknown option '--colour'"],
    ];
    for (const [args, message] of cases) {
      const dashboard = run(args);
      expect(await dashboard.exited).toBe(2);
      expect(dashboard.err).toContain(message);
    }
  });

  it('explains itself with --help', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    for (const option of ['--redis', '--prefix', '--port', '--host', '--token']) {
      expect(help.out).toContain(option);
    }
  });
});
