/**
 * `infuse-breaker dashboard` as an operator runs it: the real binary in a child process, its
 * printed link, and its errors when the port is taken, Redis does not answer, or an argument is
 * wrong.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { cli, RunningCli } from '../cli/run.js';
import { command, send } from './helpers.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.stop();
});

/** A port nothing listens on, and a server holding one, as the test needs. */
async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

const LINK = /Open (http:\/\/127\.0\.0\.1:\d+\/)#token=([A-Za-z0-9_-]{43})\n/;

describe('infuse-breaker dashboard', () => {
  it('prints the link with a fresh token, serves the page, logs commands, stops on Ctrl-C', async () => {
    const running = new RunningCli([
      'dashboard',
      '--redis',
      redis.url,
      '--port',
      '0',
      '--prefix',
      'cli',
    ]);
    const [, url, token] = LINK.exec(await running.waitFor((out) => LINK.test(out)))!;
    expect(running.stdout).toContain(`prefix "cli" on 127.0.0.1:${redis.port}\n`);
    expect((await send(url!, 'GET', '/')).status).toBe(200);
    const refused = await command(url!, 'k', 'close', {
      authorization: 'Bearer wrong-token-0123456789',
    });
    expect(refused.status).toBe(401);
    const unknown = await command(url!, 'k', 'close', { authorization: `Bearer ${token}` });
    expect(unknown.status).toBe(404);
    await running.waitFor((out) => /close "k" from 127\.0\.0\.1: failed: .*no state/.test(out));
    expect(await running.stop('SIGINT')).toBe(0);
  });

  it('does not print a token the operator chose', async () => {
    const token = 'operator-chosen-token-42';
    const running = new RunningCli(['dashboard', '--redis', redis.url, '--port', '0'], {
      INFUSE_DASHBOARD_TOKEN: token,
    });
    const chosen = /Open (http:\/\/127\.0\.0\.1:\d+\/)#token=<your token>/;
    const [, url] = chosen.exec(await running.waitFor((out) => chosen.test(out)))!;
    expect(running.stdout).not.toContain(token);
    const unknown = await command(url!, 'k', 'close', { authorization: `Bearer ${token}` });
    expect(unknown.status).toBe(404);
    expect(await running.stop('SIGTERM')).toBe(0);
  });

  it('says the port is in use', async () => {
    const { server, port } = await listening();
    try {
      const result = await cli(['dashboard', '--redis', redis.url, '--port', String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `infuse-breaker: dashboard: port ${port} on 127.0.0.1 is already in use: stop what listens there or choose another with --port (0 picks a free one)\n`,
      );
    } finally {
      server.close();
    }
  });

  it('says Redis cannot be reached', async () => {
    const { server, port } = await listening();
    await new Promise((resolve) => server.close(resolve));
    const result = await cli(['dashboard', '--redis', `redis://127.0.0.1:${port}`, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^infuse-breaker: dashboard: cannot reach Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
      ),
    );
    expect(result.stdout).toBe('');
  });

  it('names a bad argument', async () => {
    const cases: [string[], string][] = [
      [['--port', 'eighty'], '--port: "eighty" must be a port number from 0 to 65535'],
      [['--token', 'short'], '--token must be at least 16 printable ASCII characters'],
      [['--prefix', 'a{b}'], '--prefix: "a{b}" must be non-empty, without braces'],
      [['--colour'], "Unknown option '--colour'"],
    ];
    for (const [args, message] of cases) {
      const result = await cli(['dashboard', ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("See 'infuse-breaker dashboard --help'.");
    }
  });

  it('explains itself with --help, and is listed by the tool', async () => {
    const help = await cli(['dashboard', '--help']);
    expect(help.code).toBe(0);
    for (const option of ['--redis', '--cluster', '--prefix', '--port', '--host', '--token']) {
      expect(help.stdout).toContain(option);
    }
    expect(help.stdout).toContain('INFUSE_DASHBOARD_TOKEN');
    expect((await cli(['--help'])).stdout).toMatch(/\n {2}dashboard +serve a live web page/);
  });
});
