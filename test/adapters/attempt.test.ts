// The one attempt lifecycle every adapter drives (src/adapters/attempt.ts), seen from an adapter:
// clients report one attempt from several places (got's hooks, its promise and its stream), and a
// call can end while a shared store is still deciding whether its next attempt may go.
import { describe, expect, it } from 'vitest';
import { HttpAttempt } from '../../src/adapters/attempt.js';
import { Infuse } from '../../src/index.js';
import { lateStore, record } from './helpers.js';

const URL_ = 'http://api.test/users?id=1';

describe('HttpAttempt', () => {
  it('counts an attempt once, by whichever report comes first', () => {
    const infuse = new Infuse({ failMax: 5 });
    const events = record(infuse);
    const attempt = new HttpAttempt(infuse.circuit('api.test'), false, 'get', URL_);
    expect(attempt.ask()).toBeUndefined();
    // The in-memory store counts at once: no promise to wait for.
    expect(attempt.respond(503, ['7', '9'])).toBeUndefined();
    expect(attempt.fail(new Error('reported again'))).toBeUndefined();
    expect(attempt.respond(200)).toBeUndefined();
    expect(events.verdicts()).toEqual(['failure']);
    expect(attempt).toMatchObject({
      status: 503,
      retryAfter: '7',
      method: 'GET',
      url: 'http://api.test/users',
    });
    expect('error' in attempt).toBe(false);
  });

  it('an attempt that ends while its permit is on its way gives the permit back when it comes', async () => {
    const infuse = new Infuse({ failMax: 1, halfOpenMaxCalls: 1, store: lateStore() });
    const events = record(infuse);
    const circuit = infuse.circuit('api.test');
    await circuit.halfOpen();
    const cancelled = new HttpAttempt(circuit, false, 'GET', URL_);
    const late = cancelled.ask();
    expect(late).toBeInstanceOf(Promise);
    expect(cancelled.fail(new Error('cancelled by the caller'))).toBeUndefined();
    await late;
    expect(events.verdicts()).toEqual(['aborted']);
    // The half-open trial is free again: the next attempt gets it and closes the circuit.
    const next = new HttpAttempt(circuit, false, 'GET', URL_);
    await next.ask();
    await next.respond(200);
    expect(events.verdicts()).toEqual(['aborted', 'success']);
    expect(circuit.state).toBe('closed');
  });

  it('judges aborts by the countAborts option and the reason', () => {
    const infuse = new Infuse();
    const timeout = new DOMException('late', 'TimeoutError');
    const lenient = new HttpAttempt(infuse.circuit('a.test'), false, 'GET', URL_);
    const strict = new HttpAttempt(infuse.circuit('a.test'), true, 'GET', URL_);
    expect(lenient.callersAbort(new Error('stop'))).toBe(true);
    expect(lenient.callersAbort(timeout)).toBe(false);
    expect(strict.callersAbort(new Error('stop'))).toBe(false);
  });
});
