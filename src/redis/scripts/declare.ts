/**
 * Each Lua script declares its KEYS, ARGV and reply once, in `--!` lines at its top:
 *
 *   --! prelude                   runs after the prelude (prelude.lua, then its parts): takes its
 *                                 keys, its arguments first, its reply (unless declared here) and
 *                                 its constants
 *   --! keys: state leases        KEYS, in order
 *   --! argv: epoch ...leases     ARGV, in order; `...name` last: any number more
 *   --! reply: flags ...leases    the reply array's fields, in order; one name alone: a value
 *   --! constants: GRACE          values the code supplies (see `compile`)
 *
 * Both sides read the same declaration. The Lua side gets the names as tables, generated before
 * the script's own text: `K.state` (a key), `ARG.epoch` (an argument), `REST` (the index of the
 * first `...` argument), `pack(fields, rest)` (the reply, in declared order). Reading a name that
 * is not declared is an error in Redis, as is a reply field left out. The TypeScript side builds
 * the ARGV array from named values (`argv`) and reads a reply by name (`fieldsOf`), throwing on a
 * name the declaration does not have.
 */

/** One value of ARGV. */
export type Arg = string | number;

/** What a script's `--!` lines declare. */
export interface Declaration {
  readonly prelude: boolean;
  readonly keys: readonly string[];
  readonly argv: readonly string[];
  /** The name of the `...` arguments, or null when the script takes exactly `argv`. */
  readonly rest: string | null;
  /** The reply's fields; null when the script declares none (prelude scripts: the prelude's). */
  readonly reply: readonly string[] | null;
  readonly replyRest: string | null;
  readonly constants: readonly string[];
}

/** A script ready to run: its declaration (the prelude's merged in) and the Lua sent to Redis. */
export interface Script {
  readonly name: string;
  /** Its file in src/redis/scripts. */
  readonly file: string;
  /** True when the script runs after the prelude: its arguments start with the prelude's. */
  readonly prelude: boolean;
  readonly numberOfKeys: number;
  readonly keys: readonly string[];
  readonly argv: readonly string[];
  readonly rest: string | null;
  readonly reply: readonly string[];
  readonly replyRest: string | null;
  readonly lua: string;
}

const NAME = /^[A-Za-z_]\w*$/;

/** Reads the `--!` lines of `source` (file: for error messages). */
export function declarationOf(file: string, source: string): Declaration {
  const found = new Map<string, string>();
  for (const line of source.split('\n')) {
    const match = /^--!\s*(\w+)\s*(?::(.*))?$/.exec(line.trim());
    if (match === null) continue;
    const [, what = '', list = ''] = match;
    if (found.has(what)) throw new Error(`${file}: \`--! ${what}\` is declared twice`);
    found.set(what, list.trim());
  }
  for (const what of found.keys()) {
    if (!['prelude', 'keys', 'argv', 'reply', 'constants'].includes(what)) {
      throw new Error(`${file}: unknown declaration \`--! ${what}\``);
    }
  }
  const names = (what: string, variadic: boolean): [string[], string | null] => {
    const words = (found.get(what) ?? '').split(/\s+/).filter((w) => w !== '');
    const last = words.at(-1);
    const rest = variadic && last?.startsWith('...') === true ? last.slice(3) : null;
    const fixed = rest === null ? words : words.slice(0, -1);
    for (const name of [...fixed, ...(rest === null ? [] : [rest])]) {
      if (!NAME.test(name)) throw new Error(`${file}: \`${name}\` in \`--! ${what}\` is no name`);
    }
    if (new Set(fixed).size !== fixed.length) {
      throw new Error(`${file}: \`--! ${what}\` names one thing twice`);
    }
    return [fixed, rest];
  };
  const [keys] = names('keys', false);
  const [argv, rest] = names('argv', true);
  const [reply, replyRest] = names('reply', true);
  const [constants] = names('constants', false);
  return {
    prelude: found.has('prelude'),
    keys,
    argv,
    rest,
    reply: found.has('reply') ? reply : null,
    replyRest,
    constants,
  };
}

/** One Lua file: its path in src/redis/scripts and its text. */
export interface LuaFile {
  readonly file: string;
  readonly source: string;
}

/**
 * The prelude, in the order Redis runs its parts: the first declares what every prelude script
 * shares; the others declare nothing and may use what the parts before them define.
 */
export type Prelude = readonly [LuaFile, ...LuaFile[]];

/**
 * The script `name` from its source and the prelude's (for a `--! prelude` script): the
 * declarations merged, and the Lua that Redis runs: generated names, the prelude's parts, the
 * script. `constants` supplies every declared constant.
 */
