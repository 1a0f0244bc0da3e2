/** Option checks shared by every part of the package: each bad option gets a TypeError naming it. */

/** Throws for the first key of `object` that is not `allowed` (`path` prefixes the name). */
export function checkKeys(object: object, allowed: ReadonlySet<string>, path: string): void {
  for (const name of Object.keys(object)) {
    if (!allowed.has(name)) {
      const known = [...allowed].join(', ');
      throw new TypeError(
        `infuse-breaker: unknown option "${path}${name}"; known options are: ${known}`,
      );
    }
  }
}

/** Throws unless `value` is a safe integer of 1 or more. */
export function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    invalid(name, 'a positive integer', value);
  }
}

/** Throws unless `value` is a finite number of milliseconds, 0 or more. */
export function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(name, 'a finite number of milliseconds, 0 or more', value);
  }
}

/** Throws the TypeError every bad option gets: it names the option, what it must be, and the value. */
export function invalid(name: string, expected: string, value: unknown): never {
  throw new TypeError(`infuse-breaker: option "${name}" must be ${expected}; got ${show(value)}`);
}

/** Names a value in an error message without dumping it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  // Only primitives are left here (numbers, booleans, bigints, symbols, undefined).
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(value);
}
