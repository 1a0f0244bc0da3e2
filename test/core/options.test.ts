import { describe, expect, it } from 'vitest';
import { Infuse, MemoryStore, type InfuseOptions } from '../../src/index.js';

function build(options: unknown): () => Infuse {
  return () => new Infuse(options as InfuseOptions);
}

describe('options', () => {
  it.each([
    [{ failMax: -1 }, /option "failMax" must be a positive integer; got -1/],
    [{ failMax: 0 }, /"failMax" must be a positive integer; got 0/],
    [{ failMax: 2.5 }, /"failMax" must be a positive integer; got 2.5/],
    [{ failMax: '5' }, /"failMax" must be a positive integer; got "5"/],
    [
      { resetTimeout: Infinity },
      /"resetTimeout" must be a finite number of milliseconds, 0 or more; got Infinity/,
    ],
    [{ resetTimeout: NaN }, /"resetTimeout" .* got NaN/],
    [{ resetTimeout: -5 }, /"resetTimeout" .* got -5/],
    [{ halfOpenMaxCalls: 0 }, /"halfOpenMaxCalls" must be a positive integer; got 0/],
    [
      { failureRate: { threshold: 1.5 } },
      /"failureRate.threshold" must be a number from 0 to 1; got 1.5/,
    ],
    [{ failureRate: { threshold: -0.1 } }, /"failureRate.threshold" .* got -0.1/],
    [
      { failureRate: { threshold: 0.5, minimumCalls: 0 } },
      /"failureRate.minimumCalls" must be a positive integer; got 0/,
    ],
    [
      { failureRate: { threshold: 0.5, window: 0 } },
      /"failureRate.window" must be more than 0 ms; got 0/,
    ],
    [{ failureRate: { threshold: 0.5, windw: 10 } }, /unknown option "failureRate.windw"/],
    [{ failMaxx: 3 }, /unknown option "failMaxx"; known options are: failMax, resetTimeout/],
    [
      { exclude: ['TypeError'] },
      /"exclude\[0\]" must be an error class or a predicate function; got "TypeError"/,
    ],
    [{ exclude: TypeError }, /"exclude" must be an array; got a function \(TypeError\)/],
    [{ isFailure: true }, /"isFailure" must be a function; got true/],
    [
      { initialState: 'opened' },
      /"initialState" must be one of closed, open, half-open, forced-open, disabled; got "opened"/,
    ],
    [{ maxCircuits: 0 }, /"maxCircuits" must be a positive integer; got 0/],
    [{ stackTraces: 'yes' }, /"stackTraces" must be a boolean; got "yes"/],
    [{ store: {} }, /"store" must be a store \(such as new MemoryStore\(\)\); got an object/],
    [
      { circuits: { 'api.example.com': { failMax: -2 } } },
      /option "circuits\["api.example.com"\].failMax" must be a positive integer; got -2/,
    ],
    [
      { circuits: { 'api.example.com': { store: new MemoryStore() } } },
      /unknown option "circuits\["api.example.com"\].store"/,
    ],
    [
      { circuits: { 'a*.example.com': {} } },
      /has the key "a\*.example.com"; use an exact key or a pattern of the form "\*.example.com"/,
    ],
    [{ circuits: { x: 5 } }, /option "circuits\["x"\]" must be an object of options; got 5/],
  ])('rejects %j at construction with a TypeError that names it', (options, message) => {
    expect(build(options)).toThrow(TypeError);
    expect(build(options)).toThrow(message);
  });

  it("accepts the documented options and leaves the caller's object untouched", () => {
    const options = {
      failMax: 5,
      resetTimeout: 60_000,
      halfOpenMaxCalls: 2,
      failureRate: { threshold: 0.5, minimumCalls: 20, window: 10_000 },
      exclude: [TypeError, () => false],
      circuits: { 'api.example.com': { failMax: 10 } },
    };
    const copy = structuredClone({ ...options, exclude: [] });
    new Infuse(options);
    expect({ ...options, exclude: [] }).toEqual(copy);
    expect(options.exclude).toHaveLength(2);
  });

  describe('per-key circuits', () => {
    const infuse = new Infuse({
      failMax: 1,
      resetTimeout: 1_000,
      circuits: {
        'api.example.com': { failMax: 3 },
        '*.example.com': { failMax: 4, resetTimeout: 2_000 },
        '*.eu.example.com': { failMax: 6 },
      },
    });
    const failMaxOf = async (key: string) => {
      const circuit = infuse.circuit(key);
      let n = 0;
      while (circuit.state === 'closed' && n < 20) {
        n++;
        await circuit.call(() => Promise.reject(new Error('x'))).catch(() => undefined);
      }
      return n;
    };

    it('an exact key beats a pattern', async () => {
      expect(await failMaxOf('api.example.com')).toBe(3);
    });
    it('a longer pattern beats a shorter one', async () => {
      expect(await failMaxOf('db.eu.example.com')).toBe(6);
      expect(await failMaxOf('www.example.com')).toBe(4);
    });
    it('a pattern does not match the bare domain; unmatched keys use the top level', async () => {
      expect(await failMaxOf('example.com')).toBe(1);
      expect(await failMaxOf('other.test')).toBe(1);
    });
    it('unset options fall back to the top level', async () => {
      const circuit = infuse.circuit('deep.eu.example.com');
      await failMaxOf('deep.eu.example.com');
      // resetTimeout is unset on '*.eu.example.com': the top-level 1 000 ms applies, not the
      // shorter pattern's 2 000 ms.
      const error = await circuit.call(() => Promise.resolve()).catch((e: unknown) => e);
      expect((error as { retryAfter: number }).retryAfter).toBeLessThanOrEqual(1_000);
    });
  });

  it('rejects a key that is not a non-empty string', () => {
    const infuse = new Infuse();
    expect(() => infuse.circuit('')).toThrow(/circuit key must be a non-empty string; got ""/);
    expect(() => infuse.circuit(42 as unknown as string)).toThrow(/got 42/);
  });
});
