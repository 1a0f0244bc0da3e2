/**
 * What the dashboard shows beside each circuit's live state: the last hour of its history (for
 * the timeline and the reason of the last change) and the processes that use it (their counts
 * make the failure-rate sparkline). Read at most every few seconds, whatever the number of open
 * tabs, and served as one JSON document the page polls.
 */
import type { FleetCircuit, FleetProcess, HistoryEntry } from '../redis/index.js';
import { withCircuitsInUse } from '../redis/presence.js';
import type { DashboardAdmin } from './admin.js';

/** The window the timeline and sparkline cover. */
export const INSIGHT_WINDOW = 3_600_000;

/** Most history entries sent (the newest of the hour). */
const MAX_ENTRIES = 2_000;

/** What `/api/insight` answers. */
export interface InsightDocument {
  /** Epoch ms of the read (server clock). */
  readonly now: number;
  readonly window: number;
  /** The last hour's changes, newest first; empty when the admin cannot read history. */
  readonly history: readonly HistoryEntry[];
  readonly processes: readonly FleetProcess[];
}

/** Reads the insight document, reusing a read younger than `maxAge` ms. */
export class Insight {
  readonly #admin: DashboardAdmin;
  readonly #maxAge: number;
  #last: { at: number; document: Promise<InsightDocument> } | null = null;

  constructor(admin: DashboardAdmin, maxAge = 2_000) {
    this.#admin = admin;
    this.#maxAge = maxAge;
  }

  read(): Promise<InsightDocument> {
    const now = Date.now();
    if (this.#last !== null && now - this.#last.at < this.#maxAge) return this.#last.document;
    const document = this.#fetch(now);
    this.#last = { at: now, document };
    // A failed read is not reused.
    document.catch(() => {
      if (this.#last?.document === document) this.#last = null;
    });
    return document;
  }

  async #fetch(now: number): Promise<InsightDocument> {
    const admin = this.#admin;
    const [history, processes] = await Promise.all([
      admin.history?.({ since: now - INSIGHT_WINDOW, limit: MAX_ENTRIES }) ?? [],
      admin.processes?.() ?? [],
    ]);
    return { now, window: INSIGHT_WINDOW, history, processes };
  }
}

/**
 * The admin the dashboard reads through: its `list` also names circuits that processes use but
 * Redis holds nothing for (healthy ones that never changed), as closed.
 */
export function withIdleCircuits(admin: DashboardAdmin): DashboardAdmin {
  const processes = admin.processes;
  if (processes === undefined) return admin;
  return {
    list: async (): Promise<FleetCircuit[]> => {
      const [circuits, found] = await Promise.all([
        admin.list(),
        processes.call(admin).catch(() => []),
      ]);
      return withCircuitsInUse(circuits, found);
    },
    get: (key) => admin.get(key),
    command: (key, command, options) => admin.command(key, command, options),
    watch: (listener) => admin.watch(listener),
    history: admin.history?.bind(admin),
    processes: processes.bind(admin),
  } as DashboardAdmin;
}
