import { disconnect, openSubscriber, type Connection } from '../connections.js';
import { parseMessage } from '../fleet.js';
import type { RedisClient } from '../options.js';
import type { FleetTransition, MalformedCircuit } from './types.js';
import { whenReady, type AdminScope } from './scope.js';
import { retryAfter } from './read.js';

/**
 * Subscribes a connection of its own to the fleet's channel and calls `listener` with every
 * transition. `opened` holds the subscriber until the returned function stops it.
 */
export async function watchFleet(
  scope: AdminScope,
  redis: RedisClient,
  timeout: number,
  opened: Set<Connection>,
  onMalformed: (report: MalformedCircuit) => void,
  listener: (transition: FleetTransition) => void,
): Promise<() => Promise<void>> {
  const channel = scope.settings.channel;
  const subscriber = openSubscriber(redis);
  opened.add(subscriber);
  subscriber.on('error', () => undefined); // it reconnects by itself
  subscriber.on('message', (from, message) => {
    if (from !== channel || typeof message !== 'string') return;
    const news = parseMessage(message);
    if (news === null) {
      onMalformed({
        redisKey: channel,
        key: null,
        reason: `a message on ${channel} was not written by infuse-breaker`,
      });
      return;
    }
    const { key, fleet, event } = news;
    if (event === null) return; // a vote: the circuit did not change
    listener({
      key,
      from: event.from,
      fromForced: event.fromForced,
      to: fleet.state,
      forced: fleet.forced,
      reason: event.reason,
      generation: fleet.generation,
      changedAt: fleet.changedAt,
      retryAfter: retryAfter(fleet),
    });
  });
  const stop = async (): Promise<void> => {
    if (!opened.delete(subscriber)) return;
    await disconnect(subscriber);
  };
  try {
    await whenReady(subscriber, timeout);
    await bounded(subscriber.subscribe(channel), timeout);
  } catch (error) {
    await stop();
    throw scope.unreachable(null, error);
  }
  return stop;
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
