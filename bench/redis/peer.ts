/**
 * Another process of the fleet for the trip-to-reject measurement: it meets the circuit, then
 * reports (over IPC) the time each transition reaches it.
 */
import { Redis } from 'ioredis';
import { Infuse } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';

const [port = '0', prefix = 'bench', key = 'svc'] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
const store = new RedisStore({ redis, prefix });
const infuse = new Infuse({ store, failMax: 1, resetTimeout: 600_000 });
infuse.on('stateChange', ({ to }) => {
  process.send?.({ to, at: performance.timeOrigin + performance.now() });
});
process.on('message', () => {
  void infuse.shutdown().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
await store.ready();
await infuse.circuit(key).call(() => Promise.resolve());
process.send?.({ to: 'ready', at: 0 });
