/** CircuitBreakerError.cause: the failure that tripped the circuit travels with the refusals. */
import { describe, expect, it } from 'vitest';
import { CircuitBreakerError, Infuse } from '../../src/index.js';

async function refusalOf(infuse: Infuse, key: string): Promise<CircuitBreakerError> {
  const error: unknown = await infuse
    .circuit(key)
    .call(() => 'ran')
    .catch((e: unknown) => e);
  if (!(error instanceof CircuitBreakerError))
    throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

describe('CircuitBreakerError.cause', () => {
  it('is what the call that tripped the circuit threw', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const first = new Error('first');
    const last = new Error('connection reset');
    await infuse
      .circuit('db')
      .call(() => Promise.reject(first))
      .catch(() => undefined);
    await infuse
      .circuit('db')
      .call(() => Promise.reject(last))
      .catch(() => undefined);
    const refusal = await refusalOf(infuse, 'db');
    expect(refusal.cause).toBe(last);
    expect((await refusalOf(infuse, 'db')).cause).toBe(last);
  });

  it('names the status of a failing response that threw nothing', async () => {
    const infuse = new Infuse({ failMax: 1 });
    const permit = await infuse.circuit('api.example.com').acquire();
    await permit.settle({ status: 503, method: 'GET', url: 'https://api.example.com/v1/users' });
    const { cause } = await refusalOf(infuse, 'api.example.com');
    expect(cause).toBeInstanceOf(Error);
    expect((cause as Error).message).toBe(
      'infuse-breaker: the response to GET https://api.example.com/v1/users had status 503',
    );
  });

  it('is the failed trial that re-opened a half-open circuit', async () => {
    let now = 0;
    const infuse = new Infuse({ failMax: 1, resetTimeout: 1_000, clock: { now: () => now } });
    const circuit = infuse.circuit('k');
    await circuit.call(() => Promise.reject(new Error('first'))).catch(() => undefined);
    now += 1_000;
    const trialError = new Error('trial');
    await circuit.call(() => Promise.reject(trialError)).catch(() => undefined);
    expect(circuit.state).toBe('open');
    expect((await refusalOf(infuse, 'k')).cause).toBe(trialError);
  });

  it('is absent for a circuit opened by hand or forced open, and when the error is not counted', async () => {
    const infuse = new Infuse({ failMax: 1, circuits: { c: { failMax: 2 } } });
    await infuse.circuit('a').open();
    expect('cause' in (await refusalOf(infuse, 'a'))).toBe(false);
    await infuse.circuit('b').forceOpen();
    expect('cause' in (await refusalOf(infuse, 'b'))).toBe(false);
    await infuse
      .circuit('c')
      .call(() => Promise.reject(new Error('x')))
      .catch(() => undefined);
    await infuse.circuit('c').open();
    expect((await refusalOf(infuse, 'c')).cause).toBeUndefined();
  });
});
