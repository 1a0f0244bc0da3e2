/**
 * HTTP helpers for the dashboard tests: raw requests (any Host, Origin or body) and a reader of
 * the server-sent event stream that waits for the events a page would get.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { CircuitView, FeedMessage } from '../../src/dashboard/feed.js';

/** Any JSON body the dashboard answers with. */
export interface ApiBody {
  readonly error?: string;
  readonly now?: number;
  readonly circuits?: CircuitView[];
  readonly key?: string;
  readonly command?: string;
  readonly before?: CircuitView | null;
  readonly after?: CircuitView;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  json(): ApiBody;
}

/** One request to the dashboard at `base` (e.g. http://127.0.0.1:1234/), headers as given. */
export function send(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, headers: { host: url.host, ...options.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body) as ApiBody,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A steering command as the page sends it; override headers to play another client. */
export function command(
  base: string,
  key: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return send(base, 'POST', '/api/command', {
    headers: { 'content-type': 'application/json', origin: new URL(base).origin, ...headers },
    body: JSON.stringify({ key, command: name }),
  });
}

/** One message of the stream, and performance.now() when it arrived. */
export type StreamEvent = FeedMessage & { readonly at: number };

type Of<T extends FeedMessage['type']> = Extract<StreamEvent, { type: T }>;

/** The dashboard's event stream, read as EventSource would. */
export class EventStream {
  readonly events: StreamEvent[] = [];
  readonly #request;
  readonly #wakers = new Set<() => void>();
  #ended = false;

  private constructor(base: string, ready: (status: number) => void, fail: (error: Error) => void) {
    const url = new URL('/api/events', base);
    this.#request = httpRequest(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      ready(res.statusCode ?? 0);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.#parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('close', () => {
        this.#ended = true;
        this.#wake();
      });
    });
    this.#request.on('error', fail);
    this.#request.end();
  }

  static open(base: string): Promise<EventStream> {
    return new Promise((resolve, reject) => {
      const stream: EventStream = new EventStream(
        base,
        (status) =>
          status === 200 ? resolve(stream) : reject(new Error(`event stream: HTTP ${status}`)),
        reject,
      );
    });
  }

  /**
   * Resolves with the first message of `type` (received or to come) after index `from` that
   * matches.
   */
  next<T extends FeedMessage['type']>(
    type: T,
    match: (event: Of<T>) => boolean = () => true,
    { from = 0, timeout = 5_000 }: { from?: number; timeout?: number } = {},
  ): Promise<Of<T>> {
    const wanted = (event: StreamEvent): event is Of<T> => event.type === type;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find((e) => wanted(e) && match(e)) as
          Of<T> | undefined;
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#ended) {
          finish();
          reject(new Error('event stream ended'));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching event within ${timeout} ms; got ${this.describe()}`));
      }, timeout);
      const finish = () => {
        clearTimeout(timer);
        this.#wakers.delete(check);
      };
      this.#wakers.add(check);
      check();
    });
  }

  /** What a page shows after the messages received so far: each circuit's mode by key. */
  modes(): Record<string, string> {
    const modes = new Map<string, string>();
    for (const event of this.events) {
      if (event.type === 'circuits') {
        modes.clear();
        for (const circuit of event.circuits) modes.set(circuit.key, circuit.mode);
      } else if (event.type === 'circuit') {
        if (event.circuit === null) modes.delete(event.key);
        else modes.set(event.key, event.circuit.mode);
      }
    }
    return Object.fromEntries(modes);
  }

  describe(): string {
    return JSON.stringify(this.events);
  }

  close(): void {
    this.#request.destroy();
  }

  #parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) return;
    const message = JSON.parse(data.join('\n')) as FeedMessage;
    // The event name is what EventSource dispatches on: it must agree with the message.
    if (message.type !== event) throw new Error(`event ${event} carries a ${message.type} message`);
    this.events.push({ ...message, at: performance.now() });
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}
