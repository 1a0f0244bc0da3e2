/** The loader hook registered by lua-text.mjs: a `.lua` file is a module exporting its text. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** @type {import('node:module').LoadHook} */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.lua')) return nextLoad(url, context);
  const text = await readFile(fileURLToPath(url), 'utf8');
  return {
    format: 'module',
    source: `export default ${JSON.stringify(text)};`,
    shortCircuit: true,
  };
}
