import { INFUSE_BYPASS_HEADER, parseBypassHeader } from './fetch-guard.js';
import type { UndiciHeaders } from './undici.js';

// Request and response headers in the shapes undici hands an interceptor.

/** The bypass header's verdict: true or false when present, null when absent. */
export function bypassHeader(headers: UndiciHeaders | undefined): boolean | null {
  const found: { value?: string } = {};
  forEachHeader(headers, (name, given) => {
    if (
      name.length === INFUSE_BYPASS_HEADER.length &&
      name.toLowerCase() === INFUSE_BYPASS_HEADER
    ) {
      found.value = (Array.isArray(given) ? given[0] : given) ?? '';
    }
  });
  return found.value === undefined ? null : parseBypassHeader(found.value);
}

/** The headers without the bypass header, as a plain object (a shape undici accepts). */
export function withoutBypass(
  headers: UndiciHeaders | undefined,
): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  forEachHeader(headers, (name, value) => {
    if (name.toLowerCase() === INFUSE_BYPASS_HEADER || value === undefined) return;
    const previous = kept[name];
    kept[name] = previous === undefined ? value : [previous, value].flat();
  });
  return kept;
}

function forEachHeader(
  headers: UndiciHeaders | undefined,
  visit: (name: string, value: string | string[] | undefined) => void,
): void {
  if (headers === null || headers === undefined) return;
  if (Array.isArray(headers)) {
    // The flat form: name, value, name, value...
    const flat = headers as unknown[];
    if (flat.length === 0 || typeof flat[0] === 'string') {
      for (let at = 0; at + 1 < flat.length; at += 2) {
        visit(String(flat[at]), flat[at + 1] as string | undefined);
      }
      return;
    }
  }
  if (Symbol.iterator in headers) {
    const pairs = headers as Iterable<[string, string | string[] | undefined]>;
    for (const [name, value] of pairs) visit(name, value);
    return;
  }
  for (const [name, value] of Object.entries(headers)) visit(name, value);
}

/** One header of a flat raw list (name, value, ...), or null. */
export function rawHeader(raw: (Uint8Array | string)[], name: string): string | null {
  for (let at = 0; at + 1 < raw.length; at += 2) {
    if (String(raw[at]).toLowerCase() === name) return String(raw[at + 1]);
  }
  return null;
}
