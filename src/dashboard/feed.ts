import type { ServerResponse } from 'node:http';
import type { DashboardAdmin, FleetCircuit } from './admin.js';

/** A circuit as the page receives it: JSON has no Infinity, so "until cleared" is `null`. */
export type CircuitView = Omit<FleetCircuit, 'retryAfter'> & { readonly retryAfter: number | null };

/** What the feed sends; `now` (server clock, epoch ms) lets the page count down without drift. */
export type FeedMessage =
  | { readonly type: 'circuits'; readonly now: number; readonly circuits: readonly CircuitView[] }
  | {
      readonly type: 'circuit';
      readonly now: number;
      readonly key: string;
      readonly circuit: CircuitView | null;
    }
  | {
      readonly type: 'status';
      readonly now: number;
      readonly redis: 'ok' | 'unreachable';
      readonly message: string;
    };

export interface FeedOptions {
  readonly admin: DashboardAdmin;
  /** Milliseconds between full re-reads while a page is open (lost messages, window counters). */
  readonly refreshInterval: number;
  /** Milliseconds between keep-alive comments, so that proxies and browsers keep the stream. */
  readonly heartbeatInterval?: number;
}

/** Converts a circuit for JSON. */
export function toView(circuit: FleetCircuit): CircuitView {
  return {
    ...circuit,
    retryAfter: Number.isFinite(circuit.retryAfter) ? circuit.retryAfter : null,
  };
}

/**
 * The live stream behind the page (server-sent events). Transitions announced by Redis pub/sub
 * trigger a read of that circuit; a slow full refresh repairs whatever a lost message left stale.
 *
 * Every read goes through one queue and is sent in the order it was made, so an older read can
 * never overwrite a newer one on a page: a full list started before a transition arrives before
 * the read that the transition caused.
 *
 * What was last read (first at start) is kept up to date while pages are open and for a minute
 * after the last one closes, so that the first page and a reload find it: a page that opens gets
 * it at once. Reading 1,000 circuits from Redis takes longer than drawing them, and competes with
 * the browser for the machine, so a page that opens causes a fresh read only when none is on its
 * way and what is kept is older than {@link FRESH_ENOUGH} (its transitions are kept current by
 * pub/sub; only the window counters age).
 */
/** How long what was read is kept up to date after the last page closed. */
const KEEP_AFTER_LAST_PAGE = 60_000;

/** A page that opens gets no read of its own when the whole fleet was read this recently (ms). */
export const FRESH_ENOUGH = 2_000;

export class LiveFeed {
  readonly #admin: DashboardAdmin;
  readonly #clients = new Set<ServerResponse>();
  readonly #pending = new Set<string>();
  readonly #refreshInterval: number;
  readonly #heartbeatInterval: number;
  #queue: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #unwatch: (() => Promise<void>) | null = null;
  #redis: 'ok' | 'unreachable' = 'ok';
  #message = '';
  #closed = false;
  /** Each circuit last read, and when (epoch ms); null when not kept up to date. */
  #known: Map<string, { view: CircuitView; readAt: number }> | null = null;
  /** When the last page closed (0 while one is open). */
  #idleSince = 0;
  /** When the last full read ended (epoch ms; 0 before the first). */
  #readAt = 0;
  /** Full reads queued or running: a page that opens now gets the next one's result. */
  #fullReads = 0;

  constructor(options: FeedOptions) {
    this.#admin = options.admin;
    this.#refreshInterval = options.refreshInterval;
    this.#heartbeatInterval = options.heartbeatInterval ?? 15_000;
  }

