/**
 * One event stream for every tab of a browser. Each tab holding its own server-sent-events
 * connection hits the browser's limit of six connections per host: with six tabs open, a seventh
 * never loads and a confirmed command never reaches the server. So one tab (the leader, the
 * holder of a Web Lock) holds the stream and passes every message on to the others over a
 * BroadcastChannel; a tab that opens asks the leader for what it knows; when the leader closes,
 * the lock passes to another tab, which opens the stream.
 *
 * Web Locks exist in secure contexts only: on loopback (the default), not over plain HTTP on
 * another address. There each tab falls back to a stream of its own.
 *
 * Like the page script, it is sent to the browser as the source text of this one function (see
 * page.ts): it may use browser globals and its own locals, nothing imported or declared elsewhere.
 */

/** What {@link sharedStream} tells the page, and asks of it. */
export interface StreamHandlers {
  /** A server-sent event: its name (`circuits`, `circuit`, `status`) and its data. */
  onEvent(name: string, data: string): void;
  /** Whether the stream (the leader's, for a follower) is connected. */
  onConnection(connected: boolean): void;
  /** What this tab knows, for a tab that opens (called on the leader). */
  snapshot(): unknown;
  /** What the leader knew when this tab opened. */
  restore(snapshot: unknown): void;
}

/** Feeds `handlers` from the stream at `url`, shared with the other tabs where possible. */
export function sharedStream(url: string, handlers: StreamHandlers): void {
  type Message =
    | { type: 'event'; name: string; data: string }
    | { type: 'connection'; connected: boolean }
    | { type: 'hello' }
    | { type: 'state'; snapshot: unknown; connected: boolean };
  const NAME = 'infuse-breaker-dashboard-stream';
  const EVENTS = ['circuits', 'circuit', 'status'];
  let connected = false;

  const open = (channel: BroadcastChannel | null): void => {
    const source = new EventSource(url);
    const connection = (value: boolean): void => {
      connected = value;
      handlers.onConnection(value);
      channel?.postMessage({ type: 'connection', connected: value } satisfies Message);
    };
    source.addEventListener('open', () => connection(true));
    source.addEventListener('error', () => connection(false));
    for (const name of EVENTS) {
      source.addEventListener(name, (event) => {
        const data = (event as MessageEvent<string>).data;
        handlers.onEvent(name, data);
        channel?.postMessage({ type: 'event', name, data } satisfies Message);
      });
    }
  };

  if (typeof BroadcastChannel !== 'function' || !('locks' in navigator)) {
    open(null);
    return;
  }
  const channel = new BroadcastChannel(NAME);
  let leading = false;
  channel.addEventListener('message', (event: MessageEvent<Message>) => {
    const message = event.data;
    if (message.type === 'hello') {
      if (leading) {
        channel.postMessage({
          type: 'state',
          snapshot: handlers.snapshot(),
          connected,
        } satisfies Message);
      }
      return;
    }
    if (leading) return;
    switch (message.type) {
      case 'state':
        handlers.restore(message.snapshot);
        handlers.onConnection(message.connected);
        break;
      case 'event':
        handlers.onEvent(message.name, message.data);
        break;
      case 'connection':
        handlers.onConnection(message.connected);
        break;
    }
  });
  channel.postMessage({ type: 'hello' } satisfies Message);
  // The lock is held for the tab's life (the promise never settles): closing the tab frees it.
  void navigator.locks.request(NAME, () => {
    leading = true;
    open(channel);
    return new Promise<never>(() => undefined);
  });
}
