/**
 * The state machine as one value: each state carries its own data (closed: none; open: until when;
 * half-open: its permits; forced: the state it was forced in), and every change is one transition.
 */
import { describe, expect, it } from 'vitest';
import { CircuitMachine } from '../../src/core/machine.js';
import type { Policy, Transition } from '../../src/stores/store.js';

const policy: Policy = {
  failMax: 2,
  resetTimeout: 1_000,
  halfOpenMaxCalls: 2,
  failureRate: null,
  initialState: null,
};

function machine(overrides: Partial<Policy> = {}) {
  let now = 10_000;
  const transitions: Transition[] = [];
  const circuit = new CircuitMachine(
    'k',
    { ...policy, ...overrides },
    () => now,
    (t) => {
      transitions.push(t);
    },
  );
  return {
    circuit,
    transitions,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function fail(circuit: CircuitMachine) {
  const ticket = circuit.acquire();
  if (!ticket.allowed) throw new Error('refused');
  circuit.release(ticket, 'failure');
}

describe('CircuitMachine phases', () => {
  it('closed carries no data; open carries its end; half-open its permits; closing starts over', () => {
    const { circuit, transitions, advance } = machine();
    expect(circuit.phase).toEqual({ mode: 'closed' });
    fail(circuit);
    fail(circuit);
    expect(circuit.phase).toEqual({ mode: 'open', until: 11_000 });
    advance(1_000);
    const first = circuit.acquire();
    expect(circuit.phase).toEqual({ mode: 'half-open', permits: 1, inFlight: 1, successes: 0 });
    const second = circuit.acquire();
    expect(circuit.acquire()).toMatchObject({ allowed: false, state: 'half-open', retryAfter: 0 });
    if (!first.allowed || !second.allowed) throw new Error('trial refused');
    circuit.release(first, 'success');
    expect(circuit.phase).toEqual({ mode: 'half-open', permits: 0, inFlight: 1, successes: 1 });
    circuit.release(second, 'success');
    expect(circuit.phase).toEqual({ mode: 'closed' });
    expect(transitions.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual([
      'closed>open:failMax',
      'open>half-open:resetTimeout',
      'half-open>closed:trialSucceeded',
    ]);
    expect(transitions.map((t) => t.generation)).toEqual([1, 2, 3]);
  });

  it('an aborted trial gives its permit back; a stale ticket changes nothing', () => {
    const { circuit } = machine({ halfOpenMaxCalls: 1 });
    const stale = circuit.acquire();
    circuit.apply('half-open');
    const trial = circuit.acquire();
    if (!trial.allowed || !stale.allowed) throw new Error('refused');
    circuit.release(trial, 'aborted');
    expect(circuit.phase).toEqual({ mode: 'half-open', permits: 1, inFlight: 0, successes: 0 });
    circuit.release(stale, 'failure');
    expect(circuit.phase.mode).toBe('half-open');
    expect(circuit.failures).toBe(0);
  });

  it('a forced mode keeps the state it was forced in and ends closed', () => {
    const { circuit, transitions } = machine();
    fail(circuit);
    fail(circuit);
    circuit.apply('force-open');
    expect(circuit.phase).toEqual({ mode: 'forced-open', state: 'open' });
    expect([circuit.state, circuit.forced]).toEqual(['open', 'forced-open']);
    expect(circuit.acquire()).toMatchObject({ allowed: false, retryAfter: Infinity });
    circuit.apply('disable');
    expect(circuit.phase).toEqual({ mode: 'disabled', state: 'open' });
    expect(circuit.acquire()).toMatchObject({ allowed: true, kind: 'bypass' });
    circuit.apply('clear-forced');
    expect(circuit.phase).toEqual({ mode: 'closed' });
    expect(transitions.at(-1)).toMatchObject({
      fromForced: 'disabled',
      forced: null,
      to: 'closed',
    });
  });

  it('a manual change that repeats the state restarts its counters but announces nothing', () => {
    const { circuit, transitions } = machine({ failMax: 5 });
    fail(circuit);
    circuit.apply('close');
    expect(circuit.failures).toBe(0);
    expect(transitions).toEqual([]);
  });
});
