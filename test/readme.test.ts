/**
 * The docs' examples work when pasted: every ```ts block of README.md and docs/*.md runs here as
 * its own module (the package name resolves to the sources, see vitest.config.ts). Requests to
 * *.example.com are answered by msw, and REDIS_URL points at a redis-server of the test's own, so
 * nothing leaves the machine. A block that needs something the test cannot give (a NestJS
 * application) says `// not runnable: <why>`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { format } from 'node:util';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  awaitMain,
  blocksOf,
  docFiles,
  promisedOutput,
  quickStartOutput,
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
    lines.push(format(...args));
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

  it('the quick starts, one per client, log what they promise', async () => {
    const starts = quickStarts();
    expect(starts.map((block) => /from 'infuse-breaker\/(\w+)'/.exec(block.code)?.[1])).toEqual([
      undefined,
      'axios',
      'ky',
      'got',
      'fetch',
    ]);
    const output = quickStartOutput();
    for (const [index, block] of starts.entries()) {
      const lines = await run(`quick-start-${block.line}`, block.code);
      expect(lines, `${block.file}:${block.line}`).toEqual(output[index]);
    }
  });
});
