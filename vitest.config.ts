import { defineConfig } from 'vitest/config';

import { fileURLToPath } from 'node:url';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  plugins: [
    {
      // src/redis/scripts/*.lua import as their text, as the build makes them (tsup.config.ts).
      name: 'lua-text',
      transform: (code, id) =>
        id.endsWith('.lua') ? `export default ${JSON.stringify(code)};` : null,
    },
  ],
  resolve: {
    // The README's examples import the package by name; in tests the name means the sources.
    alias: [
      { find: /^infuse-breaker$/, replacement: src('index.ts') },
      { find: /^infuse-breaker\/(prometheus|opentelemetry)$/, replacement: src('metrics/$1.ts') },
      { find: /^infuse-breaker\/(axios|ky|got|fetch|undici)$/, replacement: src('adapters/$1.ts') },
      { find: /^infuse-breaker\/redis$/, replacement: src('redis/index.ts') },
      { find: /^infuse-breaker\/testing$/, replacement: src('testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Two cores: keep the suite parallel but modest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        'src/core/**': { lines: 90 },
        'src/stores/**': { lines: 90 },
      },
    },
  },
});
