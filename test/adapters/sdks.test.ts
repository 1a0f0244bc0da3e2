// Real SDKs (OpenAI, Octokit with plugin-retry, Stripe) driven through infuseFetch and
// infuseUndici against a local server: their timeouts open the circuit, a refusal reaches no
// socket, is not retried where the SDK lets us say so, and isCircuitBreakerError finds it in the
// error each SDK wraps it in.
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import OpenAI from 'openai';
import Stripe from 'stripe';
import { Agent, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { infuseFetch } from '../../src/adapters/fetch.js';
import { infuseUndici } from '../../src/adapters/undici.js';
import { findCircuitBreakerError, Infuse, isCircuitBreakerError } from '../../src/index.js';
import { record, rejectionOf, useServers } from './helpers.js';

const net = useServers();

/** The two ways an SDK's requests reach the breaker: its `fetch`, or undici's dispatcher. */
const WAYS = ['infuseFetch', 'infuseUndici'] as const;
type Way = (typeof WAYS)[number];

/** A fetch for an SDK, guarded one way or the other by `infuse` (plus adapter options). */
function guardedFetch(
  way: Way,
  infuse: Infuse,
  options: { countAborts?: boolean; timeout?: number } = {},
): typeof fetch {
  if (way === 'infuseFetch') return infuseFetch({ infuse, ...options });
  const dispatcher = new Agent().compose(infuseUndici({ infuse, ...options }));
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

describe.each(WAYS)('OpenAI through %s', (way) => {
  const client = (infuse: Infuse, route: string, options = {}, sdk = {}) =>
    new OpenAI({
      apiKey: 'sk-test',
      baseURL: `${net.up.origin}/${route}`,
      fetch: guardedFetch(way, infuse, options),
      ...sdk,
    });
  const ask = (openai: OpenAI) =>
    rejectionOf(
      openai.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );

  it('its own timeout (a bare abort()) is a caller abort unless countAborts is set', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const plain = client(infuse, 'hang', {}, { timeout: 150, maxRetries: 0 });
    for (let i = 0; i < 2; i++) await ask(plain);
    expect(infuse.circuit(net.up.host).state).toBe('closed');

    const counted = client(infuse, 'hang', { countAborts: true }, { timeout: 150, maxRetries: 0 });
    for (let i = 0; i < 2; i++) await ask(counted);
    expect(infuse.circuit(net.up.host).state).toBe('open');
  });

  it("the breaker's own timeout counts, whatever the SDK's", async () => {
    const infuse = new Infuse({ failMax: 2 });
    const openai = client(infuse, 'hang', { timeout: 150 }, { timeout: 60_000, maxRetries: 0 });
    for (let i = 0; i < 2; i++) await ask(openai);
    expect(infuse.circuit(net.up.host).state).toBe('open');
  });

  it('once open, a call reaches no socket and its APIConnectionError carries the refusal', async () => {
    const infuse = new Infuse({ failMax: 1 });
    await infuse.circuit(net.up.host).open();
    const seen = net.up.hits;
    const error = await ask(client(infuse, 'ok', {}, { maxRetries: 0 }));
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(isCircuitBreakerError(error)).toBe(true);
    expect(findCircuitBreakerError(error)?.key).toBe(net.up.host);
    expect(net.up.hits).toBe(seen);
  });
});

/**
 * The recipe: a plugin composed before plugin-retry that tells it not to retry a refusal (its
 * error hook runs first, and plugin-retry reads `request.retries` per request).
 */
function refusalsNotRetried(octokit: Octokit): void {
  octokit.hook.error('request', (error, options) => {
    if (isCircuitBreakerError(error)) options.request.retries = 0;
    throw error;
  });
}

describe.each(WAYS)('Octokit with plugin-retry through %s', (way) => {
  it('a circuit that opens during its retries ends them with the refusal, no socket used', async () => {
    const infuse = new Infuse({ failMax: 2 });
    const RetryingOctokit = Octokit.plugin(refusalsNotRetried, retry);
    const octokit = new RetryingOctokit({
      baseUrl: `${net.up.origin}/status/500`,
      request: { fetch: guardedFetch(way, infuse) },
      retry: { retryAfterBaseValue: 1 },
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const events = record(infuse);
    const seen = net.up.hits;
    const error = await rejectionOf(
      octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' }),
    );
    expect(net.up.hits - seen).toBe(2);
    // One refusal: plugin-retry did not retry it (it would have, three times, without the recipe).
    expect(events.verdicts()).toEqual(['failure', 'failure', 'reject']);
    expect(isCircuitBreakerError(error)).toBe(true);
    expect(infuse.circuit(net.up.host).state).toBe('open');
  });
});

describe.each(WAYS)('Stripe through %s', (way) => {
  it('once open, a call reaches no socket and its StripeConnectionError carries the refusal', async () => {
    const infuse = new Infuse({ failMax: 1 });
    await infuse.circuit(net.up.host).open();
    const { port } = new URL(net.up.origin);
    const stripe = new Stripe('sk_test_123', {
      httpClient: Stripe.createFetchHttpClient(guardedFetch(way, infuse)),
      host: '127.0.0.1',
      port: Number(port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    const seen = net.up.hits;
    const error = await rejectionOf(stripe.customers.retrieve('cus_123'));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(isCircuitBreakerError(error)).toBe(true);
    expect(net.up.hits).toBe(seen);
  });
});
