/**
 * npm run bench:core — the per-call cost of a closed circuit around an async no-op, and of a
 * rejection by an open circuit, for infuse-breaker, opossum 9 and cockatiel 3, in one run.
 *
 * opossum runs with `timeout: false`: its default 10 s timeout arms a timer per call, which would
 * measure timers rather than the breaker. cockatiel uses its ConsecutiveBreaker.
 */
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { Infuse } from '../src/index.js';
import { machine, measure, table, type Subject } from './harness.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);

const noop = async (): Promise<number> => 1;
const fail = async (): Promise<never> => {
  throw new Error('down');
};

async function loop(iterations: number, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < iterations; i++) await op();
}
async function rejections(iterations: number, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < iterations; i++) {
    try {
      await op();
    } catch {
      // expected: the circuit is open
    }
  }
}

async function main(): Promise<void> {
  // Closed circuits.
  const infuse = new Infuse({ failMax: 5, resetTimeout: 3_600_000 });
  const circuit = infuse.circuit('bench');
  const opossum = new CircuitBreaker(noop, { timeout: false, resetTimeout: 3_600_000 });
  const cockatiel = circuitBreaker(handleAll, {
    halfOpenAfter: 3_600_000,
    breaker: new ConsecutiveBreaker(5),
  });
  const closed: Subject[] = [
    { name: 'bare await (no breaker)', run: (n) => loop(n, noop) },
    { name: 'infuse-breaker', run: (n) => loop(n, () => circuit.call(noop)) },
    { name: 'cockatiel 3 ConsecutiveBreaker', run: (n) => loop(n, () => cockatiel.execute(noop)) },
    { name: 'opossum 9', run: (n) => loop(n, () => opossum.fire()) },
  ];

  // Open circuits, tripped by real failures.
  const openInfuse = new Infuse({ failMax: 5, resetTimeout: 3_600_000 });
  const openCircuit = openInfuse.circuit('down');
  const openOpossum = new CircuitBreaker(fail, {
    timeout: false,
    resetTimeout: 3_600_000,
    volumeThreshold: 0,
  });
  openOpossum.on('error', () => undefined);
  const openCockatiel = circuitBreaker(handleAll, {
    halfOpenAfter: 3_600_000,
    breaker: new ConsecutiveBreaker(5),
  });
  for (let i = 0; i < 5; i++) {
    await openCircuit.call(fail).catch(() => undefined);
    await openOpossum.fire().catch(() => undefined);
    await openCockatiel.execute(fail).catch(() => undefined);
  }
  if (
    openCircuit.state !== 'open' ||
    !openOpossum.opened ||
    openCockatiel.state !== CircuitState.Open
  ) {
    throw new Error('bench setup: a breaker did not open');
  }
  const open: Subject[] = [
    { name: 'infuse-breaker', run: (n) => rejections(n, () => openCircuit.call(noop)) },
    {
      name: 'cockatiel 3 ConsecutiveBreaker',
      run: (n) => rejections(n, () => openCockatiel.execute(noop)),
    },
    { name: 'opossum 9', run: (n) => rejections(n, () => openOpossum.fire()) },
  ];

  console.log(`machine: ${machine()}`);
  console.log(`${iterations} calls per round, ${rounds} rounds (median of rounds)\n`);
  console.log('### Closed circuit around an async no-op\n');
  console.log(table(await measure(closed, { iterations, rounds }), 'infuse-breaker'));
  console.log('\n### Rejection by an open circuit\n');
  console.log(table(await measure(open, { iterations, rounds }), 'infuse-breaker'));
  opossum.shutdown();
  openOpossum.shutdown();
  await infuse.shutdown();
  await openInfuse.shutdown();
}

await main();
