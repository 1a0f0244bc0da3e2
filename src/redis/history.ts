/**
 * The history of a fleet's circuits: every transition a process makes and every command an
 * operator sends goes into one capped Redis stream per prefix, with when, from/to, why and who.
 *
 * In a Cluster the stream lives on one node, apart from every circuit's keys, so no circuit script
 * can write it: whoever made the change writes the entry after its script answered, without
 * waiting for it (a request never waits on history, and a failed write is only counted).
 */
import { hostname, userInfo } from 'node:os';
import type { CircuitMode, TransitionReason } from '../core/types.js';
import type { Transition } from '../stores/store.js';
import { runScript, type Connection } from './connections.js';
import type { FleetState, ScriptEvent } from './fleet.js';

/** Most entries the stream keeps (approximately: Redis trims whole nodes of the stream). */
export const HISTORY_MAX = 10_000;

/** How long the stream lives after its last entry: a quiet fleet's history is gone after a week. */
export const HISTORY_TTL = 7 * 24 * 3_600_000;

/** The stream of a prefix. */
export function historyKey(prefix: string): string {
  return `${prefix}:history`;
}

/** One change of a circuit, as {@link RedisAdmin.history} lists it. */
export interface HistoryEntry {
  /** The stream entry's id (`<ms>-<n>`): unique, ordered. */
  readonly id: string;
  /** Epoch milliseconds, by Redis's clock, when the entry was written (just after the change). */
  readonly at: number;
  readonly key: string;
  /** The mode before and after: a forced mode when there is one, else the state. */
  readonly from: CircuitMode;
  readonly to: CircuitMode;
  /**
   * Why: the transition's reason (`failMax`, `failureRate`, `resetTimeout`, `trialFailed`,
   * `trialSucceeded`, `retryAfter`, `slowCallRate`), or `manual` for a command.
   */
  readonly reason: TransitionReason;
  /**
   * Who: `process <pid> on <host>` for a process's own transition, `cli <user> on <host>` for the
   * command line, `dashboard <client address>` for the dashboard, or what a `RedisAdmin` user
   * passed as `actor`.
   */
  readonly by: string;
  /** The command an operator sent (`force-open`, `close`, ...), for a manual action. */
  readonly command: string | null;
  /**
   * `process` for a change of one process's own state (it opened on its own evidence, without a
   * quorum), `fleet` for the fleet's; null when the writer did not say.
   */
  readonly scope: 'process' | 'fleet' | null;
}

/** What a writer knows of a change; the stream adds `id` and `at`. */
export type HistoryRecord = Omit<HistoryEntry, 'id' | 'at'>;

/** Writes one entry; resolves with its id. */
export function writeHistory(
  connection: Connection,
  prefix: string,
  record: HistoryRecord,
): Promise<unknown> {
  const fields: string[] = ['k', record.key, 'f', record.from, 't', record.to, 'r', record.reason];
  fields.push('by', record.by);
  if (record.command !== null) fields.push('c', record.command);
  if (record.scope !== null) fields.push('s', record.scope);
  return runScript(
    connection,
    'infuseHistoryAdd',
    [historyKey(prefix)],
    { max: HISTORY_MAX, ttl: HISTORY_TTL },
    fields,
  );
}

/** Who a process is, in the history and the processes view. */
export function processActor(): string {
  return `process ${process.pid} on ${hostname()}`;
}

/** Who an operator at this machine is: `<tool> <user> on <host>`. */
export function operatorActor(tool: string): string {
  let user = process.env.USER ?? process.env.USERNAME ?? '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's random uid): the environment's name, if any
  }
  return `${tool} ${user === '' ? `uid ${String(process.getuid?.() ?? '?')}` : user} on ${hostname()}`;
}

/**
 * What a process's store writes: its own transitions (not those it heard of), fire-and-forget.
 * Writes that fail are counted, and the first of a run of failures is reported once.
 */
export class HistoryRecorder {
  /** Entries written and entries lost (Redis did not take them). */
  written = 0;
  failed = 0;
  readonly #prefix: string;
  readonly #actor: string;
  readonly #connection: () => Connection | null;
  readonly #report: (error: unknown) => void;
  #failing = false;

