/** `infuse-breaker history [KEY]`: when each circuit changed, why, and who changed it. */
import type { HistoryEntry } from '../redis/index.js';
import { CONNECTION_OPTIONS, failureContext, fleetSettings, withFleet } from './connect.js';
import { explain } from './failure.js';
import { columns } from './format.js';
import { printable, printableJson } from './printable.js';
import { UsageError, type CommandSpec } from './spec.js';

const DEFAULT_LIMIT = 100;

export const history: CommandSpec = {
  name: 'history',
  summary: 'list when circuits changed, why, and who changed them',
  args: '[KEY]',
  positionals: 1,
  optionalPositionals: true,
  description: [
    'Lists the changes of every circuit (or of KEY, a circuit key as written), oldest first: each transition a process made (with the process id and host; "own" when the process opened the circuit for itself only, without a quorum) and each command an operator sent (with the user and host of the command line, or the client of the dashboard). The fleet keeps the last ~10,000 changes, for a week after the last one.',
  ],
  options: {
    ...CONNECTION_OPTIONS,
    since: {
      type: 'string',
      value: 'WHEN',
      help: 'only changes since: a duration back from now (90s, 10m, 2h, 1d) or a date (2026-12-02T08:00Z)',
    },
    limit: {
      type: 'string',
      value: 'N',
      help: `show at most the last N changes [${DEFAULT_LIMIT}]`,
    },
    json: { type: 'boolean', help: 'print JSON: an array of entries, oldest first' },
  },
  examples: [
    'infuse-breaker history',
    'infuse-breaker history api.example.com --since 2h',
    'infuse-breaker history --since 2026-12-02T08:00:00Z --json',
  ],
  async run(values, positionals, io) {
    const key = positionals[0];
    if (key === '') throw new UsageError('history: KEY is empty', 'history');
    const since = parseSince(values.since as string | undefined, Date.now());
    const limit = parseLimit(values.limit as string | undefined);
    const settings = fleetSettings(values, 'history', io);
    try {
      return await withFleet(settings, io, async (fleet) => {
        const entries = (
          await fleet.admin.history({
            ...(key === undefined ? {} : { key }),
            ...(since === undefined ? {} : { since }),
            limit,
          })
        ).reverse();
        if (values.json === true) {
          io.stdout.write(printableJson(JSON.stringify(entries, null, 2)) + '\n');
        } else if (entries.length === 0) {
          const what = key === undefined ? 'No circuit' : `Circuit "${printable(key)}"`;
          const when = since === undefined ? '' : ` since ${new Date(since).toISOString()}`;
          io.stdout.write(
            `${what} changed${when} under prefix "${printable(fleet.admin.prefix)}" (the history keeps ~10,000 changes, for a week).\n`,
          );
        } else io.stdout.write(historyTable(entries) + '\n');
        return 0;
      });
    } catch (error) {
      throw explain(error, failureContext(settings, false));
    }
  },
};

/** The entries as an aligned table, oldest first; keys and names shown escaped. */
export function historyTable(entries: readonly HistoryEntry[]): string {
  return columns(
    ['WHEN (UTC)', 'KEY', 'CHANGE', 'WHY', 'BY'],
    entries.map((entry) => [
      new Date(entry.at).toISOString().replace('T', ' ').slice(0, 23),
      printable(entry.key),
      `${entry.from} → ${entry.to}${entry.scope === 'process' ? ' (own)' : ''}`,
      entry.command === null ? entry.reason : `${entry.reason}: ${entry.command}`,
      printable(entry.by),
    ]),
  );
}

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `--since`: a duration back from `now`, or a date; epoch ms, or undefined when not given. */
export function parseSince(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (duration !== null) return now - Number(duration[1]) * (UNITS[duration[2] ?? 's'] ?? 1);
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(date)) {
    throw new UsageError(
      `--since: ${JSON.stringify(text)} is neither a duration (90s, 10m, 2h, 1d) nor a date (2026-12-02T08:00:00Z)`,
      'history',
    );
  }
  return date;
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > 10_000) {
    throw new UsageError(`--limit: ${JSON.stringify(text)} must be from 1 to 10000`, 'history');
  }
  return limit;
}
