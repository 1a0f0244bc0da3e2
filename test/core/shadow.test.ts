/**
 * Shadow mode, against MemoryStore: the state machine runs as for real, no call is refused. These
 * scenarios move to the store contract suite (test/contract/store-contract.ts) once RedisStore
 * declares the 'shadow' capability.
 */
import { describe, expect, it } from 'vitest';
import {
  Infuse,
  type InfuseOptions,
  type OutcomeEvent,
  type RejectEvent,
  type StateChangeEvent,
} from '../../src/index.js';

function setup(options: InfuseOptions) {
  let now = 0;
  const infuse = new Infuse({ clock: { now: () => now }, ...options });
  const events = {
    rejects: [] as RejectEvent[],
    outcomes: [] as OutcomeEvent[],
    changes: [] as StateChangeEvent[],
  };
  infuse.on('reject', (event) => events.rejects.push(event));
  infuse.on('success', (event) => events.outcomes.push(event));
  infuse.on('failure', (event) => events.outcomes.push(event));
  infuse.on('stateChange', (event) => events.changes.push(event));
  const advance = (ms: number) => {
    now += ms;
  };
  return { infuse, events, advance };
}

const boom = () => Promise.reject(new Error('boom'));

describe('shadow mode', () => {
  it('opens as it would, then lets the calls it would refuse run, tells of each, counts none', async () => {
    const { infuse, events } = setup({ shadow: true, failMax: 2, resetTimeout: 1_000 });
    const circuit = infuse.circuit('api');
    await circuit.call(boom).catch(() => undefined);
    await circuit.call(boom).catch(() => undefined);
    expect(events.changes).toEqual([
      expect.objectContaining({ from: 'closed', to: 'open', reason: 'failMax' }),
    ]);
    expect(circuit.snapshot()).toMatchObject({ state: 'open', retryAfter: 1_000 });
    events.outcomes.length = 0;

    let ran = 0;
    await expect(circuit.call(() => ++ran)).resolves.toBe(1);
    const error = new Error('still down');
    await expect(circuit.call(() => Promise.reject(error))).rejects.toBe(error);
    expect(ran).toBe(1);
    expect(events.rejects).toEqual([
      { key: 'api', state: 'open', forced: null, retryAfter: 1_000, shadow: true },
      { key: 'api', state: 'open', forced: null, retryAfter: 1_000, shadow: true },
    ]);
    expect(events.outcomes).toEqual([]); // not counted: they would never have been sent
    expect(circuit.snapshot()).toMatchObject({ state: 'open', failures: 2 });
    expect(infuse.snapshot()[0]?.rejections).toBe(0);
  });

  it('runs half-open for real: the trial counts, the calls beyond its permits run uncounted', async () => {
    const { infuse, events, advance } = setup({ shadow: true, failMax: 1, resetTimeout: 1_000 });
    const circuit = infuse.circuit('api');
    await circuit.call(boom).catch(() => undefined);
    advance(1_000);
    const trial = await circuit.acquire();
    expect(trial.trial).toBe(true);
    const extra = await circuit.acquire(); // would be refused: half-open, its one permit taken
    expect(extra.trial).toBe(false);
    expect(events.rejects.at(-1)).toMatchObject({ state: 'half-open', shadow: true });
    await expect(extra.settle({ status: 503 })).resolves.toBe('failure');
    expect(circuit.state).toBe('half-open'); // the uncounted failure changed nothing
    await trial.settle({ status: 200 });
    expect(events.changes.at(-1)).toMatchObject({ to: 'closed', reason: 'trialSucceeded' });
  });

  it('refuses nothing even when forced open; a key can be in shadow alone', async () => {
    const { infuse, events } = setup({ circuits: { canary: { shadow: true } } });
    await infuse.circuit('canary').forceOpen();
    await infuse.circuit('other').forceOpen();
    await expect(infuse.circuit('canary').call(() => 'ran')).resolves.toBe('ran');
    await expect(infuse.circuit('other').call(() => 'ran')).rejects.toThrow('forced open');
    expect(events.rejects.map(({ key, shadow }) => [key, shadow])).toEqual([
      ['canary', true],
      ['other', false],
    ]);
  });

  it('rejects a shadow option that is not a boolean', () => {
    expect(() => new Infuse({ shadow: 'on' as never })).toThrow(
      'option "shadow" must be a boolean; got "on"',
    );
  });
});
