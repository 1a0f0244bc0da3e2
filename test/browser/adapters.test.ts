/**
 * The adapters in a real headless Chromium (Debian's `chromium`, driven by playwright-core), on a
 * page bundled by esbuild from the package's ESM build: for fetch, ky (both forms), axios
 * (instance) and axios (interceptor), a circuit opens on 5xx, refuses before sending, half-opens and closes, and a
 * relative URL is keyed by the page's host. Also prints what each entry point adds to a browser
 * bundle, minified and gzipped (the figures in README.md).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { eventually } from '../helpers/eventually.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The page's bundle, from dist/ as `npm run build` writes it. */
async function bundlePage(): Promise<string> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const result = await build({
    entryPoints: [`${ROOT}test/browser/page.js`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

/** Minified and gzipped bytes one entry point adds to a browser bundle, its client left out. */
async function bundleSize(entry: string): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: { contents: `export * from './dist/${entry}.js';`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    external: ['axios', 'ky'],
    write: false,
    logLevel: 'error',
  });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.length, gzipped: gzipSync(code).length };
}

type Client = 'fetch' | 'ky' | 'ky hooks' | 'axios' | 'axios interceptor';
const CLIENTS: Client[] = ['fetch', 'ky', 'ky hooks', 'axios', 'axios interceptor'];

describe('the adapters in headless Chromium', () => {
  let server: Server | undefined;
  let origin: string;
  let host: string;
  let browser: Browser | undefined;
  let page: Page;
  let failing = false;
  let apiHits = 0;
  const problems: string[] = [];

  beforeAll(async () => {
    const script = await bundlePage();
    server = createServer((request, response) => {
      const path = request.url ?? '/';
      if (path === '/') {
        response.setHeader('content-type', 'text/html');
        response.end(
          '<!doctype html><title>infuse-breaker</title><script type="module" src="/page.js"></script>',
        );
      } else if (path === '/page.js') {
        response.setHeader('content-type', 'text/javascript');
        response.end(script);
      } else if (path.startsWith('/api/')) {
        apiHits++;
        response.writeHead(failing ? 503 : 200).end(failing ? 'down' : 'ok');
      } else {
        response.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    origin = `http://127.0.0.1:${port}`;
    host = `127.0.0.1:${port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(origin);
    await page.waitForFunction(() => 'call' in globalThis);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    server?.close();
  });

  const call = (client: Client) =>
    page.evaluate(
      ([name]) =>
        (globalThis as unknown as { call: (c: string, p: string) => Promise<unknown> }).call(
          name,
          '/api/data',
        ),
      [client] as const,
    );
  const circuits = (client: Client) =>
    page.evaluate(
      ([name]) => (globalThis as unknown as { circuits: (c: string) => unknown }).circuits(name),
      [client] as const,
    );

  it.each(CLIENTS)(
    '%s: opens on 5xx, refuses before sending, half-opens and closes; keyed by the page host',
    async (client) => {
      failing = true;
      expect(await call(client)).toEqual({ status: 503 });
      expect(await call(client)).toEqual({ status: 503 });
      expect(await circuits(client)).toEqual([{ key: host, state: 'open' }]);
      const seen = apiHits;
      expect(await call(client)).toEqual({ refused: host, state: 'open' });
      expect(apiHits).toBe(seen);

      failing = false;
      // After resetTimeout (300 ms) the next call is the trial; it succeeds and closes the circuit.
      await eventually(async () => expect(await call(client)).toEqual({ status: 200 }));
      expect(apiHits).toBe(seen + 1);
      expect(await circuits(client)).toEqual([{ key: host, state: 'closed' }]);
      expect(problems).toEqual([]);
    },
  );

  it('reports what each entry point adds to a browser bundle', async () => {
    const sizes: Record<string, { minified: number; gzipped: number }> = {};
    for (const entry of ['index', 'fetch', 'ky', 'axios']) sizes[entry] = await bundleSize(entry);
    console.log(
      'browser bundle sizes (minified / gzipped bytes, client excluded):\n' +
        Object.entries(sizes)
          .map(([entry, { minified, gzipped }]) => `  ${entry}: ${minified} / ${gzipped}`)
          .join('\n'),
    );
    // A budget: what the README promises a browser app pays for the breaker.
    for (const { gzipped } of Object.values(sizes)) expect(gzipped).toBeLessThan(12_000);
  });
});
