/**
 * The CLI's command line, help and failures, run as a real child process: bad arguments exit 2
 * with a message naming the problem, an unreachable Redis exits 1 fast, a missing ioredis says
 * to install it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deadPort } from '../helpers/redis-server.js';
import { cli } from './run.js';

describe('infuse-breaker help and version', () => {
  it('--help lists every command, the connection options and the exit statuses', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of [
      'status',
      'processes',
      'history',
      'open',
      'close',
      'disable',
      'clear',
      'shadow',
      'unshadow',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(help.stdout).toContain('--redis URL');
    expect(help.stdout).toContain('--prefix P');
    expect(help.stdout).toContain('--cluster');
    expect(help.stdout).toMatch(/^ {2}3 {2}the key is unknown/m);
    expect((await cli(['help'])).stdout).toBe(help.stdout);
  });

  it.each([
    'status',
    'processes',
    'history',
    'open',
    'close',
    'disable',
    'clear',
    'shadow',
    'unshadow',
  ])('%s --help explains the command and its options', async (command) => {
    const help = await cli([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(new RegExp(`^Usage: infuse-breaker ${command}`));
    expect(help.stdout).toContain('--redis URL');
    expect(help.stdout).toContain('Examples:');
    expect((await cli(['help', command])).stdout).toBe(help.stdout);
    expect((await cli([command, '-h'])).stdout).toBe(help.stdout);
  });

  it('--version prints the package version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } }))
      .default as { version: string };
    const result = await cli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('infuse-breaker bad command lines exit 2 and name the problem', () => {
  it.each([
    [[], 'missing command'],
    [
      ['stat'],
      'unknown command "stat"; commands are: status, processes, history, open, close, disable, clear, shadow, unshadow, dashboard',
    ],
    [['--bogus'], 'unknown option "--bogus"'],
    [['status', '--bogus'], "Unknown option '--bogus'"],
    [['status', 'extra'], 'status: unexpected argument "extra"'],
    [['open'], 'open: missing KEY-OR-PATTERN'],
    [['close', 'a', 'b'], 'close: unexpected argument "b"'],
    [['status', '--prefix'], "Option '--prefix <value>' argument missing"],
    [['status', '--redis', 'http://x:1'], '--redis: "http://x:1" must start with redis://'],
    [['status', '--redis', 'not a url'], '--redis: "not a url" must start with redis://'],
    [['status', '--timeout', 'soon'], '--timeout: "soon" must be a whole number'],
    [['status', '--interval', '5'], '--interval: "5" must be at least 100'],
    [['status', '--prefix', 'a{b}'], '--prefix: "a{b}" must be non-empty, without braces'],
    [['open', 'x*', '--create'], 'open: --create takes one key, not a pattern'],
    [['open', '[abc'], 'has a "[" without its "]"'],
  ])('%j', async (args, message) => {
    const result = await cli(args, { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/^infuse-breaker: /);
  });
});

describe('infuse-breaker without Redis', () => {
  it.each([['status'], ['open', 'api.example.com'], ['clear', '*.example.com']])(
    '%j exits 1 fast with a clear message when nothing listens',
    async (...args) => {
      const port = await deadPort();
      const result = await cli([...args, '--redis', `redis://127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `infuse-breaker: Redis cannot be reached at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}); nothing was changed\n`,
      );
      // Node and tsx start in well under this; what it bounds is a retry loop.
      expect(result.ms).toBeLessThan(8_000);
    },
  );

  it('reads $REDIS_URL when --redis is not given', async () => {
    const port = await deadPort();
    const result = await cli(['status'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`at 127.0.0.1:${port} `);
  });

  it('exits 1 fast for a Cluster nothing listens on', async () => {
    const [a, b] = [await deadPort(), await deadPort()];
    const urls = `redis://127.0.0.1:${a},redis://127.0.0.1:${b}`;
    const result = await cli(['status', '--redis', urls]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Redis cannot be reached at 127.0.0.1:${a}, 127.0.0.1:${b}`);
    expect(result.ms).toBeLessThan(8_000);
  });
});

describe('infuse-breaker without ioredis', () => {
  it('says to install it, and exits 1', async () => {
    // The sources, copied where no node_modules can provide ioredis.
    const dir = mkdtempSync(join(tmpdir(), 'infuse-cli-'));
    try {
      cpSync(fileURLToPath(new URL('../../src', import.meta.url)), join(dir, 'src'), {
        recursive: true,
      });
      writeFileSync(join(dir, 'package.json'), '{"name":"infuse-breaker","type":"module"}');
      const result = await cli(['status'], { main: join(dir, 'src/cli/main.ts') });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'infuse-breaker: the CLI needs ioredis, an optional peer dependency: npm install ioredis\n',
      );
      const help = await cli(['--help'], { main: join(dir, 'src/cli/main.ts') });
      expect(help.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
