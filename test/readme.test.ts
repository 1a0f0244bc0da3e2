/**
 * The README's examples work when pasted: every ```ts block that imports from 'infuse-breaker'
 * runs here as its own module (the package name resolves to the sources, see vitest.config.ts).
 * Requests to *.example.com are answered by msw, and REDIS_URL points at a redis-server of the
 * test's own, so nothing leaves the machine. A block that needs something the test cannot give (a
 * NestJS application) says `// not runnable`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1] ?? '')
  .filter(
    (code) => /from 'infuse-breaker(\/[a-z]+)?'/.test(code) && !code.includes('// not runnable'),
  );
const dir = `${root}.tmp/readme`;

const upstream = setupServer(
  http.all(/^https?:\/\/([a-z]+\.)*example\.com\//, () => HttpResponse.json({ ok: true })),
);

describe('README examples', () => {
  mkdirSync(dir, { recursive: true });
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    upstream.listen({ onUnhandledRequest: 'error' });
    redis = await startRedis();
    process.env.REDIS_URL = redis.url;
  });
  afterAll(async () => {
    upstream.close();
    delete process.env.REDIS_URL;
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has runnable examples', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((code, index) => [index + 1, code] as const))(
    'example %i runs',
    async (index, code) => {
      const file = `${dir}/example-${index}.ts`;
      writeFileSync(file, code);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        log.mockRestore();
      }
    },
  );

  it('the quick start prints what its comments promise', async () => {
    const quickStart = blocks[0] ?? '';
    const file = `${dir}/quick-start.ts`;
    writeFileSync(file, quickStart);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      log.mockRestore();
    }
    expect(lines.slice(0, 5)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `attempt ${n}: failed (${n} in a row)`),
    );
    expect(lines[5]).toMatch(/^attempt 6: not even tried, retry in \d+ ms$/);
    expect(lines.slice(-2)).toEqual(['open', 'CircuitBreakerError']);
  });
});
