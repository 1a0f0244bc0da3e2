import { STORE_CAPABILITIES, type Store, type StoreCapability } from '../stores/store.js';
import type { NormalizedOptions, ResolvedCircuit } from './options.js';

/** The option that needs each store capability, for the error that names it. */
const CAPABILITY_OPTIONS: Record<StoreCapability, string> = {
  retryAfter: 'honorRetryAfter',
  slowCallRate: 'slowCallRate',
  shadow: 'shadow',
};

/**
 * Throws when the options use a rule that `store` does not implement (see
 * `Store.capabilities`), naming the option and where it is set: an option a store would silently
 * ignore is a wiring mistake.
 */
export function checkCapabilities(options: NormalizedOptions, store: Store): void {
  const supported = new Set(store.capabilities ?? []);
  const circuits: [string, ResolvedCircuit][] = [
    ['', options.base],
    ...[...options.exact].map(([key, circuit]): [string, ResolvedCircuit] => [
      `circuits[${JSON.stringify(key)}].`,
      circuit,
    ]),
    ...options.patterns.map(([suffix, circuit]): [string, ResolvedCircuit] => [
      `circuits[${JSON.stringify('*' + suffix)}].`,
      circuit,
    ]),
  ];
  for (const [path, circuit] of circuits) {
    for (const capability of STORE_CAPABILITIES) {
      if (supported.has(capability) || !uses(circuit, capability)) continue;
      const name = (store as object).constructor.name || 'the store';
      throw new TypeError(
        `infuse-breaker: option "${path}${CAPABILITY_OPTIONS[capability]}" is not supported by ` +
          `${name} (it supports: ${[...supported].join(', ') || 'none of honorRetryAfter, slowCallRate, shadow'}); ` +
          'remove the option or use a store that supports it, such as MemoryStore',
      );
    }
  }
}

function uses(circuit: ResolvedCircuit, capability: StoreCapability): boolean {
  switch (capability) {
    case 'retryAfter':
      return circuit.retryAfter !== null;
    case 'slowCallRate':
      return (circuit.policy.slowCallRate ?? null) !== null;
    case 'shadow':
      return circuit.shadow;
  }
}