  /** Subscribes to the fleet's transitions and starts the periodic refresh. */
  async start(): Promise<void> {
    this.#unwatch = await this.#admin.watch((transition) => this.refreshOne(transition.key));
    this.#timers = [
      setInterval(() => {
        if (this.#clients.size > 0) this.#refreshAll();
      }, this.#refreshInterval),
      setInterval(() => {
        for (const client of this.#clients) client.write(': ping\n\n');
      }, this.#heartbeatInterval),
    ];
    for (const timer of this.#timers) timer.unref();
    // Read once now, for the first page.
    this.#idleSince = Date.now();
    this.#refreshAll();
  }

  /** Serves one event stream; the first message is the whole fleet, read for this client. */
  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // Reconnect quickly after a restart of the dashboard; EventSource waits this long.
    response.write('retry: 1000\n\n');
    const kept = this.#kept() ? this.#known : null;
    if (kept !== null) send(response, this.#snapshot(kept));
    if (this.#redis === 'unreachable') send(response, this.#status());
    this.#clients.add(response);
    this.#idleSince = 0;
    response.on('close', () => {
      this.#clients.delete(response);
      if (this.#clients.size === 0) this.#idleSince = Date.now();
    });
    // A read on its way is sent to every page, this one included.
    if (this.#fullReads > 0) return;
    if (kept !== null && Date.now() - this.#readAt < FRESH_ENOUGH) return;
    this.#refreshAll();
  }

  /** True while what was read is kept up to date: a page is open, or closed moments ago. */
  #kept(): boolean {
    if (this.#clients.size > 0) return true;
    const kept = this.#idleSince !== 0 && Date.now() - this.#idleSince < KEEP_AFTER_LAST_PAGE;
    if (!kept) this.#known = null;
    return kept;
  }

  /** What is known, as a first message; countdowns shortened by the time since each read. */
  #snapshot(known: ReadonlyMap<string, { view: CircuitView; readAt: number }>): FeedMessage {
    const now = Date.now();
    const circuits = [...known.values()].map(({ view, readAt }) =>
      view.retryAfter === null || view.retryAfter === 0
        ? view
        : { ...view, retryAfter: Math.max(0, view.retryAfter - (now - readAt)) },
    );
    return { type: 'circuits', now, circuits };
  }

  /** Reads one circuit again and sends it to every page (after a transition or a command). */
  refreshOne(key: string): void {
    // No page open: nobody to tell, and a busy fleet would cost a read per transition.
    if (!this.#kept() || this.#pending.has(key)) return;
    this.#pending.add(key);
    this.#enqueue(async () => {
      // Cleared before reading: a transition during the read must cause another read.
      this.#pending.delete(key);
      const circuit = await this.#admin.get(key);
      if (circuit === null) this.#known?.delete(key);
      else this.#known?.set(key, { view: toView(circuit), readAt: Date.now() });
      this.#broadcast({
        type: 'circuit',
        now: Date.now(),
        key,
        circuit: circuit === null ? null : toView(circuit),
      });
    });
  }

  /** Ends every stream and the subscription. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
    await this.#unwatch?.();
    await this.#queue;
  }

  /** Reads the whole fleet and sends it to every page. */
  #refreshAll(): void {
    this.#fullReads++;
    this.#enqueue(async () => {
      try {
        const circuits = await this.#admin.list();
        const readAt = Date.now();
        const views = circuits.map(toView);
        this.#known = new Map(views.map((view) => [view.key, { view, readAt }]));
        this.#readAt = readAt;
        this.#broadcast({ type: 'circuits', now: readAt, circuits: views });
      } finally {
        this.#fullReads--;
      }
    });
  }

  #enqueue(read: () => Promise<void>): void {
    this.#queue = this.#queue.then(async () => {
      if (this.#closed) return;
      try {
        await read();
        this.#setRedis('ok', '');
      } catch (error) {
        this.#setRedis('unreachable', error instanceof Error ? error.message : String(error));
      }
    });
  }

  /** Tells pages when Redis stops or starts answering. */
  #setRedis(redis: 'ok' | 'unreachable', message: string): void {
    const changed = redis !== this.#redis;
    this.#redis = redis;
    this.#message = message;
    if (changed) this.#broadcast(this.#status());
  }

  /** How Redis stands, as a message (a page that opens while it is unreachable gets it first). */
  #status(): FeedMessage {
    return { type: 'status', now: Date.now(), redis: this.#redis, message: this.#message };
  }

  #broadcast(message: FeedMessage): void {
    for (const client of this.#clients) send(client, message);
  }
}

function send(client: ServerResponse, message: FeedMessage): void {
  client.write(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
}
