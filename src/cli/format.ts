/** How the CLI shows circuits: an aligned table, durations, transitions. */
import type { FleetCircuit, FleetTransition } from '../redis/index.js';
import { printable } from './printable.js';

/** `ms` as an operator reads it: `850ms`, `12s`, `3m 20s`, `2h 5m`, `3d 4h`. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function windowCell({ window }: FleetCircuit): string {
  if (window.calls === 0) return '-';
  const percent = Math.round((100 * window.failures) / window.calls);
  return `${window.failures}/${window.calls} (${percent}%)`;
}

function retryCell(circuit: FleetCircuit): string {
  if (circuit.retryAfter === Infinity) return 'until cleared';
  if (circuit.state === 'open' && circuit.forced === null) {
    return circuit.retryAfter === 0 ? 'now' : duration(circuit.retryAfter);
  }
  return '-';
}

const HEADERS = ['KEY', 'MODE', 'FAILED/CALLS', 'TRIALS', 'CHANGED', 'RETRY IN', 'VOTES', 'GEN'];

/**
 * The circuits as an aligned table, one row each (`now` is the local epoch ms of the read); keys
 * with control characters are shown escaped.
 */
export function table(
  circuits: readonly FleetCircuit[],
  now: number,
  extra?: { readonly header: string; readonly cell: (circuit: FleetCircuit) => string },
): string {
  const headers = extra === undefined ? HEADERS : [...HEADERS, extra.header];
  const rows = circuits.map((c) => [
    printable(c.key),
    // Shadow mode is no mode of its own: the circuit runs its mode but refuses nothing.
    c.shadow ? `${c.mode}+shadow` : c.mode,
    windowCell(c),
    c.state === 'half-open' ? String(c.trialsInFlight) : '-',
    c.changedAt === 0 ? 'never' : `${duration(now - c.changedAt)} ago`,
    retryCell(c),
    // Processes that opened the circuit for themselves alone (see `quorum`).
    c.votes > 0 ? String(c.votes) : '-',
    String(c.generation),
    ...(extra === undefined ? [] : [extra.cell(c)]),
  ]);
  return columns(headers, rows);
}

/** An aligned table; the last column is not padded. */
export function columns(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `closed → open` with forced modes shown as the mode they impose. */
export function modeChange(from: string, to: string): string {
  return `${from} → ${to}`;
}

/** One line per transition, as `--watch` prints it. */
export function transitionLine(transition: FleetTransition, at: Date): string {
  const from = transition.fromForced ?? transition.from;
  const to = transition.forced ?? transition.to;
  const time = at.toISOString().slice(11, 19);
  return `${time}  ${printable(transition.key)}: ${modeChange(from, to)} (${transition.reason})`;
}

/** A circuit for JSON output: `retryAfter` is null while forced open (JSON has no Infinity). */
export function jsonCircuit(circuit: FleetCircuit): object {
  return { ...circuit, retryAfter: circuit.retryAfter === Infinity ? null : circuit.retryAfter };
}
