/**
 * Keeps credentials out of everything the store and the admin hand to users. A client's errors
 * may carry its password: ioredis attaches the failed command's arguments to a reply error (an
 * AUTH's password among them), and a message or stack may quote a URL. Every error that leaves a
 * connection goes through {@link Redactor.error} first.
 */

const MASK = '***';

/** Commands whose arguments carry credentials. */
const SECRET_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl']);

/** How deep the properties of an error are followed (cause, previousErrors, command.args...). */
const DEPTH = 4;

export class Redactor {
  readonly #secrets: readonly string[];

  /** `secrets`: every password the client may send (empty and duplicate entries are ignored). */
  constructor(secrets: readonly unknown[]) {
    const texts = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret === '') continue;
      texts.add(secret);
      texts.add(encodeURIComponent(secret));
      texts.add(JSON.stringify(secret).slice(1, -1));
    }
    // Longest first, so that a secret that contains another is masked whole.
    this.#secrets = [...texts].sort((a, b) => b.length - a.length);
  }

  /** `text` with every secret masked. */
  text(text: string): string {
    let masked = text;
    for (const secret of this.#secrets) masked = masked.split(secret).join(MASK);
    return masked;
  }

  /**
   * The same error (its identity, class and name kept, so that callers can still tell a reply
   * error from a lost connection), with every secret masked in its message, stack and properties,
   * and the arguments of a credential command dropped.
   */
  error<T>(error: T): T {
    this.#clean(error, DEPTH, new Set());
    return error;
  }

  #clean(value: unknown, depth: number, seen: Set<object>): void {
    if (typeof value !== 'object' || value === null || depth === 0 || seen.has(value)) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (typeof record.name === 'string' && Array.isArray(record.args)) {
      // ioredis: `error.command = { name, args }`.
      if (SECRET_COMMANDS.has(record.name.toLowerCase())) record.args = [MASK];
    }
    const names = new Set(Object.keys(value));
    if (value instanceof Error) for (const name of ['message', 'stack', 'cause']) names.add(name);
    for (const name of names) {
      const field = record[name];
      if (typeof field === 'string') {
        const masked = this.text(field);
        if (masked !== field) trySet(record, name, masked);
      } else if (Array.isArray(field)) {
        const items: unknown[] = field;
        items.forEach((item, i) => {
          if (typeof item === 'string') items[i] = this.text(item);
          else this.#clean(item, depth - 1, seen);
        });
      } else {
        this.#clean(field, depth - 1, seen);
      }
    }
  }
}

function trySet(record: Record<string, unknown>, name: string, value: string): void {
  try {
    record[name] = value;
  } catch {
    // A read-only property: nothing of ours reads it.
  }
}
