/**
 * The Lua scripts declare their keys, arguments and reply once (`--!` lines, see
 * src/redis/scripts/declare.ts): the Lua reads names from the declaration, and the TypeScript
 * builds arguments and reads replies from it. Here: every name each script uses is declared and
 * every declared one used, a name the code passes wrongly is a clear error on either side, and
 * every circuit script's real reply carries every declared field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCommandConnection, runScript, type Connection } from '../../src/redis/connections.js';
import { parseReply } from '../../src/redis/fleet.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { argv, compile, fieldsOf, type Script } from '../../src/redis/scripts/declare.js';
import {
  CIRCUIT_KEYS,
  PRELUDE,
  SCRIPTS,
  scriptHead,
  type ScriptName,
} from '../../src/redis/scripts/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/eventually.js';

const dir = new URL('../../src/redis/scripts/', import.meta.url);
const source = (file: string): string => readFileSync(new URL(file, dir), 'utf8');
const scripts = Object.values(SCRIPTS);
const prelude = PRELUDE.map((part) => source(part.file)).join('\n');

/** The Lua a script runs, as written (prelude first for a circuit script), without comments. */
function written(script: Script): string {
  const text = (script.prelude ? prelude + '\n' : '') + source(script.file);
  return text.replace(/--[^\n]*/g, '');
}

function used(lua: string, table: string): Set<string> {
  return new Set([...lua.matchAll(new RegExp(`\\b${table}\\.(\\w+)`, 'g'))].map((m) => m[1]!));
}

