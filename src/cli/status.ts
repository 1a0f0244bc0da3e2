/** `infuse-breaker status`: every circuit of the fleet, once or live. */
import type { FleetTransition } from '../redis/index.js';
import {
  CONNECTION_OPTIONS,
  failureContext,
  fleetSettings,
  openFleet,
  withFleet,
  within,
  type Fleet,
  type FleetSettings,
} from './connect.js';
import { CommandTimeout, explain } from './failure.js';
import { jsonCircuit, table, transitionLine } from './format.js';
import { fleetView, usesCell, usesJson, type FleetView } from './processes.js';
import { printable, printableJson } from './printable.js';
import { UsageError, type CommandSpec, type Io, type Values } from './spec.js';

const DEFAULT_INTERVAL = 5_000;

export const status: CommandSpec = {
  name: 'status',
  summary: 'show every circuit in Redis (--watch: live)',
  args: '',
  positionals: 0,
  description: [
    'Shows every circuit that has state in Redis: its mode (closed, open, half-open, forced-open, disabled), the failures and calls in the fleet’s failure-rate window, half-open trials in flight, how long ago it last changed, and how long until an open circuit lets a trial call through.',
    'Consecutive failures are counted by each process for its own calls and are not in Redis; see infuse.snapshot() in each process for them.',
  ],
  options: {
    ...CONNECTION_OPTIONS,
    json: {
      type: 'boolean',
      help: 'print JSON: an array of circuits (--watch: one JSON object per line)',
    },
    watch: {
      type: 'boolean',
      short: 'w',
      help: 'keep showing, refreshed on every transition and every --interval, until Ctrl-C',
    },
    interval: {
      type: 'string',
      value: 'MS',
      help: `with --watch, re-read everything this often [${DEFAULT_INTERVAL}]`,
    },
  },
  examples: [
    'infuse-breaker status',
    'infuse-breaker status --redis redis://redis.internal:6379 --prefix checkout --json',
    'infuse-breaker status --cluster --redis redis://10.0.0.1:7000,redis://10.0.0.2:7000 --watch',
  ],
  async run(values, _positionals, io) {
    const interval = parseInterval(values.interval as string | undefined);
    const settings = fleetSettings(values, 'status', io);
    const context = failureContext(settings, false);
    try {
      if (values.watch === true) return await watchStatus(settings, values, io, interval);
      return await withFleet(settings, io, async (fleet) => {
        io.stdout.write(render(await fleetView(fleet.admin), values, fleet) + '\n');
        return 0;
      });
    } catch (error) {
      throw explain(error, context);
    }
  },
};

function parseInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_INTERVAL;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 100) {
    throw new UsageError(`--interval: ${JSON.stringify(text)} must be at least 100 (ms)`, 'status');
  }
  return ms;
}

function render(view: FleetView, values: Values, fleet: Fleet): string {
  const { circuits, uses } = view;
  if (values.json === true) return printableJson(JSON.stringify(jsonView(view), null, 2));
  if (circuits.length === 0) {
    return `No circuit has state in Redis at ${fleet.where} under prefix "${printable(fleet.admin.prefix)}".`;
  }
  return table(circuits, Date.now(), {
    header: 'PROCESSES',
    cell: (circuit) => usesCell(uses.get(circuit.key)),
  });
}

/** Circuits for JSON, each with the processes that use it. */
function jsonView({ circuits, uses }: FleetView): object[] {
  return circuits.map((c) => ({ ...jsonCircuit(c), processes: usesJson(uses.get(c.key)) }));
}

/**
 * Subscribes first (so that no transition falls between the read and the subscription), then
 * shows the circuits, and again after each burst of transitions and every `interval`. Resolves
 * with 0 on SIGINT/SIGTERM. A TTY is redrawn in place; anything else gets the table appended
 * when it changed, and one line per transition.
 */
async function watchStatus(
  settings: FleetSettings,
  values: Values,
  io: Io,
  interval: number,
): Promise<number> {
  const fleet = await openFleet(settings, io, true);
  let timedOut = false;
  try {
    return await watchFleet(fleet, settings, values, io, interval);
  } catch (error) {
    timedOut = error instanceof CommandTimeout;
    throw error;
  } finally {
    if (timedOut) fleet.abandon();
    else await fleet.close();
  }
}

async function watchFleet(
  fleet: Fleet,
  settings: FleetSettings,
  values: Values,
  io: Io,
  interval: number,
): Promise<number> {
  const context = failureContext(settings, false);
  const json = values.json === true;
  const tty = io.stdout.isTTY === true && !json;
  const recent: string[] = [];
  let shown = '';
  let refreshing: Promise<void> | null = null;
  let again = false;
  let down = false;

  const show = (view: FleetView): void => {
    const { circuits } = view;
    if (json) {
      io.stdout.write(
        printableJson(JSON.stringify({ type: 'status', circuits: jsonView(view) })) + '\n',
      );
      return;
    }
    if (tty) {
      const header = `infuse-breaker status · ${fleet.where} · prefix "${printable(fleet.admin.prefix)}" · ${new Date().toISOString()} · Ctrl-C to quit`;
      const log = recent.length === 0 ? '' : `\n\nRecent transitions:\n${recent.join('\n')}`;
      io.stdout.write(`\x1b[H\x1b[2J${header}\n\n${render(view, values, fleet)}${log}\n`);
      return;
    }
    // Appended output: print only what changed (times alone do not count).
    const fingerprint = JSON.stringify(
      circuits.map((c) => [
        c.key,
        c.mode,
        c.shadow,
        c.window,
        c.generation,
        c.trialsInFlight,
        c.votes,
        usesCell(view.uses.get(c.key)),
      ]),
    );
    if (fingerprint === shown) return;
    shown = fingerprint;
    io.stdout.write(`${render(view, values, fleet)}\n\n`);
  };

  const refresh = (): Promise<void> => {
    if (refreshing !== null) {
      again = true;
      return refreshing;
    }
    refreshing = fleetView(fleet.admin)
      .then(
        (view) => {
          if (down) io.stderr.write('infuse-breaker: Redis answers again\n');
          down = false;
          show(view);
        },
        (error: unknown) => {
          if (!down) {
            const explained = explain(error, context);
            const message = explained instanceof Error ? explained.message : String(explained);
            io.stderr.write(`infuse-breaker: ${message}; retrying every ${interval} ms\n`);
          }
          down = true;
        },
      )
      .finally(() => {
        refreshing = null;
        if (again) {
          again = false;
          void refresh();
        }
      });
    return refreshing;
  };

  const hear = (transition: FleetTransition): void => {
    if (json) {
      io.stdout.write(
        printableJson(
          JSON.stringify({
            type: 'transition',
            ...transition,
            retryAfter: transition.retryAfter === Infinity ? null : transition.retryAfter,
          }),
        ) + '\n',
      );
    } else {
      const line = transitionLine(transition, new Date());
      if (tty) recent.splice(0, recent.length, ...[line, ...recent].slice(0, 10));
      else io.stdout.write(`${line}\n`);
    }
    void refresh();
  };

  // --timeout bounds the start: subscribing (the first read reports its own failure and retries).
  const stop = await within(settings.timeout, fleet.admin.watch(hear), fleet.where);
  await refresh();
  const timer = setInterval(() => void refresh(), interval);
  try {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    clearInterval(timer);
    await stop();
    await (refreshing as Promise<void> | null);
  }
  return 0;
}
