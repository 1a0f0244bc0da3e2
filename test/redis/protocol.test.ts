/**
 * What the scripts' protocol carries beyond failMax and failureRate, on a real redis-server: a
 * transition to open with its own period and reason (a server's Retry-After, issue 14), slow calls
 * in the fleet window and a fleet-wide shadow flag.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Infuse, type StateChangeEvent, type StoreCircuit } from '../../src/index.js';
import { RedisCircuit } from '../../src/redis/circuit.js';
import { openCommandConnection, runScript } from '../../src/redis/connections.js';
import { parseReply } from '../../src/redis/fleet.js';
import { circuitKeys } from '../../src/redis/keys.js';
import { MANUAL_OPEN_MAX, scriptHead } from '../../src/redis/scripts/index.js';
import { eventually } from '../helpers/eventually.js';
import { redisForFile } from './harness.js';

const file = redisForFile({ waitTimeout: 2_000, commandTimeout: 2_000 });

const ok = () => Promise.resolve('ok');
const POLICY = { failMax: 5, resetTimeout: 1_000, halfOpenMaxCalls: 1, initialState: null };

function redisCircuit(circuit: StoreCircuit): RedisCircuit {
  if (!(circuit instanceof RedisCircuit)) throw new Error('not a RedisCircuit');
  return circuit;
}

async function pair() {
  const first = await file.factory.create();
  const second = await file.factory.share(first);
  file.opened.stores.push(first, second);
  const a = new Infuse({ resetTimeout: 1_000, store: first });
  const b = new Infuse({ resetTimeout: 1_000, store: second });
  file.opened.infuse.push(a, b);
  return { a, b, first, prefix: file.factory.prefixOf(first) };
}

describe('a transition to open carries its own period and reason', () => {
  it('opens the fleet for the period asked, longer than resetTimeout, with that reason', async () => {
    const { a, b, first } = await pair();
    await a.circuit('api').call(ok);
    await b.circuit('api').call(ok);
    const seen: StateChangeEvent[] = [];
    a.on('stateChange', (event) => seen.push(event));
    const circuit = redisCircuit(first.circuit('api', { ...POLICY, failureRate: null }));
    await circuit.openFor(20_000, 'retryAfter');

    expect(seen).toMatchObject([{ from: 'closed', to: 'open', reason: 'retryAfter' }]);
    expect(a.circuit('api').snapshot().retryAfter).toBeGreaterThan(15_000);
    await eventually(() => expect(b.circuit('api').state).toBe('open'));
    expect(b.circuit('api').snapshot().retryAfter).toBeGreaterThan(15_000);
    expect(b.circuit('api').snapshot().retryAfter).toBeLessThanOrEqual(20_000);
  });

  it('never opens for longer than the policy allows', async () => {
    const { a, first } = await pair();
    await a.circuit('api').call(ok);
    const circuit = redisCircuit(first.circuit('api', { ...POLICY, failureRate: null }));
    await circuit.openFor(100 * MANUAL_OPEN_MAX, 'retryAfter');
    expect(a.circuit('api').state).toBe('open');
    expect(a.circuit('api').snapshot().retryAfter).toBeLessThanOrEqual(MANUAL_OPEN_MAX);
  });
});

describe('room for slow calls and shadow mode', () => {
  it('counts slow calls in the fleet window, and keeps a shadow flag fleet-wide', async () => {
    const { prefix } = await pair();
    const redis = new Redis(file.server.port, '127.0.0.1');
    const connection = openCommandConnection(redis, 2_000);
    connection.on('error', () => undefined);
    try {
      await eventually(() => expect(connection.status).toBe('ready'));
      const policy = {
        ...POLICY,
        failureRate: { threshold: 0.9, minimumCalls: 100, window: 10_000 },
        slowCallRate: { threshold: 0.9, minimumCalls: 100, window: 4_000, duration: 50 },
      };
      const settings = { channel: `${prefix}:transitions`, ttl: 60_000, trialLease: 1_000 };
      const keys = circuitKeys(prefix, 'api');
      const head = scriptHead('api', policy, settings);
      const report = parseReply(
        await runScript(connection, 'infuseReport', keys, {
          ...head,
          epoch: '',
          generation: 0,
          successes: 7,
          failures: 3,
          slow: 4,
          reason: '',
          period: 0,
          voter: '',
          tell: '',
          failMax: 5,
        }),
      );
      expect(report.fleet).toMatchObject({
        calls: 10,
        failures: 3,
        slowCalls: 10,
        slow: 4,
        shadow: false,
      });
      const shadow = parseReply(
        await runScript(connection, 'infuseCommand', keys, {
          ...head,
          command: 'shadow',
          scope: '',
          period: 0,
        }),
      );
      expect(shadow.fleet).toMatchObject({ state: 'closed', shadow: true, generation: 1 });
      const read = parseReply(
        await runScript(connection, 'infuseRead', keys, {
          ...head,
          seedState: '',
          seedForced: '',
          seedRemaining: 0,
          keepAlive: 0,
        }),
      );
      expect(read.fleet).toMatchObject({ shadow: true, calls: 10, slowCalls: 10, slow: 4 });
      const back = parseReply(
        await runScript(connection, 'infuseCommand', keys, {
          ...head,
          command: 'unshadow',
          scope: '',
          period: 0,
        }),
      );
      expect(back.fleet).toMatchObject({ shadow: false, generation: 2 });
    } finally {
      connection.disconnect();
      redis.disconnect();
    }
  });
});
