import type { Infuse } from '../../src/index.js';

/** Makes `times` calls on the circuit `key` that each reject with an Error('boom'), one after another. */
export async function failTimes(infuse: Infuse, key: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await infuse
      .circuit(key)
      .call(() => Promise.reject(new Error('boom')))
      .catch(() => undefined);
  }
}
