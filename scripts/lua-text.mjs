/**
 * Lets Node import `.lua` files as their text, as the build (tsup.config.ts) and the tests
 * (vitest.config.ts) do, so that tsx can run the sources: `tsx --import ./scripts/lua-text.mjs x.ts`,
 * or `node --import tsx --import <this file> x.ts` for a child process.
 *
 * Node 25 and later take the hook in this thread (`registerHooks`: `register` is deprecated
 * there and prints a warning into every child's stderr); older Nodes take it on the loader
 * thread (lua-text-hooks.mjs), where tsx's own hooks run (Node 20's `registerHooks` runs before
 * them and never sees a `.lua` import resolved).
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major >= 25 && typeof nodeModule.registerHooks === 'function') {
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      if (!url.startsWith('file:') || !url.endsWith('.lua')) return nextLoad(url, context);
      const text = readFileSync(fileURLToPath(url), 'utf8');
      return {
        format: 'module',
        source: `export default ${JSON.stringify(text)};`,
        shortCircuit: true,
      };
    },
  });
} else {
  nodeModule.register('./lua-text-hooks.mjs', import.meta.url);
}
