import type { Circuit, Infuse } from '../../src/index.js';

/** Guarded functions shared by the metrics tests. */
export class ValidationError extends Error {}

export const ok = (): Promise<string> => Promise.resolve('ok');
export const boom = (): Promise<never> => Promise.reject(new Error('boom'));
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
export const ignore = (): undefined => undefined;

/** What `fetch` rejects with when its signal aborts. */
export function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

/** Options under which {@link callEveryOutcome} produces every outcome. */
export const EVERY_OUTCOME_OPTIONS = { failMax: 2, exclude: [ValidationError] };

/** Ends calls through `circuit` with every outcome: `[outcome, count]` says how many of each. */
export async function callEveryOutcome(circuit: Circuit): Promise<[string, number][]> {
  await circuit.call(ok);
  await circuit.call(ok);
  await circuit.call(() => Promise.reject(new ValidationError('bad input'))).catch(ignore);
  await circuit.call(() => Promise.reject(abortError())).catch(ignore);
  await circuit.call(boom).catch(ignore);
  await circuit.call(boom).catch(ignore);
  await circuit.call(ok).catch(ignore);
  return [
    ['aborted', 1],
    ['excluded', 1],
    ['failure', 2],
    ['rejected', 1],
    ['success', 2],
  ];
}

/** With `failMax: 1`, walks `circuit` through forced and unforced transitions; returns `[from, to, reason, count]`. */
export async function transitionEveryWay(
  circuit: Circuit,
): Promise<[string, string, string, number][]> {
  await circuit.call(boom).catch(ignore);
  await circuit.forceOpen();
  await circuit.clearForced();
  await circuit.call(boom).catch(ignore);
  return [
    ['closed', 'open', 'failMax', 2],
    ['forced-open', 'closed', 'manual', 1],
    ['open', 'forced-open', 'manual', 1],
  ];
}

/** With `failMax: 1`, makes a circuit in each mode; returns `[key, mode]` pairs in key order. */
export async function circuitInEveryMode(infuse: Infuse): Promise<[string, string][]> {
  infuse.circuit('fine');
  await infuse.circuit('down').call(boom).catch(ignore);
  await infuse.circuit('held').forceOpen();
  await infuse.circuit('off').disable();
  return [
    ['down', 'open'],
    ['fine', 'closed'],
    ['held', 'forced-open'],
    ['off', 'disabled'],
  ];
}

/**
 * With `failMax: 1` and `maxCircuits: 2`, makes `gone` (idle, with transitions) and `stays-open`,
 * then uses new circuits until the registry drops `gone`. `before` runs once both exist.
 * Returns every key dropped.
 */
export async function dropGone(infuse: Infuse, before: () => Promise<void>): Promise<string[]> {
  const dropped: string[] = [];
  infuse.on('drop', ({ key }) => dropped.push(key));
  await infuse.circuit('gone').call(boom).catch(ignore);
  await infuse.circuit('gone').close();
  await infuse.circuit('gone').call(ok);
  await infuse.circuit('stays-open').call(boom).catch(ignore);
  await before();
  for (let i = 0; !dropped.includes('gone'); i++) {
    if (i > 20) throw new Error(`"gone" was never dropped; dropped: ${dropped.join(', ')}`);
    await infuse.circuit(`new-${i}`).call(ok);
  }
  return dropped;
}
