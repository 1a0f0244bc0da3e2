/**
 * A small, transparent benchmark harness: subjects run interleaved, round after round, in one
 * process, and each reports the median over rounds (rounds absorb GC pauses and JIT warm-up).
 */
import { cpus, totalmem } from 'node:os';

export interface Subject {
  readonly name: string;
  /** Runs `iterations` operations and resolves when they are done. */
  run(iterations: number): Promise<void>;
}

export interface Result {
  readonly name: string;
  /** Median nanoseconds per operation over the measured rounds. */
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const gib = Math.round(totalmem() / 2 ** 30);
  return `${cpu}, ${cpus().length} cores, ${gib} GiB, Node ${process.version}, ${process.platform}`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
}

export async function measure(
  subjects: readonly Subject[],
  { iterations, rounds, warmup = 2 }: { iterations: number; rounds: number; warmup?: number },
): Promise<Result[]> {
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const subject of subjects) {
      const start = process.hrtime.bigint();
      await subject.run(iterations);
      const ns = Number(process.hrtime.bigint() - start) / iterations;
      if (round >= warmup) samples.get(subject.name)?.push(ns);
    }
  }
  return subjects.map(({ name }) => {
    const sorted = [...(samples.get(name) ?? [])].sort((a, b) => a - b);
    return {
      name,
      median: percentile(sorted, 0.5),
      p10: percentile(sorted, 0.1),
      p90: percentile(sorted, 0.9),
    };
  });
}

/** A Markdown table of results, each with its ratio to `baseline`. */
export function table(results: readonly Result[], baseline: string, unit = 'ns/op'): string {
  const base = results.find((r) => r.name === baseline)?.median ?? NaN;
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.median.toFixed(0)} | ${r.p10.toFixed(0)}–${r.p90.toFixed(0)} | ${(r.median / base).toFixed(2)}× |`,
  );
  return [
    `| subject | median ${unit} | p10–p90 | vs ${baseline} |`,
    '|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
