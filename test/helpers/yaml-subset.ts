/**
 * Reads the small part of YAML that a Prometheus rule file uses: nested mappings, sequences of
 * mappings, and scalars (plain, quoted, or `|`/`>` blocks). The repository has no runtime or dev
 * dependency that parses YAML, and the docs' rule file needs nothing more. Anything outside that
 * subset (flow collections, anchors, tags) throws, so a rule file this cannot read fails its test
 * rather than being half read.
 */

/** A value of the subset. */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly number: number;
  readonly indent: number;
  readonly text: string;
}

/** Parses `source`; throws an error naming the line for anything outside the subset. */
export function parseYamlSubset(source: string): YamlValue {
  const raw = source.split('\n');
  const lines: Line[] = raw.map((text, index) => ({
    number: index + 1,
    indent: text.length - text.trimStart().length,
    text: text.trim(),
  }));
  let at = 0;
  const fail = (line: Line, why: string): never => {
    throw new SyntaxError(`line ${line.number}: ${why}: ${line.text}`);
  };
  const skip = () => {
    while (at < lines.length && (lines[at]?.text === '' || lines[at]?.text.startsWith('#'))) at++;
  };

  function scalar(line: Line, text: string): string {
    if (/^[[{&*!]/.test(text)) fail(line, 'not in the subset');
    if (text.startsWith("'")) {
      if (!text.endsWith("'") || text.length < 2) fail(line, 'unterminated quote');
      return text.slice(1, -1).replaceAll("''", "'");
    }
    if (text.startsWith('"')) return JSON.parse(text) as string;
    return text.replace(/\s+#.*$/, '');
  }

  /** A `|` or `>` block scalar below a key at `indent`. */
  function block(style: string, indent: number): string {
    const body: string[] = [];
    while (at < lines.length) {
      const line = lines[at] as Line;
      if (line.text !== '' && line.indent <= indent) break;
      body.push(raw[line.number - 1] ?? '');
      at++;
    }
    while (body.length > 0 && body.at(-1)?.trim() === '') body.pop();
    const margin = Math.min(
      ...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length),
    );
    const text = body.map((l) => l.slice(margin));
    // Folding joins lines with a space, except lines indented further, which keep their breaks.
    const joined = style.startsWith('|')
      ? text.join('\n')
      : text.reduce(
          (all, l, i) =>
            i === 0 ? l : all + (/^\s/.test(l) || /^\s/.test(text[i - 1] ?? '') ? '\n' : ' ') + l,
          '',
        );
    return style.endsWith('-') ? joined : `${joined}\n`;
  }

  /** The value after `key:` on `line`, or the nested node below it. */
  function valueOf(line: Line, rest: string, indent: number): YamlValue {
    if (rest === '') {
      skip();
      const next = lines[at];
      if (
        next === undefined ||
        next.indent < indent ||
        (next.indent === indent && !next.text.startsWith('- '))
      ) {
        fail(line, 'empty value');
      }
      return node((next as Line).indent);
    }
    if (/^[|>][-+]?$/.test(rest)) return block(rest, indent);
    return scalar(line, rest);
  }

  /** The mapping or sequence whose entries start at column `indent`. */
  function node(indent: number): YamlValue {
    skip();
    const first = lines[at];
    if (first === undefined) return '';
    if (first.text.startsWith('- ')) {
      const items: YamlValue[] = [];
      for (skip(); at < lines.length && lines[at]?.indent === indent; skip()) {
        const line = lines[at] as Line;
        if (!line.text.startsWith('- ')) fail(line, 'expected a sequence item');
        // The item's mapping starts after "- ": treat that column as the mapping's indent.
        lines[at] = { number: line.number, indent: indent + 2, text: line.text.slice(2).trim() };
        items.push(node(indent + 2));
      }
      return items;
    }
    const map: { [key: string]: YamlValue } = {};
    for (skip(); at < lines.length && lines[at]?.indent === indent; skip()) {
      const line = lines[at] as Line;
      const match = /^([A-Za-z_][\w-]*):(?:\s+(.*))?$/.exec(line.text);
      if (!match) return fail(line, 'expected "key: value"');
      const key = match[1] as string;
      if (key in map) fail(line, `duplicate key "${key}"`);
      at++;
      map[key] = valueOf(line, (match[2] ?? '').trim(), indent);
    }
    const stray = lines[at];
    if (stray !== undefined && stray.indent > indent) fail(stray, 'unexpected indentation');
    return map;
  }

  const root = node(0);
  skip();
  if (at < lines.length) fail(lines[at] as Line, 'unexpected content');
  return root;
}