  constructor(
    prefix: string,
    connection: () => Connection | null,
    report: (error: unknown) => void,
    actor = processActor(),
  ) {
    this.#prefix = prefix;
    this.#connection = connection;
    this.#report = report;
    this.#actor = actor;
  }

  /** Records a transition of the fleet's state that a script of this process made. */
  made(key: string, fleet: FleetState, event: ScriptEvent): void {
    this.record({
      key,
      from: event.from,
      fromForced: event.fromForced,
      to: fleet.state,
      forced: fleet.forced,
      reason: event.reason,
      generation: fleet.generation,
      scope: 'fleet',
    });
  }

  /** Records `transition` if this process made it (reason other than `remote`). */
  record(transition: Transition): void {
    if (transition.reason === 'remote') return;
    const connection = this.#connection();
    if (connection === null) {
      this.failed++;
      return;
    }
    const scope = (transition as { readonly scope?: unknown }).scope;
    writeHistory(connection, this.#prefix, {
      key: transition.key,
      from: transition.fromForced ?? transition.from,
      to: transition.forced ?? transition.to,
      reason: transition.reason,
      by: this.#actor,
      command: null,
      scope: scope === 'process' || scope === 'fleet' ? scope : null,
    }).then(
      () => {
        this.written++;
        this.#failing = false;
      },
      (error: unknown) => {
        this.failed++;
        if (this.#failing) return;
        this.#failing = true;
        this.#report(error);
      },
    );
  }
}

/** Options of {@link readHistory}. */
export interface HistoryQuery {
  /** Only this circuit. */
  readonly key?: string;
  /** Only entries at or after this epoch ms. */
  readonly since?: number;
  /** Most entries returned (newest kept). */
  readonly limit?: number;
}

/**
 * The newest entries first, at most `limit` (default 100). Entries that are not ours (another
 * writer on the key) are skipped and counted in `skipped`.
 */
export async function readHistory(
  connection: Connection,
  prefix: string,
  query: HistoryQuery = {},
): Promise<{ entries: HistoryEntry[]; skipped: number }> {
  const limit = query.limit ?? 100;
  const from = query.since === undefined ? '-' : `${Math.max(0, Math.floor(query.since))}-0`;
  // A key's entries are spread over the stream: read it all (it is capped) and keep that key's.
  const count = query.key === undefined ? limit : HISTORY_MAX * 2;
  const raw = await runScript(connection, 'infuseHistoryRead', [historyKey(prefix)], {
    from,
    count,
  });
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  for (const item of Array.isArray(raw) ? (raw as unknown[]) : []) {
    const entry = parseEntry(item);
    if (entry === null) skipped++;
    else if (query.key === undefined || entry.key === query.key) entries.push(entry);
    if (entries.length >= limit) break;
  }
  return { entries, skipped };
}

const MODES = new Set(['closed', 'open', 'half-open', 'forced-open', 'disabled']);

function parseEntry(item: unknown): HistoryEntry | null {
  if (!Array.isArray(item) || typeof item[0] !== 'string' || !Array.isArray(item[1])) return null;
  const id = item[0];
  const pairs = item[1] as unknown[];
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const [name, value] = [pairs[i], pairs[i + 1]];
    if (typeof name === 'string' && typeof value === 'string') fields.set(name, value);
  }
  const [key, from, to, reason, by] = ['k', 'f', 't', 'r', 'by'].map((f) => fields.get(f));
  const at = Number(id.split('-')[0]);
  if (
    key === undefined ||
    !MODES.has(from ?? '') ||
    !MODES.has(to ?? '') ||
    reason === undefined ||
    !/^[a-zA-Z]{1,20}$/.test(reason) ||
    by === undefined ||
    !Number.isFinite(at)
  ) {
    return null;
  }
  const scope = fields.get('s');
  return {
    id,
    at,
    key,
    from: from as CircuitMode,
    to: to as CircuitMode,
    reason: reason as TransitionReason,
    by,
    command: fields.get('c') ?? null,
    scope: scope === 'process' || scope === 'fleet' ? scope : null,
  };
}
