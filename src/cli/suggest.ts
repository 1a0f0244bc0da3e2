/** How many close keys a message names at most. */
const SHOWN = 3;

/**
 * The keys of `known` that are close to `wanted`, closest first: the same host on another port
 * (`127.0.0.1` for `127.0.0.1:8080`, and the other way round), or a key a few typing mistakes
 * away (an edit distance of at most a third of the key's length, and at least 2). At most three.
 */
export function closeKeys(wanted: string, known: Iterable<string>): string[] {
  const target = wanted.toLowerCase();
  const host = hostOf(target);
  const limit = Math.max(2, Math.floor(target.length / 3));
  const scored: [number, string][] = [];
  for (const key of known) {
    if (key === wanted) continue;
    const lower = key.toLowerCase();
    // The same host keyed with or without a port: the likeliest mistake of all.
    if (hostOf(lower) === host) {
      scored.push([0, key]);
      continue;
    }
    const distance = editDistance(target, lower, limit);
    if (distance <= limit) scored.push([distance, key]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return scored.slice(0, SHOWN).map(([, key]) => key);
}

/**
 * The line the CLI adds when a key is unknown: the close keys, quoted (a key from Redis may hold
 * anything, control characters included), or nothing.
 */
export function suggestionLine(wanted: string, known: Iterable<string>): string {
  const close = closeKeys(wanted, known);
  if (close.length === 0) return '';
  return `Did you mean ${close.map((key) => JSON.stringify(key)).join(', ')}?\n`;
}

/** `host` of `host:port`; anything else as it is. */
function hostOf(key: string): string {
  const match = /^(.+):\d+$/.exec(key);
  return match?.[1] ?? key;
}

/**
 * Levenshtein distance between `a` and `b`, or `limit + 1` as soon as it is known to be more
 * than `limit` (keys can be long; most are far from each other).
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? 0;
}
