/**
 * Text from Redis (circuit keys come from a fleet's traffic) made safe for a terminal. A key with
 * ESC or CR in it would otherwise retitle the terminal, move the cursor or overwrite its own row;
 * bidirectional marks would show it reordered. Such characters are printed as escapes instead.
 */

/**
 * What a terminal acts on rather than shows: C0 and C1 controls and DEL, the invisible marks that
 * reorder or hide text (zero-width, bidirectional, line and paragraph separators, BOM), and lone
 * surrogates. A backslash is escaped too, so that the printed form reads one way only.
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\\\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udfff]/gu;

const NAMED: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * `text` with every unsafe character written as an escape (`\x1b`, `\r`, `\u202e`, `\\`): the
 * printed form, inside bash's `$'…'`, is the key again.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => NAMED[char] ?? hexEscape(char));
}

/** JSON text (from JSON.stringify) with the same characters written as `\uXXXX`: same value. */
export function printableJson(json: string): string {
  // JSON.stringify already escapes C0 controls, quotes, backslashes and lone surrogates.
  return json.replace(/[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, unicodeEscape);
}

function hexEscape(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : unicodeEscape(char);
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
