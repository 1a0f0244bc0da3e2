/**
 * The reference says what the code does: every value an entry point of the package exports is named
 * in README.md or docs/, and each options table lists exactly the options of its interface, with
 * the default its TSDoc `@default` states.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { docFiles, root } from '../helpers/doc-blocks.js';

const docs = docFiles.map((file) => readFileSync(join(root, file), 'utf8')).join('\n');

/** The package's entry points (package.json `exports`) and their sources, as vitest.config.ts maps them. */
const ENTRIES = {
  'infuse-breaker': 'index.ts',
  'infuse-breaker/axios': 'adapters/axios.ts',
  'infuse-breaker/ky': 'adapters/ky.ts',
  'infuse-breaker/got': 'adapters/got.ts',
  'infuse-breaker/fetch': 'adapters/fetch.ts',
  'infuse-breaker/redis': 'redis/index.ts',
  'infuse-breaker/prometheus': 'metrics/prometheus.ts',
  'infuse-breaker/opentelemetry': 'metrics/opentelemetry.ts',
};

describe('the reference names every export', () => {
  it('covers every entry point in package.json', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const entries = Object.keys(manifest.exports)
      .filter((path) => path !== './package.json')
      .map((path) => path.replace(/^\./, 'infuse-breaker'));
    expect(entries.sort()).toEqual(Object.keys(ENTRIES).sort());
  });

  it.each(Object.entries(ENTRIES))('every value %s exports is in the docs', async (_, source) => {
    const module = (await import(join(root, 'src', source))) as Record<string, unknown>;
    const missing = Object.keys(module).filter((name) => !docs.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});

/** An option of an interface: its name and its TSDoc `@default` (null without one). */
type Documented = Map<string, string | null>;

/** The options of `name` in the source `file`, those of the interfaces it extends included. */
function optionsOf(file: string, name: string): Documented {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(root, 'src', file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const options: Documented = new Map();
  const collect = (interfaceName: string) => {
    const declaration = interfaces.get(interfaceName);
    if (declaration === undefined) throw new Error(`no interface ${interfaceName} in ${file}`);
    for (const clause of declaration.heritageClauses ?? []) {
      for (const type of clause.types) collect(type.expression.getText(source));
    }
    for (const member of declaration.members) {
      if (!ts.isPropertySignature(member)) continue;
      const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
      const text = tag === undefined ? null : (ts.getTextOfJSDocComment(tag.comment) ?? '');
      options.set(member.name.getText(source), text);
    }
  };
  collect(name);
  return options;
}

/** The first table below `heading` in `file` whose first column is `option`: option → default. */
function tableOf(file: string, heading: string): Documented {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading "${heading}" in ${file}`);
  const header = lines.findIndex((line, index) => index > start && /^\| option\b/.test(line));
  const columns = (lines[header] ?? '').split('|').map((cell) => cell.trim());
  const defaultColumn = columns.indexOf('default');
  const table: Documented = new Map();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((cell) => cell.trim());
    table.set((cells[1] ?? '').replaceAll('`', ''), cells[defaultColumn] ?? null);
  }
  return table;
}

/** A default as both sides write it: no code marks, no explanation in parentheses, `null` is off. */
const normal = (text: string) =>
  text
    .replaceAll('`', '')
    .replace(/\s*\(.*\)$/, '')
    .replace(/^null$/, 'off')
    .trim();

describe('the options tables', () => {
  it.each([
    ['README.md', '### Options', 'core/options.ts', 'InfuseOptions'],
    ['README.md', '### Stores', 'stores/memory.ts', 'MemoryStoreOptions'],
    ['docs/fleets-and-redis.md', '## Options', 'redis/options.ts', 'RedisStoreOptions'],
  ])('%s "%s" lists every option of %s %s with its default', (doc, heading, file, name) => {
    const code = optionsOf(file, name);
    const table = tableOf(doc, heading);
    expect([...table.keys()].sort()).toEqual([...code.keys()].sort());
    for (const [option, fallback] of code) {
      const documented = table.get(option);
      if (fallback === null || documented == null) continue; // no default to compare
      expect(normal(documented), `${doc}: default of ${option}`).toBe(normal(fallback));
    }
  });
});
