/**
 * Shadow mode in the core: its option, and the store's own switch (`StoreCircuit.shadow`, a shared
 * store's fleet-wide one) that the core obeys as it obeys the option. How the state machine runs in
 * shadow mode on every store is in the store contract (test/contract/policy-contract.ts); the
 * fleet-wide switch of RedisStore in test/redis/shadow.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Infuse, type RejectEvent } from '../../src/index.js';
import { changedMemoryStore } from '../helpers/stores.js';

/** MemoryStore's circuits, each with a shadow switch the test flips, as a shared store's would. */
function switchedStore() {
  const switch_ = { on: false };
  return { store: changedMemoryStore({ shadow: () => switch_.on }), switch_ };
}

describe('shadow mode', () => {
  it("obeys the store's switch: refusals become calls while it is on, and the snapshot says so", async () => {
    const { store, switch_ } = switchedStore();
    const infuse = new Infuse({ store });
    const rejects: RejectEvent[] = [];
    infuse.on('reject', (event) => rejects.push(event));
    const circuit = infuse.circuit('api');
    await circuit.forceOpen();
    await expect(circuit.call(() => 'ran')).rejects.toThrow('forced open');
    expect(circuit.snapshot().shadow).toBeUndefined();
    switch_.on = true;
    await expect(circuit.call(() => 'ran')).resolves.toBe('ran');
    expect(circuit.snapshot()).toMatchObject({ forced: 'forced-open', shadow: true });
    switch_.on = false;
    await expect(circuit.call(() => 'ran')).rejects.toThrow('forced open');
    expect(rejects.map((event) => event.shadow)).toEqual([false, true, false]);
    expect(infuse.snapshot()[0]?.rejections).toBe(2);
    await infuse.shutdown();
  });

  it('rejects a shadow option that is not a boolean', () => {
    expect(() => new Infuse({ shadow: 'on' as never })).toThrow(
      'option "shadow" must be a boolean; got "on"',
    );
  });
});
