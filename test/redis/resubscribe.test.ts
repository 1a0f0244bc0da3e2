/**
 * A subscriber connection that Redis drops subscribes again by itself, with every client: an
 * admin's `watch` keeps hearing the fleet's transitions after `CLIENT KILL TYPE pubsub`. (On a
 * single node the wrapper of ioredis and iovalkey re-subscribes itself, see connection/ioredis.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAdmin, type FleetTransition } from '../../src/redis/index.js';
import { eventually } from '../helpers/eventually.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { CLIENT_KINDS, userClient } from './clients.js';
import { freshPrefix } from './harness.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server.stop());

describe.each(CLIENT_KINDS)('%s', (kind) => {
  it('keeps hearing transitions after Redis drops the subscriber', async () => {
    const client = userClient(kind, server);
    const admin = new RedisAdmin({ redis: client.redis, prefix: freshPrefix() });
    const seen: FleetTransition[] = [];
    const stop = await admin.watch((transition) => seen.push(transition));
    try {
      await admin.command('api.example.com', 'force-open', { create: true });
      await eventually(() => expect(seen).toHaveLength(1));

      await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
      seen.length = 0;
      // Transitions made before it subscribed again are not heard (nor replayed): keep making
      // them until one is.
      let next: 'force-open' | 'clear-forced' = 'clear-forced';
      await eventually(
        async () => {
          await admin.command('api.example.com', next);
          next = next === 'force-open' ? 'clear-forced' : 'force-open';
          await eventually(() => expect(seen.length).toBeGreaterThan(0), { timeout: 300 });
        },
        { timeout: 10_000 },
      );
      expect(seen[0]).toMatchObject({ key: 'api.example.com', reason: 'manual' });
    } finally {
      await stop();
      await admin.close();
      client.close();
    }
  });
});