describe('each script declares what it uses, once', () => {
  it.each(scripts.map((s) => [s.name, s] as const))(
    '%s reads declared arguments and keys only, and every argument it declares',
    (_, script) => {
      const lua = written(script);
      expect([...used(lua, 'ARG')].sort()).toEqual([...script.argv].sort());
      for (const key of used(lua, 'K')) expect(script.keys).toContain(key);
      // Positions are the declaration's business: no script names a KEYS or ARGV index itself.
      expect(lua).not.toMatch(/KEYS\[/);
      expect(lua).not.toMatch(/ARGV\[\d/);
      // Its `...` arguments, by REST, when it declares them.
      expect(/\bREST\b/.test(lua)).toBe(script.rest !== null);
    },
  );

  it('the circuit reply is packed field by field, in the declared names', () => {
    const packed = /return pack\(\{([^}]*)\}, leases\)/.exec(written(SCRIPTS.infuseRead));
    const names = [...packed![1]!.matchAll(/(\w+) =/g)].map((m) => m[1]);
    expect(names.sort()).toEqual([...SCRIPTS.infuseRead.reply].sort());
  });

  it('the prelude is every file under prelude/, after prelude.lua, each run once', () => {
    const parts = readdirSync(new URL('prelude/', dir)).map((file) => `prelude/${file}`);
    expect(PRELUDE.map((part) => part.file).sort()).toEqual(['prelude.lua', ...parts].sort());
    expect(PRELUDE[0].file).toBe('prelude.lua');
    for (const part of PRELUDE) expect(SCRIPTS.infuseRead.lua).toContain(source(part.file));
  });

  it('every circuit script shares the prelude: its keys, its arguments first, its reply', () => {
    const circuit = scripts.filter((s) => s.prelude);
    expect(circuit.map((s) => s.name).sort()).toEqual([
      'infuseAcquire',
      'infuseCommand',
      'infuseInspect',
      'infuseRead',
      'infuseReport',
      'infuseSettle',
    ]);
    for (const script of circuit) {
      expect(script.keys).toEqual(CIRCUIT_KEYS);
      const head = Object.keys(scriptHead('k', POLICY, SETTINGS));
      expect(script.argv.slice(0, head.length)).toEqual(head);
      expect(script.reply).toEqual(SCRIPTS.infuseRead.reply);
    }
  });

  it('a circuit’s Redis keys are named and ordered as the scripts declare them', () => {
    expect(circuitKeys('p', 'api').map((k) => k.split(':').at(-1))).toEqual([...CIRCUIT_KEYS]);
    expect(CIRCUIT_KEYS).toEqual(['state', 'leases', 'window', 'votes']);
  });
});

const POLICY = {
  failMax: 5,
  resetTimeout: 1_000,
  halfOpenMaxCalls: 1,
  failureRate: null,
  initialState: null,
};
const SETTINGS = { channel: 'p:transitions', ttl: 60_000, trialLease: 1_000 };

describe('the code passes what a script declares', () => {
  it('names a missing argument, an undeclared one, and extra ones a script does not take', () => {
    const script = SCRIPTS.infuseAcquire;
    const head = scriptHead('api', POLICY, SETTINGS);
    expect(() => argv(script, { ...head, wanted: 1, leaseMs: 1_000 })).toThrow(
      'infuseAcquire: argument leasePrefix is missing',
    );
    expect(() =>
      argv(script, { ...head, wanted: 1, leaseMs: 1_000, leasePrefix: 'x', lease: 'y' }),
    ).toThrow('infuseAcquire: lease not declared as arguments');
    expect(() =>
      argv(script, { ...head, wanted: 1, leaseMs: 1_000, leasePrefix: 'x' }, [1]),
    ).toThrow('infuseAcquire: takes no more arguments than it declares');
    expect(argv(SCRIPTS.infuseRenew, { leaseMs: 500 }, ['a:1', 'a:2'])).toEqual([
      500,
      'a:1',
      'a:2',
    ]);
  });

  it('rejects a reply without the declared fields', () => {
    expect(() => fieldsOf(SCRIPTS.infuseRead, ['1', '2'])).toThrow('unexpected infuseRead reply');
    expect(() => fieldsOf(SCRIPTS.infuseIndex, [1, 2])).toThrow('unexpected infuseIndex reply');
  });

  it('refuses declarations it cannot read', () => {
    const none = {};
    expect(() => compile('x', 'x.lua', '--! argv: a a\nreturn 1', null, none)).toThrow(
      'x.lua: `--! argv` names one thing twice',
    );
    expect(() => compile('x', 'x.lua', '--! arg: a\nreturn 1', null, none)).toThrow(
      'x.lua: unknown declaration `--! arg`',
    );
    expect(() => compile('x', 'x.lua', '--! constants: N\nreturn N', null, none)).toThrow(
      'x.lua: no value for constant N',
    );
    const parts = [
      { file: 'p.lua', source: '--! argv: a' },
      { file: 'p/more.lua', source: '--! argv: b' },
    ] as const;
    expect(() => compile('x', 'x.lua', '--! prelude\nreturn 1', parts, none)).toThrow(
      "p/more.lua: only the prelude's first part declares",
    );
  });
});

describe('on a real redis-server', () => {
  let server: RedisServer;
  let redis: Redis;
  let connection: Connection;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.port, '127.0.0.1');
    connection = openCommandConnection(redis, 5_000);
    connection.on('error', () => undefined);
    await eventually(() => expect(connection.status).toBe('ready'));
  });

  afterAll(async () => {
    connection.disconnect();
    redis.disconnect();
    await server.stop();
  });

  it('a script that reads an undeclared name or leaves a reply field out fails in Redis, naming it', async () => {
    const undeclared = compile('t', 't.lua', '--! argv: a\n--! reply: a\nreturn ARG.b', null, {});
    await expect(redis.eval(undeclared.lua, 0, 'x')).rejects.toThrow(
      'infuse: argument b is not declared',
    );
    const missing = compile('t', 't.lua', '--! reply: a b\nreturn pack({ a = 1 })', null, {});
    await expect(redis.eval(missing.lua, 0)).rejects.toThrow('infuse: reply field b is missing');
  });

  it('runScript rejects, never throws, when the code passes what a script does not declare', async () => {
    const missing = runScript(connection, 'infuseIndex', ['t:index'], { key: 'k', ttl: 1_000 });
    await expect(missing).rejects.toThrow('infuseIndex: argument max is missing');
    const keys = runScript(connection, 'infuseIndex', [], { key: 'k', ttl: 1_000, max: 10 });
    await expect(keys).rejects.toThrow('infuseIndex: takes 1 keys, not 0');
  });

  const circuitArgs: Partial<Record<ScriptName, Record<string, string | number>>> = {
    infuseRead: { seedState: 'open', seedForced: '', seedRemaining: 5_000, keepAlive: 0 },
    infuseAcquire: { wanted: 2, leaseMs: 1_000, leasePrefix: 'p' },
    infuseReport: {
      epoch: '',
      generation: 0,
      successes: 1,
      failures: 0,
      slow: 0,
      reason: '',
      period: 0,
      voter: '',
      tell: '',
      failMax: 5,
    },
    infuseSettle: {
      epoch: '',
      generation: 0,
      lease: 'p:1',
      verdict: 'aborted',
      reason: '',
      period: 0,
    },
    infuseCommand: { command: 'half-open', scope: '', period: 0 },
    infuseInspect: {},
  };

  it.each(Object.entries(circuitArgs))(
    '%s answers with every declared field, read by name',
    async (name, args) => {
      const key = `fields-${name}`;
      const keys = circuitKeys('t', key);
      const raw = await runScript(connection, name as ScriptName, keys, {
        ...scriptHead(key, POLICY, SETTINGS),
        ...args,
      });
      const reply = parseReply(raw);
      expect(reply.fleet.generation).toBeGreaterThanOrEqual(0);
      const { named } = fieldsOf(SCRIPTS.infuseRead, raw);
      expect(Object.keys(named)).toEqual([...SCRIPTS.infuseRead.reply]);
      for (const field of SCRIPTS.infuseRead.reply) expect(named[field]).not.toBeUndefined();
    },
  );
});
