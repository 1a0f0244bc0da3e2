/**
 * `infuse-breaker processes`: the processes that share the fleet's circuits, as their heartbeats
 * show them; and the per-circuit view of them that `status` adds (which processes use a circuit,
 * and circuits in use that Redis holds nothing for, healthy ones).
 */
import type { FleetCircuit, FleetProcess, ProcessCircuit, RedisAdmin } from '../redis/index.js';
import { withCircuitsInUse } from '../redis/presence.js';
import { CONNECTION_OPTIONS, failureContext, fleetSettings, withFleet } from './connect.js';
import { explain } from './failure.js';
import { columns, duration } from './format.js';
import { printable, printableJson } from './printable.js';
import type { CommandSpec } from './spec.js';

export const processes: CommandSpec = {
  name: 'processes',
  summary: 'show the processes that share the circuits, and what each sees',
  args: '',
  positionals: 0,
  description: [
    'Shows every process whose RedisStore shares circuits under the prefix (each writes a heartbeat within pollInterval of a change and every 5 s at least; one that stops is gone after three of those): its process id and host, whether it beats on time or has gone silent (it lost Redis, or stopped), how often it lost Redis, and for each circuit it uses: the mode in that process ("own" when it opened for itself only, without a quorum), the votes to open the fleet holds, and its calls, failures and refused calls since it started.',
  ],
  options: {
    ...CONNECTION_OPTIONS,
    json: { type: 'boolean', help: 'print JSON: an array of processes' },
  },
  examples: ['infuse-breaker processes', 'infuse-breaker processes --prefix checkout --json'],
  async run(values, _positionals, io) {
    const settings = fleetSettings(values, 'processes', io);
    try {
      return await withFleet(settings, io, async (fleet) => {
        const found = await fleet.admin.processes();
        if (values.json === true) {
          io.stdout.write(printableJson(JSON.stringify(found, null, 2)) + '\n');
        } else if (found.length === 0) {
          io.stdout.write(
            `No process shares circuits under prefix "${printable(fleet.admin.prefix)}" at ${fleet.where} (a RedisStore beats once it reached Redis).\n`,
          );
        } else io.stdout.write(processTable(found, Date.now()) + '\n');
        return 0;
      });
    } catch (error) {
      throw explain(error, failureContext(settings, false));
    }
  },
};

/** `pid on host`, escaped for a terminal. */
export function processName(process: FleetProcess): string {
  return printable(`${process.pid} on ${process.host}`);
}

function redisCell(process: FleetProcess, now: number): string {
  const silent =
    process.redis === 'silent'
      ? `silent ${duration(now - process.beat)}`
      : `up ${duration(now - process.beat)} ago`;
  return process.outages === 0 ? silent : `${silent}, lost ${process.outages}×`;
}

function modeCell(circuit: ProcessCircuit): string {
  return circuit.scope === 'process' ? `${circuit.mode} (own)` : circuit.mode;
}

/** One row per circuit of each process (the process named on its first row). */
export function processTable(found: readonly FleetProcess[], now: number): string {
  const rows: string[][] = [];
  for (const process of found) {
    const head = [processName(process), redisCell(process, now)];
    if (process.circuits.length === 0) rows.push([...head, '-', '', '', '', '', '']);
    process.circuits.forEach((circuit, i) => {
      rows.push([
        ...(i === 0 ? head : ['', '']),
        printable(circuit.key),
        modeCell(circuit),
        circuit.votes === null ? '-' : String(circuit.votes),
        String(circuit.calls),
        String(circuit.failures),
        String(circuit.refusals),
      ]);
    });
  }
  return columns(
    ['PROCESS', 'REDIS', 'CIRCUIT', 'MODE', 'VOTES', 'CALLS', 'FAILED', 'REFUSED'],
    rows,
  );
}

/** A circuit with the processes that use it. */
export interface CircuitUse {
  readonly process: FleetProcess;
  readonly circuit: ProcessCircuit;
}

/** What `status` shows: Redis's circuits plus those only heartbeats name, and who uses each. */
export interface FleetView {
  readonly circuits: FleetCircuit[];
  readonly uses: ReadonlyMap<string, readonly CircuitUse[]>;
}

/**
 * The fleet's circuits, with the processes that use each. A circuit in use that Redis holds
 * nothing for (a healthy one that never changed) is listed as closed. Heartbeats that cannot be
 * read (a Redis user without the permission) leave the circuits as Redis holds them.
 */
export async function fleetView(admin: Pick<RedisAdmin, 'list' | 'processes'>): Promise<FleetView> {
  const [circuits, found] = await Promise.all([admin.list(), admin.processes().catch(() => [])]);
  const uses = new Map<string, CircuitUse[]>();
  for (const process of found) {
    for (const circuit of process.circuits) {
      const list = uses.get(circuit.key) ?? [];
      list.push({ process, circuit });
      uses.set(circuit.key, list);
    }
  }
  return { circuits: withCircuitsInUse(circuits, found), uses };
}

/** `status`'s PROCESSES cell: how many use the circuit, and how many have it open for themselves. */
export function usesCell(uses: readonly CircuitUse[] | undefined): string {
  if (uses === undefined || uses.length === 0) return '-';
  const own = uses.filter((u) => u.circuit.scope === 'process' && u.circuit.mode !== 'closed');
  return own.length === 0
    ? String(uses.length)
    : `${uses.length} (${own.length} own ${own[0]?.circuit.mode ?? ''})`;
}

/** `status --json`: each process that uses a circuit, with its view of it. */
export function usesJson(uses: readonly CircuitUse[] | undefined): object[] {
  return (uses ?? []).map(({ process, circuit }) => ({
    pid: process.pid,
    host: process.host,
    redis: process.redis,
    mode: circuit.mode,
    scope: circuit.scope,
    calls: circuit.calls,
    failures: circuit.failures,
    refusals: circuit.refusals,
  }));
}
