/**
 * npm run demo — the breaker at work with no setup: a dependency that goes down for a while and
 * comes back, called through one circuit. Every state change gets a line; a summary ends the run.
 */
import { CircuitBreakerError, Infuse } from '../src/index.js';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s`;

// The dependency: healthy for 1 s, down from 1 s to 3.5 s, then healthy again.
let upstreamCalls = 0;
async function inventory(sku: string): Promise<number> {
  upstreamCalls++;
  await new Promise((resolve) => setTimeout(resolve, 5));
  const t = Date.now() - started;
  if (t > 1_000 && t < 3_500) throw new Error(`inventory service unavailable (${sku})`);
  return 42;
}

const infuse = new Infuse({ failMax: 3, resetTimeout: 1_000 });
const counts = { success: 0, failure: 0, reject: 0 };
infuse.on('stateChange', ({ key, from, to, reason }) => {
  console.log(`${elapsed()}  ${key}: ${from} -> ${to}  (${reason})`);
});
infuse.on('success', () => counts.success++);
infuse.on('failure', () => counts.failure++);
infuse.on('reject', () => counts.reject++);

const stock = infuse.circuit('inventory').wrap(inventory);
console.log(
  `${elapsed()}  calling the inventory service every 50 ms for 5 s (failMax 3, resetTimeout 1 s)`,
);
const deadline = started + 5_000;
let lastRejection: CircuitBreakerError | undefined;
while (Date.now() < deadline) {
  try {
    await stock('sku-1');
  } catch (error) {
    if (error instanceof CircuitBreakerError) lastRejection = error;
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const calls = counts.success + counts.failure + counts.reject;
console.log('\nsummary');
console.log(`  calls made          ${calls}`);
console.log(`  succeeded           ${counts.success}`);
console.log(`  failed upstream     ${counts.failure}`);
console.log(`  rejected at once    ${counts.reject}  (never reached the service)`);
console.log(`  upstream calls      ${upstreamCalls}`);
if (lastRejection)
  console.log(`  a rejection reads   ${lastRejection.name}: ${lastRejection.message}`);
console.log(`  final state         ${infuse.circuit('inventory').state}`);
await infuse.shutdown();