export function compile(
  name: string,
  file: string,
  source: string,
  prelude: Prelude | null,
  constants: Readonly<Record<string, number>>,
): Script {
  const own = declarationOf(file, source);
  if (own.prelude && prelude === null) throw new Error(`${file}: no prelude to run after`);
  const after = own.prelude ? prelude : null;
  const base = after === null ? null : declarationOf(after[0].file, after[0].source);
  for (const part of after === null ? [] : after.slice(1)) {
    if (/^\s*--!/m.test(part.source)) {
      throw new Error(`${part.file}: only the prelude's first part declares`);
    }
  }
  if (base !== null && own.keys.length > 0) {
    throw new Error(`${file}: a prelude script takes the prelude's keys`);
  }
  const keys = base?.keys ?? own.keys;
  const argv = [...(base?.argv ?? []), ...own.argv];
  if (new Set(argv).size !== argv.length) throw new Error(`${file}: an argument is named twice`);
  const reply = own.reply ?? base?.reply ?? [];
  const replyRest = own.reply === null ? (base?.replyRest ?? null) : own.replyRest;
  const wanted = [...(base?.constants ?? []), ...own.constants];
  const values = wanted.map((constant) => {
    const value = constants[constant];
    if (value === undefined) throw new Error(`${file}: no value for constant ${constant}`);
    return `local ${constant} = ${value}`;
  });
  const table = (names: readonly string[], of: string): string =>
    `{ ${names.map((n, i) => `${n} = ${of}[${i + 1}]`).join(', ')} }`;
  const list = (names: readonly string[]): string => `{ ${names.map((n) => `'${n}'`).join(', ')} }`;
  const generated = [
    `-- ${name}, from ${file}: names declared by its \`--!\` lines (src/redis/scripts/declare.ts)`,
    STRICT,
    `local K = strict('key', ${table(keys, 'KEYS')}, ${list(keys)})`,
    `local ARG = strict('argument', ${table(argv, 'ARGV')}, ${list(argv)})`,
    `local REST = ${argv.length + 1}`,
    `local REPLY = ${list(reply)}`,
    PACK,
    ...values,
  ].join('\n');
  const lua = [generated, ...(after ?? []).map((part) => part.source), source].join('\n');
  return {
    name,
    file,
    prelude: base !== null,
    numberOfKeys: keys.length,
    keys,
    argv,
    rest: own.rest,
    reply,
    replyRest,
    lua,
  };
}

const STRICT = `local function strict(kind, values, names)
  local declared = {}
  for _, name in ipairs(names) do declared[name] = true end
  return setmetatable(values, { __index = function(_, name)
    if not declared[name] then error('infuse: ' .. kind .. ' ' .. tostring(name) .. ' is not declared') end
    return nil
  end })
end`;

const PACK = `local function pack(fields, rest)
  local out = {}
  for i, name in ipairs(REPLY) do
    if fields[name] == nil then error('infuse: reply field ' .. name .. ' is missing') end
    out[i] = fields[name]
  end
  for _, value in ipairs(rest or {}) do out[#out + 1] = value end
  return out
end`;

/**
 * ARGV for `script` from `values`, one per declared argument, then `rest` (its `...` arguments).
 * Throws on an argument missing or not declared: a bug, found by any test that runs the script.
 */
export function argv(
  script: Script,
  values: Readonly<Record<string, Arg>>,
  rest: readonly Arg[] = [],
): Arg[] {
  const out: Arg[] = [];
  for (const name of script.argv) {
    const value = values[name];
    if (value === undefined) throw new Error(`${script.name}: argument ${name} is missing`);
    out.push(value);
  }
  if (Object.keys(values).length !== out.length) {
    const extra = Object.keys(values).filter((name) => !script.argv.includes(name));
    throw new Error(`${script.name}: ${extra.join(', ')} not declared as arguments`);
  }
  if (rest.length > 0 && script.rest === null) {
    throw new Error(`${script.name}: takes no more arguments than it declares`);
  }
  return rest.length === 0 ? out : [...out, ...rest];
}

/** A reply read by its declared names, and the values past them (the `...` field). */
export interface Fields<Name extends string = string> {
  readonly named: Readonly<Record<Name, unknown>>;
  readonly rest: readonly unknown[];
}

/** Reads `raw`, a reply of `script`, by its declared fields; throws when it has not got them. */
export function fieldsOf(script: Script, raw: unknown): Fields {
  const { reply, replyRest } = script;
  if (
    !Array.isArray(raw) ||
    raw.length < reply.length ||
    (replyRest === null && raw.length > reply.length)
  ) {
    throw new Error(`unexpected ${script.name} reply`);
  }
  const named: Record<string, unknown> = {};
  reply.forEach((name, i) => {
    named[name] = raw[i];
  });
  return { named, rest: raw.slice(reply.length) };
}
