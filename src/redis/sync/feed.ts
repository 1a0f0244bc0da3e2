/**
 * The slow half of synchronisation: the change feed, a sorted set of circuit keys scored by the
 * time (ms, Redis clock) of their last change. Whoever changes a circuit lists it there; every
 * process reads the feed once per `pollInterval`, whatever the number of circuits it knows, and
 * reads again those it knows that changed. It catches what pub/sub lost, and `preload` reads it.
 * The feed is a hint of what to read again, never part of a decision.
 */
import { runScript, type Connection } from '../connections.js';
import { int, text } from '../fleet.js';
import { fieldsOf, SCRIPTS } from '../scripts/index.js';
import { jitter } from '../wait.js';

/** Most circuits the change feed lists; older entries are dropped. */
const FEED_MAX = 100_000;
/** Most changes one poll reads; the rest wait for the next poll. */
const FEED_BATCH = 1_000;
/**
 * How far back each poll reads again, in ms: on one node the feed's scores grow with every write,
 * but after a failover the new node's clock may differ. Changes read twice are skipped.
 */
const FEED_OVERLAP = 1_000;

/** The change feed's key (see the INDEX script). */
export function indexKey(prefix: string): string {
  return `${prefix}:index`;
}

/**
 * Lists `key` in the change feed as changed now. Written by whoever made the change (a process
 * or RedisAdmin) after its script answered: the feed key lives on one node of a Cluster, apart
 * from the circuit's own keys, so no script can write both.
 */
export function writeFeed(
  connection: Connection,
  index: string,
  key: string,
  ttl: number,
): Promise<unknown> {
  return runScript(connection, 'infuseIndex', [index], { key, ttl, max: FEED_MAX });
}

/** One poll of the change feed: Redis's time, and the circuits changed since, oldest first. */
export interface Feed {
  readonly now: number;
  readonly changes: readonly (readonly [key: string, score: number])[];
}

/** Parses the reply of the poll script. */
export function parseFeed(raw: unknown): Feed {
  const { named, rest } = fieldsOf(SCRIPTS.infusePoll, raw);
  if (rest.length % 2 !== 0) throw new Error('unexpected infusePoll reply');
  const changes: [string, number][] = [];
  for (let i = 0; i < rest.length; i += 2) changes.push([text(rest[i]), int(rest[i + 1])]);
  return { now: int(named.now), changes };
}

/** What a poll tells the store. */
export interface FeedReader {
  /** The command connection while Redis answers, else null (no poll then). */
  connection(): Connection | null;
  /** The feed lists circuit `key` as changed at `score`. */
  changed(key: string, score: number): void;
  /** A poll after the first: forced modes of the circuits known are kept alive. */
  polled(): void;
  /** The poll failed: Redis is probably unreachable. */
  fail(error: unknown): void;
}

/** Reads the change feed once per `pollInterval` (jittered) while Redis answers. */
export class ChangeFeed {
  readonly #index: string;
  readonly #interval: number;
  readonly #reader: FeedReader;
  /** The feed's score (ms, Redis clock) the next poll reads from; null before the first. */
  #cursor: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(index: string, interval: number, reader: FeedReader) {
    this.#index = index;
    this.#interval = interval;
    this.#reader = reader;
  }

  /** Polls after `pollInterval`, and again after each poll, until Redis stops answering. */
  schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#reader.connection() === null) return;
      void this.poll();
      this.schedule();
    }, jitter(this.#interval));
    this.#timer.unref();
  }

  /**
   * Reads the feed once: the circuits changed since the last poll. The first poll only learns
   * where the feed stands: later changes are caught by the next.
   */
  async poll(): Promise<void> {
    const command = this.#reader.connection();
    if (command === null) return;
    const from = this.#cursor === null ? '+inf' : this.#cursor - FEED_OVERLAP;
    let feed: Feed;
    try {
      const raw = await runScript(command, 'infusePoll', [this.#index], { from, max: FEED_BATCH });
      feed = parseFeed(raw);
    } catch (error) {
      this.#reader.fail(error);
      return;
    }
    for (const [key, score] of feed.changes) this.#reader.changed(key, score);
    const last = feed.changes.at(-1);
    this.#cursor = feed.changes.length === FEED_BATCH && last !== undefined ? last[1] : feed.now;
    if (from !== '+inf') this.#reader.polled();
  }

  /** Stops polling and forgets where the feed stood (the store closes). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#cursor = null;
  }
}
