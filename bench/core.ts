/**
 * npm run bench:core — the per-call cost of a closed circuit around an async no-op, and of a
 * rejection by an open circuit, for infuse-breaker and its peers, in one run: opossum 9 and
 * cockatiel 3 on any Node; opossum 10 and cockatiel 4 (the newest majors, which require Node 22
 * or later) when the running Node is 22 or later. Run it on the newest LTS for every peer:
 * `PATH=/path/to/node26/bin:$PATH npm run bench:core`.
 *
 * opossum runs with `timeout: false`: its default 10 s timeout arms a timer per call, which would
 * measure timers rather than the breaker. cockatiel uses its ConsecutiveBreaker.
 */
import * as cockatiel3 from 'cockatiel';
import Opossum9 from 'opossum';
import { Infuse } from '../src/index.js';
import { machine, measure, table, type Subject } from './harness.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const NEWEST_PEERS = Number(process.versions.node.split('.')[0]) >= 22;

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

/** One breaker around `action`: how to call it, whether it is open, how to stop it. */
interface Breaker {
  call(): Promise<unknown>;
  readonly open: boolean;
  stop(): Promise<void> | void;
}

/** A library under test: its name and how to build a breaker around an action. */
interface Peer {
  readonly name: string;
  build(action: () => Promise<unknown>): Breaker;
}

type Cockatiel = typeof cockatiel3;
type OpossumClass = typeof Opossum9;

function cockatielPeer(name: string, lib: Cockatiel): Peer {
  return {
    name,
    build(action) {
      const policy = lib.circuitBreaker(lib.handleAll, {
        halfOpenAfter: 3_600_000,
        breaker: new lib.ConsecutiveBreaker(5),
      });
      return {
        call: () => policy.execute(action),
        get open() {
          return policy.state === lib.CircuitState.Open;
        },
        stop: () => undefined,
      };
    },
  };
}

function opossumPeer(name: string, Opossum: OpossumClass): Peer {
  return {
    name,
    build(action) {
      const breaker = new Opossum(action, {
        timeout: false,
        resetTimeout: 3_600_000,
        volumeThreshold: 0,
      });
      breaker.on('error', () => undefined);
      return {
        call: () => breaker.fire(),
        get open() {
          return breaker.opened;
        },
        stop: () => breaker.shutdown(),
      };
    },
  };
}

const infusePeer: Peer = {
  name: 'infuse-breaker',
  build(action) {
    const infuse = new Infuse({ failMax: 5, resetTimeout: 3_600_000 });
    const circuit = infuse.circuit('bench');
    return {
      call: () => circuit.call(action),
      get open() {
        return circuit.state === 'open';
      },
      stop: () => infuse.shutdown(),
    };
  },
};

async function peers(): Promise<Peer[]> {
  const list = [
    infusePeer,
    cockatielPeer('cockatiel 3 ConsecutiveBreaker', cockatiel3),
    opossumPeer('opossum 9', Opossum9),
  ];
  if (NEWEST_PEERS) {
    // Loaded only here: both declare Node 22 or later.
    const cockatiel4 = (await import('cockatiel4')) as unknown as Cockatiel;
    const opossum10 = (await import('opossum10')).default;
    list.push(
      cockatielPeer('cockatiel 4 ConsecutiveBreaker', cockatiel4),
      opossumPeer('opossum 10', opossum10),
    );
  }
  return list;
}

async function main(): Promise<void> {
  const all = await peers();
  const closedBreakers = all.map((peer) => ({ peer, breaker: peer.build(noop) }));
  const closed: Subject[] = [
    { name: 'bare await (no breaker)', run: (n) => loop(n, noop) },
    ...closedBreakers.map(({ peer, breaker }) => ({
      name: peer.name,
      run: (n: number) => loop(n, () => breaker.call()),
    })),
  ];

  // Open circuits, tripped by real failures.
  const openBreakers = all.map((peer) => ({ peer, breaker: peer.build(fail) }));
  for (let i = 0; i < 5; i++) {
    for (const { breaker } of openBreakers) await breaker.call().catch(() => undefined);
  }
  for (const { peer, breaker } of openBreakers) {
    if (!breaker.open) throw new Error(`bench setup: ${peer.name} did not open`);
  }
  const open: Subject[] = openBreakers.map(({ peer, breaker }) => ({
    name: peer.name,
    run: (n: number) => rejections(n, () => breaker.call()),
  }));

  console.log(`machine: ${machine()}`);
  console.log(`${iterations} calls per round, ${rounds} rounds (median of rounds)`);
  if (!NEWEST_PEERS) {
    console.log('opossum 10 and cockatiel 4 need Node 22 or later: run on a newer Node for them');
  }
  console.log('\n### Closed circuit around an async no-op\n');
  console.log(table(await measure(closed, { iterations, rounds }), 'infuse-breaker'));
  console.log('\n### Rejection by an open circuit\n');
  console.log(table(await measure(open, { iterations, rounds }), 'infuse-breaker'));
  for (const { breaker } of [...closedBreakers, ...openBreakers]) await breaker.stop();
}

await main();
