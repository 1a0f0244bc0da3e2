import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      prometheus: 'src/metrics/prometheus.ts',
      opentelemetry: 'src/metrics/opentelemetry.ts',
      fetch: 'src/adapters/fetch.ts',
      ky: 'src/adapters/ky.ts',
      axios: 'src/adapters/axios.ts',
      got: 'src/adapters/got.ts',
      undici: 'src/adapters/undici.ts',
      redis: 'src/redis/index.ts',
      testing: 'src/testing/index.ts',
    },
    format: ['esm', 'cjs'],
    // The public .d.ts holds the public API only: members marked @internal are left out (the
    // API report, etc/infuse-breaker.api.md, records what remains).
    dts: { compilerOptions: { stripInternal: true } },
    // One copy of the core shared by every subpath, in both formats: an Infuse made
    // through 'infuse-breaker' must be the same class that 'infuse-breaker/axios' sees.
    splitting: true,
    clean: ['!cli.js', '!cli.js.map'],
    sourcemap: true,
    target: 'node20',
    treeshake: true,
    // src/redis/scripts/*.lua: bundled as their text.
    loader: { '.lua': 'text' },
  },
  // The `infuse-breaker` binary: ESM only, one file, its shebang kept (tsup makes it executable).
  // Built beside the library; the library's clean step leaves it alone.
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    splitting: false,
    clean: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    loader: { '.lua': 'text' },
  },
]);
