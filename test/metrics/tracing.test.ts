/**
 * instrumentOpenTelemetry on spans: the breaker's events land on the span active where they
 * happen, recorded by the real SDK (BasicTracerProvider → SimpleSpanProcessor →
 * InMemorySpanExporter).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT,
  context,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Infuse, type InfuseOptions } from '../../src/index.js';
import {
  instrumentOpenTelemetry,
  type OpenTelemetryMetrics,
} from '../../src/metrics/opentelemetry.js';
import { boom, ignore, ok } from './calls.js';

/**
 * What @opentelemetry/context-async-hooks provides (not installed here): the active context
 * follows async continuations, as in any Node tracing setup.
 */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    const fn = target as unknown as Function;
    return ((...args: unknown[]) => this.with(ctx, () => fn(...args) as unknown)) as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalContextManager());
});
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});

const opened: { infuse: Infuse[]; metrics: OpenTelemetryMetrics[] } = { infuse: [], metrics: [] };
afterEach(async () => {
  for (const instrumentation of opened.metrics.splice(0)) instrumentation.stop();
  for (const infuse of opened.infuse.splice(0)) await infuse.shutdown();
  exporter.reset();
});

function setup(options: InfuseOptions, tracing?: boolean) {
  const infuse = new Infuse(options);
  opened.infuse.push(infuse);
  opened.metrics.push(instrumentOpenTelemetry(infuse, tracing === undefined ? {} : { tracing }));
  return infuse;
}

/** Runs `fn` inside a span named `name`, ends it, and returns its events as `[name, attributes]`. */
async function inSpan(name: string, fn: () => Promise<unknown>) {
  await tracer.startActiveSpan(name, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
  });
  const finished = exporter.getFinishedSpans().find((span) => span.name === name);
  if (finished === undefined) throw new Error(`span ${name} was not exported`);
  return finished.events.map((event) => [event.name, event.attributes]);
}

describe('instrumentOpenTelemetry: span events', () => {
  it('records a failing call, the transition it caused, and a refusal, on the active span', async () => {
    const infuse = setup({ failMax: 1, resetTimeout: 30_000 });
    const events = await inSpan('checkout', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1)); // the context survives awaits
      await infuse.circuit('api.example.com').call(boom).catch(ignore);
      await infuse.circuit('api.example.com').call(ok).catch(ignore);
    });
    expect(events).toEqual([
      [
        'infuse_breaker.call.completed',
        {
          'infuse_breaker.circuit.key': 'api.example.com',
          'infuse_breaker.call.outcome': 'failure',
        },
      ],
      [
        'infuse_breaker.circuit.transition',
        {
          'infuse_breaker.circuit.key': 'api.example.com',
          'infuse_breaker.transition.from': 'closed',
          'infuse_breaker.transition.to': 'open',
          'infuse_breaker.transition.reason': 'failMax',
        },
      ],
      [
        'infuse_breaker.call.rejected',
        {
          'infuse_breaker.circuit.key': 'api.example.com',
          'infuse_breaker.circuit.state': 'open',
          // seconds to retry: 30 less the time the test took since the trip (generous: CI is slow)
          'infuse_breaker.circuit.retry_after': expect.toSatisfy(
            (seconds: number) => seconds > 25 && seconds <= 30,
          ) as unknown,
        },
      ],
    ]);
  });

  it('marks a call a circuit in shadow mode let through, and leaves out the retry time while forced open', async () => {
    const infuse = setup({ shadow: true, circuits: { held: { shadow: false } } });
    await infuse.circuit('canary').forceOpen();
    await infuse.circuit('held').forceOpen();
    const events = await inSpan('request', async () => {
      await infuse.circuit('canary').call(ok);
      await infuse.circuit('held').call(ok).catch(ignore);
    });
    expect(events).toEqual([
      [
        'infuse_breaker.call.rejected',
        {
          'infuse_breaker.circuit.key': 'canary',
          'infuse_breaker.circuit.state': 'forced-open',
          'infuse_breaker.call.shadow': true,
        },
      ],
      [
        'infuse_breaker.call.rejected',
        { 'infuse_breaker.circuit.key': 'held', 'infuse_breaker.circuit.state': 'forced-open' },
      ],
    ]);
  });

  it('records the outcome of each guarded call, each on its own span', async () => {
    const infuse = setup({});
    const first = await inSpan('first', () => infuse.circuit('a').call(ok));
    const second = await inSpan('second', () => infuse.circuit('b').call(boom).catch(ignore));
    expect(first).toEqual([
      [
        'infuse_breaker.call.completed',
        { 'infuse_breaker.circuit.key': 'a', 'infuse_breaker.call.outcome': 'success' },
      ],
    ]);
    expect(second).toEqual([
      [
        'infuse_breaker.call.completed',
        { 'infuse_breaker.circuit.key': 'b', 'infuse_breaker.call.outcome': 'failure' },
      ],
    ]);
  });

  it('records nothing with tracing: false, and nothing (without failing) where no span is active', async () => {
    const quiet = setup({ failMax: 1 }, false);
    const events = await inSpan('quiet', () => quiet.circuit('a').call(boom).catch(ignore));
    expect(events).toEqual([]);
    const outside = setup({ failMax: 1 });
    await outside.circuit('a').call(boom).catch(ignore);
    await expect(outside.circuit('a').call(ok)).rejects.toThrow('is open');
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['quiet']);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('rejects a tracing option that is not a boolean', () => {
    expect(() => instrumentOpenTelemetry(new Infuse(), { tracing: 'yes' as never })).toThrow(
      'option "tracing" must be a boolean; got "yes"',
    );
  });
});
