/**
 * What the CLI prints when the input is hostile or the situation is bad, against a real
 * redis-server with ACL users: a password with `@ : / # %` never reaches any output; a key with
 * control characters is printed escaped and can still be steered (--exact, also for glob
 * characters); a user without scripting rights is told the permission it lacks; `--timeout`
 * bounds a command against a port that accepts and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/index.js';
import { deadPort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/eventually.js';
import { failTimes } from '../helpers/calls.js';
import { Opened, StoreFactory } from '../redis/harness.js';
import { command, send } from '../dashboard/helpers.js';
import { cli, RunningCli } from './run.js';
import { runInProcess } from './in-process.js';

const PASSWORD = 'p@ss:w/rd#50%x';
const WRONG = 'q@ss:w/rd#51%y';
/** Every form in which a password could leak: as is, percent-encoded, or a piece of it. */
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), 'w/rd#5', 'rd%235', WRONG, 'w/rd#51'];

function expectNoSecret(...texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

/** A key that retitles the terminal (OSC), rings, returns to the start of the row, reverses text. */
const EVIL = 'evil\x1b]0;owned\x07\r\u202ekey';
const EVIL_SHOWN = 'evil\\x1b]0;owned\\x07\\r\\u202ekey';
function expectNoRawControl(text: string): void {
  for (const char of ['\x1b', '\x07', '\r', '\u202e']) expect(text).not.toContain(char);
}

/** A key made of glob characters. */
const GLOBBY = 'reports[2026]*.internal';

let redis: RedisServer;
let factory: StoreFactory;
let infuse: Infuse;
let prefix: string;
const opened = new Opened();

beforeAll(async () => {
  redis = await startRedis();
  await redis.cli('ACL', 'SETUSER', 'admin', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  await redis.cli(
    'ACL',
    'SETUSER',
    'ops',
    'on',
    `>${PASSWORD}`,
    '~*',
    '&*',
    '+@all',
    '-@scripting',
  );
  await redis.cli('ACL', 'SETUSER', 'reader', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '-@write');
  factory = new StoreFactory(redis, { waitTimeout: 2_000, commandTimeout: 2_000 });
  const store = await factory.create(undefined, { flushInterval: 20 });
  opened.stores.push(store);
  prefix = factory.prefixOf(store);
  infuse = new Infuse({ store, failMax: 2, resetTimeout: 60_000, quorum: 1 }); // one process opens the fleet
  opened.infuse.push(infuse);
  for (const key of ['api.example.com', EVIL, GLOBBY]) await failTimes(infuse, key, 2);
});

afterAll(async () => {
  await opened.close(factory);
  await redis.stop();
});

const url = (password: string, user = 'admin') =>
  `redis://${user}:${password}@127.0.0.1:${redis.port}`;

describe('a password with @ : / # %', () => {
  it('connects as written and percent-encoded, and is never printed', async () => {
    for (const given of [url(PASSWORD), url(encodeURIComponent(PASSWORD))]) {
      const shown = await cli(['status', '--redis', given, '--prefix', prefix]);
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^api\.example\.com +open /m);
      expectNoSecret(shown.stdout);
    }
    const empty = await cli(['status', '--redis', url(PASSWORD), '--prefix', 'nothing-here']);
    expect(empty.stdout).toBe(
      `No circuit has state in Redis at 127.0.0.1:${redis.port} under prefix "nothing-here".\n`,
    );
  });

  it('is not in --watch refreshes on a terminal', async () => {
    const watch = runInProcess(
      ['status', '--watch', '--interval', '100', '--redis', url(PASSWORD), '--prefix', prefix],
      { tty: true },
    );
    const header = `infuse-breaker status · 127.0.0.1:${redis.port} · prefix "${prefix}"`;
    await eventually(() => expect(watch.stdout.text.split(header).length).toBeGreaterThan(3));
    process.emit('SIGINT');
    expect(await watch.status).toBe(0);
    expect(watch.stdout.text).toContain('\x1b[H\x1b[2J');
    expectNoSecret(watch.stdout.text, watch.stderr.text);
  });

  it('is not in errors: wrong password, unreachable Redis, a URL that cannot be read', async () => {
    const wrong = await cli(['status', '--redis', url(WRONG)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      new RegExp(
        `^infuse-breaker: Redis at 127\\.0\\.0\\.1:${redis.port} refused the credentials of --redis \\(WRONGPASS .*\\); nothing was changed\\n$`,
      ),
    );
    const port = await deadPort();
    const down = await cli(['open', 'a', '--redis', `redis://admin:${PASSWORD}@127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(
      `Redis cannot be reached at 127.0.0.1:${port} (connect ECONNREFUSED`,
    );
    const bad = await cli(['status', '--redis', `${url(PASSWORD)}/zero`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      `--redis: "redis://***@127.0.0.1:${redis.port}/zero": database "zero" must be a number`,
    );
    const scheme = await cli(['status', '--redis', `http://admin:${PASSWORD}@example.com`]);
    expect(scheme.stderr).toContain('"http://***@example.com" must start with redis://');
    expectNoSecret(wrong.stderr, down.stderr, bad.stderr, scheme.stderr);
  });

  it('is not on the dashboard: its banner, its page, its errors', async () => {
    const running = new RunningCli([
      'dashboard',
      '--redis',
      url(PASSWORD),
      '--port',
      '0',
      '--prefix',
      prefix,
    ]);
    const link = /Open (http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)\n/;
    const [, base, token] = link.exec(await running.waitFor((out) => link.test(out)))!;
    expect(running.stdout).toContain(`prefix "${prefix}" on 127.0.0.1:${redis.port}\n`);
    const page = await send(base!, 'GET', '/');
    const list = await send(base!, 'GET', '/api/circuits');
    expect(list.json().circuits?.map((c) => c.key)).toContain('api.example.com');
    const steered = await command(base!, 'never.used', 'close', {
      authorization: `Bearer ${token}`,
    });
    expect(steered.status).toBe(404);
    await running.waitFor((out) => out.includes('close "never.used" from 127.0.0.1: failed'));
    // The audit line of a command on a hostile key shows it escaped.
    // (`open` leaves it open, as the later tests expect.)
    const evil = await command(base!, EVIL, 'open', { authorization: `Bearer ${token}` });
    expect(evil.status).toBe(200);
    await running.waitFor((out) =>
      out.includes(`open "${EVIL_SHOWN}" from 127.0.0.1: open → open`),
    );
    expectNoRawControl(running.stdout);
    expect(await running.stop('SIGINT')).toBe(0);
    expectNoSecret(running.stdout, running.stderr, page.body, list.body, steered.body);

    const refused = await cli(['dashboard', '--redis', url(WRONG), '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused the credentials of --redis (WRONGPASS');
    expectNoSecret(refused.stdout, refused.stderr);
  });
});

describe('a Redis user without +@scripting', () => {
  it.each([['status'], ['open', 'api.example.com'], ['close', '*.example.com']])(
    '%j names the permission, without a stack trace',
    async (...args) => {
      const result = await cli([...args, '--redis', url(PASSWORD, 'ops'), '--prefix', prefix]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      // ioredis sends a script by EVALSHA, or by EVAL when Redis does not know it yet.
      expect(result.stderr).toMatch(
        /^infuse-breaker: Redis user "ops" may not run EVAL(SHA)?: grant \+@scripting \(ACL SETUSER ops \+@scripting\); nothing was changed\n$/,
      );
    },
  );
});

describe('a Redis user whose scripts may not write', () => {
  it('reads, and is told what to grant when it steers', async () => {
    const args = ['--redis', url(PASSWORD, 'reader'), '--prefix', prefix];
    const read = await cli(['status', ...args]);
    expect(read).toMatchObject({ code: 0, stderr: '' });
    const steer = await cli(['open', 'api.example.com', ...args]);
    expect(steer.code).toBe(1);
    expect(steer.stderr).toBe(
      `infuse-breaker: Redis user "reader" may not run a command inside infuse-breaker's scripts: grant +@read +@write +@pubsub +time on ~${prefix}:* (ACL SETUSER reader +@read +@write +@pubsub +time); nothing was changed\n`,
    );
  });
});

describe('keys with control characters or glob characters', () => {
  it('are printed escaped, in tables and in --dry-run', async () => {
    const shown = await cli(['status', '--redis', url(PASSWORD), '--prefix', prefix]);
    expect(shown.stdout).toContain(`\n${EVIL_SHOWN}  `);
    expectNoRawControl(shown.stdout);
    const dry = await cli([
      'close',
      'evil*',
      '--dry-run',
      '--redis',
      url(PASSWORD),
      '--prefix',
      prefix,
    ]);
    expect(dry.stdout).toBe(`${EVIL_SHOWN}: open (would close)\n`);
  });

  it('come back exactly from --json, which has no raw control character either', async () => {
    const json = await cli(['status', '--json', '--redis', url(PASSWORD), '--prefix', prefix]);
    expectNoRawControl(json.stdout);
    const keys = (JSON.parse(json.stdout) as { key: string }[]).map((c) => c.key);
    expect(keys).toContain(EVIL);
    expect(keys).toContain(GLOBBY);
  });

  it('are steered by name with --exact; without it, glob characters make a pattern', async () => {
    const args = ['--redis', url(PASSWORD), '--prefix', prefix];
    const evil = await cli(['open', '--exact', EVIL, ...args]);
    expect(evil).toMatchObject({ code: 0, stderr: '' });
    expect(evil.stdout).toBe(`${EVIL_SHOWN}: open → forced-open\n`);
    await eventually(() => expect(infuse.circuit(EVIL).forced).toBe('forced-open'));

    const asPattern = await cli(['open', GLOBBY, ...args]);
    expect(asPattern.code).toBe(3);
    expect(asPattern.stderr).toBe(
      `infuse-breaker: no circuit in Redis matches "${GLOBBY}" (prefix "${prefix}"); nothing was changed. To steer a key with * ? [ or \\ in it as written, add --exact.\n`,
    );
    expect(infuse.circuit(GLOBBY).forced).toBeNull();
    const exact = await cli(['open', '--exact', GLOBBY, ...args]);
    expect(exact.stdout).toBe(`${GLOBBY}: open → forced-open\n`);
    await eventually(() => expect(infuse.circuit(GLOBBY).forced).toBe('forced-open'));
    // An escaped pattern names it too.
    const escaped = await cli(['clear', 'reports\\[2026\\]\\*.*', ...args]);
    expect(escaped.stdout).toBe(`${GLOBBY}: forced-open → closed\n`);
  });
});

describe('--timeout against a port that accepts and never answers', () => {
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('bounds the whole command', async () => {
    const status = runInProcess([
      'status',
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--timeout',
      '1000',
    ]);
    expect(await status.status).toBe(1);
    expect(status.stderr.text).toBe(
      `infuse-breaker: gave up after 1000 ms (--timeout): Redis at 127.0.0.1:${port} did not answer\n`,
    );
    // Generous for a busy machine; before, closing alone waited a second more.
    expect(status.ms).toBeGreaterThanOrEqual(990);
    expect(status.ms).toBeLessThan(1_900);

    const open = runInProcess([
      'open',
      'a',
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--timeout',
      '1000',
    ]);
    expect(await open.status).toBe(1);
    expect(open.stderr.text).toContain(
      'did not answer; if the command reached Redis it still applies: check with infuse-breaker status',
    );
    expect(open.ms).toBeLessThan(1_900);
  });

  it('bounds the start of status --watch', async () => {
    const watch = runInProcess([
      'status',
      '--watch',
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--timeout',
      '1000',
    ]);
    expect(await watch.status).toBe(1);
    expect(watch.stderr.text).toBe(
      `infuse-breaker: gave up after 1000 ms (--timeout): Redis at 127.0.0.1:${port} did not answer\n`,
    );
    expect(watch.ms).toBeLessThan(1_900);
  });

  it('the process ends as soon as it has said so', async () => {
    const result = await cli([
      'status',
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--timeout',
      '300',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gave up after 300 ms (--timeout)');
    // Before, a socket Redis never answered kept the process for two more seconds.
    expect(result.ms - result.stderrMs).toBeLessThan(1_000);
  });
});
