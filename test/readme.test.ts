/**
 * The docs' examples work when pasted: every ```ts block of README.md and docs/*.md runs here as
 * its own module (the package name resolves to the sources, see vitest.config.ts). Requests to
 * *.example.com are answered by msw, and REDIS_URL points at a redis-server of the test's own, so
 * nothing leaves the machine. A block that needs something the test cannot give (a NestJS
 * application) says `// not runnable: <why>`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  awaitMain,
  blocksOf,
  docFiles,
  promisedOutput,
  quickStarts,
  root,
} from './helpers/doc-blocks.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

const blocks = docFiles.flatMap(blocksOf);
const runnable = blocks.filter((block) => block.notRunnable === null);
const dir = `${root}.tmp/readme`;

const upstream = setupServer(
  http.all(/^https?:\/\/([a-z]+\.)*example\.com\//, () => HttpResponse.json({ ok: true })),
);

/** Runs `code` as a module of its own and returns what it logged. */
async function run(name: string, code: string): Promise<string[]> {
  const file = `${dir}/${name.replace(/[^a-z0-9]+/gi, '-')}.ts`;
  writeFileSync(file, awaitMain(code));
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
  });
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    log.mockRestore();
  }
  return lines;
}

describe('the examples of README.md and docs/*.md', () => {
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

  it('finds the examples of every doc, and a reason for each one that cannot run', () => {
    expect(docFiles).toEqual(expect.arrayContaining(['README.md', 'docs/http-clients.md']));
    expect(runnable.length).toBeGreaterThan(20);
    for (const block of blocks) {
      if (block.notRunnable !== null) {
        expect(block.notRunnable, `${block.file}:${block.line} says why`).not.toBe('');
      }
    }
  });

  it.each(runnable.map((block) => [`${block.file}:${block.line}`, block.code] as const))(
    '%s runs and logs what its comments say',
    async (name, code) => {
      const lines = await run(name, code);
      // In order, other lines between: a subsequence of what the block logged.
      let next = 0;
      for (const line of lines) if (line === promisedOutput(code)[next]) next++;
      expect(promisedOutput(code).slice(next), `not logged (in order) by ${name}`).toEqual([]);
    },
  );

  it('the first quick start prints what its comments promise', async () => {
    const [first] = quickStarts();
    const lines = await run('quick-start', first?.code ?? '');
    expect(lines.slice(0, 5)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `attempt ${n}: failed (${n} in a row)`),
    );
    expect(lines[5]).toMatch(/^attempt 6: not even tried, retry in \d+ ms$/);
    expect(lines.slice(-2)).toEqual(['open', 'CircuitBreakerError']);
  });

  it('the HTTP quick starts reach the host through the breaker', async () => {
    const http = quickStarts().slice(1);
    expect(http.map((block) => /from 'infuse-breaker\/(\w+)'/.exec(block.code)?.[1])).toEqual([
      'axios',
      'ky',
      'got',
      'fetch',
    ]);
    for (const block of http) {
      const lines = await run(`quick-start-${block.line}`, block.code);
      expect(lines, `${block.file}:${block.line}`).toEqual([
        block.code.includes('response.status') ? '200' : '{"ok":true}',
      ]);
    }
  });
});
