import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Shortest token accepted from the user: guessing 16 characters over HTTP is out of reach. */
export const MIN_TOKEN_LENGTH = 16;

/** A fresh steering token: 256 random bits, URL-safe so that it fits in a link's fragment. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Throws a TypeError naming the option when a user-given token is too weak or unusable. */
export function checkToken(token: string, option = 'token'): string {
  if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError(
      `${option} must be at least ${MIN_TOKEN_LENGTH} printable ASCII characters without spaces ` +
        `(got ${token.length} characters)`,
    );
  }
  return token;
}

/** A refused request: the status and the message sent back. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
}

/**
 * Decides which requests may reach the dashboard at all, and which may steer circuits.
 *
 * Reads are open to whoever can connect, but only under a Host the server answers for: a page on
 * another site that rebinds its own domain name to 127.0.0.1 (DNS rebinding) sends its own name
 * as Host and is refused. An IP literal cannot be rebound, so any is accepted, with the server's
 * port; `localhost` and the name given with `--host` are the only names.
 */
export class RequestGuard {
  readonly #digest: Buffer;
  readonly #names: ReadonlySet<string>;
  readonly #port: number;

  constructor(token: string, host: string, port: number) {
    this.#digest = digest(token);
    this.#names = new Set(['localhost', host.toLowerCase()]);
    this.#port = port;
  }

  /** Every request: the Host header must name this server. */
  checkHost(request: IncomingMessage): Refusal | null {
    const host = request.headers.host;
    if (host === undefined || !this.#hostAllowed(host)) {
      return {
        status: 421,
        message: `this dashboard does not answer for host ${host ?? '(none)'}`,
      };
    }
    return null;
  }

  /**
   * Steering requests. A browser page on another origin cannot pass: it cannot read the token
   * (the fragment of the printed link never leaves the browser, and no response carries CORS
   * headers), its Origin differs, and its JSON POST would need a preflight this server never
   * grants. Each check alone would stop it; together they survive a mistake in any one.
   */
  checkSteering(request: IncomingMessage): Refusal | null {
    const origin = request.headers.origin;
    // Non-browser clients (curl) send no Origin; the token is what they must have.
    if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) {
      return { status: 403, message: `cross-origin request refused (Origin ${origin})` };
    }
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return { status: 403, message: `cross-site request refused (Sec-Fetch-Site ${site})` };
    }
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      return { status: 415, message: 'send the command as Content-Type: application/json' };
    }
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined || !this.#tokenMatches(match[1])) {
      return { status: 401, message: 'a valid token is required to steer circuits' };
    }
    return null;
  }

  #tokenMatches(given: string): boolean {
    // Hashing first gives equal lengths, so the comparison's time says nothing about the token.
    return timingSafeEqual(digest(given), this.#digest);
  }

  #hostAllowed(header: string): boolean {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(header);
    if (match === null) return false;
    const name = (match[1] ?? '').toLowerCase();
    if (Number(match[2] ?? 80) !== this.#port) return false;
    const bare = name.startsWith('[') ? name.slice(1, -1) : name;
    return isIP(bare) !== 0 || this.#names.has(name);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
