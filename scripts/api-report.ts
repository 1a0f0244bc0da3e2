/**
 * The public API report: every subpath the package exports, and the declaration of every symbol
 * it exports, as a user's `.d.ts` shows it (`@internal` members stripped, comments left out).
 * The report is checked in (docs/api/infuse-breaker.api.md) so that a change to the public API shows
 * in review.
 *
 *   npm run api:check    fails, with a diff, when the sources' API differs from the report (CI)
 *   npm run api:report   rewrites the report from the sources
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const reportPath = `${root}docs/api/infuse-breaker.api.md`;
const outDir = `${root}.tmp/api/`;

/** `subpath -> source entry`, read from the package's exports and tsup's entries. */
function entries(): [string, string][] {
  const tsup = readFileSync(`${root}tsup.config.ts`, 'utf8');
  const found = [...tsup.matchAll(/^\s+'?([\w-]+)'?: '(src\/[^']+\.ts)',$/gm)];
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const subpaths = Object.keys(pkg.exports).filter((path) => path !== './package.json');
  const byName = new Map(found.map(([, name, source]) => [name!, source!]));
  return subpaths.map((subpath) => {
    const name = subpath === '.' ? 'index' : subpath.slice(2);
    const source = byName.get(name);
    if (source === undefined) throw new Error(`api-report: no tsup entry for ${subpath}`);
    return [subpath === '.' ? 'infuse-breaker' : `infuse-breaker/${name}`, source];
  });
}

/** Declarations as `tsc --declaration --stripInternal` writes them, by source file. */
function declarations(program: ts.Program): Map<string, ts.SourceFile> {
  const emitted = new Map<string, ts.SourceFile>();
  program.emit(
    undefined,
    (fileName, text) => {
      // Never written: the emitted name only maps back to its source.
      const source = root + fileName.slice(outDir.length).replace(/\.d\.ts$/, '.ts');
      emitted.set(source, ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true));
    },
    undefined,
    true,
  );
  return emitted;
}

/**
 * Every entry's emitted .d.ts must export what its source exports: a comment that carries the
 * internal tag before an `export` statement makes TypeScript drop that export from the .d.ts.
 */
function checkEmittedExports(
  list: [string, string][],
  program: ts.Program,
  emitted: Map<string, ts.SourceFile>,
): void {
  const names = (checker: ts.TypeChecker, file: ts.SourceFile | undefined): string[] => {
    const module = file && checker.getSymbolAtLocation(file);
    return module === undefined ? [] : checker.getExportsOfModule(module).map((e) => e.getName());
  };
  const host = ts.createCompilerHost({});
  const readFile = host.readFile.bind(host);
  const byDts = new Map([...emitted.values()].map((file) => [file.fileName, file.text]));
  host.readFile = (fileName) => byDts.get(fileName) ?? readFile(fileName);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => byDts.has(fileName) || fileExists(fileName);
  const dtsOf = (source: string) => emitted.get(`${root}${source}`)?.fileName ?? '';
  const dtsProgram = ts.createProgram(
    list.map(([, source]) => dtsOf(source)),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
    host,
  );
  for (const [subpath, source] of list) {
    const wanted = names(program.getTypeChecker(), program.getSourceFile(`${root}${source}`));
    const shipped = new Set(
      names(dtsProgram.getTypeChecker(), dtsProgram.getSourceFile(dtsOf(source))),
    );
    const lost = wanted.filter((name) => !shipped.has(name));
    if (lost.length > 0) {
      throw new Error(
        `api-report: the .d.ts of ${subpath} leaves out ${lost.join(', ')}: a comment with the ` +
          'internal tag before their export statement strips them',
      );
    }
  }
}

function declaredName(statement: ts.Statement): string | undefined {
  if (
    ts.isInterfaceDeclaration(statement) ||
    ts.isTypeAliasDeclaration(statement) ||
    ts.isClassDeclaration(statement) ||
    ts.isFunctionDeclaration(statement) ||
    ts.isEnumDeclaration(statement)
  ) {
    return statement.name?.text;
  }
  if (ts.isVariableStatement(statement)) {
    const [first] = statement.declarationList.declarations;
    return first !== undefined && ts.isIdentifier(first.name) ? first.name.text : undefined;
  }
  return undefined;
}

async function report(): Promise<string> {
  const list = entries();
  const program = ts.createProgram(
    list.map(([, source]) => `${root}${source}`),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      declaration: true,
      emitDeclarationOnly: true,
      stripInternal: true,
      removeComments: true,
      outDir,
      rootDir: root,
    },
  );
  const checker = program.getTypeChecker();
  const emitted = declarations(program);
  checkEmittedExports(list, program, emitted);
  const printer = ts.createPrinter({ removeComments: true });
  const sections: string[] = [
    '# infuse-breaker: public API',
    'Generated by `npm run api:report` from the sources; `npm run api:check` (CI) fails when it is out of date. Review changes to this file as changes to the public API.',
  ];
  for (const [subpath, source] of list) {
    const file = program.getSourceFile(`${root}${source}`);
    const module = file && checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`api-report: cannot read ${source}`);
    const blocks: string[] = [];
    const exports = checker
      .getExportsOfModule(module)
      .sort((a, b) => a.getName().localeCompare(b.getName()));
    for (const exported of exports) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const texts = new Set<string>();
      for (const declaration of symbol.getDeclarations() ?? []) {
        const dts = emitted.get(declaration.getSourceFile().fileName);
        if (dts === undefined) continue;
        for (const statement of dts.statements) {
          if (declaredName(statement) !== symbol.getName()) continue;
          texts.add(printer.printNode(ts.EmitHint.Unspecified, statement, dts));
        }
      }
      const alias = exported.getName() === symbol.getName() ? '' : ` as ${exported.getName()}`;
      const body = [...texts]
        .join('\n')
        .replace(/^export /gm, '')
        .replace(/^declare /gm, '');
      blocks.push(alias === '' ? body : `// exported${alias}\n${body}`);
    }
    sections.push(`## ${subpath}`, '```ts\n' + blocks.join('\n\n') + '\n```');
  }
  const config = (await resolveConfig(reportPath)) ?? {};
  return format(sections.join('\n\n') + '\n', { ...config, parser: 'markdown' });
}

const text = await report();
if (process.argv.includes('--write')) {
  writeFileSync(reportPath, text);
  console.log(`api-report: wrote ${reportPath.replace(root, '')}`);
} else {
  let current = '';
  try {
    current = readFileSync(reportPath, 'utf8');
  } catch {
    // no report yet: reported as a difference below
  }
  if (current !== text) {
    const had = new Set(current.split('\n'));
    const has = new Set(text.split('\n'));
    const removed = current.split('\n').filter((line) => !has.has(line));
    const added = text.split('\n').filter((line) => !had.has(line));
    console.error('api-report: the public API differs from docs/api/infuse-breaker.api.md');
    for (const line of removed) console.error(`- ${line}`);
    for (const line of added) console.error(`+ ${line}`);
    console.error('Run `npm run api:report` and review the change as a change to the public API.');
    process.exit(1);
  }
  console.log('api-report: the public API matches docs/api/infuse-breaker.api.md');
}
