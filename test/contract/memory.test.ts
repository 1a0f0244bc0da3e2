import { MemoryStore } from '../../src/index.js';
import { storeContract } from './store-contract.js';

let clock = 0;
storeContract('MemoryStore', {
  create: () => new MemoryStore({ now: () => clock }),
  share: (store) => store,
  wait: (ms) => {
    clock += ms;
    return Promise.resolve();
  },
});
