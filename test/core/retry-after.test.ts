/**
 * honorRetryAfter in the core: reading the header, which responses it applies to, its bounds and
 * options, on a test clock with exact times. How a store opens and re-opens on it (every store,
 * fleet-wide with a shared one) is in the store contract (test/contract/policy-contract.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/core/retry-after.js';
import {
  CircuitBreakerError,
  Infuse,
  type InfuseOptions,
  type StateChangeEvent,
} from '../../src/index.js';

const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['9999999999', 9_999_999_999_000],
    [' 7 ', 7_000],
    ['Wed, 02 Dec 2026 08:00:30 GMT', 30_000],
    ['Wednesday, 02-Dec-26 08:01:00 GMT', 60_000],
    ['Wed Dec  2 08:00:05 2026', 5_000],
    ['wed, 02 dec 2026 08:00:30 gmt', 30_000],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each([
    '0',
    '-5',
    '1.5',
    '',
    'soon',
    '12 seconds',
    'Wed, 02 Dec 2026 07:59:59 GMT', // past
    'Wed, 02 Dec 2026 08:00:00 GMT', // now
    'Wed, 31 Feb 2026 08:00:00 GMT', // no such day
    'Wed, 02 Dec 2026 25:00:00 GMT',
    'Wed, 02 Dec 2026 08:00:30 +0100',
    '2026-12-02T08:00:30Z',
  ])('ignores %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeNull();
  });

  it('reads a two-digit year within 50 years ahead as this century, else the last', () => {
    expect(parseRetryAfter('Friday, 02-Dec-50 08:00:00 GMT', NOW)).toBeGreaterThan(0);
    expect(parseRetryAfter('Monday, 02-Dec-99 08:00:00 GMT', NOW)).toBeNull(); // 1999
  });
});

function setup(options: InfuseOptions) {
  let now = NOW;
  const infuse = new Infuse({ clock: { now: () => now }, ...options });
  const changes: StateChangeEvent[] = [];
  infuse.on('stateChange', (event) => changes.push(event));
  const advance = (ms: number) => {
    now += ms;
  };
  const respond = async (key: string, status: number, retryAfter?: string) => {
    const permit = await infuse.circuit(key).acquire();
    return permit.settle(retryAfter === undefined ? { status } : { status, retryAfter });
  };
  const refusal = (key: string) =>
    infuse
      .circuit(key)
      .call(() => 'ran')
      .then(
        () => {
          throw new Error('expected a refusal');
        },
        (error: unknown) => {
          if (!(error instanceof CircuitBreakerError)) throw error;
          return error;
        },
      );
  return { infuse, changes, advance, respond, refusal };
}

describe('honorRetryAfter', () => {
  it('is off by default: a 429 with Retry-After is not a failure and opens nothing', async () => {
    const { infuse, respond } = setup({ failMax: 1 });
    await expect(respond('api', 429, '30')).resolves.toBe('success');
    expect(infuse.circuit('api').state).toBe('closed');
  });

  it('takes an HTTP-date, and opens on 503 as well by default', async () => {
    const { advance, respond, refusal } = setup({ honorRetryAfter: true });
    await expect(respond('api', 503, 'Wed, 02 Dec 2026 08:02:00 GMT')).resolves.toBe('failure');
    advance(60_000);
    expect((await refusal('api')).retryAfter).toBe(60_000);
  });

  it('bounds the time by max, and honours only the statuses given', async () => {
    const { infuse, respond, refusal } = setup({
      honorRetryAfter: { statuses: [503], max: 5_000 },
    });
    await respond('api', 429, '3600');
    expect(infuse.circuit('api').state).toBe('closed');
    await respond('api', 503, '3600');
    expect((await refusal('api')).retryAfter).toBe(5_000);
  });

  it('ignores malformed and past values without throwing', async () => {
    const { infuse, respond } = setup({ honorRetryAfter: true, failMax: 100 });
    for (const value of ['soon', '-1', 'Tue, 01 Dec 2026 08:00:00 GMT', '']) {
      await expect(respond('api', 429, value)).resolves.toBe('success');
    }
    expect(infuse.circuit('api').state).toBe('closed');
  });

  it('can be set per key, and turned off for one key', async () => {
    const { infuse, respond } = setup({
      honorRetryAfter: true,
      circuits: { calm: { honorRetryAfter: false }, 'api.example.com': { failMax: 3 } },
    });
    await respond('calm', 429, '30');
    await respond('api.example.com', 429, '30');
    expect(infuse.circuit('calm').state).toBe('closed');
    expect(infuse.circuit('api.example.com').state).toBe('open');
  });

  it('rejects bad option values at construction, naming them', () => {
    expect(() => new Infuse({ honorRetryAfter: 'yes' as never })).toThrow(
      'option "honorRetryAfter" must be a boolean or an object',
    );
    expect(() => new Infuse({ honorRetryAfter: { statuses: [] } })).toThrow(
      'option "honorRetryAfter.statuses" must be a non-empty array of HTTP statuses',
    );
    expect(() => new Infuse({ honorRetryAfter: { max: -1 } })).toThrow(
      'option "honorRetryAfter.max" must be a finite number',
    );
    expect(
      () => new Infuse({ circuits: { a: { honorRetryAfter: { maxi: 1 } as never } } }),
    ).toThrow('unknown option "circuits["a"].honorRetryAfter.maxi"');
  });
});
