/**
 * Lets Node import `.lua` files as their text, as the build (tsup.config.ts) and the tests
 * (vitest.config.ts) do, so that tsx can run the sources: `tsx --import ./scripts/lua-text.mjs x.ts`,
 * or `node --import tsx --import <this file> x.ts` for a child process.
 */
import { register } from 'node:module';

register('./lua-text-hooks.mjs', import.meta.url);
