import { disconnect, openSubscriber, type Connection } from '../connections.js';
import { parseMessage, type FleetMessage } from '../fleet.js';
import type { RedisClient } from '../options.js';
import type { FleetCircuit, FleetTransition, MalformedCircuit } from './types.js';
import { whenReady, type AdminScope } from './scope.js';
import { retryAfter } from './read.js';

/**
 * Subscribes a connection of its own to the fleet's channel and calls `listener` with every
 * transition. `opened` holds the subscriber until the returned function stops it.
 *
 * A message is only a hint (anyone allowed to PUBLISH could write one): each is checked against
 * the circuit as Redis holds it (`read`) before it reaches `listener`. A transition to the
 * generation Redis holds is told with Redis's state; one to an older generation (the circuit has
 * changed again since) as the message tells it; one to a generation Redis does not hold is
 * reported through `onMalformed` and dropped. A message that cannot be checked (Redis did not
 * answer) is dropped: the watcher's next read of the fleet shows where things stand.
 */
export async function watchFleet(
  scope: AdminScope,
  redis: RedisClient,
  timeout: number,
  opened: Set<Connection>,
  onMalformed: (report: MalformedCircuit) => void,
  read: (key: string) => Promise<FleetCircuit | null>,
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
    if (news.event === null) return; // a vote: the circuit did not change
    void read(news.key).then(
      (held) => {
        const transition = confirmed(news, held);
        if (transition !== null) listener(transition);
        else {
          onMalformed({
            redisKey: channel,
            key: news.key,
            reason: `a message on ${channel} told of generation ${news.fleet.generation}, which Redis does not hold; it was ignored`,
          });
        }
      },
      () => undefined,
    );
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

/** The transition `news` tells of, as far as Redis (`held`) confirms it; null when it does not. */
function confirmed(news: FleetMessage, held: FleetCircuit | null): FleetTransition | null {
  const { key, fleet, event } = news;
  if (held === null || event === null || held.generation < fleet.generation) return null;
  const now = held.generation === fleet.generation;
  return {
    key,
    from: event.from,
    fromForced: event.fromForced,
    to: now ? held.state : fleet.state,
    forced: now ? held.forced : fleet.forced,
    reason: event.reason,
    generation: fleet.generation,
    changedAt: now ? held.changedAt : fleet.changedAt,
    retryAfter: now ? held.retryAfter : retryAfter(fleet),
  };
}
