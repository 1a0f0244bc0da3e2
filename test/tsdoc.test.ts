/**
 * Every public export carries TSDoc: for each subpath the package exports, every symbol its entry
 * module exports has a documentation comment where it is declared.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = (
  readFileSync(`${root}tsup.config.ts`, 'utf8').match(/'src\/[^']+\.ts'/g) ?? []
).map((quoted) => quoted.slice(1, -1));

const program = ts.createProgram(
  entries.map((entry) => `${root}${entry}`),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
  },
);
const checker = program.getTypeChecker();

function undocumented(entry: string): string[] {
  const source = program.getSourceFile(`${root}${entry}`);
  if (source === undefined) throw new Error(`cannot read ${entry}`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) return [];
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const documented = symbol.getDocumentationComment(checker).length > 0;
    if (!documented) missing.push(exported.getName());
  }
  return missing;
}

describe('TSDoc', () => {
  it('finds the entry points', () => {
    expect(entries).toContain('src/index.ts');
    expect(entries.length).toBeGreaterThan(5);
  });

  it.each(entries)('every export of %s is documented', (entry) => {
    expect(undocumented(entry)).toEqual([]);
  });
});
